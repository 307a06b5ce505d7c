/**
 * DuckDB types of the records sources yield (src/sources/record.ts), defined once: staging
 * reads NDJSON with these, bronze stores them as structs, silver selects from them.
 * Times arrive as epoch milliseconds and become TIMESTAMPTZ here.
 */
export const CERT_FIELDS: [string, string][] = [
  ['sha256', 'VARCHAR'], ['sha1', 'VARCHAR'], ['md5', 'VARCHAR'], ['serial', 'VARCHAR'],
  ['version', 'INTEGER'], ['subject', 'VARCHAR'], ['issuer', 'VARCHAR'], ['common_name', 'VARCHAR'],
  ['subject_alternative_names', 'VARCHAR[]'], ['san_ip', 'VARCHAR[]'], ['san_email', 'VARCHAR[]'],
  ['san_uri', 'VARCHAR[]'], ['not_valid_before', 'DOUBLE'], ['not_valid_after', 'DOUBLE'],
  ['key_alg', 'VARCHAR'], ['key_type', 'VARCHAR'], ['key_length', 'INTEGER'], ['exponent', 'VARCHAR'],
  ['curve', 'VARCHAR'], ['sig_alg', 'VARCHAR'], ['is_ca', 'BOOLEAN'], ['path_len', 'INTEGER'],
  ['self_issued', 'BOOLEAN'], ['self_signed', 'BOOLEAN'], ['extensions', 'VARCHAR[]'], ['der', 'VARCHAR'],
  ['parse_warnings', 'VARCHAR[]'], ['subject_original', 'VARCHAR'], ['issuer_original', 'VARCHAR'],
  ['ts', 'DOUBLE'], ['host_cert', 'BOOLEAN'], ['client_cert', 'BOOLEAN'],
  ...['subject', 'issuer'].flatMap((side) => ['cn', 'o', 'ou', 'c', 'l', 'st', 'email'].map((p): [string, string] => [`${side}_${p}`, 'VARCHAR'])),
  ['spki_sha256', 'VARCHAR'], ['cn_entropy', 'DOUBLE'], ['registered_domains', 'VARCHAR[]'],
];

export const OBS_FIELDS: [string, string][] = [
  ['ts', 'DOUBLE'], ['uid', 'VARCHAR'], ['src_ip', 'VARCHAR'], ['src_port', 'INTEGER'],
  ['dest_ip', 'VARCHAR'], ['dest_port', 'INTEGER'], ['server_name', 'VARCHAR'], ['tls_version', 'VARCHAR'],
  ['cipher', 'VARCHAR'], ['ja3', 'VARCHAR'], ['ja3s', 'VARCHAR'], ['ja4', 'VARCHAR'],
  ['cert_sha256', 'VARCHAR'], ['cert_sha1', 'VARCHAR'], ['chain_sha256', 'VARCHAR[]'],
  ['chain_fuids', 'VARCHAR[]'], ['established', 'BOOLEAN'], ['validation_status', 'VARCHAR'],
  ['rdns', 'VARCHAR'], ['country', 'VARCHAR'], ['subject', 'VARCHAR'], ['issuer', 'VARCHAR'],
];

export function structType(fields: [string, string][]): string {
  return `STRUCT(${fields.map(([n, t]) => `"${n}" ${t}`).join(', ')})`;
}

/** Epoch milliseconds (DOUBLE) → TIMESTAMPTZ, keeping microseconds. */
export function msToTimestamp(expr: string): string {
  return `make_timestamptz(CAST(round(CAST(${expr} AS DOUBLE) * 1000) AS BIGINT))`;
}

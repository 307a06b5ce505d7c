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

/** Columns holding epoch-ms times (DOUBLE here, TIMESTAMPTZ in silver). */
export const TIME_COLUMNS = new Set(['not_valid_before', 'not_valid_after', 'ts']);

/** Times that DuckDB, Spark and X.509 all hold: the years 0000 to 9999, in epoch ms. */
export const MIN_TIME_MS = -62_167_219_200_000;
export const MAX_TIME_MS = 253_402_300_799_999;

export interface RangeCheck {
  name: string;
  time: boolean;
}

/** The columns whose values JavaScript holds and the column may not: INTEGERs and times. */
export function rangeChecks(fields: [string, string][]): RangeCheck[] {
  return fields.filter(([n, t]) => t === 'INTEGER' || TIME_COLUMNS.has(n)).map(([name, t]) => ({ name, time: t !== 'INTEGER' }));
}

export const CERT_RANGES = rangeChecks(CERT_FIELDS);
export const OBS_RANGES = rangeChecks(OBS_FIELDS);

/**
 * Why a record cannot be staged as its columns' types say, or null. Sources check what they
 * read, but a value that fits a JavaScript number and not its column (a Zeek `count` past 2^31,
 * a time in the year 10^12) failed the whole batch's COPY, or, once in bronze, every later
 * silver step: one hostile line must cost one reject, not the run.
 */
export function outOfRange(record: object, checks: RangeCheck[]): string | null {
  const r = record as Record<string, unknown>;
  for (const { name, time } of checks) {
    const v = r[name];
    if (typeof v !== 'number') continue;
    if (time ? v >= MIN_TIME_MS && v <= MAX_TIME_MS : Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) continue;
    // Words, not numbers, for the bounds: the run's summary groups reasons with digits masked.
    return time ? `${name}: ${v} ms is outside the years a timestamp can hold` : `${name}: ${v} does not fit an INTEGER column`;
  }
  return null;
}

export function structType(fields: [string, string][]): string {
  return `STRUCT(${fields.map(([n, t]) => `"${n}" ${t}`).join(', ')})`;
}

/**
 * Epoch milliseconds (DOUBLE) → TIMESTAMPTZ, keeping microseconds. NULL past int64 microseconds
 * rather than an error: staging refuses such times (outOfRange), but a bronze row written before
 * it did would otherwise fail every silver step after it.
 */
export function msToTimestamp(expr: string): string {
  return `make_timestamptz(TRY_CAST(round(CAST(${expr} AS DOUBLE) * 1000) AS BIGINT))`;
}

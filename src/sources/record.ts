/**
 * What every source module yields: certificates, observations (one sighting of a certificate or
 * a TLS session) and rejects (records that could not be read, with the reason). Column names
 * are the silver contract of ../shared/DESIGN.md; a source fills what it knows and leaves the
 * rest null. Times are epoch milliseconds (with sub-ms precision as a fraction where the
 * source has it); fingerprints and serials lowercase hex.
 */
export interface CertificateRecord {
  /** SHA-256 of the DER; null when the source gave neither DER nor a SHA-256. */
  sha256: string | null;
  sha1: string | null;
  md5: string | null;
  serial: string | null;
  version: number | null;
  /** RFC 4514 order as Zeek prints it: `CN=...,O=...,C=US`, commas in values escaped `\,`. */
  subject: string | null;
  issuer: string | null;
  common_name: string | null;
  subject_alternative_names: string[];
  san_ip: string[];
  san_email: string[];
  san_uri: string[];
  not_valid_before: number | null;
  not_valid_after: number | null;
  key_alg: string | null;
  key_type: string | null;
  key_length: number | null;
  exponent: string | null;
  curve: string | null;
  sig_alg: string | null;
  is_ca: boolean | null;
  path_len: number | null;
  self_issued: boolean | null;
  self_signed: boolean | null;
  extensions: string[];
  /** Base64 DER when the source carried it. */
  der: string | null;
  parse_warnings: string[];
  /** The source's own spelling of subject/issuer when it differs (Suricata's `C=US, O=...`). */
  subject_original?: string | null;
  issuer_original?: string | null;
  /** When the source saw it (epoch ms). */
  ts: number | null;
  /** Zeek's host_cert / client_cert, when known. */
  host_cert?: boolean | null;
  client_cert?: boolean | null;
}

export interface ObservationRecord {
  /** Null where the source has no time per row (scan host files, masked test baselines). */
  ts: number | null;
  uid: string | null;
  src_ip: string | null;
  src_port: number | null;
  dest_ip: string | null;
  dest_port: number | null;
  server_name: string | null;
  tls_version: string | null;
  cipher: string | null;
  ja3: string | null;
  ja3s: string | null;
  ja4: string | null;
  /** Leaf certificate; SHA-256 where known, SHA-1 where only that was logged. */
  cert_sha256: string | null;
  cert_sha1: string | null;
  chain_sha256: string[];
  /** Pre-4.1 Zeek logs chains by file id (fuid), resolved against x509.log `id` later. */
  chain_fuids?: string[];
  established: boolean | null;
  validation_status: string | null;
  rdns?: string | null;
  country?: string | null;
  /** Subject/issuer as the session log gave them (pre-4.1 Zeek ssl.log, Suricata). */
  subject?: string | null;
  issuer?: string | null;
}

export interface RejectRecord {
  /** Line, record or byte position in the source, 1-based for lines. */
  position: number;
  reason: string;
  /** The start of the bad input, escaped for display, at most 200 characters. */
  excerpt: string;
}

export type SourceItem =
  | { kind: 'certificate'; pos: number; cert: CertificateRecord; raw: unknown }
  | { kind: 'observation'; pos: number; obs: ObservationRecord; raw: unknown }
  | { kind: 'reject'; reject: RejectRecord };

/** A certificate with every field unknown, for sources that know only some. */
export function emptyCertificate(): CertificateRecord {
  return {
    sha256: null, sha1: null, md5: null, serial: null, version: null, subject: null, issuer: null,
    common_name: null, subject_alternative_names: [], san_ip: [], san_email: [], san_uri: [],
    not_valid_before: null, not_valid_after: null, key_alg: null, key_type: null, key_length: null,
    exponent: null, curve: null, sig_alg: null, is_ca: null, path_len: null, self_issued: null,
    self_signed: null, extensions: [], der: null, parse_warnings: [], ts: null,
  };
}

/** Printable excerpt of bad input: control characters escaped, bounded length. */
export function excerpt(text: string, max = 200): string {
  const cut = text.length > max ? text.slice(0, max) + '…' : text;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

import { certificatesFromFile, parseCertificate, X509Error, type ParsedCertificate } from '../x509/index.js';
import { dnAttributes } from './dn.js';
import { registeredDomain } from './domain.js';
import { excerpt, type CertificateRecord, type SourceItem } from './record.js';

/**
 * Certificate files (PEM, DER, PKCS#7; several per file) as a source, and the full parse of
 * DER that log sources carry (Zeek's log-certs-base64 `cert`, Suricata's `certificate`): a
 * parsed certificate is the authority, the log's copy of its fields fills only what it lacks.
 */
export const CERTFILE = 'cert_files';
/** A certificate file is read whole; larger ones are refused rather than buffered. */
export const MAX_CERTFILE_BYTES = 64 * 1024 * 1024;

const PART_KEYS = ['cn', 'o', 'ou', 'c', 'l', 'st', 'email'] as const;
const ATTR: Record<string, (typeof PART_KEYS)[number]> = { CN: 'cn', O: 'o', OU: 'ou', C: 'c', L: 'l', ST: 'st', emailAddress: 'email' };

/** True when the first bytes (however many the caller read) look like a certificate file rather than a log. */
export function looksLikeCertificateFile(head: Uint8Array): boolean {
  if (head.length >= 2 && head[0] === 0x30 && (head[1]! & 0x80) !== 0) return true; // DER SEQUENCE, long length
  const text = Buffer.from(head).toString('latin1');
  return /-----BEGIN (X509 |TRUSTED )?CERTIFICATE-----|-----BEGIN PKCS7-----/.test(text) && !/^\s*[{#]/.test(text);
}

export async function* readCertificateFile(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SourceItem> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of chunks) {
    size += c.length;
    if (size > MAX_CERTFILE_BYTES) {
      yield { kind: 'reject', reject: { position: 0, reason: `certificate file larger than ${MAX_CERTFILE_BYTES} bytes`, excerpt: '' } };
      return;
    }
    parts.push(c);
  }
  const bytes = Buffer.concat(parts);
  const found = certificatesFromFile(bytes);
  let i = 0;
  for (const f of found.certs) {
    i++;
    yield { kind: 'certificate', pos: f.line ?? i, cert: withParts(f.cert), raw: { offset: f.offset, line: f.line } };
  }
  for (const e of found.errors) {
    const at = e.line ?? e.offset;
    yield { kind: 'reject', reject: { position: at, reason: e.reason, excerpt: excerpt(bytes.subarray(e.offset, e.offset + 120).toString('latin1')) } };
  }
}

/** Fill a log record from its DER when it has one; add subject/issuer parts from the DN text. */
export function completeCertificate(cert: CertificateRecord): CertificateRecord {
  if (!cert.der) return withParts(cert);
  let parsed: ParsedCertificate;
  try {
    parsed = parseCertificate(Buffer.from(cert.der, 'base64'), { selfSigned: 'self-issued' });
  } catch (e) {
    const reason = e instanceof X509Error ? e.message : String(e);
    return withParts({ ...cert, parse_warnings: [...cert.parse_warnings, `logged DER could not be parsed: ${reason}`] });
  }
  const merged: Record<string, unknown> = { ...parsed };
  for (const [k, v] of Object.entries(cert)) {
    if (merged[k] === null || merged[k] === undefined) merged[k] = v;
  }
  // What only the log knows: when and where it was seen.
  merged.ts = cert.ts;
  if (cert.host_cert !== undefined) merged.host_cert = cert.host_cert;
  if (cert.client_cert !== undefined) merged.client_cert = cert.client_cert;
  merged.parse_warnings = [...new Set([...cert.parse_warnings, ...parsed.parse_warnings])];
  return withParts(merged as unknown as CertificateRecord);
}

/** Shannon entropy in bits of a string's characters (code points), null for none. */
export function shannonEntropy(text: string | null): number | null {
  if (!text) return null;
  // Counts in first-seen order either way: the sum's order fixes its last bits, and the ASCII
  // path (names almost always) must give the very number the general one does.
  const seen: number[] = [];
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) {
      ascii = false;
      break;
    }
    if (asciiCounts[c]!++ === 0) seen.push(c);
  }
  let h = 0;
  if (ascii) {
    const n = text.length;
    for (const c of seen) {
      const k = asciiCounts[c]!;
      asciiCounts[c] = 0;
      h -= (k / n) * Math.log2(k / n);
    }
  } else {
    for (const c of seen) asciiCounts[c] = 0;
    const byChar = new Map<string, number>();
    let n = 0;
    for (const ch of text) {
      byChar.set(ch, (byChar.get(ch) ?? 0) + 1);
      n++;
    }
    for (const k of byChar.values()) h -= (k / n) * Math.log2(k / n);
  }
  return h === 0 ? 0 : h;
}

const asciiCounts = new Uint32Array(128);

/**
 * Entries a certificate's lists keep (SANs, extensions, warnings); past it, the first ones and a
 * parse warning saying how many there were. Real certificates name at most a few thousand. A
 * hostile one with 900k SANs fits a 16 MiB log line, and every later step held them whole: a
 * dozen ran DuckDB out of memory in silver, then in hunts (sni-mismatch's names, a materialized
 * list child of 165 MiB), so one served certificate could switch a hunt off. Bronze's `raw`
 * keeps the record as read.
 */
export const MAX_LIST_ENTRIES = 10_000;
/** What every warning of a cut list says (the ingest summary counts certificates by it). */
export const CUT_LIST = ': kept the first ';
const cutList = (name: string, kept: number, total: number) => `${name}${CUT_LIST}${kept} of ${total} entries`;
const BOUNDED_LISTS = ['subject_alternative_names', 'san_ip', 'san_email', 'san_uri', 'extensions'] as const;

function boundLists(cert: CertificateRecord): void {
  for (const name of BOUNDED_LISTS) {
    const list = cert[name];
    if (list.length <= MAX_LIST_ENTRIES) continue;
    cert[name] = list.slice(0, MAX_LIST_ENTRIES);
    cert.parse_warnings = [...cert.parse_warnings, cutList(name, MAX_LIST_ENTRIES, list.length)];
  }
  if (cert.parse_warnings.length > MAX_LIST_ENTRIES) {
    const n = cert.parse_warnings.length;
    cert.parse_warnings = [...cert.parse_warnings.slice(0, MAX_LIST_ENTRIES - 1), cutList('parse_warnings', MAX_LIST_ENTRIES - 1, n)];
  }
}

function withParts(cert: CertificateRecord): CertificateRecord {
  boundLists(cert);
  const out = cert as CertificateRecord & CertificateParts;
  out.cn_entropy = shannonEntropy(cert.common_name);
  out.registered_domains = registeredDomains(cert.common_name, cert.subject_alternative_names);
  // Named stores, not a loop over column names: every record then takes the same shape the
  // same way (keyed stores by computed name were a tenth of this function's cost, cpu profile).
  if (out.subject_cn === undefined) {
    const p = dnParts(cert.subject);
    out.subject_cn = p[0] ?? null;
    out.subject_o = p[1] ?? null;
    out.subject_ou = p[2] ?? null;
    out.subject_c = p[3] ?? null;
    out.subject_l = p[4] ?? null;
    out.subject_st = p[5] ?? null;
    out.subject_email = p[6] ?? null;
  }
  if (out.issuer_cn === undefined) {
    const p = dnParts(cert.issuer);
    out.issuer_cn = p[0] ?? null;
    out.issuer_o = p[1] ?? null;
    out.issuer_ou = p[2] ?? null;
    out.issuer_c = p[3] ?? null;
    out.issuer_l = p[4] ?? null;
    out.issuer_st = p[5] ?? null;
    out.issuer_email = p[6] ?? null;
  }
  return out;
}

/** What withParts adds, in PART_KEYS order for each side. */
interface CertificateParts {
  cn_entropy: number | null;
  registered_domains: string[];
  subject_cn?: string | null; subject_o?: string | null; subject_ou?: string | null; subject_c?: string | null;
  subject_l?: string | null; subject_st?: string | null; subject_email?: string | null;
  issuer_cn?: string | null; issuer_o?: string | null; issuer_ou?: string | null; issuer_c?: string | null;
  issuer_l?: string | null; issuer_st?: string | null; issuer_email?: string | null;
}

/** For top-list lookups: the registered domains (Public Suffix List) of the CN and DNS SANs, first seen first. */
function registeredDomains(cn: string | null, sans: string[]): string[] {
  const domains = new Set<string>();
  const d = registeredDomain(cn);
  if (d) domains.add(d);
  for (const n of sans) {
    const d = registeredDomain(n);
    if (d) domains.add(d);
  }
  return [...domains];
}

/**
 * A name's parts in PART_KEYS order (the first of each attribute type). Logs repeat the same
 * few issuers and every relogged subject, so parts are kept per name text for a while: parsing
 * them again was 6% of an ingest's main thread (bench/ingest.ts, cpu profile).
 */
function dnParts(dn: string | null): (string | null)[] {
  if (!dn) return [];
  let parts = partsCache.get(dn);
  if (parts) return parts;
  parts = PART_KEYS.map(() => null);
  for (const [t, v] of dnAttributes(dn)) {
    const key = ATTR[t];
    const i = key ? PART_KEYS.indexOf(key) : -1;
    if (i >= 0 && parts[i] === null) parts[i] = v;
  }
  // Dropped whole when full: a bounded cache with no bookkeeping per hit. Long names (hostile
  // ones run to megabytes) are not kept, so the cache stays a few MB.
  if (dn.length > PARTS_CACHE_MAX_NAME) return parts;
  if (partsCache.size >= PARTS_CACHE_SIZE) partsCache.clear();
  partsCache.set(dn, parts);
  return parts;
}

const PARTS_CACHE_SIZE = 20_000;
const PARTS_CACHE_MAX_NAME = 512;
const partsCache = new Map<string, (string | null)[]>();

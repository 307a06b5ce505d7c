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

/** True when the first bytes look like a certificate file rather than a log. */
export function looksLikeCertificateFile(head: Uint8Array): boolean {
  if (head.length >= 2 && head[0] === 0x30 && (head[1]! & 0x80) !== 0) return true; // DER SEQUENCE, long length
  const text = Buffer.from(head.subarray(0, 65536)).toString('latin1');
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
  const counts = new Map<string, number>();
  let n = 0;
  for (const ch of text) {
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
    n++;
  }
  let h = 0;
  for (const c of counts.values()) h -= (c / n) * Math.log2(c / n);
  return h === 0 ? 0 : h;
}

function withParts(cert: CertificateRecord): CertificateRecord {
  const out = cert as CertificateRecord & Record<string, unknown>;
  out.cn_entropy = shannonEntropy(cert.common_name);
  // For top-list lookups: the registered domains (Public Suffix List) of the CN and DNS SANs.
  const domains = new Set<string>();
  for (const n of [cert.common_name, ...cert.subject_alternative_names]) {
    const d = registeredDomain(n);
    if (d) domains.add(d);
  }
  out.registered_domains = [...domains];
  for (const side of ['subject', 'issuer'] as const) {
    if (out[`${side}_cn`] !== undefined) continue;
    const attrs = out[side] ? dnAttributes(out[side] as string) : [];
    for (const k of PART_KEYS) out[`${side}_${k}`] = null;
    for (const [t, v] of attrs) {
      const key = ATTR[t];
      if (key && out[`${side}_${key}`] === null) out[`${side}_${key}`] = v;
    }
  }
  return out;
}

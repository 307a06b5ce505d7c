/**
 * One DER certificate to a record of the silver `certificates` columns, with the values Zeek's
 * x509.log would show for it (see name.ts, key.ts, extensions.ts for the rules per column).
 *
 * Our own DER walk rather than a library, by measurement (bench/x509.ts, bench/README.md): on a
 * 1.4 kB leaf, crypto.X509Certificate's constructor alone costs ~130 µs, and asn1js.fromBER 250 µs
 * (3.1) to 410 µs (4.0) before a single field is read (a one-off timing; asn1js is not a
 * dependency); this walk reads every column in ~10 µs, a third of it the three fingerprints
 * (100k-certificate bench: 14.6x X509Certificate's throughput for the same fields).
 *
 * Tolerant by design (malware authors malform certificates on purpose): only a certificate whose
 * outer SEQUENCE or TBSCertificate does not frame is an X509Error; every other fault costs the
 * fields it touches, and a line in `parse_warnings`.
 */
import * as crypto from 'node:crypto';
import type { CertificateRecord } from '../sources/record.js';
import { type Tlv, BIT_STRING, expectTlv, INTEGER, integerHex, lax, OID, readTlv, SEQUENCE, smallInt, tagName } from './der.js';
import { X509Error } from './error.js';
import { parseExtensions } from './extensions.js';
import { parseKey } from './key.js';
import { namesMatch, parseName } from './name.js';
import { algorithmName } from './oids.js';
import { verifiesWithOwnKey } from './signature.js';
import { parseTime } from './time.js';

/**
 * The record, plus name parts (most specific value of each kind, decoded text) and the SHA-256 of
 * the SubjectPublicKeyInfo (pivot on key reuse across certificates).
 */
export interface ParsedCertificate extends CertificateRecord {
  subject_cn: string | null;
  subject_o: string | null;
  subject_ou: string | null;
  subject_c: string | null;
  subject_l: string | null;
  subject_st: string | null;
  subject_email: string | null;
  issuer_cn: string | null;
  issuer_o: string | null;
  issuer_ou: string | null;
  issuer_c: string | null;
  issuer_l: string | null;
  issuer_st: string | null;
  issuer_email: string | null;
  spki_sha256: string | null;
}

export interface ParseOptions {
  /**
   * Which certificates get their signature checked against their own key (`self_signed`):
   * 'self-issued' (default; RFC 5280 self-signed certificates are self-issued ones, others are
   * false unchecked), 'always' (also catches a certificate that names a real CA as issuer but is
   * signed by its own key), 'never' (self-issued ones are null). The check is public-key crypto
   * and costs far more than parsing (bench/x509.ts: ~10 µs a certificate without it; a P-256
   * verify is ~50 µs, P-384 ~480 µs), so bulk readers may prefer 'never' and check the distinct
   * self-issued certificates later.
   */
  selfSigned?: 'self-issued' | 'always' | 'never';
  /** Put the DER, base64, in `der` (default true). */
  keepDer?: boolean;
}

const MAX_WARNINGS = 32;

const digest: (algorithm: string, data: Uint8Array) => string =
  typeof crypto.hash === 'function'
    ? (algorithm, data) => crypto.hash(algorithm, data, 'hex')
    : (algorithm, data) => crypto.createHash(algorithm).update(data).digest('hex');

function sameBytes(b: Uint8Array, x: Tlv, y: Tlv): boolean {
  const n = x.end - x.start;
  if (n !== y.end - y.start) return false;
  for (let i = 0; i < n; i++) if (b[x.start + i] !== b[y.start + i]) return false;
  return true;
}

/**
 * Parses one DER certificate. Bytes after it are ignored with a warning. Throws X509Error (and
 * nothing else) when the input is not a certificate at all.
 */
export function parseCertificate(der: Uint8Array, options: ParseOptions = {}): ParsedCertificate {
  const b = Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  if (b.length === 0) throw new X509Error('empty input', 0);
  if (b[0] !== SEQUENCE) throw new X509Error(`not a certificate: starts with ${tagName(b[0]!)}, not a SEQUENCE`, 0);
  lax.nonMinimalLengths = 0;
  const cert = readTlv(b, 0, b.length);
  const tbs = expectTlv(b, cert.body, cert.end, SEQUENCE, 'TBSCertificate');
  const warnings: string[] = [];
  if (cert.end < b.length) warnings.push(`${b.length - cert.end} bytes after the certificate`);

  let version: number | null = 1;
  let serial: string | null = null;
  let tbsSigAlg: Tlv | null = null;
  let issuer: Tlv | null = null;
  let subject: Tlv | null = null;
  let validity: Tlv | null = null;
  let spki: Tlv | null = null;
  let exts: Tlv | null = null;
  try {
    let p = tbs.body;
    if (p < tbs.end && b[p] === 0xa0) {
      const t = readTlv(b, p, tbs.end);
      const v = smallInt(b, expectTlv(b, t.body, t.end, INTEGER, 'version'));
      if (v === null || v < 0 || v > 0x7ffffffe) {
        version = null;
        warnings.push('version out of range');
      } else {
        version = v + 1;
        if (v > 2) warnings.push(`unknown version v${v + 1}`);
        else if (v === 0) warnings.push('explicit v1 version (DER omits the default)');
      }
      p = t.end;
    }
    // Positional: a field of the wrong type is reported and skipped, the walk goes on.
    const field = (tag: number, what: string): Tlv | null => {
      const f = readTlv(b, p, tbs.end);
      p = f.end;
      if (f.tag === tag) return f;
      warnings.push(`${what}: expected ${tagName(tag)}, found ${tagName(f.tag)}`);
      return null;
    };
    const serialTlv = field(INTEGER, 'serial number');
    if (serialTlv) {
      serial = integerHex(b, serialTlv);
      const n = serialTlv.end - serialTlv.body;
      const first = n > 0 ? b[serialTlv.body]! : 0;
      const second = n > 1 ? b[serialTlv.body + 1]! : 0;
      if (n === 0) warnings.push('empty serial number');
      else if (n > 1 && ((first === 0 && second < 0x80) || (first === 0xff && second >= 0x80))) warnings.push('serial number not minimally encoded');
      if (first & 0x80) warnings.push('negative serial number');
      if (n > 21 || (n === 21 && first !== 0)) warnings.push('serial number longer than 20 bytes');
    }
    tbsSigAlg = field(SEQUENCE, 'signature algorithm');
    issuer = field(SEQUENCE, 'issuer');
    validity = field(SEQUENCE, 'validity');
    subject = field(SEQUENCE, 'subject');
    spki = field(SEQUENCE, 'subject public key info');
    while (p < tbs.end) {
      const f = readTlv(b, p, tbs.end);
      p = f.end;
      if (f.tag === 0xa3) exts = f;
      else if (f.tag !== 0x81 && f.tag !== 0x82) warnings.push(`unexpected ${tagName(f.tag)} in TBSCertificate`);
      else if (version === 1) warnings.push('unique identifiers in a v1 certificate');
    }
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    warnings.push(`TBSCertificate malformed: ${e.reason}`);
  }

  let sigAlg: Tlv | null = null;
  let sig: Tlv | null = null;
  try {
    sigAlg = expectTlv(b, tbs.end, cert.end, SEQUENCE, 'signature algorithm');
    sig = expectTlv(b, sigAlg.end, cert.end, BIT_STRING, 'signature');
    if (sig.end !== cert.end) warnings.push('extra data after the signature');
    if (tbsSigAlg && !sameBytes(b, sigAlg, tbsSigAlg)) warnings.push('signature algorithm differs between TBSCertificate and certificate');
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    warnings.push(`signature malformed: ${e.reason}`);
  }
  // Zeek names the outer algorithm (X509_get_signature_nid); the TBS copy stands in if it is gone.
  const sigAlgFor = sigAlg ?? tbsSigAlg;
  let sigAlgName: string | null = null;
  if (sigAlgFor) {
    try {
      const oid = expectTlv(b, sigAlgFor.body, sigAlgFor.end, OID, 'signature algorithm');
      sigAlgName = algorithmName(b, oid.body, oid.end);
    } catch (e) {
      if (!(e instanceof X509Error)) throw e;
      warnings.push(`signature algorithm malformed: ${e.reason}`);
    }
  }

  const subj = subject ? parseName(b, subject, warnings, 'subject') : null;
  const iss = issuer ? parseName(b, issuer, warnings, 'issuer') : null;
  let notBefore: number | null = null;
  let notAfter: number | null = null;
  if (validity) {
    try {
      const nb = readTlv(b, validity.body, validity.end);
      notBefore = parseTime(b, nb, warnings, 'notBefore');
      notAfter = parseTime(b, readTlv(b, nb.end, validity.end), warnings, 'notAfter');
    } catch (e) {
      if (!(e instanceof X509Error)) throw e;
      warnings.push(`validity malformed: ${e.reason}`);
    }
  }
  const key = spki ? parseKey(b, spki, warnings) : null;
  const ext = exts ? parseExtensions(b, exts, warnings) : null;
  if (ext && version !== null && version < 3) warnings.push(`extensions in a v${version} certificate`);

  // RFC 5280 §6.1: self-issued when subject and issuer match under §7.1's rules; equal bytes
  // always do, and the canonical forms decide the rest (different string types, case, spaces).
  const selfIssued = subject && issuer ? sameBytes(b, subject, issuer) || namesMatch(b, subject, issuer) : null;
  const mode = options.selfSigned ?? 'self-issued';
  let selfSigned: boolean | null = null;
  if (selfIssued === false && mode !== 'always') selfSigned = false;
  else if (mode !== 'never' && spki && sigAlg && sig && (selfIssued || mode === 'always')) {
    selfSigned = verifiesWithOwnKey(b, spki, tbs, sigAlg, sig, warnings);
  }

  if (lax.nonMinimalLengths > 0) warnings.push('non-minimal length encodings (BER, not DER)');
  const certBytes = b.subarray(cert.start, cert.end);
  return {
    sha256: digest('sha256', certBytes),
    sha1: digest('sha1', certBytes),
    md5: digest('md5', certBytes),
    serial,
    version,
    subject: subj?.text ?? null,
    issuer: iss?.text ?? null,
    common_name: subj?.cn ?? null,
    subject_alternative_names: ext?.dns ?? [],
    san_ip: ext?.ip ?? [],
    san_email: ext?.email ?? [],
    san_uri: ext?.uri ?? [],
    not_valid_before: notBefore,
    not_valid_after: notAfter,
    key_alg: key?.key_alg ?? null,
    key_type: key?.key_type ?? null,
    key_length: key?.key_length ?? null,
    exponent: key?.exponent ?? null,
    curve: key?.curve ?? null,
    sig_alg: sigAlgName,
    is_ca: ext?.is_ca ?? null,
    path_len: ext?.path_len ?? null,
    self_issued: selfIssued,
    self_signed: selfSigned,
    extensions: ext?.extensions ?? [],
    der: options.keepDer === false ? null : certBytes.toString('base64'),
    parse_warnings: tidy(warnings),
    ts: null,
    subject_cn: subj?.cn ?? null,
    subject_o: subj?.o ?? null,
    subject_ou: subj?.ou ?? null,
    subject_c: subj?.c ?? null,
    subject_l: subj?.l ?? null,
    subject_st: subj?.st ?? null,
    subject_email: subj?.email ?? null,
    issuer_cn: iss?.cn ?? null,
    issuer_o: iss?.o ?? null,
    issuer_ou: iss?.ou ?? null,
    issuer_c: iss?.c ?? null,
    issuer_l: iss?.l ?? null,
    issuer_st: iss?.st ?? null,
    issuer_email: iss?.email ?? null,
    spki_sha256: spki ? digest('sha256', b.subarray(spki.start, spki.end)) : null,
  };
}

/** Warnings without repeats, at most MAX_WARNINGS of them (a hostile certificate can make thousands). */
function tidy(warnings: string[]): string[] {
  if (warnings.length < 2) return warnings;
  const unique = [...new Set(warnings)];
  if (unique.length <= MAX_WARNINGS) return unique;
  return [...unique.slice(0, MAX_WARNINGS), `${unique.length - MAX_WARNINGS} more warnings`];
}

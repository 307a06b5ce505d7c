/**
 * Every certificate in a file's bytes, whatever the packaging: DER (one certificate or several
 * concatenated), PEM with any text around it (CERTIFICATE, X509 CERTIFICATE, TRUSTED
 * CERTIFICATE), PKCS#7 bundles as DER (.p7b/.p7c) or PEM (PKCS7). DER vs PEM is decided by the
 * content, not the name: a file whose first non-blank byte is a SEQUENCE tag is DER, unless
 * reading it so finds nothing and it holds a PEM BEGIN line; text without PEM armour that is one
 * base64 blob of DER is read too. Offsets in a bare base64 file are offsets in the decoded DER.
 */
import { type ParseOptions, type ParsedCertificate, parseCertificate } from './certificate.js';
import { type BerTlv, readTlvBer, SEQUENCE, tagName } from './der.js';
import { X509Error } from './error.js';
import { parsePemBlocks } from './pem.js';
import { isContentInfo, pkcs7Certificates } from './pkcs7.js';

export interface FoundCertificate {
  cert: ParsedCertificate;
  /** Byte offset of the certificate (DER) or of its PEM BEGIN line. */
  offset: number;
  /** 1-based line of the PEM BEGIN line; null for DER. */
  line: number | null;
}

export interface FileProblem {
  offset: number;
  line: number | null;
  reason: string;
}

const CERT_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE', 'PKCS7', 'PKCS #7 SIGNED DATA']);
const PKCS7_LABELS = new Set(['PKCS7', 'PKCS #7 SIGNED DATA']);
const BARE_BASE64 = /^\s*[A-Za-z0-9+/]{16,}={0,2}\s*$/;

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x00;
}

export function certificatesFromFile(bytes: Uint8Array, options: ParseOptions = {}): { certs: FoundCertificate[]; errors: FileProblem[] } {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let first = 0;
  while (first < b.length && isBlank(b[first]!)) first++;
  if (first === b.length) return { certs: [], errors: [{ offset: 0, line: null, reason: 'empty file' }] };
  if (b[first] === SEQUENCE) {
    const der = fromDer(b, first, options);
    if (der.certs.length > 0 || b.indexOf('-----BEGIN ') === -1) return der;
  }
  const pem = fromPem(b, options);
  if (pem.certs.length === 0 && pem.errors.length === 0) {
    // Bare base64 of DER (a `cert` column of Zeek's log-certs-base64, a pasted blob).
    const text = b.toString('latin1');
    if (BARE_BASE64.test(text)) {
      const der = Buffer.from(text, 'base64');
      if (der[0] === SEQUENCE) {
        const found = fromDer(der, 0, options);
        if (found.certs.length > 0) return found;
      }
    }
    pem.errors.push({ offset: 0, line: null, reason: 'no certificate found (neither DER nor PEM)' });
  }
  return pem;
}

function fromDer(b: Buffer, start: number, options: ParseOptions): { certs: FoundCertificate[]; errors: FileProblem[] } {
  const certs: FoundCertificate[] = [];
  const errors: FileProblem[] = [];
  const one = (s: number, e: number) => {
    try {
      certs.push({ cert: parseCertificate(b.subarray(s, e), options), offset: s, line: null });
    } catch (err) {
      if (!(err instanceof X509Error)) throw err;
      errors.push({ offset: s + err.offset, line: null, reason: err.reason });
    }
  };
  for (let pos = start; pos < b.length; ) {
    let rest = pos;
    while (rest < b.length && isBlank(b[rest]!)) rest++;
    if (rest === b.length) break;
    let t: BerTlv;
    try {
      t = readTlvBer(b, pos, b.length);
    } catch (err) {
      if (!(err instanceof X509Error)) throw err;
      errors.push({ offset: err.offset, line: null, reason: err.reason });
      break;
    }
    if (t.tag !== SEQUENCE) {
      errors.push({ offset: pos, line: null, reason: `${tagName(t.tag)} where a certificate or PKCS#7 bundle should start` });
      break;
    }
    if (isContentInfo(b, t)) {
      const p7 = pkcs7Certificates(b, pos, t.next);
      for (const c of p7.certs) one(c.start, c.end);
      for (const e of p7.errors) errors.push({ offset: e.offset, line: null, reason: e.reason });
    } else {
      one(pos, t.next);
    }
    pos = t.next;
  }
  return { certs, errors };
}

function fromPem(b: Buffer, options: ParseOptions): { certs: FoundCertificate[]; errors: FileProblem[] } {
  const { blocks, errors: pemErrors } = parsePemBlocks(b, CERT_LABELS);
  const certs: FoundCertificate[] = [];
  const errors: FileProblem[] = pemErrors.map((e) => ({ ...e }));
  for (const block of blocks) {
    const der = Buffer.from(block.der.buffer, block.der.byteOffset, block.der.byteLength);
    const at = { offset: block.offset, line: block.line };
    const one = (s: number, e: number) => {
      try {
        certs.push({ cert: parseCertificate(der.subarray(s, e), options), ...at });
      } catch (err) {
        if (!(err instanceof X509Error)) throw err;
        errors.push({ ...at, reason: `${err.reason} (byte ${s + err.offset} of the ${block.label} block)` });
      }
    };
    let outer: BerTlv | null = null;
    try {
      outer = der.length > 0 && der[0] === SEQUENCE ? readTlvBer(der, 0, der.length) : null;
    } catch {
      // Left to parseCertificate, which says what is wrong.
    }
    if (PKCS7_LABELS.has(block.label) || (outer && isContentInfo(der, outer))) {
      const p7 = pkcs7Certificates(der);
      for (const c of p7.certs) one(c.start, c.end);
      for (const e of p7.errors) errors.push({ ...at, reason: `${e.reason} (byte ${e.offset} of the ${block.label} block)` });
    } else if (block.label === 'TRUSTED CERTIFICATE' && outer) {
      // OpenSSL's trusted form: the certificate, then its trust settings (X509_CERT_AUX).
      one(0, outer.next);
    } else {
      one(0, der.length);
    }
  }
  return { certs, errors };
}

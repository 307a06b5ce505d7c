/**
 * Certificates inside a PKCS#7 / CMS SignedData bundle (`.p7b`, `.p7c`, `-----BEGIN PKCS7-----`):
 * ContentInfo { contentType signedData, [0] EXPLICIT SignedData { version, digestAlgorithms,
 * encapContentInfo, [0] IMPLICIT certificates OPTIONAL, [1] crls OPTIONAL, signerInfos } }
 * (RFC 5652 5.1). The wrappers may be BER with indefinite lengths (some Windows and Java tools
 * write them so); the certificates inside are returned as offsets for the DER parser.
 */
import { type BerTlv, encodeOid, OID, oidDotted, oidKey, readTlvBer, SEQUENCE, tagName } from './der.js';
import { X509Error } from './error.js';

const SIGNED_DATA = (() => {
  const enc = encodeOid('1.2.840.113549.1.7.2');
  return oidKey(enc, 0, enc.length);
})();

export interface Pkcs7Contents {
  /** [start, end) of each certificate, relative to the bytes given. */
  certs: { start: number; end: number }[];
  errors: { offset: number; reason: string }[];
}

/** Whether the SEQUENCE `t` looks like a ContentInfo (its first child is an OID) rather than a certificate. */
export function isContentInfo(buf: Uint8Array, t: BerTlv): boolean {
  return t.tag === SEQUENCE && t.body < buf.length && buf[t.body] === OID;
}

export function pkcs7Certificates(buf: Uint8Array, start = 0, end = buf.length): Pkcs7Contents {
  const out: Pkcs7Contents = { certs: [], errors: [] };
  try {
    const ci = readTlvBer(buf, start, end);
    const type = readTlvBer(buf, ci.body, ci.end);
    if (type.tag !== OID) throw new X509Error('PKCS#7 ContentInfo without a content type', type.start);
    if (oidKey(buf, type.body, type.end) !== SIGNED_DATA) {
      throw new X509Error(`PKCS#7 content type ${oidDotted(buf, type.body, type.end) ?? '(invalid OID)'} is not signedData`, type.start);
    }
    const explicit = readTlvBer(buf, type.next, ci.end);
    if (explicit.tag !== 0xa0) throw new X509Error(`PKCS#7 content is ${tagName(explicit.tag)}, not [0]`, explicit.start);
    const sd = readTlvBer(buf, explicit.body, explicit.end);
    if (sd.tag !== SEQUENCE) throw new X509Error(`SignedData is ${tagName(sd.tag)}, not a SEQUENCE`, sd.start);
    for (let p = sd.body; p < sd.end; ) {
      const field = readTlvBer(buf, p, sd.end);
      p = field.next;
      if (field.tag !== 0xa0) continue;
      for (let q = field.body; q < field.end; ) {
        const choice = readTlvBer(buf, q, field.end);
        q = choice.next;
        // CertificateChoices: a plain Certificate, or [0]..[3] extended/attribute/other formats.
        if (choice.tag === SEQUENCE) out.certs.push({ start: choice.start, end: choice.next });
        else out.errors.push({ offset: choice.start, reason: `skipped a ${tagName(choice.tag)} certificate choice (not X.509)` });
      }
    }
    if (out.certs.length === 0 && out.errors.length === 0) out.errors.push({ offset: start, reason: 'PKCS#7 bundle holds no certificates' });
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    out.errors.push({ offset: e.offset, reason: e.reason });
  }
  return out;
}

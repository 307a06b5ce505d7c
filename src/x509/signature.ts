/**
 * Whether a certificate's signature verifies under its own public key (node:crypto verify over
 * the TBSCertificate bytes). Null when that cannot be checked here: an algorithm node:crypto
 * lacks (MD2, SM2, GOST, RSASSA-PSS with an MGF1 hash other than the message hash), or a key
 * OpenSSL will not load. Costly next to parsing (createPublicKey plus a verify), which is why
 * the certificate parser only calls it for self-issued certificates (RFC 5280 3.2:
 * self-signed certificates are the self-issued ones whose signature their own key verifies).
 */
import * as crypto from 'node:crypto';
import { type Tlv, encodeOid, expectTlv, INTEGER, oidKey, OID, readTlv, SEQUENCE, smallInt } from './der.js';
import { X509Error } from './error.js';

type Scheme = 'pkcs1' | 'dsa' | 'eddsa' | 'pss';

function key(dotted: string): string {
  const enc = encodeOid(dotted);
  return oidKey(enc, 0, enc.length);
}

/** Signature algorithm OID, scheme, node:crypto digest name (null for EdDSA and PSS, whose parameters say). */
const SCHEME_LIST: readonly (readonly [string, Scheme, string | null])[] = [
  ['1.2.840.113549.1.1.3', 'pkcs1', 'md4'],
  ['1.2.840.113549.1.1.4', 'pkcs1', 'md5'],
  ['1.2.840.113549.1.1.5', 'pkcs1', 'sha1'],
  ['1.2.840.113549.1.1.11', 'pkcs1', 'sha256'],
  ['1.2.840.113549.1.1.12', 'pkcs1', 'sha384'],
  ['1.2.840.113549.1.1.13', 'pkcs1', 'sha512'],
  ['1.2.840.113549.1.1.14', 'pkcs1', 'sha224'],
  ['1.2.840.113549.1.1.15', 'pkcs1', 'sha512-224'],
  ['1.2.840.113549.1.1.16', 'pkcs1', 'sha512-256'],
  ['1.3.14.3.2.29', 'pkcs1', 'sha1'],
  ['2.16.840.1.101.3.4.3.13', 'pkcs1', 'sha3-224'],
  ['2.16.840.1.101.3.4.3.14', 'pkcs1', 'sha3-256'],
  ['2.16.840.1.101.3.4.3.15', 'pkcs1', 'sha3-384'],
  ['2.16.840.1.101.3.4.3.16', 'pkcs1', 'sha3-512'],
  ['1.2.840.10045.4.1', 'dsa', 'sha1'],
  ['1.2.840.10045.4.3.1', 'dsa', 'sha224'],
  ['1.2.840.10045.4.3.2', 'dsa', 'sha256'],
  ['1.2.840.10045.4.3.3', 'dsa', 'sha384'],
  ['1.2.840.10045.4.3.4', 'dsa', 'sha512'],
  ['2.16.840.1.101.3.4.3.9', 'dsa', 'sha3-224'],
  ['2.16.840.1.101.3.4.3.10', 'dsa', 'sha3-256'],
  ['2.16.840.1.101.3.4.3.11', 'dsa', 'sha3-384'],
  ['2.16.840.1.101.3.4.3.12', 'dsa', 'sha3-512'],
  ['1.2.840.10040.4.3', 'dsa', 'sha1'],
  ['2.16.840.1.101.3.4.3.1', 'dsa', 'sha224'],
  ['2.16.840.1.101.3.4.3.2', 'dsa', 'sha256'],
  ['2.16.840.1.101.3.4.3.3', 'dsa', 'sha384'],
  ['2.16.840.1.101.3.4.3.4', 'dsa', 'sha512'],
  ['1.3.101.112', 'eddsa', null],
  ['1.3.101.113', 'eddsa', null],
  ['1.2.840.113549.1.1.10', 'pss', null],
];
const SCHEMES = new Map(SCHEME_LIST.map(([dotted, scheme, hash]) => [key(dotted), [scheme, hash] as const]));

/** Hash algorithms that RSASSA-PSS parameters name. */
const HASHES = new Map<string, string>(
  [
    ['1.3.14.3.2.26', 'sha1'],
    ['2.16.840.1.101.3.4.2.1', 'sha256'],
    ['2.16.840.1.101.3.4.2.2', 'sha384'],
    ['2.16.840.1.101.3.4.2.3', 'sha512'],
    ['2.16.840.1.101.3.4.2.4', 'sha224'],
  ].map(([dotted, name]) => [key(dotted!), name!]),
);
const MGF1 = key('1.2.840.113549.1.1.8');

interface PssParams {
  hash: string;
  saltLength: number;
}

/** RSASSA-PSS-params (RFC 4055): hash [0] default SHA-1, MGF1 [1] with the same hash, salt [2] default 20. */
function pssParams(b: Uint8Array, alg: Tlv, oid: Tlv): PssParams | null {
  const out: PssParams = { hash: 'sha1', saltLength: 20 };
  let mgfHash = 'sha1';
  if (oid.end === alg.end) return out;
  const seq = readTlv(b, oid.end, alg.end);
  if (seq.tag !== SEQUENCE) return seq.tag === 0x05 ? out : null;
  const hashOf = (t: Tlv): string | null => {
    const inner = expectTlv(b, t.body, t.end, SEQUENCE, 'PSS hash');
    const o = expectTlv(b, inner.body, inner.end, OID, 'PSS hash');
    return HASHES.get(oidKey(b, o.body, o.end)) ?? null;
  };
  for (let p = seq.body; p < seq.end; ) {
    const f = readTlv(b, p, seq.end);
    p = f.end;
    if (f.tag === 0xa0) {
      const h = hashOf(f);
      if (h === null) return null;
      out.hash = h;
    } else if (f.tag === 0xa1) {
      const mgf = expectTlv(b, f.body, f.end, SEQUENCE, 'PSS mask generation');
      const o = expectTlv(b, mgf.body, mgf.end, OID, 'PSS mask generation');
      if (oidKey(b, o.body, o.end) !== MGF1) return null;
      const h = hashOf({ tag: SEQUENCE, start: o.end, body: o.end, end: mgf.end });
      if (h === null) return null;
      mgfHash = h;
    } else if (f.tag === 0xa2) {
      const salt = smallInt(b, expectTlv(b, f.body, f.end, INTEGER, 'PSS salt length'));
      if (salt === null || salt < 0) return null;
      out.saltLength = salt;
    }
  }
  // node:crypto uses the message digest for MGF1 too; a different MGF1 hash cannot be checked.
  return mgfHash === out.hash ? out : null;
}

const RSA_KEY = key('1.2.840.113549.1.1.1');
const ED25519_KEY = key('1.3.101.112');
const ED448_KEY = key('1.3.101.113');

/**
 * The certificate's public key as a KeyObject. OpenSSL 3's SPKI decoder costs ~100 µs a key
 * (measured on Node 20 / OpenSSL 3.0: RSA-2048 SPKI 97 µs, the same key as PKCS#1 3.3 µs, Ed25519
 * as JWK 5 µs), more than most verifies, so RSA and EdDSA keys go in by the cheap doors.
 */
function importKey(b: Buffer, spki: Tlv): crypto.KeyObject {
  const alg = expectTlv(b, spki.body, spki.end, SEQUENCE, 'public key algorithm');
  const id = expectTlv(b, alg.body, alg.end, OID, 'public key algorithm');
  const bits = readTlv(b, alg.end, spki.end);
  const kind = oidKey(b, id.body, id.end);
  if (bits.tag === 0x03 && bits.end > bits.body && b[bits.body] === 0) {
    const raw = b.subarray(bits.body + 1, bits.end);
    if (kind === RSA_KEY) return crypto.createPublicKey({ key: raw, format: 'der', type: 'pkcs1' });
    if (kind === ED25519_KEY || kind === ED448_KEY) {
      return crypto.createPublicKey({ key: { kty: 'OKP', crv: kind === ED25519_KEY ? 'Ed25519' : 'Ed448', x: raw.toString('base64url') }, format: 'jwk' });
    }
  }
  return crypto.createPublicKey({ key: b.subarray(spki.start, spki.end), format: 'der', type: 'spki' });
}

/**
 * `spki`, `tbs`, `sigAlg` (the outer AlgorithmIdentifier) and `sig` (the BIT STRING) are elements
 * of the certificate in `b`.
 */
export function verifiesWithOwnKey(b: Buffer, spki: Tlv, tbs: Tlv, sigAlg: Tlv, sig: Tlv, warnings: string[]): boolean | null {
  try {
    const oid = expectTlv(b, sigAlg.body, sigAlg.end, OID, 'signature algorithm');
    const scheme = SCHEMES.get(oidKey(b, oid.body, oid.end));
    if (!scheme) return null;
    if (sig.end === sig.body || b[sig.body] !== 0) return null;
    const signature = b.subarray(sig.body + 1, sig.end);
    const data = b.subarray(tbs.start, tbs.end);
    const publicKey = importKey(b, spki);
    switch (scheme[0]) {
      case 'pkcs1':
        return crypto.verify(scheme[1], data, { key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, signature);
      case 'dsa':
        return crypto.verify(scheme[1], data, { key: publicKey, dsaEncoding: 'der' }, signature);
      case 'eddsa':
        return crypto.verify(null, data, publicKey, signature);
      case 'pss': {
        const params = pssParams(b, sigAlg, oid);
        if (params === null) return null;
        return crypto.verify(params.hash, data, { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength }, signature);
      }
    }
  } catch (e) {
    // A key OpenSSL refuses, a digest this build lacks (MD4), a key of the wrong type for the
    // algorithm: all mean "cannot tell", not "does not verify".
    if (e instanceof X509Error) warnings.push(`signature algorithm parameters malformed: ${e.reason}`);
    else warnings.push(`self-signature not checkable: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

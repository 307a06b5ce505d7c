/**
 * SubjectPublicKeyInfo to Zeek's key columns (zeek file_analysis/analyzer/x509/X509.cc
 * ParseCertificate, KeyLength, KeyCurve):
 *
 * - key_alg: the algorithm OID's OpenSSL long name (`rsaEncryption`, `id-ecPublicKey`,
 *   `dsaEncryption`, `ED25519`, `rsassaPss`), dotted when unknown.
 * - key_type `rsa`, `dsa` or `ecdsa`, only when OpenSSL could build the key; Zeek sets nothing
 *   for other key types (Ed25519, Ed448, RSASSA-PSS keys, GOST...), and neither do we.
 * - key_length: RSA modulus bits, DSA p bits, EC group order bits (not the field size:
 *   sect233k1 is 232); nothing for other types.
 * - exponent: the RSA public exponent in decimal, any size; curve: OpenSSL's short name.
 *
 * Zeek's RDP special case is kept: a key labelled md5WithRSAEncryption is read as RSA.
 */
import { type Tlv, BIT_STRING, bitLength, encodeOid, expectTlv, hex, INTEGER, integerDecimal, NULL, OID, oidKey, readTlv, SEQUENCE } from './der.js';
import { X509Error } from './error.js';
import { algorithmName, curveByOid, curveByOrder } from './oids.js';

export interface KeyInfo {
  key_alg: string | null;
  key_type: string | null;
  key_length: number | null;
  exponent: string | null;
  curve: string | null;
}

function key(dotted: string): string {
  const enc = encodeOid(dotted);
  return oidKey(enc, 0, enc.length);
}

const RSA = key('1.2.840.113549.1.1.1');
const MD5_WITH_RSA = key('1.2.840.113549.1.1.4');
const DSA = key('1.2.840.10040.4.1');
const EC = key('1.2.840.10045.2.1');

/** Content offset of a BIT STRING's bits, warning when it has unused bits (keys are whole bytes). */
function bitsBody(b: Uint8Array, bits: Tlv, warnings: string[]): number {
  if (bits.end === bits.body) throw new X509Error('empty BIT STRING', bits.start);
  if (b[bits.body] !== 0) warnings.push('public key BIT STRING has unused bits');
  return bits.body + 1;
}

export function parseKey(b: Uint8Array, spki: Tlv, warnings: string[]): KeyInfo {
  const out: KeyInfo = { key_alg: null, key_type: null, key_length: null, exponent: null, curve: null };
  let alg: Tlv;
  let oid: Tlv;
  let bits: Tlv;
  try {
    alg = expectTlv(b, spki.body, spki.end, SEQUENCE, 'public key algorithm');
    oid = expectTlv(b, alg.body, alg.end, OID, 'public key algorithm');
    bits = expectTlv(b, alg.end, spki.end, BIT_STRING, 'public key');
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    warnings.push(`public key info malformed: ${e.reason}`);
    return out;
  }
  out.key_alg = algorithmName(b, oid.body, oid.end);
  if (out.key_alg === null) warnings.push('invalid public key algorithm OID');
  const kind = oidKey(b, oid.body, oid.end);
  try {
    if (kind === RSA || kind === MD5_WITH_RSA) {
      const body = bitsBody(b, bits, warnings);
      const seq = expectTlv(b, body, bits.end, SEQUENCE, 'RSA public key');
      const n = expectTlv(b, seq.body, seq.end, INTEGER, 'RSA modulus');
      const e = expectTlv(b, n.end, seq.end, INTEGER, 'RSA exponent');
      out.key_type = 'rsa';
      out.key_length = bitLength(b, n.body, n.end);
      out.exponent = integerDecimal(b, e);
    } else if (kind === DSA) {
      const body = bitsBody(b, bits, warnings);
      expectTlv(b, body, bits.end, INTEGER, 'DSA public key');
      out.key_type = 'dsa';
      if (oid.end < alg.end) {
        const params = readTlv(b, oid.end, alg.end);
        if (params.tag === SEQUENCE) {
          const p = expectTlv(b, params.body, params.end, INTEGER, 'DSA p');
          out.key_length = bitLength(b, p.body, p.end);
        }
      }
      if (out.key_length === null) warnings.push('DSA key without parameters');
    } else if (kind === EC) {
      parseEcKey(b, alg, oid, bits, out, warnings);
    }
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    // OpenSSL cannot build the key, so Zeek logs no key_type, length or exponent either.
    out.key_type = out.key_length = out.exponent = out.curve = null;
    warnings.push(`public key malformed: ${e.reason}`);
  }
  return out;
}

function parseEcKey(b: Uint8Array, alg: Tlv, oid: Tlv, bits: Tlv, out: KeyInfo, warnings: string[]): void {
  const body = bitsBody(b, bits, warnings);
  if (body === bits.end || (b[body] !== 0x04 && b[body] !== 0x02 && b[body] !== 0x03)) {
    throw new X509Error('EC point is neither compressed nor uncompressed', body);
  }
  out.key_type = 'ecdsa';
  const params = oid.end < alg.end ? readTlv(b, oid.end, alg.end) : null;
  if (params?.tag === OID) {
    const curve = curveByOid(b, params.body, params.end);
    if (curve) {
      out.curve = curve.sn;
      out.key_length = curve.orderBits;
    } else {
      warnings.push(`unknown EC curve ${algorithmName(b, params.body, params.end) ?? '(invalid OID)'}`);
    }
  } else if (params?.tag === SEQUENCE) {
    // ECParameters { version, fieldID, curve, base, order, cofactor }: OpenSSL 3 names the curve
    // when the parameters equal a named one; the order identifies it.
    warnings.push('EC key with explicit curve parameters');
    let p = params.body;
    for (let i = 0; i < 4; i++) p = readTlv(b, p, params.end).end;
    const order = expectTlv(b, p, params.end, INTEGER, 'EC group order');
    let s = order.body;
    while (s < order.end && b[s] === 0) s++;
    out.key_length = bitLength(b, order.body, order.end);
    out.curve = curveByOrder(hex(b, s, order.end).replace(/^0/, '')) ?? null;
  } else {
    warnings.push(params?.tag === NULL ? 'EC key with implicit curve parameters' : 'EC key without curve parameters');
  }
}

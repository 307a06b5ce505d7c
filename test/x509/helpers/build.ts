/**
 * A small DER writer, written from X.690 and RFC 5280 independently of the parser under test, to
 * make certificates (really signed, by node:crypto keys) and deliberately broken ones. Also used
 * by bench/x509.ts to make a corpus of distinct certificates.
 */
import * as crypto from 'node:crypto';

import { cat, type Bytes } from '../../helpers/bytes.js';

export type { Bytes };

const concat = (parts: readonly Bytes[]): Bytes => cat(...parts);

export function lengthBytes(n: number): Bytes {
  if (n < 0x80) return Uint8Array.of(n);
  const digits: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) digits.unshift(v % 256);
  return Uint8Array.of(0x80 | digits.length, ...digits);
}

export function tlv(tag: number, ...content: Bytes[]): Bytes {
  const body = concat(content);
  return concat([Uint8Array.of(tag), lengthBytes(body.length), body]);
}

export const seq = (...c: Bytes[]): Bytes => tlv(0x30, ...c);
export const set = (...c: Bytes[]): Bytes => tlv(0x31, ...c);
export const explicit = (n: number, ...c: Bytes[]): Bytes => tlv(0xa0 | n, ...c);
export const octets = (b: Bytes): Bytes => tlv(0x04, b);
export const bits = (b: Bytes): Bytes => tlv(0x03, Uint8Array.of(0), b);
export const bool = (v: boolean): Bytes => tlv(0x01, Uint8Array.of(v ? 0xff : 0));
export const nul = (): Bytes => tlv(0x05);
export const ascii = (s: string): Bytes => Uint8Array.from(Buffer.from(s, 'latin1'));
export const utf8 = (s: string): Bytes => tlv(0x0c, Buffer.from(s, 'utf8'));
export const printable = (s: string): Bytes => tlv(0x13, ascii(s));
export const ia5 = (s: string): Bytes => tlv(0x16, ascii(s));

export function bmp(s: string): Bytes {
  const le = Buffer.from(s, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1]!;
    be[i + 1] = le[i]!;
  }
  return tlv(0x1e, be);
}

/** Two's complement, minimal. */
export function int(v: bigint | number): Bytes {
  let n = BigInt(v);
  const out: number[] = [];
  for (;;) {
    out.unshift(Number(n & 0xffn));
    n >>= 8n;
    const sign = out[0]! & 0x80;
    if ((n === 0n && !sign) || (n === -1n && sign)) break;
  }
  return tlv(0x02, Uint8Array.from(out));
}

export function oid(dotted: string): Bytes {
  const arcs = dotted.split('.').map(BigInt);
  const subs = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  const out: number[] = [];
  for (const s of subs) {
    const d: number[] = [];
    let v = s;
    do {
      d.unshift(Number(v & 0x7fn) | (d.length ? 0x80 : 0));
      v >>= 7n;
    } while (v > 0n);
    out.push(...d);
  }
  return tlv(0x06, Uint8Array.from(out));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function utcTime(d: Date): Bytes {
  const s = `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return tlv(0x17, ascii(s));
}

export function generalizedTime(d: Date): Bytes {
  const s = `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return tlv(0x18, ascii(s));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export const time = (d: Date): Bytes => (d.getUTCFullYear() < 2050 ? utcTime(d) : generalizedTime(d));

export const ATTR = {
  CN: '2.5.4.3', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', O: '2.5.4.10', OU: '2.5.4.11',
  serialNumber: '2.5.4.5', street: '2.5.4.9', title: '2.5.4.12', emailAddress: '1.2.840.113549.1.9.1',
  DC: '0.9.2342.19200300.100.1.25', UID: '0.9.2342.19200300.100.1.1',
} as const;

/** An AttributeTypeAndValue; `value` is a whole element (utf8(...), printable(...), ...). */
export const ava = (type: string, value: Bytes): Bytes => seq(oid(type), value);

/** A Name from RDNs in DER order; each RDN is one or more AVAs. */
export const name = (...rdns: Bytes[][]): Bytes => seq(...rdns.map((avas) => set(...avas)));

/** The usual single-valued name, in DER order: name1([['C', 'US'], ['O', 'Acme'], ['CN', 'x']]). */
export function simpleName(pairs: readonly (readonly [keyof typeof ATTR, string])[]): Bytes {
  return name(...pairs.map(([k, v]) => [ava(ATTR[k], k === 'C' ? printable(v) : k === 'emailAddress' || k === 'DC' ? ia5(v) : utf8(v))]));
}

export const ext = (id: string, value: Bytes, critical = false): Bytes => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

export function sanExt(names: { dns?: string[]; ip?: Bytes[]; email?: string[]; uri?: string[] }): Bytes {
  const gn = [
    ...(names.email ?? []).map((s) => tlv(0x81, ascii(s))),
    ...(names.dns ?? []).map((s) => tlv(0x82, ascii(s))),
    ...(names.uri ?? []).map((s) => tlv(0x86, ascii(s))),
    ...(names.ip ?? []).map((b) => tlv(0x87, b)),
  ];
  return ext('2.5.29.17', seq(...gn));
}

export const basicConstraintsExt = (ca: boolean, pathLen?: number): Bytes =>
  ext('2.5.29.19', seq(...(ca ? [bool(true)] : []), ...(pathLen !== undefined ? [int(pathLen)] : [])), true);

/** Signature algorithm OID and node:crypto digest per key type. */
export function sigAlgFor(key: crypto.KeyObject, hash = 'sha256'): { alg: Bytes; digest: string | null } {
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const ids: Record<string, string> = { sha1: '1.2.840.113549.1.1.5', sha256: '1.2.840.113549.1.1.11', sha384: '1.2.840.113549.1.1.12', sha512: '1.2.840.113549.1.1.13', md5: '1.2.840.113549.1.1.4' };
      return { alg: seq(oid(ids[hash]!), nul()), digest: hash };
    }
    case 'ec': {
      const ids: Record<string, string> = { sha1: '1.2.840.10045.4.1', sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' };
      return { alg: seq(oid(ids[hash]!)), digest: hash };
    }
    case 'dsa':
      return { alg: seq(oid(hash === 'sha1' ? '1.2.840.10040.4.3' : '2.16.840.1.101.3.4.3.2')), digest: hash };
    case 'ed25519':
      return { alg: seq(oid('1.3.101.112')), digest: null };
    case 'ed448':
      return { alg: seq(oid('1.3.101.113')), digest: null };
    default:
      throw new Error(`no signature algorithm for ${key.asymmetricKeyType}`);
  }
}

export interface CertSpec {
  /** 1..3; 1 omits the version field. */
  version?: number;
  serial?: bigint | number | Bytes;
  issuer: Bytes;
  subject: Bytes;
  notBefore?: Date | Bytes;
  notAfter?: Date | Bytes;
  /** The subject's public key (its SPKI goes in the certificate). */
  publicKey: crypto.KeyObject;
  /** Who signs (the issuer's private key); the signature is real. */
  signer: crypto.KeyObject;
  hash?: string;
  extensions?: Bytes[];
}

/** The TBSCertificate's parts, then the signed certificate. */
export function buildCertificate(spec: CertSpec): Bytes {
  const { alg, digest } = sigAlgFor(spec.signer, spec.hash);
  const v = spec.version ?? 3;
  const serial = spec.serial instanceof Uint8Array ? spec.serial : int(spec.serial ?? 1);
  const asTime = (t: Date | Bytes | undefined, dflt: Date) => (t instanceof Uint8Array ? t : time(t ?? dflt));
  const tbs = seq(
    ...(v > 1 ? [explicit(0, int(v - 1))] : []),
    serial,
    alg,
    spec.issuer,
    seq(asTime(spec.notBefore, new Date('2024-01-01T00:00:00Z')), asTime(spec.notAfter, new Date('2025-01-01T00:00:00Z'))),
    spec.subject,
    new Uint8Array(spec.publicKey.export({ type: 'spki', format: 'der' })),
    ...(spec.extensions?.length ? [explicit(3, seq(...spec.extensions))] : []),
  );
  const signature = crypto.sign(digest, tbs, spec.signer);
  return seq(tbs, alg, bits(signature));
}

/** A key pair per kind, made once per process (RSA generation is slow). */
const keyCache = new Map<string, crypto.KeyPairKeyObjectResult>();
export function keyPair(kind: 'rsa2048' | 'rsa1024' | 'p256' | 'p384' | 'p521' | 'secp256k1' | 'ed25519' | 'ed448' | 'dsa', variant = 0): crypto.KeyPairKeyObjectResult {
  const id = `${kind}/${variant}`;
  let k = keyCache.get(id);
  if (!k) {
    switch (kind) {
      case 'rsa2048':
      case 'rsa1024':
        k = crypto.generateKeyPairSync('rsa', { modulusLength: kind === 'rsa2048' ? 2048 : 1024 });
        break;
      case 'p256':
      case 'p384':
      case 'p521':
      case 'secp256k1':
        k = crypto.generateKeyPairSync('ec', { namedCurve: { p256: 'prime256v1', p384: 'secp384r1', p521: 'secp521r1', secp256k1: 'secp256k1' }[kind] });
        break;
      case 'ed25519':
        k = crypto.generateKeyPairSync('ed25519');
        break;
      case 'ed448':
        k = crypto.generateKeyPairSync('ed448');
        break;
      case 'dsa':
        k = crypto.generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 });
        break;
    }
    keyCache.set(id, k);
  }
  return k;
}

export function toPem(der: Bytes, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** A degenerate PKCS#7 SignedData holding `certs` (what `openssl crl2pkcs7 -nocrl` writes). */
export function pkcs7(certs: Bytes[]): Bytes {
  const signedData = seq(int(1), set(), seq(oid('1.2.840.113549.1.7.1')), tlv(0xa0, ...certs), set());
  return seq(oid('1.2.840.113549.1.7.2'), explicit(0, signedData));
}

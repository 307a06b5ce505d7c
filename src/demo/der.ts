/**
 * Template X.509 v3 certificates for data sets too big for real keys (certhunt generate): the
 * DER of RFC 5280 §4.1 written field by field, with pseudo-random bytes where keys and
 * signatures go. Structurally valid (our parser and OpenSSL read every field, keys included),
 * but nothing verifies: the RSA modulus is random bytes with its top bit set, the EC point a
 * real point from a shared pool (see ecPoint), the signature random bytes of the signer's size.
 * pki.ts makes real, verifiable certificates for the demo at ~100 a second (RSA key
 * generation); this makes ~100k a second (scratch bench, see generate's report).
 *
 * Written here rather than with src/x509's encoders, for the reason bytes.ts gives: the parser
 * this output exercises must not share its mistakes.
 */
import { createECDH, createHash } from 'node:crypto';
import { cat, u16, u8, vec16, type Bytes } from './bytes.js';
import { Lru } from './lru.js';
import type { Rng } from './rng.js';

export type TemplateKey = { type: 'rsa'; bits: 1024 | 2048 | 3072 | 4096 } | { type: 'ec'; curve: 'P-256' | 'P-384' };
export type TemplateHash = 'sha1' | 'sha256' | 'sha384';

export interface TemplateSpec {
  /** As Zeek prints it (RFC 4514 order, most specific first): `CN=x,O=y,C=US`; '' for an empty subject. */
  subject: string;
  /** The issuer's subject, printed the same way; the subject again for a self-signed certificate. */
  issuer: string;
  /** Positive, hex as Zeek prints it (no sign byte); a 00 byte is added when the top bit is set. */
  serial: string;
  /** Epoch ms, whole seconds: UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
  notBefore: number;
  notAfter: number;
  key: TemplateKey;
  /** The key that "signed" it: the issuer's, or `key` for a self-signed certificate. */
  signerKey: TemplateKey;
  /** Default sha256. */
  hash?: TemplateHash;
  san?: { dns?: readonly string[]; ip?: readonly string[] };
  /** A CA: basicConstraints CA:TRUE (with the path length when given) and keyCertSign. */
  ca?: { pathLength?: number };
  /**
   * 'standard' (default), as pki.ts writes: keyUsage (not on self-signed leaves), EKU serverAuth
   * and clientAuth (leaves), basicConstraints, subject key identifier, authority key identifier
   * (when `authorityKeyId` is given), SAN. 'keyid': subject key identifier and SAN only, as
   * Java keytool writes (Cobalt Strike's default keystore).
   */
  extensions?: 'standard' | 'keyid';
  /** The issuer's subject key identifier (`subjectKeyId` of its TemplateCertificate). */
  authorityKeyId?: Bytes;
  /** Where the issuing CA publishes (standard extensions only): what a CA-issued leaf carries besides. */
  publication?: Publication;
}

/**
 * What a CA writes into the leaves it issues: authorityInfoAccess (OCSP responder and the
 * issuer's certificate), cRLDistributionPoints, its certificate policy, and for a publicly
 * trusted CA the embedded SCT list (RFC 6962 §3.3) of that many logs, about 120 bytes each:
 * a real leaf's bulk after its key and signature.
 */
export interface Publication {
  ocsp: string;
  caIssuers: string;
  crl: string;
  /** A policy OID, e.g. CA/B Forum domain-validated 2.23.140.1.2.1. */
  policy?: string;
  scts?: number;
}

export interface TemplateCertificate {
  der: Bytes;
  /** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits, what its children name. */
  subjectKeyId: Bytes;
}

// ---- DER ---------------------------------------------------------------------------------------

/**
 * An element before encoding: its tag and content, encoded or not. Lengths are summed on the
 * way up and the bytes written once, into one buffer, on the way down: building each TLV as
 * its own array measured at half the speed (scratch bench, 100k certificates).
 */
interface El {
  tag: number;
  body: (El | Bytes)[];
  /** Content length. */
  len: number;
}

const headerSize = (len: number) => (len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : 5);
const sizeOf = (x: El | Bytes) => (x instanceof Uint8Array ? x.length : headerSize(x.len) + x.len);

function tlv(tag: number, ...body: (El | Bytes)[]): El {
  let len = 0;
  for (const c of body) len += sizeOf(c);
  return { tag, body, len };
}

function write(out: Bytes, at: number, x: El | Bytes): number {
  if (x instanceof Uint8Array) {
    out.set(x, at);
    return at + x.length;
  }
  out[at++] = x.tag;
  const len = x.len;
  if (len < 0x80) out[at++] = len;
  else if (len < 0x100) (out[at++] = 0x81), (out[at++] = len);
  else if (len < 0x10000) (out[at++] = 0x82), (out[at++] = len >> 8), (out[at++] = len & 0xff);
  else (out[at++] = 0x83), (out[at++] = len >> 16), (out[at++] = (len >> 8) & 0xff), (out[at++] = len & 0xff);
  for (const c of x.body) at = write(out, at, c);
  return at;
}

function flat(x: El): Bytes {
  const out = new Uint8Array(sizeOf(x));
  write(out, 0, x);
  return out;
}

const TAG = {
  boolean: 0x01, integer: 0x02, bitString: 0x03, octetString: 0x04, null: 0x05, oid: 0x06, utf8: 0x0c,
  printable: 0x13, ia5: 0x16, utcTime: 0x17, generalizedTime: 0x18, sequence: 0x30, set: 0x31,
} as const;

/** X.690 §8.19: the first two arcs in one byte, then base-128 with continuation bits. */
function oid(dotted: string): Bytes {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number) => {
    const groups = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  const body = Uint8Array.from(out);
  return flat(tlv(TAG.oid, body));
}

/** A positive INTEGER from big-endian magnitude bytes: leading zeros dropped, a 00 added before a set top bit. */
function positiveInteger(magnitude: Bytes): El {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m[0]! & 0x80 ? tlv(TAG.integer, u8(0), m) : tlv(TAG.integer, m);
}

const ascii = (s: string) => Buffer.from(s, 'latin1');

// ---- algorithms --------------------------------------------------------------------------------

const NULL = u8(TAG.null, 0);
const RSA_ENCRYPTION = flat(tlv(TAG.sequence, oid('1.2.840.113549.1.1.1'), NULL));
const CURVES = {
  'P-256': { size: 32, spki: flat(tlv(TAG.sequence, oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7'))) },
  'P-384': { size: 48, spki: flat(tlv(TAG.sequence, oid('1.2.840.10045.2.1'), oid('1.3.132.0.34'))) },
} as const;
/** RFC 4055 §5 keeps the NULL parameters of PKCS#1 signatures; RFC 5758 §3.2 leaves ECDSA's out. */
const SIGNATURE_ALGORITHMS: Record<'rsa' | 'ec', Record<TemplateHash, Bytes>> = {
  rsa: {
    sha1: flat(tlv(TAG.sequence, oid('1.2.840.113549.1.1.5'), NULL)),
    sha256: flat(tlv(TAG.sequence, oid('1.2.840.113549.1.1.11'), NULL)),
    sha384: flat(tlv(TAG.sequence, oid('1.2.840.113549.1.1.12'), NULL)),
  },
  ec: {
    sha1: flat(tlv(TAG.sequence, oid('1.2.840.10045.4.1'))),
    sha256: flat(tlv(TAG.sequence, oid('1.2.840.10045.4.3.2'))),
    sha384: flat(tlv(TAG.sequence, oid('1.2.840.10045.4.3.3'))),
  },
};

/** SubjectPublicKeyInfo and the subjectPublicKey bits (what the key identifier hashes). */
function publicKeyInfo(key: TemplateKey, rng: Rng): { spki: El; bits: Bytes } {
  if (key.type === 'rsa') {
    const n = rng.bytes(key.bits / 8);
    n[0]! |= 0x80; // exactly `bits` long
    n[n.length - 1]! |= 1; // odd, as a product of two odd primes is
    const bits = flat(tlv(TAG.sequence, positiveInteger(n), u8(TAG.integer, 3, 0x01, 0x00, 0x01)));
    return { spki: tlv(TAG.sequence, RSA_ENCRYPTION, tlv(TAG.bitString, u8(0), bits)), bits };
  }
  const c = CURVES[key.curve];
  const bits = ecPoint(key.curve, rng.uint32() % EC_POOL);
  return { spki: tlv(TAG.sequence, c.spki, tlv(TAG.bitString, u8(0), bits)), bits };
}

/**
 * EC public keys must be points on the curve, or OpenSSL (and so every tool reading the
 * certificate's key) refuses them; making one costs a scalar multiplication (~50 µs for P-256,
 * several times that for P-384), a certificate's whole budget. So keys come from a fixed pool of
 * EC_POOL points per curve, each made the first time it is drawn, from a scalar that is a hash
 * of its index: the same for every seed and size. Certificates share keys, as renewals do.
 */
const EC_POOL = 16_384;
const ecPoints: Record<keyof typeof CURVES, (Bytes | undefined)[]> = { 'P-256': [], 'P-384': [] };
const NODE_CURVE = { 'P-256': 'prime256v1', 'P-384': 'secp384r1' } as const;

function ecPoint(curve: keyof typeof CURVES, k: number): Bytes {
  const pool = ecPoints[curve];
  let point = pool[k];
  if (!point) {
    const ecdh = createECDH(NODE_CURVE[curve]);
    // A hash below the group order (all but ~2^-32 of them); the next hash otherwise.
    for (let attempt = 0; ; attempt++) {
      const scalar = createHash(curve === 'P-256' ? 'sha256' : 'sha384').update(`certhunt-generate/ec/${curve}/${k}/${attempt}`).digest();
      try {
        ecdh.setPrivateKey(scalar);
        break;
      } catch {
        continue;
      }
    }
    pool[k] = point = new Uint8Array(ecdh.getPublicKey());
  }
  return point;
}

/** Random bytes shaped as the signer's signature: a modulus's worth for RSA, an Ecdsa-Sig-Value for ECDSA. */
function signatureValue(signer: TemplateKey, rng: Rng): El {
  if (signer.type === 'rsa') return tlv(TAG.bitString, u8(0), rng.bytes(signer.bits / 8));
  const size = CURVES[signer.curve].size;
  const r = rng.bytes(size);
  const s = rng.bytes(size);
  return tlv(TAG.bitString, u8(0), tlv(TAG.sequence, positiveInteger(r), positiveInteger(s)));
}

// ---- names -------------------------------------------------------------------------------------

const ATTRIBUTES: Record<string, string> = {
  CN: '2.5.4.3', serialNumber: '2.5.4.5', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', street: '2.5.4.9', O: '2.5.4.10', OU: '2.5.4.11',
  postalCode: '2.5.4.17', emailAddress: '1.2.840.113549.1.9.1', DC: '0.9.2342.19200300.100.1.25',
};
const ATTRIBUTE_OIDS = new Map(Object.entries(ATTRIBUTES).map(([k, v]) => [k, oid(v)]));
const IA5_ATTRIBUTES = new Set(['emailAddress', 'DC']);
/** X.680 PrintableString's repertoire. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/**
 * A DN as Zeek prints it → the Name's DER: RDNs split at unescaped commas and reversed (the
 * printed order is RFC 4514's, most specific first; the encoding starts at the country),
 * multi-valued RDNs at `+`, values unescaped (`\,` and `\XX` UTF-8 bytes). PrintableString
 * when the value fits (C always does), IA5String for emailAddress and DC, else UTF8String.
 */
export function encodeName(dn: string): Bytes {
  const rdns = /^[\x20-\x7e]*$/.test(dn) && !dn.includes('\\') ? plainRdns(dn) : escapedRdns(dn);
  const set = (avas: [string, string][]) =>
    tlv(TAG.set, ...avas.map(([type, value]) => {
      const id = ATTRIBUTE_OIDS.get(type);
      if (!id) throw new Error(`DN attribute ${JSON.stringify(type)} is not one the template builder knows`);
      const tag = IA5_ATTRIBUTES.has(type) ? TAG.ia5 : PRINTABLE.test(value) ? TAG.printable : TAG.utf8;
      return tlv(TAG.sequence, id, tlv(tag, Buffer.from(value, 'utf8')));
    }));
  return flat(tlv(TAG.sequence, ...rdns.reverse().map(set)));
}

/** Printable ASCII without escapes: split as is. */
function plainRdns(dn: string): [string, string][][] {
  if (dn === '') return [];
  return dn.split(',').map((rdn) =>
    rdn.split('+').map((ava): [string, string] => {
      const eq = ava.indexOf('=');
      if (eq < 0) throw new Error(`DN ${JSON.stringify(dn)}: no "=" in ${JSON.stringify(ava)}`);
      return [ava.slice(0, eq), ava.slice(eq + 1)];
    }));
}

function escapedRdns(dn: string): [string, string][][] {
  const rdns: [string, string][][] = [];
  let rdn: [string, string][] = [];
  let i = 0;
  while (dn !== '' && i <= dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw new Error(`DN ${JSON.stringify(dn)}: no "=" after position ${i}`);
    const type = dn.slice(i, eq);
    const bytes: number[] = [];
    for (i = eq + 1; i < dn.length && dn[i] !== ',' && dn[i] !== '+'; i++) {
      if (dn[i] === '\\') {
        const hex = dn.slice(i + 1, i + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          i += 2;
        } else for (const b of Buffer.from(dn[++i] ?? '', 'utf8')) bytes.push(b);
      } else for (const b of Buffer.from(dn[i]!, 'utf8')) bytes.push(b);
    }
    rdn.push([type, Buffer.from(bytes).toString('utf8')]);
    if (i >= dn.length || dn[i] === ',') {
      rdns.push(rdn);
      rdn = [];
    }
    i++;
  }
  return rdns;
}

// Issuers come back again and again; subjects (but a self-signed one's) mostly do not.
const issuers = new Lru<string, Bytes>(1024);

// ---- time --------------------------------------------------------------------------------------

const digits = (out: Bytes, at: number, v: number, n: number) => {
  for (let i = n - 1; i >= 0; i--, v = Math.floor(v / 10)) out[at + i] = 0x30 + (v % 10);
};

/** UTCTime YYMMDDHHMMSSZ for 1950–2049, GeneralizedTime YYYYMMDDHHMMSSZ otherwise; written digit by digit (toISOString cost a tenth of a certificate). */
function time(ms: number): Bytes {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const utc = year >= 1950 && year < 2050;
  const n = utc ? 13 : 15;
  const out = new Uint8Array(2 + n);
  out[0] = utc ? TAG.utcTime : TAG.generalizedTime;
  out[1] = n;
  let at = 2;
  if (utc) digits(out, at, year % 100, 2), (at += 2);
  else digits(out, at, year, 4), (at += 4);
  for (const v of [d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]) digits(out, at, v, 2), (at += 2);
  out[at] = 0x5a; // Z
  return out;
}

// ---- extensions --------------------------------------------------------------------------------

const TRUE = u8(TAG.boolean, 1, 0xff);
const EXT = {
  subjectKeyId: oid('2.5.29.14'), keyUsage: oid('2.5.29.15'), san: oid('2.5.29.17'), basicConstraints: oid('2.5.29.19'),
  authorityKeyId: oid('2.5.29.35'), extKeyUsage: oid('2.5.29.37'), crlDistributionPoints: oid('2.5.29.31'),
  certificatePolicies: oid('2.5.29.32'), authorityInfoAccess: oid('1.3.6.1.5.5.7.1.1'), sctList: oid('1.3.6.1.4.1.11129.2.4.2'),
};
const OCSP = oid('1.3.6.1.5.5.7.48.1');
const CA_ISSUERS = oid('1.3.6.1.5.5.7.48.2');
/** uniformResourceIdentifier [6] IA5String. */
const uri = (u: string) => tlv(0x86, ascii(u));

/**
 * An SCT list's bytes (RFC 6962 §3.2-3.3): per log, version, 32-byte log id, timestamp, no
 * extensions, and an ECDSA P-256 signature of the usual 70-72 bytes, all pseudo-random.
 */
function sctList(n: number, issuedAt: number, rng: Rng): Bytes {
  const scts: Bytes[] = [];
  for (let k = 0; k < n; k++) {
    const sig = rng.bytes(70 + (k % 3));
    const logId = rng.bytes(32);
    const t = issuedAt + k * 1000;
    // version v1, log id, 64-bit ms timestamp, no extensions, sha256 (4) / ecdsa (3), signature.
    const time = cat(u16(Math.floor(t / 2 ** 48)), u16(Math.floor(t / 2 ** 32) & 0xffff), u16(Math.floor(t / 2 ** 16) & 0xffff), u16(t & 0xffff));
    scts.push(vec16(cat(u8(0), logId, time, vec16(new Uint8Array()), u8(4, 3), vec16(sig))));
  }
  return vec16(cat(...scts));
}
const extension = (id: Bytes, critical: boolean, value: El | Bytes) =>
  critical ? tlv(TAG.sequence, id, TRUE, tlv(TAG.octetString, value)) : tlv(TAG.sequence, id, tlv(TAG.octetString, value));

// keyUsage BIT STRINGs (RFC 5280 §4.2.1.3: bit 0 digitalSignature, 2 keyEncipherment, 5 keyCertSign, 6 cRLSign), unused bits counted.
const KEY_USAGE = {
  ca: u8(TAG.bitString, 2, 1, 0x86),
  rsaLeaf: u8(TAG.bitString, 2, 5, 0xa0),
  ecLeaf: u8(TAG.bitString, 2, 7, 0x80),
};
const SERVER_CLIENT_AUTH = flat(tlv(TAG.sequence, oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')));

function ipBytes(ip: string): Bytes {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return Uint8Array.from(ip.split('.').map(Number));
  throw new Error(`SAN IP ${JSON.stringify(ip)}: the template builder writes IPv4 only`);
}

function extensions(spec: TemplateSpec, subjectKeyId: Bytes, rng: Rng): El {
  const out: El[] = [];
  const selfSigned = spec.subject === spec.issuer;
  if ((spec.extensions ?? 'standard') === 'standard') {
    // A self-signed leaf gets no keyUsage, as `openssl req -x509` writes it (see pki.ts).
    const usage = spec.ca ? KEY_USAGE.ca : selfSigned ? null : spec.key.type === 'rsa' ? KEY_USAGE.rsaLeaf : KEY_USAGE.ecLeaf;
    if (usage) out.push(extension(EXT.keyUsage, true, usage));
    if (!spec.ca) out.push(extension(EXT.extKeyUsage, false, SERVER_CLIENT_AUTH));
    // DER leaves out a DEFAULT: cA FALSE is an empty SEQUENCE.
    const bc = spec.ca
      ? tlv(TAG.sequence, TRUE, ...(spec.ca.pathLength !== undefined ? [positiveIntegerSmall(spec.ca.pathLength)] : []))
      : tlv(TAG.sequence);
    out.push(extension(EXT.basicConstraints, true, bc));
  }
  out.push(extension(EXT.subjectKeyId, false, tlv(TAG.octetString, subjectKeyId)));
  if ((spec.extensions ?? 'standard') === 'standard' && spec.authorityKeyId && !selfSigned) {
    out.push(extension(EXT.authorityKeyId, false, tlv(TAG.sequence, tlv(0x80, spec.authorityKeyId))));
  }
  const pub = spec.publication;
  if ((spec.extensions ?? 'standard') === 'standard' && pub && !selfSigned) {
    out.push(extension(EXT.authorityInfoAccess, false, tlv(TAG.sequence, tlv(TAG.sequence, OCSP, uri(pub.ocsp)), tlv(TAG.sequence, CA_ISSUERS, uri(pub.caIssuers)))));
    // DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }
    out.push(extension(EXT.crlDistributionPoints, false, tlv(TAG.sequence, tlv(TAG.sequence, tlv(0xa0, tlv(0xa0, uri(pub.crl)))))));
    if (pub.policy) out.push(extension(EXT.certificatePolicies, false, tlv(TAG.sequence, tlv(TAG.sequence, oid(pub.policy)))));
    if (pub.scts) out.push(extension(EXT.sctList, false, tlv(TAG.octetString, sctList(pub.scts, spec.notBefore, rng))));
  }
  const dns = spec.san?.dns ?? [];
  const ips = spec.san?.ip ?? [];
  if (dns.length + ips.length > 0) {
    const general = [...dns.map((d) => tlv(0x82, ascii(d))), ...ips.map((ip) => tlv(0x87, ipBytes(ip)))];
    // RFC 5280 §4.2.1.6: critical when the subject is empty.
    out.push(extension(EXT.san, spec.subject === '', tlv(TAG.sequence, ...general)));
  }
  return tlv(0xa3, tlv(TAG.sequence, ...out));
}

function positiveIntegerSmall(n: number): El {
  const bytes: number[] = [];
  for (let v = n; ; v = Math.floor(v / 256)) {
    bytes.unshift(v & 0xff);
    if (v < 256) break;
  }
  return positiveInteger(Uint8Array.from(bytes));
}

// ---- the certificate ---------------------------------------------------------------------------

const VERSION_3 = flat(tlv(0xa0, u8(TAG.integer, 1, 2)));

/**
 * The certificate for `spec`; every random byte (modulus or point, then signature) is drawn
 * from `rng`, so the same spec and generator state give the same DER.
 */
export function templateCertificate(spec: TemplateSpec, rng: Rng): TemplateCertificate {
  if (!/^[0-9a-fA-F]+$/.test(spec.serial) || spec.serial.length % 2 !== 0) throw new Error(`serial ${JSON.stringify(spec.serial)}: want whole hex bytes`);
  const serial = Buffer.from(spec.serial, 'hex');
  if (serial.every((b) => b === 0)) throw new Error('serial must be positive (RFC 5280 §4.1.2.2)');
  const sigAlg = SIGNATURE_ALGORITHMS[spec.signerKey.type][spec.hash ?? 'sha256'];
  const { spki, bits } = publicKeyInfo(spec.key, rng);
  const subjectKeyId = createHash('sha1').update(bits).digest();
  const tbs = tlv(
    TAG.sequence,
    VERSION_3,
    positiveInteger(serial),
    sigAlg,
    issuers.through(spec.issuer, encodeName),
    tlv(TAG.sequence, time(spec.notBefore), time(spec.notAfter)),
    spec.subject === spec.issuer ? issuers.through(spec.subject, encodeName) : encodeName(spec.subject),
    spki,
    extensions(spec, subjectKeyId, rng),
  );
  return { der: flat(tlv(TAG.sequence, tbs, sigAlg, signatureValue(spec.signerKey, rng))), subjectKeyId };
}

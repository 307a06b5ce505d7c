/**
 * A zero-copy DER reader. An element is four offsets into the caller's bytes (identifier, content
 * start, content end); nothing is copied or decoded until a field asks for it. The certificate
 * parser walks a fixed schema with it, so nesting depth is bounded by the schema (at most ~8
 * levels), never by the input; the only recursive walk (BER indefinite lengths, for PKCS#7
 * wrappers) has an explicit depth cap.
 *
 * Every length is checked against its container before use: a length past the end is an
 * X509Error, never an allocation. Lengths of more than 4 bytes are refused (no certificate field
 * comes near 4 GiB), and so are indefinite lengths outside readTlvBer.
 */
import { X509Error } from './error.js';

export interface Tlv {
  /** Identifier octet. High-number tags keep 0x1f in their low bits, so they never equal a universal tag. */
  tag: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset of the first content octet. */
  body: number;
  /** Offset just past the content. */
  end: number;
}

/** An element read with BER rules: `next` is past its end-of-contents octets when indefinite. */
export interface BerTlv extends Tlv {
  next: number;
}

export const BOOLEAN = 0x01;
export const INTEGER = 0x02;
export const BIT_STRING = 0x03;
export const OCTET_STRING = 0x04;
export const NULL = 0x05;
export const OID = 0x06;
export const UTF8_STRING = 0x0c;
export const PRINTABLE_STRING = 0x13;
export const T61_STRING = 0x14;
export const IA5_STRING = 0x16;
export const UTC_TIME = 0x17;
export const GENERALIZED_TIME = 0x18;
export const UNIVERSAL_STRING = 0x1c;
export const BMP_STRING = 0x1e;
export const SEQUENCE = 0x30;
export const SET = 0x31;

const MAX_BER_DEPTH = 32;

/**
 * Count of long-form lengths that were not minimal (BER, accepted by OpenSSL) since the last
 * reset. A counter rather than a flag on every element keeps the hot path allocation-free; the
 * certificate parser resets it per certificate and turns it into one warning.
 */
export const lax = { nonMinimalLengths: 0 };

function header(buf: Uint8Array, pos: number, limit: number, indefiniteOk: boolean): Tlv {
  if (pos >= limit) throw new X509Error('unexpected end of data', pos);
  const tag = buf[pos]!;
  let p = pos + 1;
  if ((tag & 0x1f) === 0x1f) {
    // High tag number form: base-128 digits, last one without the top bit.
    for (let n = 0; ; n++) {
      if (p >= limit) throw new X509Error('truncated tag', pos);
      if (n === 4) throw new X509Error('tag number too large', pos);
      if ((buf[p++]! & 0x80) === 0) break;
    }
  }
  if (p >= limit) throw new X509Error('truncated length', pos);
  let len = buf[p++]!;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) {
      if (!indefiniteOk) throw new X509Error('indefinite length (BER, not DER)', pos);
      if ((tag & 0x20) === 0) throw new X509Error('indefinite length on a primitive element', pos);
      return { tag, start: pos, body: p, end: -1 };
    }
    if (n > 4) throw new X509Error(`length field of ${n} bytes`, pos);
    if (n > limit - p) throw new X509Error('truncated length', pos);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
    if (len < 0x80 || buf[p - n] === 0) lax.nonMinimalLengths++;
  }
  if (len > limit - p) {
    throw new X509Error(`length ${len} runs past the end of its container (${limit - p} bytes left)`, pos);
  }
  return { tag, start: pos, body: p, end: p + len };
}

/** The DER element at `pos`, which must end by `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit: number): Tlv {
  return header(buf, pos, limit, false);
}

/** Like readTlv, but of the given tag; `what` names the field in the error. */
export function expectTlv(buf: Uint8Array, pos: number, limit: number, tag: number, what: string): Tlv {
  const t = header(buf, pos, limit, false);
  if (t.tag !== tag) throw new X509Error(`${what}: expected ${tagName(tag)}, found ${tagName(t.tag)}`, pos);
  return t;
}

/** The element at `pos` with BER rules (indefinite lengths allowed on constructed elements). */
export function readTlvBer(buf: Uint8Array, pos: number, limit: number, depth = 0): BerTlv {
  const t = header(buf, pos, limit, true);
  if (t.end >= 0) return { ...t, next: t.end };
  if (depth >= MAX_BER_DEPTH) throw new X509Error(`BER nesting deeper than ${MAX_BER_DEPTH}`, pos);
  let q = t.body;
  for (;;) {
    if (q + 2 <= limit && buf[q] === 0 && buf[q + 1] === 0) return { ...t, end: q, next: q + 2 };
    q = readTlvBer(buf, q, limit, depth + 1).next;
  }
}

const UNIVERSAL_NAMES: Record<number, string> = {
  1: 'BOOLEAN', 2: 'INTEGER', 3: 'BIT STRING', 4: 'OCTET STRING', 5: 'NULL', 6: 'OBJECT IDENTIFIER',
  10: 'ENUMERATED', 12: 'UTF8String', 16: 'SEQUENCE', 17: 'SET', 18: 'NumericString',
  19: 'PrintableString', 20: 'T61String', 22: 'IA5String', 23: 'UTCTime', 24: 'GeneralizedTime',
  26: 'VisibleString', 27: 'GeneralString', 28: 'UniversalString', 30: 'BMPString',
};

/** A tag for messages: `SEQUENCE`, `[3]`, `[APPLICATION 9]`, `tag 0x7f`. */
export function tagName(tag: number): string {
  const num = tag & 0x1f;
  if (num === 0x1f) return `tag 0x${tag.toString(16)}`;
  switch (tag & 0xc0) {
    case 0x00:
      return UNIVERSAL_NAMES[num] ?? `universal ${num}`;
    case 0x40:
      return `[APPLICATION ${num}]`;
    case 0x80:
      return `[${num}]`;
    default:
      return `[PRIVATE ${num}]`;
  }
}

// ---------------------------------------------------------------------------------------------
// Hex and integers

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of buf[start, end). */
export function hex(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[buf[i]!]!;
  return s;
}

/** A signed INTEGER of at most 6 content octets as a number; null when longer or empty. */
export function smallInt(buf: Uint8Array, t: Tlv): number | null {
  const n = t.end - t.body;
  if (n === 0 || n > 6) return null;
  let v = buf[t.body]! & 0x80 ? -1 : 0;
  for (let i = t.body; i < t.end; i++) v = v * 256 + buf[i]!;
  return v;
}

/** Number of significant bits of an unsigned big-endian magnitude (OpenSSL's BN_num_bits). */
export function bitLength(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && buf[i] === 0) i++;
  if (i === end) return 0;
  return (end - i - 1) * 8 + (32 - Math.clz32(buf[i]!));
}

/** A signed INTEGER in decimal, any size (OpenSSL's BN_bn2dec). */
export function integerDecimal(buf: Uint8Array, t: Tlv): string | null {
  const small = smallInt(buf, t);
  if (small !== null) return String(small);
  if (t.end === t.body) return null;
  let v = BigInt('0x' + hex(buf, t.body, t.end));
  if (buf[t.body]! & 0x80) v -= 1n << BigInt((t.end - t.body) * 8);
  return v.toString();
}

/**
 * An INTEGER as OpenSSL's i2a_ASN1_INTEGER prints it (which is what Zeek logs as the serial),
 * lowercased: hex of the magnitude in whole bytes (`023a69` keeps its leading zero nibble), one
 * sign-padding 0x00 dropped, negatives as `-` and the magnitude, zero as `00`. OpenSSL wraps
 * past 35 bytes with a backslash-newline; we do not.
 */
export function integerHex(buf: Uint8Array, t: Tlv): string {
  let s = t.body;
  const e = t.end;
  if (s === e) return '00';
  if ((buf[s]! & 0x80) === 0) {
    if (buf[s] === 0 && e - s > 1) s++;
    return hex(buf, s, e);
  }
  // Negative: the magnitude is the two's complement, without the 0xff sign padding.
  const mag = new Uint8Array(e - s);
  let carry = 1;
  for (let i = e - 1; i >= s; i--) {
    const v = (~buf[i]! & 0xff) + carry;
    mag[i - s] = v & 0xff;
    carry = v >> 8;
  }
  let k = 0;
  while (k < mag.length - 1 && mag[k] === 0) k++;
  return '-' + hex(mag, k, mag.length);
}

// ---------------------------------------------------------------------------------------------
// Object identifiers

/** The content octets of an OID as a string key (one char per byte), for table lookups. */
export function oidKey(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

const dottedCache = new Map<string, string | null>();
const DOTTED_CACHE_MAX = 4096;

/**
 * The dotted form of an OID's content octets; null when the encoding is invalid (empty, a
 * sub-identifier padded with 0x80, or cut in the middle), as OpenSSL refuses those. Arcs of any
 * size (pyca's bigoid.pem) go through BigInt. Results are cached by content (bounded).
 */
export function oidDotted(buf: Uint8Array, start: number, end: number): string | null {
  const key = oidKey(buf, start, end);
  const hit = dottedCache.get(key);
  if (hit !== undefined) return hit;
  const text = decodeOid(buf, start, end);
  if (dottedCache.size >= DOTTED_CACHE_MAX) dottedCache.clear();
  dottedCache.set(key, text);
  return text;
}

function decodeOid(buf: Uint8Array, start: number, end: number): string | null {
  if (start >= end || buf[end - 1]! & 0x80) return null;
  const arcs: string[] = [];
  let i = start;
  while (i < end) {
    if (buf[i] === 0x80) return null;
    let v = 0;
    let big: bigint | null = null;
    for (;;) {
      const b = buf[i++]!;
      if (big === null && v < 2 ** 45) v = v * 128 + (b & 0x7f);
      else big = (big ?? BigInt(v)) * 128n + BigInt(b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    if (arcs.length === 0) {
      // The first sub-identifier packs two arcs: 40 * first + second, first in 0..2.
      if (big !== null) arcs.push('2', (big - 80n).toString());
      else if (v < 40) arcs.push('0', String(v));
      else if (v < 80) arcs.push('1', String(v - 40));
      else arcs.push('2', String(v - 80));
    } else {
      arcs.push(big !== null ? big.toString() : String(v));
    }
  }
  return arcs.join('.');
}

/** Content octets of a dotted OID (for building lookup keys from the tables). */
export function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const subs = [arcs[0]! * 40n + (arcs[1] ?? 0n), ...arcs.slice(2)];
  const out: number[] = [];
  for (const sub of subs) {
    const digits: number[] = [];
    let v = sub;
    do {
      digits.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let k = 0; k < digits.length - 1; k++) digits[k]! |= 0x80;
    out.push(...digits);
  }
  return Uint8Array.from(out);
}

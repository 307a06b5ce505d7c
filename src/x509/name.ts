/**
 * X.501 Names as Zeek logs them. Zeek calls OpenSSL's `X509_NAME_print_ex(bio, name, 0,
 * XN_FLAG_RFC2253)`, which means (OpenSSL crypto/x509/x509_name.c do_name_ex, crypto/asn1/a_strex.c):
 *
 * - RDNs in reverse DER order (XN_FLAG_DN_REV), `,` between RDNs and `+` inside a multi-valued
 *   one; the values of a multi-valued RDN are reversed too, as the flat entry list is.
 * - attribute types by OpenSSL short name (`CN`, `emailAddress`), dotted when OpenSSL does not know
 *   the OID, and then the value is dumped as `#` + uppercase hex of its DER (DUMP_UNKNOWN_FIELDS).
 * - values of string types converted to UTF-8 (UTF8_CONVERT: BMPString, UniversalString, and the
 *   one-byte types read as Latin-1; a UTF8String is left as it is), then escaped byte by byte per
 *   RFC 2253 plus ESC_CTRL and ESC_MSB: `\,` `\+` `\"` `\\` `\;` `\<` `\>`, `\#` first, `\ ` first
 *   or last, control bytes and bytes >= 0x80 as `\XX` (so `Köln` in a UTF8String reads `K\C3\B6ln`,
 *   as in the brimdata x509.log fixture). Other value types are dumped as `#` + hex of their DER.
 *
 * Zeek reads the result with BIO_gets into a 2048-byte buffer, so it truncates names past 2047
 * characters; we do not.
 */
import { type Tlv, expectTlv, oidDotted, OID, readTlv, SEQUENCE, SET } from './der.js';
import { X509Error } from './error.js';
import { oidName } from './oids.js';
import { decodeText } from './text.js';

export interface NameParts {
  cn: string | null;
  o: string | null;
  ou: string | null;
  c: string | null;
  l: string | null;
  st: string | null;
  email: string | null;
}

export interface ParsedName extends NameParts {
  /** RFC 2253 text, as Zeek logs it. */
  text: string;
}

const HEX_UPPER: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

/** Escapes that apply anywhere in a value (undefined: the byte prints as itself). */
const ESCAPE: (string | undefined)[] = [];
for (let c = 0; c < 256; c++) {
  if (c < 0x20 || c >= 0x7f) ESCAPE[c] = '\\' + HEX_UPPER[c];
  else if ('"+,;<>\\'.includes(String.fromCharCode(c))) ESCAPE[c] = '\\' + String.fromCharCode(c);
}

function escapeByte(c: number, first: boolean, last: boolean): string {
  const e = ESCAPE[c];
  if (e !== undefined) return e;
  // a_strex.c do_buf: the last character's flag replaces the first's, so a lone `#` stays bare.
  if (c === 0x20 && (first || last)) return '\\ ';
  if (c === 0x23 && first && !last) return '\\#';
  return String.fromCharCode(c);
}

/** `#` + uppercase hex of a whole element: OpenSSL's do_dump with ASN1_STRFLGS_DUMP_DER. */
export function dumpDer(buf: Uint8Array, start: number, end: number): string {
  let s = '#';
  for (let i = start; i < end; i++) s += HEX_UPPER[buf[i]!]!;
  return s;
}

/** Bytes per character of the string types OpenSSL prints as text (a_strex.c tag2nbyte). */
function charWidth(tag: number): number {
  switch (tag) {
    case 0x0c: // UTF8String, byte by byte under UTF8_CONVERT
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x14: // T61String
    case 0x16: // IA5String
    case 0x17: // UTCTime
    case 0x18: // GeneralizedTime
    case 0x1a: // VisibleString
      return 1;
    case 0x1e: // BMPString
      return 2;
    case 0x1c: // UniversalString
      return 4;
    default:
      return 0;
  }
}

/**
 * A one-byte-per-character value. UTF8String bytes print as they are (then escaped); the other
 * types go through UTF8_CONVERT, which reads each byte as a code point, so a byte >= 0x80 prints
 * as its two-byte UTF-8 form (T61 `é` = E9 reads `\C3\A9`; UTF-8 in a PrintableString doubles).
 */
function printBytes(b: Buffer, start: number, end: number, convert: boolean): string {
  const n = end - start;
  if (n === 0) return '';
  let plain = b[start] !== 0x23 && b[start] !== 0x20 && b[end - 1] !== 0x20;
  for (let i = start; plain && i < end; i++) if (ESCAPE[b[i]!] !== undefined) plain = false;
  if (plain) return b.toString('latin1', start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    s += convert && c >= 0x80 ? ESCAPE[0xc0 | (c >> 6)]! + ESCAPE[0x80 | (c & 0x3f)]! : escapeByte(c, i === start, i === end - 1);
  }
  return s;
}

function printWide(b: Uint8Array, start: number, end: number, width: 2 | 4): string {
  let s = '';
  for (let i = start; i < end; i += width) {
    const c = width === 2 ? (b[i]! << 8) | b[i + 1]! : b[i]! * 0x1000000 + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
    const first = i === start;
    const last = i + width === end;
    if (c < 0x80) {
      s += escapeByte(c, first, last);
    } else if (c < 0x800) {
      s += ESCAPE[0xc0 | (c >> 6)]! + ESCAPE[0x80 | (c & 0x3f)]!;
    } else if (c < 0x10000) {
      // OpenSSL's UTF8_putc refuses surrogates and the character silently disappears.
      if (c >= 0xd800 && c <= 0xdfff) continue;
      s += ESCAPE[0xe0 | (c >> 12)]! + ESCAPE[0x80 | ((c >> 6) & 0x3f)]! + ESCAPE[0x80 | (c & 0x3f)]!;
    } else if (c <= 0x10ffff) {
      s += ESCAPE[0xf0 | (c >> 18)]! + ESCAPE[0x80 | ((c >> 12) & 0x3f)]! + ESCAPE[0x80 | ((c >> 6) & 0x3f)]! + ESCAPE[0x80 | (c & 0x3f)]!;
    }
  }
  return s;
}

/** One attribute value as X509_NAME_print_ex(XN_FLAG_RFC2253) prints it. */
function printValue(b: Buffer, v: Tlv, warnings: string[], what: string): string {
  const width = charWidth(v.tag);
  if (width === 1) return printBytes(b, v.body, v.end, v.tag !== 0x0c);
  if (width === 0) return dumpDer(b, v.start, v.end);
  if ((v.end - v.body) % width !== 0) {
    // OpenSSL fails the whole print here; the dump keeps the value visible instead.
    warnings.push(`${width === 2 ? 'BMPString' : 'UniversalString'} of bad length in ${what}`);
    return dumpDer(b, v.start, v.end);
  }
  return printWide(b, v.body, v.end, width as 2 | 4);
}

/** 1.2.840.113549.1.9.1, PKCS#9 emailAddress. */
const EMAIL = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

/** Which part an attribute type fills: CN, C, L, ST, O, OU (2.5.4.n) and emailAddress (PKCS#9). */
function partOf(b: Uint8Array, start: number, end: number): keyof NameParts | undefined {
  const n = end - start;
  if (n === 3 && b[start] === 0x55 && b[start + 1] === 0x04) {
    switch (b[start + 2]) {
      case 3:
        return 'cn';
      case 6:
        return 'c';
      case 7:
        return 'l';
      case 8:
        return 'st';
      case 10:
        return 'o';
      case 11:
        return 'ou';
    }
    return undefined;
  }
  if (n === EMAIL.length) {
    for (let i = 0; i < n; i++) if (b[start + i] !== EMAIL[i]) return undefined;
    return 'email';
  }
  return undefined;
}

const ENTRY = 7; // stride of the flat entry list: oidBody, oidEnd, tag, start, body, end, rdn

/**
 * A Name element (`t`, a SEQUENCE) to its printed form and parts. The parts hold the decoded text
 * of the most specific value of each kind (last in DER order, first in print, like Zeek's CN).
 * A malformed name keeps the entries read before the fault and adds a warning.
 */
export function parseName(b: Buffer, t: Tlv, warnings: string[], what: 'subject' | 'issuer'): ParsedName {
  const entries: number[] = [];
  try {
    let rdn = 0;
    for (let p = t.body; p < t.end; rdn++) {
      const set = expectTlv(b, p, t.end, SET, 'RDN');
      p = set.end;
      for (let q = set.body; q < set.end; ) {
        const ava = expectTlv(b, q, set.end, SEQUENCE, 'attribute');
        q = ava.end;
        const oid = expectTlv(b, ava.body, ava.end, OID, 'attribute type');
        const v = readTlv(b, oid.end, ava.end);
        if (v.end !== ava.end) warnings.push(`extra data after an attribute value in ${what}`);
        entries.push(oid.body, oid.end, v.tag, v.start, v.body, v.end, rdn);
      }
    }
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    warnings.push(`${what} name malformed: ${e.reason}`);
  }

  const out: ParsedName = { text: '', cn: null, o: null, ou: null, c: null, l: null, st: null, email: null };
  let text = '';
  let prevRdn = -1;
  for (let k = entries.length - ENTRY; k >= 0; k -= ENTRY) {
    const ob = entries[k]!;
    const oe = entries[k + 1]!;
    const v: Tlv = { tag: entries[k + 2]!, start: entries[k + 3]!, body: entries[k + 4]!, end: entries[k + 5]! };
    const rdn = entries[k + 6]!;
    if (prevRdn !== -1) text += rdn === prevRdn ? '+' : ',';
    prevRdn = rdn;
    const name = oidName(b, ob, oe);
    if (name !== undefined) {
      text += name.sn + '=' + printValue(b, v, warnings, what);
    } else {
      const dotted = oidDotted(b, ob, oe);
      if (dotted === null) warnings.push(`invalid attribute type OID in ${what}`);
      text += (dotted ?? dumpDer(b, ob, oe)) + '=' + dumpDer(b, v.start, v.end);
    }
  }
  out.text = text;

  // Parts in DER order so that the last (most specific) value of each kind wins.
  for (let k = 0; k < entries.length; k += ENTRY) {
    const part = partOf(b, entries[k]!, entries[k + 1]!);
    if (part === undefined) continue;
    const tag = entries[k + 2]!;
    const label = `${what} ${part === 'email' ? 'emailAddress' : part.toUpperCase()}`;
    const decoded = decodeText(b, tag, entries[k + 4]!, entries[k + 5]!, warnings, label);
    if (decoded === null) warnings.push(`${label} is not a character string`);
    out[part] = decoded ?? dumpDer(b, entries[k + 3]!, entries[k + 5]!);
  }
  return out;
}

/** String types OpenSSL canonicalises for comparison (x_name.c ASN1_MASK_CANON); bytes per character. */
function canonWidth(tag: number): 0 | 1 | 2 | 4 | 8 {
  switch (tag) {
    case 0x0c: // UTF8String
      return 8;
    case 0x13: // PrintableString
    case 0x14: // T61String
    case 0x16: // IA5String
    case 0x1a: // VisibleString
      return 1;
    case 0x1e: // BMPString
      return 2;
    case 0x1c: // UniversalString
      return 4;
    default:
      return 0;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
/** OpenSSL's ossl_isspace: space, \t, \n, \v, \f, \r. */
const SPACES = /[ \t\n\v\f\r]+/g;
const EDGE_SPACES = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;

/** One attribute value in OpenSSL's canonical form, or null when it cannot be converted to UTF-8. */
function canonValue(b: Buffer, v: Tlv): string | null {
  const width = canonWidth(v.tag);
  // Other types are compared as they are: tag and content.
  if (width === 0) return 'R' + b.toString('hex', v.start, v.end);
  let text: string;
  if (width === 8) {
    try {
      text = strictUtf8.decode(b.subarray(v.body, v.end));
    } catch {
      return null;
    }
  } else if (width === 1) {
    // ASN1_STRING_to_UTF8 reads each byte of these as a code point.
    text = b.toString('latin1', v.body, v.end);
  } else {
    if ((v.end - v.body) % width !== 0) return null;
    text = '';
    for (let i = v.body; i < v.end; i += width) {
      const c = width === 2 ? (b[i]! << 8) | b[i + 1]! : b[i]! * 0x1000000 + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
      if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return null;
      text += String.fromCodePoint(c);
    }
  }
  // asn1_string_canon: leading and trailing white space dropped, inner runs made one space, ASCII
  // letters lowercased (others kept as they are).
  return 'S' + text.replace(EDGE_SPACES, '').replace(SPACES, ' ').replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

interface Ava {
  oidBody: number;
  oidEnd: number;
  value: Tlv;
}

/** The attributes of one RDN (a SET). */
function avasOf(b: Buffer, set: Tlv): Ava[] {
  const out: Ava[] = [];
  for (let q = set.body; q < set.end; ) {
    const ava = expectTlv(b, q, set.end, SEQUENCE, 'attribute');
    q = ava.end;
    const oid = expectTlv(b, ava.body, ava.end, OID, 'attribute type');
    out.push({ oidBody: oid.body, oidEnd: oid.end, value: readTlv(b, oid.end, ava.end) });
  }
  return out;
}

function sameRange(b: Buffer, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let i = 0; i < e1 - s1; i++) if (b[s1 + i] !== b[s2 + i]) return false;
  return true;
}

const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);

/**
 * Two one-byte or UTF-8 string values compared in canonical form without building it, while
 * they are ASCII (nearly always); undefined when a non-ASCII byte or another type is met first.
 */
function asciiCanonEqual(b: Buffer, x: Tlv, y: Tlv): boolean | undefined {
  const wx = canonWidth(x.tag);
  const wy = canonWidth(y.tag);
  if ((wx !== 1 && wx !== 8) || (wy !== 1 && wy !== 8)) return undefined;
  let i = x.body;
  let ie = x.end;
  let j = y.body;
  let je = y.end;
  while (i < ie && isSpace(b[i]!)) i++;
  while (ie > i && isSpace(b[ie - 1]!)) ie--;
  while (j < je && isSpace(b[j]!)) j++;
  while (je > j && isSpace(b[je - 1]!)) je--;
  while (i < ie && j < je) {
    const c = b[i]!;
    const d = b[j]!;
    if ((c | d) & 0x80) return undefined;
    if (isSpace(c) || isSpace(d)) {
      if (!isSpace(c) || !isSpace(d)) return false;
      // Trimmed: the run ends before the value does.
      while (isSpace(b[i]!)) i++;
      while (isSpace(b[j]!)) j++;
      continue;
    }
    if (lower(c) !== lower(d)) return false;
    i++;
    j++;
  }
  // Equal so far; whatever is left over (in either) makes the canonical forms differ.
  return i === ie && j === je;
}

function sameValue(b: Buffer, x: Tlv, y: Tlv): boolean {
  if (sameRange(b, x.start, x.end, y.start, y.end)) return true;
  const ascii = asciiCanonEqual(b, x, y);
  if (ascii !== undefined) return ascii;
  const cx = canonValue(b, x);
  return cx !== null && cx === canonValue(b, y);
}

/**
 * Whether two Names match under RFC 5280 §7.1 (LDAP StringPrep, RFC 4518, for the string types),
 * as OpenSSL decides it for X509_NAME_cmp and X509_check_issued (crypto/x509/x_name.c
 * x509_name_canon): each value of a string type converted to UTF-8, trimmed, inner white space
 * collapsed, ASCII lowercased; the values of a multi-valued RDN in any order; RDN order and the
 * grouping of values into RDNs significant. RFC 5280 §6.1 calls a certificate self-issued when its
 * subject and issuer match this way, not only when their bytes are equal: a PrintableString CN and
 * a UTF8String CN of the same text match. False for a malformed name, or a value that cannot be
 * converted (OpenSSL refuses those certificates outright).
 *
 * Walked RDN by RDN, canonicalising only values whose bytes differ, so that two names that differ
 * (every CA-issued certificate) cost a few comparisons, not two canonical encodings.
 */
export function namesMatch(b: Buffer, x: Tlv, y: Tlv): boolean {
  try {
    let p = x.body;
    let q = y.body;
    while (p < x.end && q < y.end) {
      const sx = expectTlv(b, p, x.end, SET, 'RDN');
      const sy = expectTlv(b, q, y.end, SET, 'RDN');
      p = sx.end;
      q = sy.end;
      if (sameRange(b, sx.start, sx.end, sy.start, sy.end)) continue;
      const ax = avasOf(b, sx);
      const ay = avasOf(b, sy);
      if (ax.length !== ay.length) return false;
      if (ax.length === 1) {
        const [vx, vy] = [ax[0]!, ay[0]!];
        if (!sameRange(b, vx.oidBody, vx.oidEnd, vy.oidBody, vy.oidEnd) || !sameValue(b, vx.value, vy.value)) return false;
        continue;
      }
      // A multi-valued RDN is a set: compare the sorted canonical forms.
      const canon = (avas: Ava[]) => {
        const out: string[] = [];
        for (const a of avas) {
          const v = canonValue(b, a.value);
          if (v === null) return null;
          out.push(b.toString('hex', a.oidBody, a.oidEnd) + '=' + v);
        }
        return out.sort().join('\0');
      };
      const cx = canon(ax);
      if (cx === null || cx !== canon(ay)) return false;
    }
    return p === x.end && q === y.end;
  } catch (e) {
    if (e instanceof X509Error) return false;
    throw e;
  }
}

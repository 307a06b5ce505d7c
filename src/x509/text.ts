/**
 * ASN.1 character strings to JavaScript text, for the fields a hunter reads (common name, name
 * parts, SANs). Nothing is dropped or cut: bytes that are not valid in their string type become
 * U+FFFD (UTF-8, BMP, Universal) and a warning says so; NUL and other control characters are
 * kept as they are (a CN of `evil.com\0.paypal.com` stays that long). The printed subject and
 * issuer escape such bytes instead (name.ts).
 */
import {
  BMP_STRING,
  GENERALIZED_TIME,
  IA5_STRING,
  PRINTABLE_STRING,
  T61_STRING,
  UNIVERSAL_STRING,
  UTC_TIME,
  UTF8_STRING,
} from './der.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isAscii(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i]! & 0x80) return false;
  return true;
}

function utf8(b: Buffer, start: number, end: number, warnings: string[], what: string): string {
  const s = b.toString('utf8', start, end);
  if (s.includes('\ufffd')) {
    // Either invalid input (replaced) or a literal U+FFFD (EF BF BD); only the first is a problem.
    try {
      strictUtf8.decode(b.subarray(start, end));
    } catch {
      warnings.push(`invalid UTF-8 in ${what}`);
    }
  }
  return s;
}

/**
 * The text of a string element, or null when its tag is not a character string type (the
 * caller prints those in OpenSSL's `#hex` form). `what` names the field in warnings.
 */
export function decodeText(b: Buffer, tag: number, start: number, end: number, warnings: string[], what: string): string | null {
  switch (tag) {
    case UTF8_STRING:
      return isAscii(b, start, end) ? b.toString('latin1', start, end) : utf8(b, start, end, warnings, what);
    case PRINTABLE_STRING:
    case IA5_STRING:
    case 0x12: // NumericString
    case 0x1a: // VisibleString
    case UTC_TIME:
    case GENERALIZED_TIME:
      if (isAscii(b, start, end)) return b.toString('latin1', start, end);
      // Seen in the wild: UTF-8 (or Latin-1) in a PrintableString; show it as UTF-8 would read.
      warnings.push(`non-ASCII bytes in ${what}`);
      return utf8(b, start, end, warnings, what);
    case T61_STRING:
      // An 8-bit string; OpenSSL treats it byte for byte, which is Latin-1 for every byte value.
      return b.toString('latin1', start, end);
    case BMP_STRING:
      return bmp(b, start, end, warnings, what);
    case UNIVERSAL_STRING:
      return universal(b, start, end, warnings, what);
    default:
      return null;
  }
}

function bmp(b: Uint8Array, start: number, end: number, warnings: string[], what: string): string {
  if ((end - start) & 1) {
    warnings.push(`odd-length BMPString in ${what}`);
    end--;
  }
  let s = '';
  let bad = false;
  for (let i = start; i < end; i += 2) {
    const u = (b[i]! << 8) | b[i + 1]!;
    if (u >= 0xd800 && u <= 0xdbff && i + 3 < end) {
      const lo = (b[i + 2]! << 8) | b[i + 3]!;
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        s += String.fromCharCode(u, lo);
        i += 2;
        continue;
      }
    }
    if (u >= 0xd800 && u <= 0xdfff) {
      bad = true;
      s += '\ufffd';
    } else {
      s += String.fromCharCode(u);
    }
  }
  if (bad) warnings.push(`unpaired surrogate in BMPString in ${what}`);
  return s;
}

function universal(b: Uint8Array, start: number, end: number, warnings: string[], what: string): string {
  if ((end - start) & 3) {
    warnings.push(`UniversalString length not a multiple of 4 in ${what}`);
    end -= (end - start) & 3;
  }
  let s = '';
  let bad = false;
  for (let i = start; i < end; i += 4) {
    const c = b[i]! * 0x1000000 + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
    if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
      bad = true;
      s += '\ufffd';
    } else {
      s += String.fromCodePoint(c);
    }
  }
  if (bad) warnings.push(`invalid code point in UniversalString in ${what}`);
  return s;
}

/**
 * Validity times to epoch milliseconds. RFC 5280 wants `YYMMDDHHMMSSZ` (UTCTime, YY < 50 meaning
 * 20YY) or `YYYYMMDDHHMMSSZ` (GeneralizedTime); certificates in the wild also carry UTCTime
 * without seconds, fractions, `+hhmm` offsets or no zone at all. Those are read (like Zeek and
 * OpenSSL read them) with a warning; a time whose digits do not make a calendar date is null with
 * a warning (Zeek would log 0 or let timegm roll the month over; neither is the certificate's
 * time).
 */
import { type Tlv, GENERALIZED_TIME, tagName, UTC_TIME } from './der.js';

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Two ASCII digits at i as a number, or -1. */
function two(b: Uint8Array, i: number, end: number): number {
  if (i + 2 > end) return -1;
  const h = b[i]! - 0x30;
  const l = b[i + 1]! - 0x30;
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : -1;
}

/**
 * A UTCTime or GeneralizedTime element as epoch ms; null (with a warning naming `what`, e.g.
 * `notAfter`) when it is not a time.
 */
export function parseTime(b: Uint8Array, t: Tlv, warnings: string[], what: string): number | null {
  const utc = t.tag === UTC_TIME;
  if (!utc && t.tag !== GENERALIZED_TIME) {
    warnings.push(`${what} is a ${tagName(t.tag)}, not a time`);
    return null;
  }
  const kind = utc ? 'UTCTime' : 'GeneralizedTime';
  const bad = (why: string): null => {
    warnings.push(`bad ${kind} in ${what} (${why})`);
    return null;
  };
  const end = t.end;
  let i = t.body;
  let year: number;
  if (utc) {
    const yy = two(b, i, end);
    if (yy < 0) return bad('year');
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    i += 2;
  } else {
    const hi = two(b, i, end);
    const lo = two(b, i + 2, end);
    if (hi < 0 || lo < 0) return bad('year');
    year = hi * 100 + lo;
    i += 4;
  }
  const month = two(b, i, end);
  const day = two(b, i + 2, end);
  const hour = two(b, i + 4, end);
  if (month < 1 || month > 12) return bad('month');
  if (day < 1 || day > daysInMonth(year, month)) return bad('day');
  if (hour < 0 || hour > 23) return bad('hour');
  i += 6;
  const odd: string[] = [];
  // Minutes are required in UTCTime, optional in GeneralizedTime; seconds optional in both (BER).
  let minute = two(b, i, end);
  if (minute >= 0) {
    i += 2;
  } else if (utc) {
    return bad('minute');
  } else {
    minute = 0;
    odd.push('no minutes');
  }
  if (minute > 59) return bad('minute');
  let second = two(b, i, end);
  if (second >= 0) {
    i += 2;
  } else {
    second = 0;
    odd.push('no seconds');
  }
  if (second > 60) return bad('second');
  let ms = 0;
  if (i < end && (b[i] === 0x2e || b[i] === 0x2c)) {
    i++;
    let scale = 100;
    const digitsFrom = i;
    for (; i < end && b[i]! >= 0x30 && b[i]! <= 0x39; i++, scale /= 10) ms += (b[i]! - 0x30) * scale;
    if (i === digitsFrom) return bad('fraction');
    odd.push('fractional seconds');
  }
  let offsetMin = 0;
  if (i === end) {
    odd.push('no time zone');
  } else if (b[i] === 0x5a /* Z */) {
    i++;
  } else if (b[i] === 0x2b || b[i] === 0x2d) {
    const oh = two(b, i + 1, end);
    const om = two(b, i + 3, end);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return bad('offset');
    offsetMin = (oh * 60 + om) * (b[i] === 0x2d ? -1 : 1);
    i += 5;
    odd.push('offset instead of Z');
  }
  if (i !== end) return bad('trailing characters');
  if (odd.length) warnings.push(`non-DER ${kind} in ${what} (${odd.join(', ')})`);
  const days = daysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute - offsetMin) * 60000 + second * 1000 + Math.round(ms);
}

import { createHash } from 'node:crypto';
import type { LineItem } from './format.js';
import { excerpt, type ObservationRecord, type SourceItem } from './record.js';

/**
 * Value conversions shared by the format modules: times, hex fingerprints and serials, DER
 * hashes, line text and rejects. Each format reads its own fields; the spelling rules live here.
 */

/**
 * What a format's `read()` returns when done (`for await` ignores it; a caller driving `next()`
 * gets it): records skipped on purpose, e.g. eve.json events that are not TLS, by kind.
 */
export interface ReadSummary {
  skipped: Record<string, number>;
}

/** The time of a row from a source that has none (internet-scan host files, masked baselines). */
export const UNKNOWN_TS = null;

/** A field whose value cannot be read; the reader turns it into a reject naming the field. */
export class FieldError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

export function reject(position: number, reason: string, text: string): SourceItem {
  return { kind: 'reject', reject: { position, reason, excerpt: excerpt(text) } };
}

/** A splitter error passes through as a reject; text loses one trailing CR (CRLF files). */
export function lineOf(item: LineItem): { text: string } | { rejected: SourceItem } {
  if ('error' in item) return { rejected: { kind: 'reject', reject: { position: item.pos, reason: item.error, excerpt: item.excerpt } } };
  return { text: item.text.endsWith('\r') ? item.text.slice(0, -1) : item.text };
}

/** Whole ms plus a decimal fraction of a second; digits past the third become the ms fraction. */
function msFrom(negative: boolean, wholeMs: number, frac: string): number {
  const ms = wholeMs + Number(frac.slice(0, 3).padEnd(3, '0')) + (frac.length > 3 ? Number(`0.${frac.slice(3)}`) : 0);
  return negative ? -ms : ms;
}

/**
 * Epoch seconds as text (`1521911720.624556`) → epoch ms. Done on the digits, not by
 * multiplying a float, so the TSV text and the ISO form of the same instant give the same number.
 */
export function epochSecondsToMs(text: string): number | null {
  const m = /^([+-]?)(\d+)(?:\.(\d*))?(?:e([+-]?\d{1,3}))?$/i.exec(text.trim());
  if (!m) return null;
  // Zeek's ASCII writer switches to exponent form for some values (`2.385616957e+09`):
  // move the decimal point on the digits.
  const digits = (m[2] as string) + (m[3] ?? '');
  const point = (m[2] as string).length + Number(m[4] ?? 0);
  const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
  const frac = point <= 0 ? '0'.repeat(-point) + digits : digits.slice(point);
  return msFrom(m[1] === '-', Number(whole) * 1000, frac);
}

/**
 * epochSecondsToMs(String(seconds)) without the text, for the times a JSON parse gives: that was
 * 5% of a reader thread's time. Below 2^33 s (year 2242) a double's spacing is under 1 µs, so
 * when rounding to whole µs gives the number back, its shortest decimal has at most six
 * fraction digits and they are exactly `us`'s: the digits' result is rebuilt from `us`.
 */
export function secondsNumberToMs(seconds: number): number {
  if (seconds >= 0 && seconds < 2 ** 33) {
    const us = Math.round(seconds * 1e6);
    if (us / 1e6 === seconds) {
      const rest = us % 1000;
      return rest === 0 ? us / 1000 : (us - rest) / 1000 + rest / 1000;
    }
  }
  return epochSecondsToMs(String(seconds)) ?? seconds * 1000;
}

const ISO = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i;

/** ISO-8601 (`2018-03-24T17:15:20.624556Z`, `...+0000`, no zone = UTC) → epoch ms. */
export function isoToMs(text: string): number | null {
  const m = ISO.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  let base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(base) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null;
  if (zone.toUpperCase() !== 'Z') {
    const z = zone.replace(':', '');
    const offset = (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5) || '0')) * 60_000;
    base += zone.startsWith('-') ? offset : -offset;
  }
  return msFrom(false, base, frac);
}

/**
 * A time as sources write it: epoch seconds (number or numeric text), ISO-8601 text, or epoch
 * ms when `unit` says so (Zeek's JSON::TS_MILLIS). Throws FieldError for anything else.
 */
export function timeValue(field: string, value: unknown, unit: 's' | 'ms' = 's'): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) return unit === 'ms' ? value : secondsNumberToMs(value);
  if (typeof value === 'string') {
    const t = /^[+-]?\d+(\.\d*)?(e[+-]?\d+)?$/i.test(value.trim()) ? (unit === 'ms' ? Number(value) : epochSecondsToMs(value)) : isoToMs(value);
    if (t !== null) return t;
  }
  throw new FieldError(field, `not a time: ${JSON.stringify(value).slice(0, 60)}`);
}

/** A non-negative integer from a number or digits; FieldError otherwise. */
export function intValue(field: string, value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new FieldError(field, `not a count: ${JSON.stringify(value).slice(0, 60)}`);
  return n;
}

/** A fingerprint as hex, colons/spaces allowed (`8f:51:12:...`) → lowercase hex, or null. */
export function hexDigest(text: string): string | null {
  const hex = text.replace(/[:\s]/g, '').toLowerCase();
  return /^[0-9a-f]+$/.test(hex) && [32, 40, 64].includes(hex.length) ? hex : null;
}

/** Where a hex digest goes, by its length. */
export function digestKind(hex: string): 'md5' | 'sha1' | 'sha256' | null {
  return hex.length === 64 ? 'sha256' : hex.length === 40 ? 'sha1' : hex.length === 32 ? 'md5' : null;
}

/**
 * Serial as Zeek prints it: lowercase hex of the integer's magnitude, no separators. Zeek
 * (OpenSSL's i2a_ASN1_INTEGER) drops the DER sign byte that Suricata keeps (`00:E1:...`).
 */
export function serialHex(text: string): string | null {
  let hex = text.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) return null;
  if (hex.length % 2 === 1) hex = '0' + hex;
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex;
}

/** Hashes of a base64 DER; null when it is not base64. Hashing is not parsing: src/x509 parses. */
export function derDigests(b64: string): { sha256: string; sha1: string; md5: string } | null {
  const clean = b64.replace(/\s+/g, '');
  if (clean.length === 0 || clean.length % 4 === 1 || !/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) return null;
  const der = Buffer.from(clean, 'base64');
  const h = (alg: string) => createHash(alg).update(der).digest('hex');
  return { sha256: h('sha256'), sha1: h('sha1'), md5: h('md5') };
}

/**
 * Nesting past this is refused before JSON.parse: one 16 MiB line of `[` made 16M nested arrays,
 * ~800 MB in one parse, and each reader thread may hold such a line. Records nest 2 or 3 deep.
 */
export const MAX_JSON_DEPTH = 64;
/** Shorter lines cannot nest deep enough to cost memory, and skip the scan. */
const DEPTH_SCAN_FROM = 64 * 1024;

/** True when the JSON text opens more than `max` objects or arrays at once (strings skipped). */
function tooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** A JSON object line, or why not. */
export function parseObject(text: string): Record<string, unknown> | string {
  if (text.length > DEPTH_SCAN_FROM && tooDeep(text, MAX_JSON_DEPTH)) return `JSON nested deeper than ${MAX_JSON_DEPTH} levels`;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return `JSON value is ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}, not an object`;
  return v as Record<string, unknown>;
}

/** The first lines of a file without comments and blanks (for detect()). */
export function contentLines(head: string[]): string[] {
  return head.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

/** An observation with every field but ts unknown. */
export function emptyObservation(ts: number | null): ObservationRecord {
  return {
    ts, uid: null, src_ip: null, src_port: null, dest_ip: null, dest_port: null, server_name: null, tls_version: null,
    cipher: null, ja3: null, ja3s: null, ja4: null, cert_sha256: null, cert_sha1: null, chain_sha256: [], chain_fuids: [],
    established: null, validation_status: null, rdns: null, country: null, subject: null, issuer: null,
  };
}

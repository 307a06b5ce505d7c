/**
 * Value checks and text hygiene shared by the exporters. Certificate fields and evidence are
 * attacker-controlled: values that become indicators are validated (and dropped when they do not
 * look like what they claim to be); free text is cleaned or escaped per format.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { SEVERITIES } from '../hunts/hunt.js';
import type { Severity } from './record.js';

/**
 * C0 and C1 controls, DEL, and the Unicode controls that reorder or hide text (bidi overrides,
 * zero-width marks, line/paragraph separators, BOM): never wanted in a name or description.
 */
// eslint-disable-next-line no-control-regex
export const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** Free text for a human: unsafe characters become U+FFFD, runs of spaces collapse, length capped. */
export function cleanText(s: string, max = 1000): string {
  const t = s.replace(UNSAFE_TEXT, '\ufffd').replace(/ {2,}/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/** JSON text with C1, bidi and separator characters as \u escapes (JSON.stringify leaves them raw). Same value. */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, bigintAsString, space).replace(
    /[\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** JSON.stringify replacer: DuckDB BIGINTs arrive as bigint, which JSON cannot hold; write them as decimal text. */
export function bigintAsString(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export function hexOf(s: string | null | undefined, length: number): string | null {
  if (typeof s !== 'string') return null;
  const t = s.trim().toLowerCase().replace(/:/g, '');
  return t.length === length && /^[0-9a-f]+$/.test(t) ? t : null;
}

/** Lowercase hex serial (silver form, or colon-separated) → null when it is not hex. */
export function serialHex(s: string | null | undefined): string | null {
  if (typeof s !== 'string') return null;
  const t = s.trim().toLowerCase().replace(/:/g, '');
  return t.length > 0 && t.length <= 128 && /^[0-9a-f]+$/.test(t) ? t : null;
}

/** `8bb00ee` → `08:bb:00:ee`, the form of STIX 2.1's x509-certificate examples (§6.18). */
export function colonHex(hex: string): string {
  const even = hex.length % 2 ? `0${hex}` : hex;
  return even.match(/../g)!.join(':');
}

export type IpVersion = 4 | 6;

/** A canonical-enough IP literal (trimmed, lowercase) and its version, or null. */
export function ipOf(s: string | null | undefined): { value: string; version: IpVersion } | null {
  if (typeof s !== 'string') return null;
  const t = s.trim().toLowerCase();
  if (isIPv4(t)) return { value: t, version: 4 };
  if (isIPv6(t) && !t.includes('%')) return { value: t, version: 6 };
  return null;
}

/**
 * A name that can stand as a DNS domain indicator: ASCII letters, digits, '-' and '_' in labels
 * of 1..63, at least two labels, a TLD with a letter (so no IP literals), at most 253 characters.
 * A leading '*.' is kept: see zeek-intel.ts for why wildcards are exported as written.
 * Returns the lowercase name, or null.
 */
export function dnsNameOf(s: string | null | undefined): string | null {
  if (typeof s !== 'string') return null;
  let t = s.trim().toLowerCase();
  if (t.endsWith('.')) t = t.slice(0, -1);
  const wildcard = t.startsWith('*.');
  const body = wildcard ? t.slice(2) : t;
  if (body.length === 0 || body.length > 253) return null;
  const labels = body.split('.');
  if (labels.length < 2) return null;
  for (const l of labels) {
    if (!/^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l)) return null;
  }
  if (!/[a-z]/.test(labels[labels.length - 1]!)) return null;
  return wildcard ? `*.${body}` : body;
}

/** MITRE ATT&CK technique id (T1573 or T1573.002), uppercased, or null. */
export function techniqueOf(s: string): string | null {
  const t = s.trim().toUpperCase();
  return /^T\d{4}(?:\.\d{3})?$/.test(t) ? t : null;
}

export function attackUrl(technique: string): string {
  return `https://attack.mitre.org/techniques/${technique.replace('.', '/')}/`;
}

/** Unknown severities (hunt files are user data) rank as 'info'. */
export function severityRank(s: string): number {
  return Math.max(0, (SEVERITIES as readonly string[]).indexOf(s));
}

export function severityOf(s: string): Severity {
  return SEVERITIES[severityRank(s)]!;
}

/** Score clamped to an integer 0..100 (NaN → 0). */
export function scoreOf(n: number): number {
  return Number.isFinite(n) ? Math.max(0, Math.min(100, Math.round(n))) : 0;
}

/**
 * ISO-8601 UTC with milliseconds (`2026-11-03T10:00:00.000Z`), or null. Strings without a zone
 * (DuckDB's `2026-11-03 10:00:00`) are UTC, never the local time zone.
 */
export function isoOf(s: string | null | undefined): string | null {
  if (typeof s !== 'string' || s.trim() === '') return null;
  let t = s.trim().replace(' ', 'T');
  if (!/(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(t) && /T\d{2}:\d{2}/.test(t)) t += 'Z';
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) t += 'T00:00:00Z';
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

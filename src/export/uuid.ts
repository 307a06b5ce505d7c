import { createHash } from 'node:crypto';

/**
 * Deterministic identifiers for STIX (STIX 2.1 §2.9 "Identifier", §3.4 "SCO Deterministic ID
 * Creation"). Checked against the spec's own examples: ipv4-addr 198.51.100.3 is
 * ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4 (test/export/stix.test.ts).
 */

/** The namespace §2.9 fixes for SCO ids; §2.9 forbids it for anything else (SDOs, SROs). */
export const SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

/**
 * certhunt's namespace for SDO/SRO/bundle ids: uuidv5(RFC 4122 URL namespace,
 * 'https://certhunt.invalid/stix'). Fixed forever: changing it forks every exported id.
 */
export const CERTHUNT_NAMESPACE = 'b7086b43-966a-5495-a766-c37b74cae7cf';

/** RFC 4122 §4.3 name-based UUID, SHA-1 (version 5). */
export function uuidv5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new TypeError(`not a UUID: ${namespace}`);
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * RFC 8785 (JCS) canonical JSON for the values STIX ids are made of: keys sorted by UTF-16 code
 * units, no whitespace, strings and numbers as ECMAScript's JSON.stringify writes them (which is
 * what RFC 8785 §3.2.2 specifies).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('JCS has no representation for NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`JCS cannot encode ${typeof value}`);
}

/** `type--uuidv5(SCO namespace, JCS(ID contributing properties))` (§2.9). */
export function scoId(type: string, idContributing: Record<string, unknown>): string {
  return `${type}--${uuidv5(SCO_NAMESPACE, canonicalJson(idContributing))}`;
}

/** `type--uuidv5(certhunt namespace, name)`: stable ids for the objects certhunt creates. */
export function certhuntId(type: string, name: string): string {
  return `${type}--${uuidv5(CERTHUNT_NAMESPACE, `${type}:${name}`)}`;
}

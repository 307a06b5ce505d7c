/**
 * Lookups in the OpenSSL name tables (oid-table.ts), keyed by an OID's content octets so that no
 * OID is turned into dotted text just to be looked up.
 */
import { encodeOid, oidDotted, oidKey } from './der.js';
import { CURVES, EXPLICIT_CURVE_ORDERS, OID_NAMES } from './oid-table.js';

export interface OidName {
  /** OpenSSL short name (`CN`, `RSA-SHA256`, `prime256v1`). */
  sn: string;
  /** OpenSSL long name (`commonName`, `sha256WithRSAEncryption`). */
  ln: string;
}

const names = new Map<string, OidName>();
for (const [dotted, sn, ln] of OID_NAMES) {
  const enc = encodeOid(dotted);
  names.set(oidKey(enc, 0, enc.length), { sn, ln: ln ?? sn });
}

/** X.520 attributes (2.5.4.n, content 55 04 n) by n: the common case, without a string key. */
const x520: (OidName | undefined)[] = [];
for (const [key, name] of names) {
  if (key.length === 3 && key.charCodeAt(0) === 0x55 && key.charCodeAt(1) === 0x04) x520[key.charCodeAt(2)] = name;
}

/** OpenSSL's names for the OID in buf[start, end); undefined when OpenSSL would not know it. */
export function oidName(buf: Uint8Array, start: number, end: number): OidName | undefined {
  if (end - start === 3 && buf[start] === 0x55 && buf[start + 1] === 0x04) return x520[buf[start + 2]!];
  return names.get(oidKey(buf, start, end));
}

/**
 * How OpenSSL's i2t_ASN1_OBJECT prints an OID (Zeek's key_alg and sig_alg): the long name when
 * known, else dotted. Null for an invalid encoding.
 */
export function algorithmName(buf: Uint8Array, start: number, end: number): string | null {
  return oidName(buf, start, end)?.ln ?? oidDotted(buf, start, end);
}

export interface Curve {
  sn: string;
  orderBits: number;
}

const curves = new Map<string, Curve>();
for (const [dotted, sn, orderBits] of CURVES) {
  const enc = encodeOid(dotted);
  curves.set(oidKey(enc, 0, enc.length), { sn, orderBits });
}

/** A named curve by its OID's content octets. */
export function curveByOid(buf: Uint8Array, start: number, end: number): Curve | undefined {
  return curves.get(oidKey(buf, start, end));
}

const explicitOrders = new Map<string, string>(EXPLICIT_CURVE_ORDERS.map(([sn, order]) => [order, sn]));

/** The named curve whose group order is `orderHex` (lowercase, no leading zeros), if any. */
export function curveByOrder(orderHex: string): string | undefined {
  return explicitOrders.get(orderHex);
}

import { createHash } from 'node:crypto';
import type { ClientHello, ServerHello } from './tls.js';

/**
 * Client and server hello fingerprints: JA3 and JA3S (Salesforce, BSD-3) and JA4 (FoxIO,
 * BSD-3). JA4+ methods other than JA4 itself (JA4S, JA4X, JA4H, …) are under FoxIO's licence
 * that forbids commercial use, so they are deliberately absent.
 */

/** RFC 8701 GREASE values: 0x0a0a, 0x1a1a, … 0xfafa (both bytes equal, low nibble 0xa). */
export function isGrease(v: number): boolean {
  return v <= 0xffff && (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

const notGrease = (v: number) => !isGrease(v);

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, GREASE removed from every list. */
export function ja3(ch: ClientHello): { text: string; md5: string } {
  const text = [
    String(ch.legacyVersion),
    ch.ciphers.filter(notGrease).join('-'),
    ch.extensions.filter(notGrease).join('-'),
    ch.groups.filter(notGrease).join('-'),
    ch.pointFormats.join('-'),
  ].join(',');
  return { text, md5: md5(text) };
}

/**
 * `SSLVersion,Cipher,Extensions` with the ServerHello's legacy version (for TLS 1.3 that is
 * 771, not the negotiated 772), as Salesforce's ja3s does; it filters no GREASE here either
 * (servers do not send it).
 */
export function ja3s(sh: ServerHello): { text: string; md5: string } {
  const text = `${sh.legacyVersion},${sh.cipher},${sh.extensions.join('-')}`;
  return { text, md5: md5(text) };
}

const JA4_VERSIONS: ReadonlyMap<number, string> = new Map([
  [0x0304, '13'],
  [0x0303, '12'],
  [0x0302, '11'],
  [0x0301, '10'],
  [0x0300, 's3'],
  [0x0002, 's2'],
  // FoxIO's Rust implementation also reads SSL 2.0 as 0x0200 and SSL 1.0 as 0x0100.
  [0x0200, 's2'],
  [0x0100, 's1'],
  [0xfeff, 'd1'],
  [0xfefd, 'd2'],
  [0xfefc, 'd3'],
]);

const hex4 = (v: number) => v.toString(16).padStart(4, '0');

function sha12(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * First and last character of the first ALPN value; when either end byte is not alphanumeric,
 * the first and last characters of the value's hex instead (JA4.md: 0x30 0xAB → "3b"). ALPN
 * values are kept byte-for-byte as latin1 strings, so char codes are the bytes.
 */
function alpnChars(alpn: string | undefined): string {
  if (alpn === undefined || alpn.length === 0) return '00';
  const first = alpn.charCodeAt(0);
  const last = alpn.charCodeAt(alpn.length - 1);
  if (isAlnum(first) && isAlnum(last)) return alpn[0]! + alpn[alpn.length - 1]!;
  const hex = Buffer.from(alpn, 'latin1').toString('hex');
  return hex[0]! + hex[hex.length - 1]!;
}

const count2 = (n: number) => String(Math.min(n, 99)).padStart(2, '0');

/**
 * JA4 as FoxIO's technical_details/JA4.md defines it: `raw` is JA4_r (sorted lists, unhashed).
 * Version: highest non-GREASE supported_versions entry, else the ClientHello's legacy version;
 * anything else (TLS 1.3 drafts included) is `00`. An empty cipher or extension list hashes to
 * twelve zeros rather than to SHA-256 of nothing.
 */
export function ja4(ch: ClientHello, transport: 't' | 'q' = 't'): { text: string; raw: string } {
  const versions = ch.supportedVersions.filter(notGrease);
  const version = versions.length > 0 ? Math.max(...versions) : ch.legacyVersion;
  const ciphers = ch.ciphers.filter(notGrease);
  const extensions = ch.extensions.filter(notGrease);
  const head =
    transport +
    (JA4_VERSIONS.get(version) ?? '00') +
    (extensions.includes(0x0000) ? 'd' : 'i') +
    count2(ciphers.length) +
    count2(extensions.length) +
    alpnChars(ch.alpn[0]);

  const cipherList = ciphers.map(hex4).sort().join(',');
  const extList = extensions
    .filter((e) => e !== 0x0000 && e !== 0x0010)
    .map(hex4)
    .sort()
    .join(',');
  const sigs = ch.sigAlgs.filter(notGrease).map(hex4).join(',');
  const extPart = sigs ? `${extList}_${sigs}` : extList;

  const cipherHash = cipherList ? sha12(cipherList) : '000000000000';
  const extHash = extList ? sha12(extPart) : '000000000000';
  return { text: `${head}_${cipherHash}_${extHash}`, raw: `${head}_${cipherList}_${extPart}` };
}

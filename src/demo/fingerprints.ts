/**
 * JA3/JA3S (Salesforce) and JA4 (FoxIO, JA4.md) of the hellos the demo sends, computed from the
 * fields tls.ts chose rather than from the bytes: src/net/ja.ts reads them back from the capture,
 * and the two must agree.
 */
import { digest } from './bytes.js';
import { TLS12, TLS13, isGrease, serverExtensions, type HelloShape } from './tls.js';
import type { SessionSpec } from './sessions.js';

export interface Fingerprint {
  text: string;
  md5: string;
}

const noGrease = (xs: number[]) => xs.filter((v) => !isGrease(v));
const md5 = (text: string): Fingerprint => ({ text, md5: digest('md5', text) });

/** `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`: the hello's legacy version (771 for TLS 1.3 too), GREASE left out. */
export function ja3(shape: HelloShape): Fingerprint {
  return md5([TLS12, noGrease(shape.ciphers).join('-'), noGrease(shape.extensions).join('-'), noGrease(shape.groups).join('-'), shape.pointFormats.join('-')].join(','));
}

/** `SSLVersion,Cipher,Extensions` of the ServerHello, its legacy version again (771 for TLS 1.3). */
export function ja3s(s: SessionSpec): Fingerprint {
  return md5(`${TLS12},${s.cipher},${serverExtensions(s).join('-')}`);
}

const hex4 = (v: number) => v.toString(16).padStart(4, '0');
const sha12 = (text: string) => (text === '' ? '000000000000' : digest('sha256', text).slice(0, 12));
const count2 = (n: number) => String(Math.min(n, 99)).padStart(2, '0');

/**
 * JA4 over TCP: `t`, the highest supported_versions entry (else the legacy version), `d` with
 * SNI (`i` without), cipher and extension counts without GREASE, the first ALPN value's first and
 * last characters (`00` without ALPN); then the truncated SHA-256 of the sorted ciphers, and of
 * the sorted extensions less SNI and ALPN followed by the signature algorithms as sent.
 */
export function ja4(shape: HelloShape): string {
  const versions = noGrease(shape.versions);
  const version = versions.length > 0 ? Math.max(...versions) : TLS12;
  const ciphers = noGrease(shape.ciphers);
  const extensions = noGrease(shape.extensions);
  const alpn = shape.alpn[0];
  const head = `t${version === TLS13 ? '13' : '12'}${extensions.includes(0) ? 'd' : 'i'}${count2(ciphers.length)}${count2(extensions.length)}${alpn ? alpn[0]! + alpn[alpn.length - 1]! : '00'}`;
  const exts = extensions.filter((e) => e !== 0x0000 && e !== 0x0010).map(hex4).sort().join(',');
  const sigs = noGrease(shape.sigAlgs).map(hex4).join(',');
  const extHash = exts === '' ? '000000000000' : sha12(sigs ? `${exts}_${sigs}` : exts);
  return `${head}_${sha12(ciphers.map(hex4).sort().join(','))}_${extHash}`;
}

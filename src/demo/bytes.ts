/**
 * Byte building for the demo's synthetic traffic: TLS vectors (a 1-, 2- or 3-byte length, then
 * the bytes) and deterministic filler. Kept apart from src/net, whose parsers the demo's output
 * is meant to exercise, so the two never share a mistake.
 */
import { createHash } from 'node:crypto';

export type Bytes = Uint8Array;

export function cat(...parts: Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Bytes from numbers, each taken modulo 256. */
export const u8 = (...xs: number[]): Bytes => Uint8Array.from(xs);
export const u16 = (v: number): Bytes => u8(v >> 8, v & 0xff);
export const u24 = (v: number): Bytes => u8(v >> 16, (v >> 8) & 0xff, v & 0xff);
export const u16s = (vs: readonly number[]): Bytes => cat(...vs.map(u16));
export const vec8 = (b: Bytes): Bytes => cat(u8(b.length), b);
export const vec16 = (b: Bytes): Bytes => cat(u16(b.length), b);
export const vec24 = (b: Bytes): Bytes => cat(u24(b.length), b);

/**
 * Deterministic "random" bytes (hello randoms, key shares, ciphertext) from a label: the same
 * network always gives the same capture, byte for byte.
 */
export function pseudoRandom(label: string, n: number): Bytes {
  const out = new Uint8Array(n);
  for (let i = 0, block = 0; i < n; block++) {
    const h = createHash('sha256').update(`${label}/${block}`).digest();
    out.set(h.subarray(0, Math.min(h.length, n - i)), i);
    i += h.length;
  }
  return out;
}

export const digest = (alg: 'md5' | 'sha1' | 'sha256', b: Bytes | string): string => createHash(alg).update(b).digest('hex');

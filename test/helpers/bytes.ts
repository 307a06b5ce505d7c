/**
 * Byte building and seeded randomness shared by the tests that make packets, TLS records and
 * mutations by hand. Written independently of src/, so tests do not check the code with itself.
 */
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
export const ascii = (s: string): Bytes => Uint8Array.from(Buffer.from(s, 'latin1'));
/** TLS vectors: the bytes behind a 1-, 2- or 3-byte length. */
export const vec8 = (b: Bytes): Bytes => cat(u8(b.length), b);
export const vec16 = (b: Bytes): Bytes => cat(u16(b.length), b);
export const vec24 = (b: Bytes): Bytes => cat(u24(b.length), b);

/** mulberry32: small, seeded, good enough to pick bytes and positions. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Byte building and seeded randomness shared by the tests that make packets, TLS records and
 * mutations by hand, independent of the parsers under test.
 */
import type { Bytes } from '../../src/demo/bytes.js';

// The byte builders are the demo's (src/demo/bytes.ts): like these tests, it builds packets and
// TLS records from the RFCs, never through src/net's parsers.
export { cat, u8, u16, u24, vec8, vec16, vec24, type Bytes } from '../../src/demo/bytes.js';
export const ascii = (s: string): Bytes => Uint8Array.from(Buffer.from(s, 'latin1'));

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

/**
 * The demo's seeded randomness: sfc32 (small, fast, passes PractRand well past what a demo draws)
 * seeded from SHA-256 of (seed, label). Every generator is addressed by a label path rather than
 * drawn in sequence, so adding one certificate to the data set leaves every other one unchanged.
 */
import { createHash } from 'node:crypto';

export class Rng {
  readonly seed: string;
  readonly label: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string | number, label = '') {
    this.seed = String(seed);
    this.label = label;
    // NUL cannot appear in a label typed by hand, so (seed, label) pairs cannot collide.
    const h = createHash('sha256').update(`${this.seed}\0${label}`).digest();
    this.a = h.readUInt32LE(0);
    this.b = h.readUInt32LE(4);
    this.c = h.readUInt32LE(8);
    this.d = h.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** An independent generator for (seed, this label / label); does not advance this one. */
  fork(label: string): Rng {
    return new Rng(this.seed, this.label === '' ? label : `${this.label}/${label}`);
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** In [0, 1), 32 bits of resolution. */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [lo, hi], both included; fine for spans up to 2^32. */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new RangeError(`int(${lo}, ${hi}): need integers with lo <= hi`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An item with probability proportional to its weight (weights >= 0, at least one > 0). */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((s, [, w]) => s + Math.max(0, w), 0);
    if (!(total > 0)) throw new RangeError('weighted: no item has a positive weight');
    let x = this.next() * total;
    for (const [item, w] of items) {
      if (w <= 0) continue;
      if (x < w) return item;
      x -= w;
    }
    // Float rounding can leave x a hair above the last weight.
    for (let i = items.length - 1; ; i--) if (items[i]![1] > 0) return items[i]![0];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.uint32();
      for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
    return out;
  }

  /** n random bytes as 2n lowercase hex digits. */
  hex(n: number): string {
    return Buffer.from(this.bytes(n)).toString('hex');
  }
}

/**
 * A bounded cache that forgets what was not used lately. The writers keep per-certificate facts
 * (fingerprints, parsed names) in these rather than in plain Maps, so that a stream of millions
 * of certificates costs the cache's size, not the stream's.
 *
 * Two generations instead of an exact LRU list: entries go into the young Map; a hit in the old
 * one moves the entry to the young one; when the young Map is full it becomes the old one and
 * the old one is dropped. Nothing is ever deleted from a Map, which in V8 leaves holes that
 * cost a rehash: an exact LRU (delete and re-insert on every hit) spent 15% of a Zeek
 * generation in Map upkeep (scratch profile, 200k sessions).
 */
export class Lru<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  /** At most `capacity` entries are kept; at least the `capacity / 2` most recently used. */
  constructor(readonly capacity: number) {
    if (!(capacity >= 2)) throw new RangeError(`Lru capacity ${capacity}: need at least 2`);
    this.half = Math.ceil(capacity / 2);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) this.set(key, o);
    return o;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.half && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  /** The value for `key`, made by `make` when missing. */
  through(key: K, make: (key: K) => V): V {
    let v = this.get(key);
    if (v === undefined) this.set(key, (v = make(key)));
    return v;
  }
}

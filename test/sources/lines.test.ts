import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { LineItem } from '../../src/sources/format.js';
import { LineSplitter, splitLineBatches, splitLines, type TextLine } from '../../src/sources/lines.js';

async function* chunksOf(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

async function all(src: AsyncIterable<LineItem>): Promise<LineItem[]> {
  const out: LineItem[] = [];
  for await (const item of src) out.push(item);
  return out;
}

function texts(items: LineItem[]): string[] {
  return items.map((i) => ('text' in i ? i.text : `ERR:${i.error}`));
}

/** Every way of cutting `data` into two or three chunks gives the same lines as one chunk. */
async function sameForEveryCut(data: Buffer, opts: { maxLineBytes?: number } = {}): Promise<LineItem[]> {
  const whole = await all(splitLines(chunksOf(data), opts));
  for (let i = 0; i <= data.length; i++) {
    const two = await all(splitLines(chunksOf(data.subarray(0, i), data.subarray(i)), opts));
    assert.deepEqual(two, whole, `cut at ${i}`);
    for (let j = i; j <= data.length; j += 3) {
      const three = await all(splitLines(chunksOf(data.subarray(0, i), data.subarray(i, j), data.subarray(j)), opts));
      assert.deepEqual(three, whole, `cuts at ${i},${j}`);
    }
  }
  return whole;
}

describe('splitLines', () => {
  it('splits on \\n and \\r\\n, with 1-based positions and byte offsets of line starts', async () => {
    const data = Buffer.from('a\r\nbb\n\nccc\r\nd\re\n', 'utf8');
    const items = await sameForEveryCut(data);
    assert.deepEqual(items, [
      { text: 'a', pos: 1, byteOffset: 0 },
      { text: 'bb', pos: 2, byteOffset: 3 },
      { text: '', pos: 3, byteOffset: 6 },
      { text: 'ccc', pos: 4, byteOffset: 7 },
      { text: 'd\re', pos: 5, byteOffset: 12 }, // a lone \r is not a line end
    ]);
  });

  it('yields the last line without a newline (and drops a final \\r)', async () => {
    assert.deepEqual(texts(await sameForEveryCut(Buffer.from('x\ny'))), ['x', 'y']);
    assert.deepEqual(texts(await sameForEveryCut(Buffer.from('x\ny\r'))), ['x', 'y']);
    assert.deepEqual(await all(splitLines(chunksOf())), []);
    assert.deepEqual(await all(splitLines(chunksOf('', ''))), []);
    assert.deepEqual(texts(await all(splitLines(chunksOf('\n')))), ['']);
  });

  it('decodes multi-byte UTF-8 split across chunks, byte offsets count bytes', async () => {
    const data = Buffer.from('é€😀\nñ\n', 'utf8');
    const items = await sameForEveryCut(data);
    assert.deepEqual(items, [
      { text: 'é€😀', pos: 1, byteOffset: 0 },
      { text: 'ñ', pos: 2, byteOffset: 10 },
    ]);
  });

  it('replaces invalid UTF-8 with U+FFFD, still yields the line and flags it', async () => {
    const data = Buffer.concat([Buffer.from('ok\nbad '), Buffer.from([0xff, 0xc3]), Buffer.from(' end\nreal \uFFFD\n')]);
    const items = (await sameForEveryCut(data)) as TextLine[];
    assert.equal(items.length, 3);
    assert.equal(items[0]!.invalidUtf8, undefined);
    assert.equal(items[1]!.text, 'bad \uFFFD\uFFFD end');
    assert.equal(items[1]!.invalidUtf8, true);
    // A genuine U+FFFD in valid UTF-8 is not flagged.
    assert.equal(items[2]!.text, 'real \uFFFD');
    assert.equal(items[2]!.invalidUtf8, undefined);
  });

  it('keeps NUL bytes', async () => {
    const items = await sameForEveryCut(Buffer.from('a\0b\n\0\n'));
    assert.deepEqual(texts(items), ['a\0b', '\0']);
  });

  it('drops a UTF-8 byte order mark at the start only', async () => {
    const items = await sameForEveryCut(Buffer.from('\uFEFFh1,h2\n\uFEFFx\n'));
    assert.deepEqual(items, [
      { text: 'h1,h2', pos: 1, byteOffset: 0 },
      { text: '\uFEFFx', pos: 2, byteOffset: 9 },
    ]);
  });

  it('turns a line longer than maxLineBytes into one error item with an excerpt, then goes on', async () => {
    const long = 'L' + 'x'.repeat(30);
    const data = Buffer.from(`ok\n${long}\r\nafter\n${'y'.repeat(10)}\n${'z'.repeat(11)}`);
    const items = await sameForEveryCut(data, { maxLineBytes: 10 });
    assert.deepEqual(items, [
      { text: 'ok', pos: 1, byteOffset: 0 },
      { error: 'line 2 is longer than 10 bytes', pos: 2, byteOffset: 3, excerpt: long },
      { text: 'after', pos: 3, byteOffset: 3 + long.length + 2 },
      { text: 'y'.repeat(10), pos: 4, byteOffset: 3 + long.length + 2 + 6 },
      { error: 'line 5 is longer than 10 bytes', pos: 5, byteOffset: 3 + long.length + 2 + 6 + 11, excerpt: 'z'.repeat(11) },
    ]);
  });

  it('a line of exactly maxLineBytes (plus \\r\\n) is fine', async () => {
    const items = await sameForEveryCut(Buffer.from('abcd\r\nabcde\r\nab\n'), { maxLineBytes: 4 });
    assert.deepEqual(texts(items), ['abcd', 'ERR:line 2 is longer than 4 bytes', 'ab']);
  });

  it('escapes control characters in the excerpt and bounds it', async () => {
    const line = '\u0001' + 'q'.repeat(5000);
    const items = await all(splitLines(chunksOf(line + '\n'), { maxLineBytes: 100 }));
    const err = items[0] as Extract<LineItem, { error: string }>;
    assert.ok(err.excerpt.startsWith('\\x01qqq'));
    // record.ts excerpt() cuts at 200 characters before escaping, so escapes may add a few.
    assert.ok(err.excerpt.length <= 210, `excerpt of ${err.excerpt.length} characters`);
  });

  it('skips a 64 MiB line with maxLineBytes 1 MiB in bounded memory', async () => {
    // A full collection before each measurement, so that only what is still referenced counts.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const measure = (): number => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const total = 64 * 1024 * 1024;
    const run = async (maxLineBytes: number): Promise<{ items: LineItem[]; growth: number }> => {
      const before = measure();
      let growth = 0;
      async function* source(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('first\n');
        for (let sent = 0; sent < total; sent += chunk.length) {
          yield Buffer.from(chunk); // a fresh buffer each time, as a stream gives
          if ((sent / chunk.length) % 64 === 63) growth = Math.max(growth, measure() - before);
        }
        yield Buffer.from('\nlast\n');
      }
      return { items: await all(splitLines(source(), { maxLineBytes })), growth };
    };
    const { items, growth } = await run(1024 * 1024);
    assert.deepEqual(texts(items), ['first', 'ERR:line 2 is longer than 1048576 bytes', 'last']);
    assert.deepEqual(items[2], { text: 'last', pos: 3, byteOffset: 6 + total + 1 });
    assert.ok(growth < 8 * 1024 * 1024, `memory grew by ${(growth / 1048576).toFixed(1)} MiB`);
    // The measurement does see a kept line: with a limit above it, the line is gathered.
    const kept = await run(128 * 1024 * 1024);
    assert.equal(kept.items.length, 3);
    assert.ok(kept.growth > 48 * 1024 * 1024, `gathering grew by only ${(kept.growth / 1048576).toFixed(1)} MiB`);
  });

  it('does not keep views of the caller buffers across chunks (copies the partial line)', async () => {
    const buf = Buffer.from('abc');
    async function* reuse(): AsyncGenerator<Uint8Array> {
      yield buf;
      buf.write('xyz'); // the producer reuses its buffer
      yield Buffer.from('\n');
    }
    assert.deepEqual(texts(await all(splitLines(reuse()))), ['abc']);
  });

  it('when the source fails: lines before are out, the unfinished line is an error item, the error is rethrown', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('one\ntwo\nthr');
      throw new Error('gzip data is truncated');
    }
    const got: LineItem[] = [];
    await assert.rejects(async () => {
      for await (const item of splitLines(failing())) got.push(item);
    }, /gzip data is truncated/);
    assert.deepEqual(got, [
      { text: 'one', pos: 1, byteOffset: 0 },
      { text: 'two', pos: 2, byteOffset: 4 },
      { error: 'line 3 is incomplete: gzip data is truncated', pos: 3, byteOffset: 8, excerpt: 'thr' },
    ]);
  });

  it('accepts plain Uint8Arrays, resumes from a given position, and batches by chunk', async () => {
    const u8 = new TextEncoder().encode('p\nq\n');
    const items = await all(splitLines(chunksOf(u8), { firstPos: 10, firstByteOffset: 100 }));
    assert.deepEqual(items, [
      { text: 'p', pos: 10, byteOffset: 100 },
      { text: 'q', pos: 11, byteOffset: 102 },
    ]);
    const batches: LineItem[][] = [];
    for await (const b of splitLineBatches(chunksOf('a\nb\nc', 'd\ne'))) batches.push(b);
    assert.deepEqual(batches.map(texts), [['a', 'b'], ['cd'], ['e']]);
  });

  it('stops reading the source when the consumer stops', async () => {
    let closed = false;
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          pulled++;
          yield Buffer.from('line\n');
        }
      } finally {
        closed = true;
      }
    }
    let n = 0;
    for await (const _ of splitLines(endless())) if (++n === 3) break;
    assert.equal(closed, true);
    assert.equal(pulled, 3);
  });

  it('LineSplitter can be driven by hand', () => {
    const s = new LineSplitter({ maxLineBytes: 5 });
    assert.deepEqual(texts(s.push(Buffer.from('ab'))), []);
    assert.deepEqual(texts(s.push(Buffer.from('c\nde'))), ['abc']);
    assert.deepEqual(texts(s.end()), ['de']);
    assert.throws(() => new LineSplitter({ maxLineBytes: 0 }), RangeError);
  });
});

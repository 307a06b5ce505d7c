import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/demo/rng.js';
import { blockLines, ByteBlocks, type Piece } from '../../src/pipeline/blocks.js';
import type { LineFormat, LineItem } from '../../src/sources/format.js';
import { LineSplitter } from '../../src/sources/lines.js';
import { zeekContextLine } from '../../src/sources/zeek-log.js';

/**
 * The block cutter (src/pipeline/blocks.ts) against the splitter on one thread: whatever the
 * chunking, block size, line cap and content, the lines of its pieces, split as a reader thread
 * splits them, are the lines of the whole input, and every block carries the directives that
 * came before it.
 */
const MAX = 64;
const format: LineFormat = { name: 'test', parallel: true, context: zeekContextLine, detect: () => true, read: async function* () {} };

function randomInput(rng: Rng): Uint8Array {
  const pick = (n: number) => rng.uint32() % n;
  const parts: Buffer[] = [];
  if (pick(4) === 0) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  const lines = 1 + pick(60);
  for (let i = 0; i < lines; i++) {
    const kind = pick(10);
    const line =
      kind === 0 ? Buffer.from(`#fields\tts\tf${i}`)
      : kind === 1 ? Buffer.from('#separator \\x09')
      : kind === 2 ? Buffer.alloc(MAX + 1 + pick(300), 'x') // over the cap, sometimes across many chunks
      : kind === 3 ? Buffer.from([0x23, 0x61, 0xff, 0x00]) // a '#' line with bad UTF-8 and a NUL
      : kind === 4 ? Buffer.alloc(0)
      : kind === 5 ? Buffer.alloc(MAX, '#') // at the cap exactly
      : Buffer.from(`{"ts":${i},"v":"${'é'.repeat(pick(20))}"}`);
    parts.push(line, Buffer.from(pick(3) === 0 ? '\r\n' : '\n'));
  }
  if (pick(3) === 0) parts.push(Buffer.from('{"last":' + 'z'.repeat(pick(2) ? 3 : MAX + 5)));
  return Buffer.concat(parts);
}

function chunked(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + (rng.uint32() % 150);
    out.push(bytes.slice(at, at + n));
    at += n;
  }
  return out;
}

/** The directives in force before each line, as a reading on one thread keeps them. */
function contextsBefore(lines: LineItem[]): LineItem[][] {
  let context: LineItem[] = [];
  return lines.map((line) => {
    const before = context;
    const c = zeekContextLine(line);
    if (c) context = c === 'restart' ? [line] : [...context, line];
    return before;
  });
}

function run(seed: number, abort: boolean, maxContext = 256): void {
  const rng = new Rng('blocks', String(seed));
  const input = randomInput(rng);
  const whole = new LineSplitter({ maxLineBytes: MAX });
  const wantLines = whole.push(input);
  if (abort) {
    const item = whole.abort('broken');
    if (item) wantLines.push(item);
  } else whole.end(wantLines);
  const contexts = contextsBefore(wantLines);

  const blocks = new ByteBlocks(format, MAX, 1 + (rng.uint32() % 300), maxContext);
  const chunks = chunked(rng, input);
  const pieces: Piece[] = [];
  let i = 0;
  // Every chunk arrives in the same Buffer, overwritten after it is pushed (as a source may
  // reuse its buffer): nothing kept may be a view of it, bar the serial rest, read at once.
  const reused = Buffer.alloc(200);
  for (; i < chunks.length && pieces.at(-1)?.kind !== 'serial'; i++) {
    const view = reused.subarray(0, chunks[i]!.length);
    view.set(chunks[i]!);
    pieces.push(...blocks.push(view));
    const last = pieces.at(-1);
    if (last?.kind === 'serial') last.rest = last.rest.map((b) => new Uint8Array(b));
    view.fill(0x58);
  }
  if (pieces.at(-1)?.kind !== 'serial') pieces.push(...(abort ? blocks.abort('broken') : blocks.end()));

  const got: LineItem[] = [];
  let threaded = 0;
  for (const piece of pieces) {
    const first = got.length;
    if (piece.kind === 'serial') {
      const rest = new LineSplitter({ maxLineBytes: MAX, firstPos: piece.firstPos, firstByteOffset: piece.firstByteOffset });
      for (const b of [...piece.rest, ...chunks.slice(i)]) rest.push(b, got);
      if (abort) {
        const item = rest.abort('broken');
        if (item) got.push(item);
      } else rest.end(got);
      assert.deepEqual(piece.context, contexts[first], `seed ${seed}: the serial rest starts with the directives before it`);
      continue;
    }
    const lines = piece.kind === 'items' ? piece.items : [...blockLines(piece.bytes, { ...piece, maxLineBytes: MAX, slice: 1 + (rng.uint32() % 40) })];
    if (lines.length === 0) continue;
    got.push(...lines);
    if (piece.kind === 'block') {
      assert.equal(piece.lines, lines.filter((l) => !zeekContextLine(l)).length, `seed ${seed}: a block counts its lines but directives`);
      threaded += piece.lines;
    }
    assert.deepEqual(piece.context, contexts[first], `seed ${seed}: block at line ${lines[0]!.pos} carries the directives before it`);
  }
  assert.deepEqual(got, wantLines, `seed ${seed} (${abort ? 'aborted' : 'ended'}): the same lines as one splitter`);
  assert.ok(threaded <= wantLines.length, `seed ${seed}: no line counted twice`);
}

test('blocks give the lines one splitter gives, with the directives before them, whatever the chunks', () => {
  for (let seed = 0; seed < 400; seed++) run(seed, false);
});

test('an input that breaks off: the unfinished line is an error item, as on one thread', () => {
  for (let seed = 0; seed < 200; seed++) run(seed, true);
});

test('past the context cap the rest goes to the main thread, from the line that passed it', () => {
  let serial = 0;
  for (let seed = 0; seed < 200; seed++) {
    const rng = new Rng('blocks-cap', String(seed));
    const blocks = new ByteBlocks(format, MAX, 1 + (rng.uint32() % 300), 3);
    const pieces = chunked(rng, randomInput(rng)).flatMap((c) => blocks.push(c));
    if (pieces.some((p) => p.kind === 'serial')) serial++;
    run(seed, false, 3);
    run(seed, true, 3);
  }
  assert.ok(serial > 20, `the cap was reached in some inputs (${serial} of 200)`);
});

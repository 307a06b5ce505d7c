import type { LineFormat, LineItem } from '../sources/format.js';
import { LineSplitter } from '../sources/lines.js';

/**
 * Cutting a file's bytes into blocks of whole lines for the reader threads (parallel.ts), which
 * split and decode them themselves with the same LineSplitter, started at the block's line
 * number and byte offset, so every line item is the one a reading on one thread makes. Sending
 * bytes instead of line items spares the main thread a string and an object per line and their
 * structured clone: its work per line fell ~5× (parallel.ts).
 *
 * Here each block's newlines are counted (the next block's first line number) and the lines
 * that may be context (a format's `context`, e.g. Zeek's `#` directives) are read, so that the
 * blocks after them carry them. Two things stop the cutting, as on one thread:
 * - a line longer than maxLineBytes: it is skipped here by a LineSplitter, never held whole,
 *   and its error item goes on as a block of one item;
 * - context past MAX_CONTEXT_LINES: the rest of the file is read on the main thread ('serial').
 */
export type Piece =
  | { kind: 'block'; bytes: Uint8Array; firstPos: number; firstByteOffset: number; context: LineItem[]; abort?: string; lines: number }
  | { kind: 'items'; items: LineItem[]; context: LineItem[] }
  | { kind: 'serial'; context: LineItem[]; firstPos: number; firstByteOffset: number; rest: Uint8Array[] };

/**
 * Context lines sent with every block. A Zeek header is ~8 and `#separator` starts a new one;
 * a file that piles up more is read on the main thread from there.
 */
export const MAX_CONTEXT_LINES = 256;

const NL = 0x0a;
const HASH = 0x23;
const BOM = [0xef, 0xbb, 0xbf];

export class ByteBlocks {
  private pos = 1;
  /** Absolute offset of the first byte not yet in a block. */
  private offset = 0;
  private carry: Uint8Array[] = [];
  private carryLen = 0;
  /** Bytes of the carry's last, unfinished line. */
  private partial = 0;
  /** Inside a line too long to keep: the splitter skips it. */
  private long: LineSplitter | null = null;
  private context: LineItem[] = [];
  private halted = false;

  constructor(
    private readonly format: LineFormat,
    /** The line cap (maxLineBytes). */
    private readonly max: number,
    private readonly blockBytes: number,
    private readonly maxContext = MAX_CONTEXT_LINES,
  ) {}

  /** The pieces this chunk completes, in file order; after a 'serial' piece nothing more. */
  push(chunk: Uint8Array): Piece[] {
    const out: Piece[] = [];
    let start = 0;
    while (start < chunk.length && !this.halted) {
      if (this.long) {
        const nl = chunk.indexOf(NL, start);
        const end = nl < 0 ? chunk.length : nl + 1;
        const items = this.long.push(chunk.subarray(start, end));
        this.offset += end - start;
        start = end;
        if (items.length > 0) this.endLong(items, out);
        continue;
      }
      // A block ends at the first newline once it holds blockBytes.
      const from = start + Math.max(0, this.blockBytes - this.carryLen - 1);
      const nl = from < chunk.length ? chunk.indexOf(NL, from) : -1;
      if (nl < 0) {
        this.keep(chunk.subarray(start), out);
        break;
      }
      const parts = [...this.carry, chunk.subarray(start, nl + 1)];
      this.carry = [];
      this.carryLen = 0;
      this.partial = 0;
      start = nl + 1;
      if (this.block(parts, out)) serialRest(out).push(chunk.subarray(start));
    }
    return out;
  }

  /** The last pieces at the end of the input. */
  end(): Piece[] {
    const out: Piece[] = [];
    if (this.halted) return out;
    if (this.long) this.endLong(this.long.end(), out);
    else if (this.carryLen > 0) this.block(this.takeCarry(), out);
    return out;
  }

  /** The last pieces when the input broke off: the unfinished line becomes an error item. */
  abort(reason: string): Piece[] {
    const out: Piece[] = [];
    if (this.halted) return out;
    if (this.long) {
      const cut = this.long.abort(reason);
      if (cut) this.endLong([cut], out);
    } else if (this.carryLen > 0) this.block(this.takeCarry(), out, reason);
    return out;
  }

  private takeCarry(): Uint8Array[] {
    const parts = this.carry;
    this.carry = [];
    this.carryLen = 0;
    this.partial = 0;
    return parts;
  }

  /** Bytes with no block end in them: kept (copied: the source may reuse its buffers) or, past the line cap, skipped. */
  private keep(bytes: Uint8Array, out: Piece[]): void {
    const lastNl = bytes.lastIndexOf(NL);
    this.partial = lastNl < 0 ? this.partial + bytes.length : bytes.length - lastNl - 1;
    this.carry.push(new Uint8Array(bytes)); // a copy: a Buffer's slice() is a view
    this.carryLen += bytes.length;
    // LineSplitter's own test: one byte of slack for the '\r' of a '\r\n'.
    if (this.partial <= this.max + 1) return;
    const partial = this.partial;
    const all = concat(this.takeCarry());
    const lineStart = all.length - partial;
    if (lineStart > 0 && this.block([all.subarray(0, lineStart)], out)) {
      serialRest(out).push(all.subarray(lineStart));
      return;
    }
    this.long = new LineSplitter({ maxLineBytes: this.max, firstPos: this.pos, firstByteOffset: this.offset });
    this.long.push(all.subarray(lineStart));
    this.offset += all.length - lineStart;
  }

  private endLong(items: LineItem[], out: Piece[]): void {
    this.long = null;
    this.pos += items.length;
    out.push({ kind: 'items', items, context: this.context });
  }

  /**
   * One block of whole lines (the last may be unfinished at the end of input): its newlines
   * counted, its context lines read. True when a context line stopped the cutting: the 'serial'
   * piece it pushed holds the block from that line on, and the caller adds what follows.
   */
  private block(parts: Uint8Array[], out: Piece[], abort?: string): boolean {
    const bytes = concat(parts);
    // Buffer's indexOf is memchr; a Uint8Array's walks byte by byte (6× slower here).
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const firstPos = this.pos;
    const firstByteOffset = this.offset;
    const context = this.context;
    let lines = 0;
    let contextLines = 0;
    for (let s = 0; s < bytes.length; ) {
      const nl = buf.indexOf(NL, s);
      const end = nl < 0 ? bytes.length : nl + 1;
      if (this.format.context && (bytes[s] === HASH || (firstByteOffset + s === 0 && startsWithBomHash(bytes))) && (nl >= 0 || abort === undefined)) {
        const item = this.lineAt(bytes.subarray(s, end), firstPos + lines, firstByteOffset + s);
        const c = this.format.context(item);
        if (c === 'add' && this.context.length >= this.maxContext) {
          if (s > 0) out.push({ kind: 'block', bytes: bytes.slice(0, s), firstPos, firstByteOffset, context, lines: lines - contextLines });
          this.halted = true;
          out.push({ kind: 'serial', context: this.context, firstPos: firstPos + lines, firstByteOffset: firstByteOffset + s, rest: [bytes.subarray(s)] });
          return true;
        }
        if (c) {
          this.context = c === 'restart' ? [item] : [...this.context, item];
          contextLines++;
        }
      }
      lines++;
      s = end;
    }
    this.pos += lines;
    this.offset += bytes.length;
    out.push({ kind: 'block', bytes, firstPos, firstByteOffset, context, lines: lines - contextLines, ...(abort !== undefined ? { abort } : {}) });
    return false;
  }

  /** One line as the splitter makes it (a BOM dropped at the start of input, a cap applied). */
  private lineAt(bytes: Uint8Array, pos: number, byteOffset: number): LineItem {
    const splitter = new LineSplitter({ maxLineBytes: this.max, firstPos: pos, firstByteOffset: byteOffset });
    return [...splitter.push(bytes), ...splitter.end()][0]!;
  }
}

function serialRest(out: Piece[]): Uint8Array[] {
  return (out.at(-1) as Extract<Piece, { kind: 'serial' }>).rest;
}

function startsWithBomHash(bytes: Uint8Array): boolean {
  return bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2] && bytes[3] === HASH;
}

/**
 * The parts copied into one buffer of our own (the source's may be reused); ~0.1 ms per MiB.
 * Not Buffer.concat: a small result is a slice of Node's shared 8 KiB pool, which postMessage
 * does not transfer but copies whole to the thread (Node 20).
 */
function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A block's lines, as the reader thread splits them: a slice at a time, so that each line's
 * text dies young. Split whole up front, a block's lines outlived scavenges and were copied by
 * each: scavenges took a fifth more time (--trace-gc, 1M rows on one thread, 1 MiB blocks).
 */
export function* blockLines(
  bytes: Uint8Array,
  at: { firstPos: number; firstByteOffset: number; maxLineBytes?: number | undefined; abort?: string | undefined; slice?: number },
): Generator<LineItem> {
  const { firstPos, firstByteOffset, maxLineBytes, abort, slice = SPLIT_SLICE } = at;
  const splitter = new LineSplitter({ ...(maxLineBytes !== undefined ? { maxLineBytes } : {}), firstPos, firstByteOffset });
  for (let i = 0; i < bytes.length; i += slice) yield* splitter.push(bytes.subarray(i, i + slice));
  if (abort === undefined) {
    yield* splitter.end();
    return;
  }
  const cut = splitter.abort(abort);
  if (cut) yield cut;
}

const SPLIT_SLICE = 16 * 1024;

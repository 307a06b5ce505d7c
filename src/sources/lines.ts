/**
 * Splitting a byte stream into lines, for the line-oriented formats (Zeek TSV/JSON logs,
 * Suricata eve.json, CSV scan exports, intel lists).
 *
 * - '\n' ends a line and a '\r' just before it is dropped ('\r\n'); a lone '\r' is kept.
 * - `pos` is the 1-based line number, `byteOffset` the offset of the line's first byte in the
 *   (decompressed) stream.
 * - Text is decoded as UTF-8; invalid sequences become U+FFFD and the line is still yielded,
 *   flagged `invalidUtf8: true` (see TextLine). NUL bytes are kept. A UTF-8 byte order mark
 *   at the very start is dropped from the first line's text.
 * - A line longer than `maxLineBytes` becomes one error item with an excerpt of its start; the
 *   rest of it is skipped without being kept, so memory stays bounded by about maxLineBytes.
 * - A last line without a newline is yielded. When the byte source throws (a truncated gzip,
 *   a network error), the lines before are already out; an unfinished last line is reported as
 *   an error item and then the source's error is rethrown.
 *
 * Speed: the newline search is Buffer.indexOf (native), each line is decoded with one
 * Buffer#toString call on its bytes, and only a line that spans chunks is copied.
 */
import { isUtf8 } from 'node:buffer';
import type { LineItem } from './format.js';
import { excerpt as displayExcerpt } from './record.js';

/** A text line; `invalidUtf8` is set (only) when its bytes were not valid UTF-8. */
export type TextLine = Extract<LineItem, { text: string }> & { invalidUtf8?: true };
export type ErrorLine = Extract<LineItem, { error: string }>;

export interface SplitLinesOptions {
  /** Longest line accepted, in bytes without the line end; default 16 MiB. */
  maxLineBytes?: number;
  /** Line number of the first line, when resuming in the middle of a source; default 1. */
  firstPos?: number;
  /** Byte offset of the first chunk's first byte; default 0. */
  firstByteOffset?: number;
}

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
/** Bytes of an over-long line kept for its excerpt. */
const EXCERPT_BYTES = 600;
const NL = 0x0a;
const CR = 0x0d;

/**
 * The splitting state machine, synchronous: push chunks, get the lines they complete. Used by
 * splitLines and splitLineBatches; usable directly where a caller has its own loop.
 */
export class LineSplitter {
  private readonly max: number;
  private pos: number;
  /** Absolute offset of the next byte pushed. */
  private offset: number;
  /** Absolute offset of the start of the line being gathered. */
  private lineStart: number;
  /** Bytes of the unfinished line (copies, never views of the caller's chunks). */
  private tail: Buffer[] = [];
  private tailLen = 0;
  /** Inside an over-long line: its start for the excerpt, the rest is dropped. */
  private skipping = false;
  private skipHead: Buffer | null = null;
  private atStart = true;

  constructor(opts: SplitLinesOptions = {}) {
    const max = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${max}`);
    this.max = max;
    this.pos = opts.firstPos ?? 1;
    this.offset = opts.firstByteOffset ?? 0;
    this.lineStart = this.offset;
  }

  /** Lines completed by this chunk, appended to `out` (returned). */
  push(chunk: Uint8Array, out: LineItem[] = []): LineItem[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const len = buf.length;
    let i = 0;
    while (i < len) {
      const nl = buf.indexOf(NL, i);
      if (nl === -1) {
        this.keep(buf, i, len);
        break;
      }
      this.finishLine(buf, i, nl, out);
      i = nl + 1;
      this.lineStart = this.offset + i;
    }
    this.offset += len;
    return out;
  }

  /** The last line, when the input did not end with a newline. */
  end(out: LineItem[] = []): LineItem[] {
    if (this.skipping) {
      out.push(this.tooLong());
    } else if (this.tailLen > 0) {
      let bytes = this.joinTail();
      if (bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
      if (bytes.length > this.max) {
        this.skipHead = bytes.subarray(0, EXCERPT_BYTES);
        out.push(this.tooLong());
      } else {
        out.push(this.text(bytes, 0, bytes.length));
      }
    }
    this.tail = [];
    this.tailLen = 0;
    return out;
  }

  /** When the input broke off: an error item for the unfinished line, if there is one. */
  abort(reason: string): ErrorLine | undefined {
    if (!this.skipping && this.tailLen === 0) return undefined;
    const head = this.skipping ? (this.skipHead ?? Buffer.alloc(0)) : this.joinTail().subarray(0, EXCERPT_BYTES);
    const item: ErrorLine = {
      error: `line ${this.pos} is incomplete: ${reason}`,
      pos: this.pos,
      byteOffset: this.lineStart,
      excerpt: displayExcerpt(head.toString('utf8')),
    };
    this.pos++;
    this.tail = [];
    this.tailLen = 0;
    this.skipping = false;
    this.skipHead = null;
    return item;
  }

  /** Bytes of the chunk from `from` on have no newline: keep them (or skip them) for later. */
  private keep(buf: Buffer, from: number, to: number): void {
    if (this.skipping) {
      this.growExcerpt(buf, from, to);
      return;
    }
    const n = to - from;
    // One byte of slack: a '\r' at the end may belong to a '\r\n' that is not counted.
    if (this.tailLen + n > this.max + 1) {
      this.startSkipping(buf, from, to);
      return;
    }
    this.tail.push(Buffer.from(buf.subarray(from, to))); // copy: the caller may reuse its buffer
    this.tailLen += n;
  }

  private startSkipping(buf: Buffer, from: number, to: number): void {
    const parts = [...this.tail, buf.subarray(from, Math.min(to, from + EXCERPT_BYTES))];
    this.skipHead = Buffer.from(Buffer.concat(parts).subarray(0, EXCERPT_BYTES));
    this.skipping = true;
    this.tail = [];
    this.tailLen = 0;
  }

  /** While skipping an over-long line: its start may still be short of the excerpt's length. */
  private growExcerpt(buf: Buffer, from: number, to: number): void {
    const have = this.skipHead?.length ?? 0;
    if (have >= EXCERPT_BYTES || to <= from) return;
    const more = buf.subarray(from, Math.min(to, from + EXCERPT_BYTES - have));
    this.skipHead = this.skipHead ? Buffer.concat([this.skipHead, more]) : Buffer.from(more);
  }

  /** A newline at `nl` ends the line whose bytes are the tail plus buf[from, nl). */
  private finishLine(buf: Buffer, from: number, nl: number, out: LineItem[]): void {
    if (this.skipping) {
      this.growExcerpt(buf, from, nl);
      out.push(this.tooLong());
      return;
    }
    if (this.tailLen === 0) {
      let end = nl;
      if (end > from && buf[end - 1] === CR) end--;
      if (end - from > this.max) {
        this.skipHead = Buffer.from(buf.subarray(from, Math.min(end, from + EXCERPT_BYTES)));
        out.push(this.tooLong());
        return;
      }
      out.push(this.text(buf, from, end));
      return;
    }
    if (this.tailLen + (nl - from) > this.max + 1) {
      this.startSkipping(buf, from, nl);
      out.push(this.tooLong());
      return;
    }
    this.tail.push(buf.subarray(from, nl));
    const bytes = this.joinTail();
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    this.tail = [];
    this.tailLen = 0;
    if (end > this.max) {
      this.skipHead = bytes.subarray(0, EXCERPT_BYTES);
      out.push(this.tooLong());
      return;
    }
    out.push(this.text(bytes, 0, end));
  }

  private joinTail(): Buffer {
    return this.tail.length === 1 ? this.tail[0]! : Buffer.concat(this.tail);
  }

  private text(buf: Buffer, start: number, end: number): TextLine {
    let text = buf.toString('utf8', start, end);
    if (this.atStart) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff && this.lineStart === 0) text = text.slice(1);
    }
    const item: TextLine = { text, pos: this.pos++, byteOffset: this.lineStart };
    // U+FFFD in the text is either a replacement or a real U+FFFD in the input: ask the bytes.
    if (text.includes('\uFFFD') && !isUtf8(buf.subarray(start, end))) item.invalidUtf8 = true;
    return item;
  }

  private tooLong(): ErrorLine {
    let head = this.skipHead ?? Buffer.alloc(0);
    if (head[head.length - 1] === CR) head = head.subarray(0, head.length - 1);
    const item: ErrorLine = {
      error: `line ${this.pos} is longer than ${this.max} bytes`,
      pos: this.pos,
      byteOffset: this.lineStart,
      excerpt: displayExcerpt(head.toString('utf8').replace(/\uFFFD+$/, '')),
    };
    this.atStart = false;
    this.pos++;
    this.skipping = false;
    this.skipHead = null;
    return item;
  }
}

/**
 * Lines of a byte stream, one item at a time. See the module comment for the rules.
 *
 * A hand-written iterator rather than an async generator function: handing over a line that is
 * already split is then a resolved promise instead of a generator resumption, which makes the
 * whole about 1.5 times faster on short lines.
 */
export function splitLines(chunks: AsyncIterable<Uint8Array>, opts: SplitLinesOptions = {}): AsyncGenerator<LineItem> {
  return new LineIterator(chunks, new LineSplitter(opts));
}

class LineIterator implements AsyncGenerator<LineItem> {
  private source: AsyncIterator<Uint8Array> | undefined;
  private batch: LineItem[] = [];
  private i = 0;
  private ended = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly chunks: AsyncIterable<Uint8Array>,
    private readonly splitter: LineSplitter,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<LineItem>> {
    if (this.i < this.batch.length) return Promise.resolve({ value: this.batch[this.i++]!, done: false });
    return this.pull();
  }

  private async pull(): Promise<IteratorResult<LineItem>> {
    for (;;) {
      if (this.i < this.batch.length) return { value: this.batch[this.i++]!, done: false };
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        throw error;
      }
      if (this.ended) return { value: undefined, done: true };
      this.batch = [];
      this.i = 0;
      this.source ??= this.chunks[Symbol.asyncIterator]();
      let r: IteratorResult<Uint8Array>;
      try {
        r = await this.source.next();
      } catch (error) {
        this.ended = true;
        const cut = this.splitter.abort(error instanceof Error ? error.message : String(error));
        if (cut) this.batch.push(cut);
        this.failure = { error };
        continue;
      }
      if (r.done) {
        this.ended = true;
        this.splitter.end(this.batch);
      } else {
        this.splitter.push(r.value, this.batch);
      }
    }
  }

  async return(value?: unknown): Promise<IteratorResult<LineItem>> {
    const open = !this.ended;
    this.ended = true;
    this.batch = [];
    this.failure = undefined;
    if (open && this.source) await this.source.return?.();
    return { value: value as undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<LineItem>> {
    await this.return();
    throw error;
  }
}

/**
 * The same lines as splitLines, as one array per input chunk: about twice as fast for a
 * consumer that can take batches, since each await costs more than a short line's work.
 */
export async function* splitLineBatches(
  chunks: AsyncIterable<Uint8Array>,
  opts: SplitLinesOptions = {},
): AsyncGenerator<LineItem[]> {
  const splitter = new LineSplitter(opts);
  try {
    for await (const chunk of chunks) {
      const out = splitter.push(chunk);
      if (out.length > 0) yield out;
    }
  } catch (e) {
    const cut = splitter.abort(e instanceof Error ? e.message : String(e));
    if (cut) yield [cut];
    throw e;
  }
  const last = splitter.end();
  if (last.length > 0) yield last;
}

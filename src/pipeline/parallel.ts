import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FormatOptions, LineFormat } from '../sources/format.js';
import { fileLines, readCompleted } from '../sources/index.js';
import { DEFAULT_MAX_LINE_BYTES } from '../sources/lines.js';
import { ByteBlocks, type Piece } from './blocks.js';
import { prepareItems, type PreparedBlock, type PreparedItem } from './bronze.js';
import type { BlockRequest, BlockResult } from './read-worker.js';

/**
 * Reading a line-format file on several threads. Parsing, mapping, completing (DER, name parts,
 * registered domains) and serialising a record was all of the main thread's time in an ingest
 * (bench/ingest.ts, cpu profile). On the 2 cores measured, which DuckDB's commits share, threads
 * took the 1M-line log from ~34 to ~32 s, 500 MB of log with DER from 26.8 to 22.5 s and a
 * Zeek TSV log of 928k lines from 28.3 to 18.8 s; more cores should gain more.
 *
 * The main thread cuts the bytes into blocks of whole lines (blocks.ts) and hands them to reader
 * threads (read-worker.ts), which split them with the same splitter (so positions, caps and line
 * errors are unchanged) and give back the rows' text; blocks are taken back in file order, so
 * every batch, and so every commit a re-run skips, holds the same records as a reading on one
 * thread. Lines that set how the next ones read (a Zeek TSV header's directives: the format's
 * `context`) are read in their block and go ahead of every block after them, so a TSV log is
 * read on threads too. A format must say its other lines read the same anywhere (`parallel`);
 * once the context grows past MAX_CONTEXT_LINES (blocks.ts), the rest of the file is read here.
 *
 * Sending bytes rather than line items cut the main thread's share of the 1M-line log from
 * ~0.85 s to ~0.17 s past reading the file (so more threads can be fed) and the ingest's peak
 * RSS by ~8%; on 2 cores the wall time did not change.
 */
/**
 * Bytes per block: ~370 lines of Zeek's x509 JSON. Blocks in flight are all held at once.
 * Smaller blocks were faster on Zeek TSV (1.1M lines, `certhunt ingest`, alternating runs:
 * 23.1 s at 1 MiB, 21.2 s at 256 KiB, with a fifth less system time: a block's buffers are
 * then small enough for malloc to reuse memory instead of mapping fresh pages for each); the
 * 1M-line JSON log took the same either way. 128 KiB was slower again.
 */
export const BLOCK_BYTES = 256 * 1024;
/** Smaller files are read on the main thread: two threads take ~115 ms to start and load the formats. */
export const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;

/**
 * Bytes of blocks in flight past which no other is sent until the oldest is back. Blocks are
 * 256 KiB, but a line is a block of its own up to the line cap (16 MiB), and a thread holds
 * ~14× a line's bytes while it reads one (its string, the parsed record, the row's text): on 4
 * threads, a log of 15 MB lines peaked at 1,101 MiB RSS, against 626 MiB on 2. This keeps about
 * one such line in reading at a time, and leaves normal blocks (2 × threads in flight) alone.
 */
export const MAX_INFLIGHT_BYTES = 16 * 1024 * 1024;

/** A block past this holds a long line (blocks are cut at BLOCK_BYTES otherwise). */
export const LONG_BLOCK_BYTES = 4 * BLOCK_BYTES;

export function defaultReaderThreads(): number {
  return Math.min(4, availableParallelism());
}

/**
 * A reader thread failed (a bug or a resource limit, since format modules turn bad input into
 * rejects). Unlike a broken input it fails the file: rows in flight are lost with the thread, so
 * the file must not be recorded as read; the batches committed before stay, and a re-run
 * finishes the file.
 */
export class ReaderThreadError extends Error {
  override readonly name = 'ReaderThreadError';
}

type Pending = { resolve: (block: PreparedBlock) => void; reject: (e: Error) => void };

/** Reader threads, started on first use, shared by the files of one ingest. */
export class ReaderPool {
  private workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;
  private broken: Error | undefined;

  /** `onSend`: told which thread gets each block, and its bytes (tests watch the spread). */
  constructor(
    readonly size: number,
    private readonly onSend?: (thread: number, bytes: number) => void,
  ) {}

  /** `transfer`: buffers of the request handed to the thread (no copy; unusable here after). */
  read(req: Omit<BlockRequest, 'id'>, transfer: ArrayBuffer[] = [], bytes = 0): Promise<PreparedBlock> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.workers.length === 0) this.start();
    const id = this.nextId++;
    // Blocks of long lines all go to the first thread: a thread's heap keeps what reading one
    // grew it to, so spreading them grew every thread's.
    const index = bytes > LONG_BLOCK_BYTES ? 0 : this.turn++ % this.workers.length;
    const worker = this.workers[index]!;
    this.onSend?.(index, bytes);
    return new Promise<PreparedBlock>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id } satisfies BlockRequest, transfer);
    });
  }

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      const worker = newWorker();
      worker.on('message', (r: BlockResult) => {
        const p = this.pending.get(r.id);
        this.pending.delete(r.id);
        if ('error' in r) p?.reject(new ReaderThreadError(`reader thread: ${r.error}`));
        else p?.resolve(r.block);
      });
      worker.on('error', (e) => this.fail(new ReaderThreadError(`reader thread failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new ReaderThreadError(`reader thread exited with ${code}`));
      });
      this.workers.push(worker);
    }
  }

  private fail(e: Error): void {
    this.broken ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    this.broken ??= new ReaderThreadError('reader threads closed');
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function newWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./read-worker.js', import.meta.url));
  // Under tsx (tests, scripts) this module is TypeScript and so is its worker; Node 20 does not
  // pass the main thread's loader hooks on to workers, so the worker registers tsx first.
  const url = new URL('./read-worker.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); })`, { eval: true });
}

export interface ParallelLines {
  format: LineFormat;
  options: FormatOptions & { maxLineBytes?: number };
}

/**
 * The prepared rows of a line-format file, in file order: blocks from `pool`'s threads, and
 * single items read here for a format that cannot be read apart or after too much context.
 */
export async function* readParallel(
  chunks: AsyncIterable<Uint8Array>,
  { format, options }: ParallelLines,
  ctx: { source: string; format: string },
  pool: ReaderPool,
  tuning: { blockBytes?: number; onBlock?: (lines: number) => void } = {},
): AsyncGenerator<PreparedItem | PreparedBlock> {
  if (!format.parallel) {
    yield* prepareItems(readCompleted(format, fileLines(chunks, options), options), ctx);
    return;
  }
  const blocks = new ByteBlocks(format, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, tuning.blockBytes ?? BLOCK_BYTES);
  const source = chunks[Symbol.asyncIterator]();
  const inflight: { block: Promise<PreparedBlock>; bytes: number }[] = [];
  let inflightBytes = 0;
  let serial: Extract<Piece, { kind: 'serial' }> | undefined;
  const send = (pieces: Piece[]) => {
    for (const piece of pieces) {
      if (piece.kind === 'serial') {
        serial = piece;
        return;
      }
      const { context } = piece;
      let p: Promise<PreparedBlock>;
      let size: number;
      if (piece.kind === 'items') {
        size = piece.items.reduce((n, i) => n + ('text' in i ? i.text.length : 0), 0);
        tuning.onBlock?.(piece.items.length);
        p = pool.read({ format: format.name, options, source: ctx.source, context, block: { items: piece.items } }, [], size);
      } else {
        tuning.onBlock?.(piece.lines);
        const { bytes, firstPos, firstByteOffset, abort } = piece;
        size = bytes.length;
        p = pool.read({ format: format.name, options, source: ctx.source, context, block: { bytes, firstPos, firstByteOffset, ...(abort !== undefined ? { abort } : {}) } }, [bytes.buffer as ArrayBuffer], size);
      }
      p.catch(() => undefined); // awaited in order below; not unhandled meanwhile
      inflight.push({ block: p, bytes: size });
      inflightBytes += size;
    }
  };
  const next = () => {
    const { block, bytes } = inflight.shift()!;
    inflightBytes -= bytes;
    return block;
  };
  let failure: { error: unknown } | undefined;
  try {
    while (!serial) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await source.next();
      } catch (error) {
        // The input broke: what was read before it is yielded first, as on one thread.
        failure = { error };
        send(blocks.abort(error instanceof Error ? error.message : String(error)));
        break;
      }
      if (r.done) {
        send(blocks.end());
        break;
      }
      send(blocks.push(r.value));
      while (inflight.length > pool.size * 2 || (inflightBytes > MAX_INFLIGHT_BYTES && inflight.length > 1)) yield await next();
    }
    while (inflight.length > 0) yield await next();
    if (serial) {
      // After too much context: the rest of the file on this thread, the context read first.
      const { rest, context, firstPos, firstByteOffset } = serial;
      const broken = failure;
      failure = undefined;
      const bytes = (async function* () {
        yield* rest;
        if (broken) throw broken.error;
        for (let r = await source.next(); !r.done; r = await source.next()) yield r.value;
      })();
      const lines = fileLines(bytes, { ...options, firstPos, firstByteOffset });
      const all = (async function* () {
        yield* context;
        yield* lines;
      })();
      yield* prepareItems(readCompleted(format, all, options), ctx);
    }
    if (failure) throw failure.error;
  } finally {
    await source.return?.();
  }
}

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FormatOptions, LineFormat, LineItem } from '../sources/format.js';
import { fileLines, readCompleted } from '../sources/index.js';
import { prepareItems, type PreparedBlock, type PreparedItem } from './bronze.js';
import type { BlockRequest, BlockResult } from './read-worker.js';

/**
 * Reading a line-format file on several threads. Parsing, mapping, completing (DER, name parts,
 * registered domains) and serialising a record was all of the main thread's time in an ingest
 * (bench/ingest.ts, cpu profile). On the 2 cores measured, which DuckDB's commits share, threads
 * took the 1M-line log from ~34 to ~32 s, 500 MB of log with DER from 26.8 to 22.5 s and a
 * Zeek TSV log of 928k lines from 28.3 to 18.8 s; more cores should gain more.
 *
 * The main thread splits lines (the same splitLines, so positions, caps and line errors are
 * unchanged) and hands blocks of BLOCK_LINES to reader threads (read-worker.ts), which give
 * back the rows' text; blocks are taken back in file order, so every batch, and so every commit
 * a re-run skips, holds the same records as a reading on one thread. Lines that only set how
 * the next ones read (a Zeek TSV header's directives: the format's `context`) go ahead of every
 * block after them, so a TSV log is read on threads too. Only lines the format calls independent
 * go to threads: at the first that is not, or once the context grows past MAX_CONTEXT_LINES, the
 * in-flight blocks are drained and the rest of the file is read here, after the context lines.
 */
export const BLOCK_LINES = 2_000;
/**
 * A block is also sent once its lines reach this many UTF-16 units: lines may be up to 16 MiB
 * (sources/lines.ts), and the blocks in flight are all held at once.
 */
export const BLOCK_CHARS = 4 * 1024 * 1024;
/**
 * Context lines sent with every block. A Zeek header is ~8 and `#separator` starts a new one;
 * a file that piles up more reads on here.
 */
export const MAX_CONTEXT_LINES = 256;
/** Smaller files are read on the main thread: two threads take ~115 ms to start and load the formats. */
export const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;

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

  constructor(readonly size: number) {}

  read(req: Omit<BlockRequest, 'id'>): Promise<PreparedBlock> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.workers.length === 0) this.start();
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length]!;
    return new Promise<PreparedBlock>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id } satisfies BlockRequest);
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
 * The prepared rows of a line-format file, in file order: blocks from `pool`'s threads where
 * the format allows, single items read here after a line that is not independent.
 */
export async function* readParallel(
  chunks: AsyncIterable<Uint8Array>,
  { format, options }: ParallelLines,
  ctx: { source: string; format: string },
  pool: ReaderPool,
  tuning: { blockLines?: number; blockChars?: number; onBlock?: (lines: number) => void } = {},
): AsyncGenerator<PreparedItem | PreparedBlock> {
  const blockLines = tuning.blockLines ?? BLOCK_LINES;
  const blockChars = tuning.blockChars ?? BLOCK_CHARS;
  const lines = fileLines(chunks, options);
  const independent = format.independent ?? (() => false);
  const contextOf = format.context ?? (() => false);
  let context: LineItem[] = [];
  const inflight: Promise<PreparedBlock>[] = [];
  const send = (block: LineItem[]) => {
    tuning.onBlock?.(block.length);
    const p = pool.read({ format: format.name, options, source: ctx.source, context, lines: block });
    p.catch(() => undefined); // awaited in order below; not unhandled meanwhile
    inflight.push(p);
  };
  let block: LineItem[] = [];
  let chars = 0;
  let serialFrom: LineItem | undefined;
  let failure: { error: unknown } | undefined;
  try {
    for (;;) {
      let r: IteratorResult<LineItem>;
      try {
        r = await lines.next();
      } catch (error) {
        // The input broke: what was read before it is yielded first, as on one thread.
        failure = { error };
        break;
      }
      if (r.done) break;
      const c = contextOf(r.value);
      if (c) {
        // The lines before it read with the context before it.
        if (block.length > 0) {
          send(block);
          block = [];
          chars = 0;
        }
        if (c === 'restart') context = [];
        else if (context.length >= MAX_CONTEXT_LINES) {
          serialFrom = r.value;
          break;
        }
        context = [...context, r.value];
        continue;
      }
      if (!independent(r.value)) {
        serialFrom = r.value;
        break;
      }
      block.push(r.value);
      chars += 'text' in r.value ? r.value.text.length : r.value.excerpt.length;
      if (block.length >= blockLines || chars >= blockChars) {
        send(block);
        block = [];
        chars = 0;
      }
      while (inflight.length > pool.size * 2) yield await inflight.shift()!;
    }
    if (block.length > 0) send(block);
    while (inflight.length > 0) yield await inflight.shift()!;
    if (failure) throw failure.error;
    if (serialFrom) {
      const first = serialFrom;
      const ahead = context;
      const rest = (async function* () {
        yield* ahead;
        yield first;
        yield* lines;
      })();
      yield* prepareItems(readCompleted(format, rest, options), ctx);
    }
  } finally {
    await lines.return(undefined);
  }
}

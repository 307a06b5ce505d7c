import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { mkdirSync, promises as fs, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonObjectSize, MIN_JSON_OBJECT_SIZE } from '../lake/parquet.js';
import { sqlString } from '../lake/schema.js';
import { FileSink } from './sink.js';

/**
 * Staging files go to tmpdir()/certhunt-stage/<pid>/ unless the caller gives a folder. A run
 * killed mid-ingest (SIGKILL, out of memory, power loss) cannot remove its files; the next run
 * does: a folder whose process is gone and that has not changed for STALE_MS is swept when a
 * process first stages. Files of a live process, or of one gone only lately (its folder may be
 * on a disk another host shares), are left alone.
 */
const STALE_MS = 60 * 60_000;
/** The default folder for this process, once made (tmpdir() can change under tests). */
let ownDir: string | null = null;

function defaultDir(): string {
  const root = join(tmpdir(), 'certhunt-stage');
  const dir = join(root, String(process.pid));
  if (ownDir !== dir) {
    mkdirSync(dir, { recursive: true });
    sweepStages(root);
    ownDir = dir;
  }
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, as another user's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove the staging folders of processes that are gone (see above); returns what was removed. */
export function sweepStages(root: string, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid || alive(Number(name))) continue;
    const path = join(root, name);
    try {
      if (now - statSync(path).mtimeMs < STALE_MS) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Gone already, or not ours to remove: the next run tries again.
    }
  }
  return removed;
}

/**
 * Rows of more than LARGE_ROW UTF-16 units that one stage (one COPY) may hold together, a single
 * larger one always fitting. DuckDB holds a vector of rows (2,048) whole at each step of a COPY:
 * for normal rows a few MB, but rows of tens of MB add up. Within the line and row caps, two of
 * 900k SANs (27 MB each, before lists were bounded) ran the bronze write out of the ingest's
 * 384 MB, as did three of a 15 MB serial (~30 MB each) at 256 MB, where one lands.
 */
export const LARGE_ROW = 64 * 1024;
export const LARGE_ROWS_CHARS = 32 * 1024 * 1024;

/** Whether a row of `chars` units may join a stage whose large rows already hold `large` units. */
export const largeRowFits = (large: number, chars: number): boolean => chars <= LARGE_ROW || large === 0 || large + chars <= LARGE_ROWS_CHARS;


/**
 * Records from JS reach DuckDB through a newline-delimited JSON file: JSON.stringify is the
 * fastest way out of V8 and DuckDB's JSON reader is parallel. Memory stays bounded whatever
 * the batch size: rows go to disk as they come.
 */
export class Stage {
  readonly file: string;
  private readonly sink: FileSink;
  rows = 0;
  /** Text staged so far, in UTF-16 units (about bytes: rows are mostly ASCII). */
  chars = 0;
  /** The part of `chars` in rows of more than LARGE_ROW units. */
  large = 0;
  /** Longest row staged, in UTF-8 bytes. */
  private longest = 0;
  private closed = false;

  constructor(dir = defaultDir()) {
    this.file = join(dir, `certhunt-stage-${randomUUID()}.ndjson`);
    this.sink = new FileSink(this.file);
  }

  /** Write one row; resolves when the stream can take more (backpressure). */
  async write(row: unknown): Promise<void> {
    await this.writeText(JSON.stringify(row));
  }

  /** Write one row already serialised (one JSON object, no newline). */
  async writeText(text: string): Promise<void> {
    this.rows++;
    this.chars += text.length;
    if (text.length > LARGE_ROW) this.large += text.length;
    // A UTF-16 unit is at most 3 bytes: only a row that could need more than the smallest buffer
    // and be the longest is measured (measuring each ~2 kB row cost ~0.35 µs on the main thread).
    const most = text.length * 3;
    if (most + 2 > MIN_JSON_OBJECT_SIZE && most > this.longest) this.longest = Math.max(this.longest, Buffer.byteLength(text));
    await this.sink.line(text);
  }

  /**
   * Rows already serialised as UTF-8 lines, each ending in a newline; `chars` in UTF-16 units,
   * `large` the part of it in large rows, `longest` in bytes.
   */
  async writeBytes(bytes: Uint8Array, rows: number, chars: number, large: number, longest: number): Promise<void> {
    this.rows += rows;
    this.chars += chars;
    this.large += large;
    if (longest > this.longest) this.longest = longest;
    await this.sink.bytesOut(bytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sink.close();
  }

  /** A query over the staged rows with the given DuckDB column types. */
  select(columns: [string, string][], extra = ''): string {
    return selectStages([this], columns, extra);
  }

  /** Longest row staged, in UTF-8 bytes. */
  get longestRow(): number {
    return this.longest;
  }

  async remove(): Promise<void> {
    await this.close();
    await fs.rm(this.file, { force: true });
  }
}

/** One query over the rows of several stages (closed), as if they were one. */
export function selectStages(stages: Stage[], columns: [string, string][], extra = ''): string {
  const spec = columns.map(([n, t]) => `${sqlString(n)}: ${sqlString(t)}`).join(', ');
  // From the longest row's bytes, not three times its UTF-16 length: one 15 MB log line (900k
  // SANs) then asked for buffers DuckDB's ingest memory limit could not hold, and the run failed.
  const size = jsonObjectSize(stages.reduce((m, s) => Math.max(m, s.longestRow), 0));
  const files = stages.length === 1 ? sqlString(stages[0]!.file) : `[${stages.map((s) => sqlString(s.file)).join(', ')}]`;
  return `SELECT *${extra ? ', ' + extra : ''} FROM read_json(${files}, format = 'newline_delimited', columns = {${spec}}, maximum_object_size = ${size})`;
}

export async function withStage<T>(fn: (stage: Stage) => Promise<T>): Promise<T> {
  const stage = new Stage();
  try {
    return await fn(stage);
  } finally {
    await stage.remove();
  }
}

export type { DuckDBConnection };

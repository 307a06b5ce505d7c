import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqlString } from '../lake/schema.js';
import { FileSink } from './sink.js';

/**
 * Records from JS reach DuckDB through a newline-delimited JSON file: JSON.stringify is the
 * fastest way out of V8 and DuckDB's JSON reader is parallel. Memory stays bounded whatever
 * the batch size: rows go to disk as they come.
 */
export class Stage {
  readonly file: string;
  private readonly sink: FileSink;
  rows = 0;
  /** Longest row staged, in UTF-16 units. */
  private longest = 0;
  private closed = false;

  constructor(dir = tmpdir()) {
    this.file = join(dir, `certhunt-stage-${randomUUID()}.ndjson`);
    this.sink = new FileSink(this.file);
  }

  /** Write one row; resolves when the stream can take more (backpressure). */
  async write(row: unknown): Promise<void> {
    this.rows++;
    const text = JSON.stringify(row);
    if (text.length > this.longest) this.longest = text.length;
    await this.sink.line(text);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sink.close();
  }

  /** A query over the staged rows with the given DuckDB column types. */
  select(columns: [string, string][], extra = ''): string {
    const spec = columns.map(([n, t]) => `${sqlString(n)}: ${sqlString(t)}`).join(', ');
    // DuckDB's JSON reader sizes its buffers from maximum_object_size (per thread): a fixed
    // 64 MiB cost that much memory for batches of 1 KiB rows. A UTF-16 unit is ≤ 3 UTF-8 bytes.
    let size = 1 << 20;
    while (size < this.longest * 3 + 2) size *= 2;
    return `SELECT *${extra ? ', ' + extra : ''} FROM read_json(${sqlString(this.file)}, format = 'newline_delimited', columns = {${spec}}, maximum_object_size = ${size})`;
  }

  async remove(): Promise<void> {
    await this.close();
    await fs.rm(this.file, { force: true });
  }
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

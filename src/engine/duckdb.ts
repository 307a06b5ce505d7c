import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The embedded engine. Settings that matter for correctness live here, once:
 * - TimeZone UTC, so INT96 and naive timestamps cast to instants the way Spark means them;
 * - no extension is ever installed or autoloaded: nothing may download at run time.
 */
export interface Engine {
  instance: DuckDBInstance;
  conn: DuckDBConnection;
  close(): void;
}

/**
 * DuckDB takes 80% of RAM by default; certhunt shares the machine with the analyst's other
 * tools, so it is capped and spills to a scratch folder instead (the CLI reads CERTHUNT_MEMORY).
 */
export const DEFAULT_MEMORY_LIMIT = '448MB';

export async function openEngine(options: { threads?: number; memoryLimit?: string; tempDirectory?: string } = {}): Promise<Engine> {
  const config: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    memory_limit: options.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
    temp_directory: options.tempDirectory ?? join(tmpdir(), `certhunt-duckdb-${process.pid}`),
    // Insertion order is kept only where a query asks for it: cheaper, less memory.
    preserve_insertion_order: 'false',
    // Freed memory goes back to the OS soon: by default DuckDB's allocator keeps up to 512 MiB
    // of it, which put an ingest capped at 400 MB at 960 MiB RSS (bench/ingest.ts, memory).
    allocator_flush_threshold: '16MB',
    allocator_bulk_deallocation_flush_threshold: '32MB',
  };
  if (options.threads) config.threads = String(options.threads);
  const instance = await DuckDBInstance.create(':memory:', config);
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  return {
    instance,
    conn,
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

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

/**
 * `certhunt ingest`'s limit. Its heaviest queries are silver's merges, during which DuckDB
 * allocates a few hundred MB outside its limit (plans, hidden-row lists, allocator slack): on a
 * 5 GB plain Zeek x509.log silver alone peaked at 910 MiB RSS with 448 MB and at 824 MiB with
 * this (scratch). Whole ingests of 5 GB logs at this limit: 872 MiB plain, 995 MiB with DER
 * (bench/ingest.ts, ingest-memory-plain and ingest-memory). Lower, the DER log runs out: at
 * 320 MB in silver's writes; at 384 MB too, until row groups were capped in bytes
 * (lake/parquet.ts, ROW_GROUP_BYTES).
 */
export const INGEST_MEMORY_LIMIT = '384MB';

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
    // And is returned between queries too, by the allocator's own threads: silver's merges on a
    // 5 GB plain Zeek log peaked at 956 MiB RSS without them, 895 MiB with (scratch, silver
    // only, two runs side by side: within noise). These three settings act on jemalloc, which
    // this build may not use (duckdb_extensions() does not list it); glibc's arenas are then
    // what keeps freed memory, and MALLOC_ARENA_MAX=1 is what lowers the peak (README).
    allocator_background_threads: 'true',
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

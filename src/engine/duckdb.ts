import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

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

export async function openEngine(options: { threads?: number; memoryLimit?: string } = {}): Promise<Engine> {
  const config: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  };
  if (options.threads) config.threads = String(options.threads);
  if (options.memoryLimit) config.memory_limit = options.memoryLimit;
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

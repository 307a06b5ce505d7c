import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { queryJson } from '../../src/lake/parquet.js';
import { ingest, type IngestOptions, type IngestReport } from '../../src/pipeline/ingest.js';
import { Lake } from '../../src/pipeline/lake.js';
import { sourceReader } from '../../src/sources/index.js';
import { listLocations } from '../../src/sources/input.js';

/**
 * A test file's scratch folder and engine, made before its tests and removed after them, and
 * `ingestWith`, which lands files in a fresh lake there as `certhunt ingest` does (fixed clock).
 */
export function testLakes(prefix: string) {
  let dir = '';
  let engine: Engine | undefined;
  let n = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), `certhunt-${prefix}-`));
    engine = await openEngine();
  });
  after(() => {
    engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const newLake = (): Lake => new Lake(join(dir, `lake${n++}`), engine!.conn);
  const ingestInto = async (lake: Lake, files: string[], options: IngestOptions = {}, maxLineBytes?: number): Promise<IngestReport> => {
    const inputs = await listLocations(files);
    const reader = sourceReader(maxLineBytes ? { maxLineBytes } : {});
    return ingest(lake, (async function* () { yield* inputs; })(), reader, { clock: () => 1_700_000_000_000, ...options });
  };
  // Plain functions, not methods: callers take them apart (`const { ingestWith } = lakes`).
  return {
    get dir(): string {
      return dir;
    },
    newLake,
    ingestInto,
    ingestWith: async (files: string[], options: IngestOptions = {}, maxLineBytes?: number): Promise<{ lake: Lake; report: IngestReport }> => {
      const lake = newLake();
      return { lake, report: await ingestInto(lake, files, options, maxLineBytes) };
    },
  };
}

/**
 * Every row of a lake table but what differs between two runs of the same ingest (its id and
 * time), in a stable order: [] when the table does not exist.
 */
export async function tableRows(lake: Lake, layer: 'bronze' | 'silver', name: string): Promise<unknown[]> {
  const t = await lake.table(layer, name);
  if (!(await t.exists())) return [];
  const exclude = layer === 'bronze' ? ' EXCLUDE (_ingest_id, _ingested_at)' : name === 'observations' ? ' EXCLUDE (_ingest_id)' : '';
  return queryJson(lake.conn, `SELECT *${exclude} FROM (${(await t.scan()).sql}) ORDER BY ALL`);
}

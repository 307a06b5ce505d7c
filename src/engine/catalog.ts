import type { DuckDBConnection } from '@duckdb/node-api';
import { joinLocation, storageFor } from '../lake/location.js';
import { quoteIdent } from '../lake/schema.js';
import { DeltaTable } from '../lake/table.js';

/**
 * The lake as SQL: every Delta table under <lake>/<layer>/<name> becomes a view
 * `<layer>.<name>` over its current snapshot, and `<name>` alone when no other layer has one.
 */
export const LAYERS = ['bronze', 'silver', 'gold'] as const;
export type Layer = (typeof LAYERS)[number];

export interface LakeTable {
  layer: Layer;
  name: string;
  location: string;
}

export async function listLakeTables(lake: string): Promise<LakeTable[]> {
  const storage = await storageFor(lake);
  const out: LakeTable[] = [];
  for (const layer of LAYERS) {
    const files = await storage.list(`${layer}/`);
    const names = new Set<string>();
    for (const f of files) {
      const m = /^[^/]+\/([^/]+)\/_delta_log\/\d{20}\./.exec(f.path);
      if (m?.[1]) names.add(m[1]);
    }
    for (const name of [...names].sort()) out.push({ layer, name, location: joinLocation(lake, layer, name) });
  }
  return out;
}

export async function registerLake(conn: DuckDBConnection, lake: string): Promise<LakeTable[]> {
  const tables = await listLakeTables(lake);
  const count = new Map<string, number>();
  for (const t of tables) count.set(t.name, (count.get(t.name) ?? 0) + 1);
  for (const t of tables) {
    const table = new DeltaTable(await storageFor(t.location), conn);
    const plan = await table.scan();
    await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(t.layer)}`);
    await conn.run(`CREATE OR REPLACE VIEW ${quoteIdent(t.layer)}.${quoteIdent(t.name)} AS ${plan.sql}`);
    if (count.get(t.name) === 1) await conn.run(`CREATE OR REPLACE VIEW main.${quoteIdent(t.name)} AS SELECT * FROM ${quoteIdent(t.layer)}.${quoteIdent(t.name)}`);
  }
  return tables;
}

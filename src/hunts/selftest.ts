import type { DuckDBConnection } from '@duckdb/node-api';
import { HuntError, type Hunt, type HuntTest } from './hunt.js';
import type { Profile } from './profile.js';
import { runHunt } from './runner.js';
import { BASE_COLUMNS, createHuntViews } from './views.js';

/**
 * A hunt's own test cases: the rows each case gives become small tables under the same views
 * the lake gets, the hunt runs, and the entities must be those the case expects. Used by the
 * test suite for the whole library and by `certhunt hunts --test` for users' hunts.
 */
export interface CaseResult {
  hunt: string;
  case: string;
  ok: boolean;
  expected: string[];
  got: string[];
}

function structType(table: string): string {
  const fields = BASE_COLUMNS[table]!.map(([n, t]) => `${JSON.stringify(n)}: ${JSON.stringify(t)}`);
  return `[{${fields.join(', ')}}]`;
}

async function load(conn: DuckDBConnection, hunt: Hunt, test: HuntTest, table: string, rows: Record<string, unknown>[]): Promise<string> {
  const known = new Set(BASE_COLUMNS[table]!.map(([n]) => n));
  for (const r of rows) {
    for (const k of Object.keys(r)) if (!known.has(k)) throw new HuntError(hunt.file, `tests.${test.name}.given.${table}.${k}`, 'not a column of the table');
  }
  const name = `fx_${table}`;
  const json = JSON.stringify(rows).replace(/'/g, "''");
  const spec = structType(table).replace(/'/g, "''");
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${name} AS SELECT unnest(json_transform('${json}', '${spec}'), recursive := true)`);
  return name;
}

export async function runHuntTests(conn: DuckDBConnection, hunt: Hunt, profiles: Profile[]): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const test of hunt.tests) {
    const relations: Record<string, string> = {};
    for (const [table, rows] of Object.entries(test.given)) relations[table] = await load(conn, hunt, test, table, rows);
    await createHuntViews(conn, relations, profiles);
    const got = (await runHunt(conn, hunt)).map((r) => r.entity);
    const a = test.ordered ? got : [...got].sort();
    const b = test.ordered ? test.expect : [...test.expect].sort();
    out.push({ hunt: hunt.id, case: test.name, ok: JSON.stringify(a) === JSON.stringify(b), expected: test.expect, got });
    for (const name of Object.values(relations)) await conn.run(`DROP TABLE IF EXISTS ${name}`);
  }
  return out;
}

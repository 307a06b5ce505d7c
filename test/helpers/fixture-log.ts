/**
 * Reads a Delta table's JSON log by hand, for computing expected values independently of
 * src/lake: no replay, path decoding or type mapping from the library is used here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Action = Record<string, any>;
export interface Commit {
  version: number;
  actions: Action[];
}
export type DeltaType = string | { type: string; [k: string]: unknown };
export interface Field {
  name: string;
  type: DeltaType;
}

/** Every `_delta_log/<20 digits>.json` commit, in version order (nothing else in the folder). */
export function jsonCommits(table: string): Commit[] {
  const log = join(table, '_delta_log');
  return readdirSync(log)
    .filter((n) => /^\d{20}\.json$/.test(n))
    .sort()
    .map((n) => ({
      version: Number(n.slice(0, 20)),
      actions: readFileSync(join(log, n), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Action),
    }));
}

/** commitInfo of each commit: version, operation, timestamp (oldest first). */
export function commitInfos(table: string): { version: number; operation: string; timestamp: number }[] {
  return jsonCommits(table).map(({ version, actions }) => {
    const ci = actions.find((a) => a.commitInfo)?.commitInfo ?? {};
    return { version, operation: ci.operation, timestamp: ci.timestamp };
  });
}

/** The add actions live at `version` (latest when omitted): JSON commits 0..version, keyed by path. */
export function liveAdds(table: string, version = Infinity): Action[] {
  const live = new Map<string, Action>();
  for (const c of jsonCommits(table)) {
    if (c.version > version) break;
    for (const a of c.actions) {
      if (a.add) live.set(a.add.path, a.add);
      if (a.remove) live.delete(a.remove.path);
    }
  }
  return [...live.values()];
}

/** The schema of the last metaData action in the JSON commits. */
export function schemaFields(table: string): Field[] {
  let schemaString: string | undefined;
  for (const c of jsonCommits(table)) for (const a of c.actions) if (a.metaData) schemaString = a.metaData.schemaString;
  if (!schemaString) throw new Error(`no metaData in ${table}`);
  return (JSON.parse(schemaString) as { fields: Field[] }).fields;
}

const PRIMITIVE: Record<string, string> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  integer: 'INTEGER',
  short: 'SMALLINT',
  byte: 'TINYINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  binary: 'BLOB',
  date: 'DATE',
  timestamp: 'TIMESTAMP WITH TIME ZONE',
  timestamp_ntz: 'TIMESTAMP',
};

/** What DuckDB's typeof() prints for the type a Delta type must map to. */
export function expectedTypeof(t: DeltaType): string {
  if (typeof t === 'string') {
    const dec = /^decimal\((\d+),\s*(\d+)\)$/.exec(t);
    if (dec) return `DECIMAL(${dec[1]},${dec[2]})`;
    const p = PRIMITIVE[t];
    if (!p) throw new Error(`no expectation for Delta type ${t}`);
    return p;
  }
  if (t.type === 'array') return `${expectedTypeof(t.elementType as DeltaType)}[]`;
  if (t.type === 'map') return `MAP(${expectedTypeof(t.keyType as DeltaType)}, ${expectedTypeof(t.valueType as DeltaType)})`;
  const fields = t.fields as Field[];
  return `STRUCT(${fields.map((f) => `${f.name} ${expectedTypeof(f.type)}`).join(', ')})`;
}

/** A DuckDB list literal of the local files of `adds` (log paths are URI-encoded). */
export function fileList(table: string, adds: Action[]): string {
  return `[${adds.map((a) => `'${join(table, decodeURIComponent(a.path)).replace(/'/g, "''")}'`).join(', ')}]`;
}

export async function query(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

import type { DuckDBConnection } from '@duckdb/node-api';
import type { Hunt } from './hunt.js';

/**
 * Running hunts over the `hunt.*` views (src/hunts/views.ts): each hunt's SQL returns one row
 * per entity; the runner keeps `entity`, `first_seen`, `last_seen` and `score` when the hunt
 * gives them, and every column of the row as evidence (JSON).
 */
export interface HuntRow {
  hunt_id: string;
  entity_type: string;
  entity: string;
  score: number;
  severity: string;
  title: string;
  /** JSON text of the hunt's row. */
  evidence: string;
  first_seen: string | null;
  last_seen: string | null;
}

export class HuntRunError extends Error {
  constructor(readonly hunt: Hunt, message: string) {
    super(`hunt ${hunt.id} (${hunt.file}): ${message}`);
    this.name = 'HuntRunError';
  }
}

/** The hunt's rows; SQL sees the hunt views first on its search path. */
export async function runHunt(conn: DuckDBConnection, hunt: Hunt): Promise<HuntRow[]> {
  await conn.run("SET search_path = 'hunt,main'");
  try {
    let cols: string[];
    try {
      cols = (await conn.runAndReadAll(`SELECT * FROM (${hunt.sql}) LIMIT 0`)).columnNames();
    } catch (e) {
      throw new HuntRunError(hunt, `SQL does not run: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!cols.includes('entity')) throw new HuntRunError(hunt, 'SQL must return an `entity` column');
    const has = (c: string) => cols.includes(c);
    const ts = (c: string) => (has(c) ? `strftime(CAST(h.${c} AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ')` : 'NULL');
    const sql = `SELECT CAST(h.entity AS VARCHAR) AS entity,
        ${has('score') ? `CAST(h.score AS DOUBLE)` : 'NULL'} AS score,
        ${ts('first_seen')} AS first_seen, ${ts('last_seen')} AS last_seen,
        CAST(to_json(h) AS VARCHAR) AS evidence
      FROM (${hunt.sql}) h WHERE h.entity IS NOT NULL`;
    let rows: Record<string, unknown>[];
    try {
      rows = (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    } catch (e) {
      throw new HuntRunError(hunt, `SQL failed: ${(e as Error).message.split('\n')[0]}`);
    }
    // One finding per entity: a hunt returning an entity twice keeps its first row.
    const seen = new Set<string>();
    const out: HuntRow[] = [];
    for (const r of rows) {
      const entity = String(r.entity);
      if (seen.has(entity)) continue;
      seen.add(entity);
      out.push({
        hunt_id: hunt.id, entity_type: hunt.entity, entity,
        score: typeof r.score === 'number' && Number.isFinite(r.score) ? Math.max(0, Math.min(100, r.score)) : hunt.score,
        severity: hunt.severity, title: hunt.title, evidence: String(r.evidence),
        first_seen: (r.first_seen as string | null) ?? null, last_seen: (r.last_seen as string | null) ?? null,
      });
    }
    return out;
  } finally {
    await conn.run("SET search_path = 'main'");
  }
}

import type { DuckDBConnection } from '@duckdb/node-api';
import type { Hunt } from './hunt.js';
import { sqlString } from '../lake/schema.js';

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


/**
 * The hunt's SQL normalised: `entity` (text), `score` (the row's own, clamped to 0–100, or the
 * hunt's), `first_seen`/`last_seen` (ISO text) and the whole row as JSON `evidence`. Run with
 * the search path on the hunt views (`withHuntPath`).
 */
export async function huntSelect(conn: DuckDBConnection, hunt: Hunt): Promise<string> {
  let cols: string[];
  try {
    cols = (await conn.runAndReadAll(`SELECT * FROM (${hunt.sql}) LIMIT 0`)).columnNames();
  } catch (e) {
    throw new HuntRunError(hunt, `SQL does not run: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!cols.includes('entity')) throw new HuntRunError(hunt, 'SQL must return an `entity` column');
  const has = (c: string) => cols.includes(c);
  const ts = (c: string) => (has(c) ? `strftime(CAST(h.${c} AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ')` : 'NULL');
  const score = has('score') ? `CASE WHEN isfinite(CAST(h.score AS DOUBLE)) THEN greatest(0, least(100, CAST(h.score AS DOUBLE))) ELSE ${hunt.score} END` : String(hunt.score);
  return `SELECT CAST(h.entity AS VARCHAR) AS entity, CAST(${score} AS DOUBLE) AS score,
      ${ts('first_seen')} AS first_seen, ${ts('last_seen')} AS last_seen, CAST(to_json(h) AS VARCHAR) AS evidence,
      ${sqlString(hunt.id)} AS hunt_id, ${sqlString(hunt.entity)} AS entity_type, ${sqlString(hunt.severity)} AS severity, ${sqlString(hunt.title)} AS title,
      CAST([${hunt.attack.map(sqlString).join(', ')}] AS VARCHAR[]) AS attack
    FROM (${hunt.sql}) h WHERE h.entity IS NOT NULL`;
}

/** Runs `f` with the hunt views first on the search path. */
export async function withHuntPath<T>(conn: DuckDBConnection, f: () => Promise<T>): Promise<T> {
  await conn.run("SET search_path = 'hunt,main'");
  try {
    return await f();
  } finally {
    await conn.run("SET search_path = 'main'");
  }
}

/** The hunt's rows, one per entity (a hunt returning an entity twice keeps its first row). */
export async function runHunt(conn: DuckDBConnection, hunt: Hunt): Promise<HuntRow[]> {
  return withHuntPath(conn, async () => {
    const sql = await huntSelect(conn, hunt);
    let rows: Record<string, unknown>[];
    try {
      rows = (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    } catch (e) {
      throw new HuntRunError(hunt, `SQL failed: ${(e as Error).message.split('\n')[0]}`);
    }
    const seen = new Set<string>();
    const out: HuntRow[] = [];
    for (const r of rows) {
      const entity = String(r.entity);
      if (seen.has(entity)) continue;
      seen.add(entity);
      out.push({
        hunt_id: hunt.id, entity_type: hunt.entity, entity, score: Number(r.score), severity: hunt.severity, title: hunt.title,
        evidence: String(r.evidence), first_seen: (r.first_seen as string | null) ?? null, last_seen: (r.last_seen as string | null) ?? null,
      });
    }
    return out;
  });
}

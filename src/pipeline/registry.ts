import { queryJson } from '../lake/parquet.js';

import type { Lake } from './lake.js';
import { withStage } from './stage.js';

/**
 * What has been ingested, per source file: bronze.ingested_files, one row per (uri, generation).
 * A generation is one reading of a file; a file that grew or changed is read again as the next
 * generation. Rows land with an app transaction keyed by the file, so they are never doubled.
 */
export interface FileState {
  uri: string;
  generation: number;
  format: string;
  size: number | null;
  modified: number | null;
  etag: string | null;
  /** Decompressed bytes and lines read; the SHA-256 of exactly those bytes. */
  bytes: number;
  lines: number;
  prefix_sha256: string;
  records: number;
  rejects: number;
  ingest_id: string;
}

const COLUMNS: [string, string][] = [
  ['uri', 'VARCHAR'], ['generation', 'INTEGER'], ['format', 'VARCHAR'], ['size', 'BIGINT'],
  ['modified', 'DOUBLE'], ['etag', 'VARCHAR'], ['bytes', 'BIGINT'], ['lines', 'BIGINT'],
  ['prefix_sha256', 'VARCHAR'], ['records', 'BIGINT'], ['rejects', 'BIGINT'], ['ingest_id', 'VARCHAR'],
];
export const REGISTRY = 'ingested_files';

/** Latest generation of every file ingested so far. */
export async function loadRegistry(lake: Lake): Promise<Map<string, FileState>> {
  const table = await lake.table('bronze', REGISTRY);
  const out = new Map<string, FileState>();
  if (!(await table.exists())) return out;
  const plan = await table.scan();
  const rows = await queryJson(lake.conn, `SELECT * EXCLUDE (_ingested_at) FROM (${plan.sql}) QUALIFY row_number() OVER (PARTITION BY uri ORDER BY generation DESC) = 1`);
  for (const r of rows) {
    out.set(String(r.uri), {
      uri: String(r.uri),
      generation: Number(r.generation),
      format: String(r.format),
      size: r.size === null ? null : Number(r.size),
      modified: r.modified === null ? null : Number(r.modified),
      etag: (r.etag as string | null) ?? null,
      bytes: Number(r.bytes),
      lines: Number(r.lines),
      prefix_sha256: String(r.prefix_sha256),
      records: Number(r.records),
      rejects: Number(r.rejects),
      ingest_id: String(r.ingest_id),
    });
  }
  return out;
}

/**
 * Registry rows for files whose bronze rows have all landed, in one commit, each under the app
 * transaction of its file and generation; rows a re-run finds there already are left out.
 */
export async function recordFiles(lake: Lake, states: FileState[], ingestedAt: number): Promise<void> {
  const table = await lake.table('bronze', REGISTRY);
  const todo = await table.uncommitted(states, fileTxn);
  if (todo.length === 0) return;
  await withStage(async (stage) => {
    for (const state of todo) await stage.write(state);
    await stage.close();
    const q = stage.select(COLUMNS, `make_timestamptz(${Math.round(ingestedAt * 1000)}::BIGINT) AS _ingested_at`);
    await table.append(q, { txn: todo.map(fileTxn), createIfMissing: { from: `SELECT * FROM (${q}) LIMIT 0` } });
  });
}

const fileTxn = (s: FileState) => ({ appId: `file:${s.uri}`, version: s.generation });

import type { Outcome } from '../lake/commit.js';
import type { Lake } from './lake.js';
import { sqlString } from '../lake/schema.js';

/**
 * Gold: each hunt run appends its findings (`gold.findings`, one row per hunt and entity) and
 * the combined risk scores (`gold.risk`, per certificate and per destination IP), tagged with
 * the run id. Both land with the run id as app transaction, so a re-run after a crash adds
 * nothing twice; earlier runs stay for comparison.
 */
export const FINDING_COLUMNS: [string, string][] = [
  ['run_id', 'VARCHAR'], ['hunt_id', 'VARCHAR'], ['entity_type', 'VARCHAR'], ['entity', 'VARCHAR'], ['score', 'DOUBLE'],
  ['severity', 'VARCHAR'], ['title', 'VARCHAR'], ['attack', 'VARCHAR[]'], ['evidence', 'VARCHAR'], ['first_seen', 'TIMESTAMPTZ'], ['last_seen', 'TIMESTAMPTZ'],
];

export const RISK_COLUMNS: [string, string][] = [
  ['run_id', 'VARCHAR'], ['entity_type', 'VARCHAR'], ['entity', 'VARCHAR'], ['score', 'DOUBLE'], ['severity', 'VARCHAR'], ['hunts', 'VARCHAR[]'], ['findings', 'INTEGER'],
];

/** `relation`: a table or query with the columns above but `run_id`. */
async function append(lake: Lake, name: string, columns: [string, string][], relation: string, runId: string, runAt: number): Promise<Outcome | undefined> {
  const cols = columns.map(([n, t]) => (n === 'run_id' ? `CAST(${sqlString(runId)} AS VARCHAR) AS run_id` : `CAST(${n} AS ${t}) AS ${n}`));
  const q = `SELECT ${cols.join(', ')}, make_timestamptz(${Math.round(runAt * 1000)}::BIGINT) AS run_at FROM ${relation}`;
  const table = await lake.table('gold', name);
  return table.append(q, { txn: { appId: `hunt-run:${runId}`, version: 0 }, createIfMissing: { from: `SELECT * FROM (${q}) LIMIT 0` } });
}

export async function writeHuntRun(
  lake: Lake,
  run: { runId: string; runAt: number; findings: string; risk: string },
): Promise<{ findings?: Outcome; risk?: Outcome }> {
  return {
    findings: await append(lake, 'findings', FINDING_COLUMNS, run.findings, run.runId, run.runAt),
    risk: await append(lake, 'risk', RISK_COLUMNS, run.risk, run.runId, run.runAt),
  };
}

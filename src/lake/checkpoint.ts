import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { Action } from './actions.js';
import { checkpointPath, LAST_CHECKPOINT, LOG_DIR } from './log-path.js';
import { writeCheckpointParquet } from './parquet.js';
import type { Snapshot } from './snapshot.js';
import type { Storage } from './storage.js';

/**
 * Classic single-file checkpoints (PROTOCOL.md "Checkpoints"), readable by Spark, plus the
 * `_last_checkpoint` hint. Both are written whole to a scratch name and moved into place, so a
 * crash leaves either no checkpoint or a complete one.
 */
export const DEFAULT_CHECKPOINT_INTERVAL = 10;
const WEEK_MS = 7 * 24 * 3600 * 1000;

export function checkpointInterval(snapshot: Snapshot, override?: number): number {
  const conf = Number(snapshot.metadata.configuration['delta.checkpointInterval']);
  return override ?? (Number.isInteger(conf) && conf > 0 ? conf : DEFAULT_CHECKPOINT_INTERVAL);
}

/** Parse a Delta interval property such as "interval 1 week" or "interval 168 hours". */
export function parseInterval(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const m = /^\s*(?:interval\s+)?(\d+(?:\.\d+)?)\s*(\w+?)s?\s*$/i.exec(text);
  if (!m) return fallback;
  const unit: Record<string, number> = {
    millisecond: 1, second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: WEEK_MS,
  };
  const u = unit[m[2]!.toLowerCase()];
  return u ? Number(m[1]) * u : fallback;
}

export function tombstoneRetention(snapshot: Snapshot): number {
  return parseInterval(snapshot.metadata.configuration['delta.deletedFileRetentionDuration'], WEEK_MS);
}

export function checkpointActions(snapshot: Snapshot, now: number): Action[] {
  const horizon = now - tombstoneRetention(snapshot);
  const actions: Action[] = [{ protocol: snapshot.protocol }, { metaData: snapshot.metadata }];
  for (const txn of snapshot.txns.values()) actions.push({ txn });
  for (const d of snapshot.domains.values()) actions.push({ domainMetadata: d });
  for (const add of snapshot.files) actions.push({ add: { ...add, dataChange: false } });
  // Tombstones younger than the retention keep vacuum from deleting files a reader may need.
  for (const rm of snapshot.tombstones) {
    if ((rm.deletionTimestamp ?? 0) > horizon) actions.push({ remove: { ...rm, dataChange: false } });
  }
  return actions;
}

export async function writeCheckpoint(conn: DuckDBConnection, storage: Storage, snapshot: Snapshot, now: number): Promise<void> {
  const actions = checkpointActions(snapshot, now);
  const local = await storage.stagingPath(`${LOG_DIR}/.tmp-${randomUUID()}.checkpoint.parquet`);
  try {
    await writeCheckpointParquet(conn, actions, local);
    const sizeInBytes = (await fs.stat(local)).size;
    await storage.putFile(checkpointPath(snapshot.version), local);
    const hint = {
      version: snapshot.version,
      size: actions.length,
      sizeInBytes,
      numOfAddFiles: snapshot.files.length,
    };
    // Avoid moving the hint backwards when two writers checkpoint at once. The check is not
    // atomic; a stale hint only costs readers a longer listing, never correctness.
    const old = await storage.readIfExists(LAST_CHECKPOINT);
    let oldVersion = -1;
    try {
      oldVersion = old ? Number(JSON.parse(Buffer.from(old).toString('utf8')).version) : -1;
    } catch {
      oldVersion = -1;
    }
    if (!(oldVersion >= snapshot.version)) await storage.put(LAST_CHECKPOINT, Buffer.from(JSON.stringify(hint)));
  } finally {
    await fs.rm(local, { force: true });
  }
}

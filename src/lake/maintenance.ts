import { physicalRows, type AddFile } from './actions.js';
import { tombstoneRetention } from './checkpoint.js';
import { dvFilePath } from './deletion-vector.js';
import { DeltaError } from './error.js';
import { LOG_DIR } from './log-path.js';
import { decodeDataPath, fileKey } from './snapshot.js';
import { removeOf, type DeltaTable } from './table.js';
import { writeDataFiles } from './write.js';
import type { Outcome } from './commit.js';

/**
 * Table upkeep: vacuum (delete files no snapshot within the retention can need) and optimize
 * (compact small files). Both go through the same snapshot and commit code as writes.
 */
export interface VacuumResult {
  deleted: string[];
  kept: number;
  dryRun: boolean;
}

const HOUR = 3_600_000;

export async function vacuum(table: DeltaTable, options: { retentionHours?: number; dryRun?: boolean; force?: boolean } = {}): Promise<VacuumResult> {
  const snapshot = await table.snapshot();
  const tableRetention = tombstoneRetention(snapshot);
  const retention = options.retentionHours !== undefined ? options.retentionHours * HOUR : tableRetention;
  // As Spark's retentionDurationCheck: a shorter retention can delete files that running
  // readers or time travel still need.
  if (retention < tableRetention && !options.force) {
    throw new DeltaError(
      'invalid',
      `retention ${retention / HOUR} h is shorter than the table's ${tableRetention / HOUR} h (delta.deletedFileRetentionDuration); pass force to do it anyway`,
      { file: table.location },
    );
  }
  const now = table.now();
  const horizon = now - retention;
  const keep = new Set<string>();
  const protect = (f: { path: string; deletionVector?: AddFile['deletionVector'] }): void => {
    keep.add(decodeDataPath(f.path, table.location));
    const dv = f.deletionVector ? dvFilePath(f.deletionVector, table.location) : undefined;
    if (dv) keep.add(dv);
  };
  snapshot.files.forEach(protect);
  for (const rm of snapshot.tombstones) if ((rm.deletionTimestamp ?? 0) > horizon) protect(rm);
  const all = await table.storage.list('');
  const deleted: string[] = [];
  let kept = 0;
  for (const f of all) {
    const inLog = f.path.startsWith(`${LOG_DIR}/`);
    // Hidden files and folders belong to other tools; our own commit scratch files in the log
    // (.tmp-*) are garbage once older than the retention.
    const hidden = f.path.split('/').some((seg) => seg.startsWith('.') || seg.startsWith('_'));
    const ourScratch = inLog && /\/\.tmp-[^/]+$/.test(f.path);
    if ((hidden && !ourScratch) || keep.has(f.path) || f.modified > horizon) {
      kept++;
      continue;
    }
    deleted.push(f.path);
  }
  if (!options.dryRun) for (const p of deleted) await table.storage.delete(p);
  return { deleted, kept, dryRun: options.dryRun ?? false };
}

/**
 * Share of a file's rows its deletion vector may name before OPTIMIZE rewrites it without them
 * (Delta's spark.databricks.delta.optimize.maxDeletedRowsRatio, 0.05).
 */
export const MAX_DELETED_ROWS_RATIO = 0.05;

/**
 * Bin-pack small files, per partition, into files near `targetBytes`, and rewrite files whose
 * deletion vectors delete more than MAX_DELETED_ROWS_RATIO of their rows (purging them). The
 * commit's actions carry dataChange=false, so streaming readers and concurrent appends are
 * unaffected.
 */
export async function optimize(table: DeltaTable, options: { targetBytes?: number; minFiles?: number } = {}): Promise<Outcome & { removed?: number; added?: number }> {
  const target = options.targetBytes ?? 128 * 1024 * 1024;
  const minFiles = options.minFiles ?? 2;
  const purge = (f: AddFile): boolean => {
    const deleted = Number(f.deletionVector?.cardinality ?? 0);
    return deleted > 0 && deleted > (physicalRows(f) ?? 0) * MAX_DELETED_ROWS_RATIO;
  };
  let removed = 0;
  let added = 0;
  const outcome = await table.commit(async (snapshot) => {
    const groups = new Map<string, AddFile[]>();
    for (const f of snapshot.files) {
      if (f.size >= target && !purge(f)) continue;
      const key = JSON.stringify(snapshot.metadata.partitionColumns.map((c) => f.partitionValues[c] ?? null));
      groups.set(key, [...(groups.get(key) ?? []), f]);
    }
    const now = table.now();
    const actions = [];
    removed = 0;
    added = 0;
    for (const files of groups.values()) {
      if (files.length < minFiles && !files.some(purge)) continue;
      // Greedy bins of roughly target size.
      const bins: AddFile[][] = [[]];
      let size = 0;
      for (const f of files.sort((a, b) => a.size - b.size)) {
        if (size + f.size > target && bins[bins.length - 1]!.length > 0) {
          bins.push([]);
          size = 0;
        }
        bins[bins.length - 1]!.push(f);
        size += f.size;
      }
      for (const bin of bins) {
        if (bin.length < 2 && !bin.some(purge)) continue;
        const plan = await table.scan({ snapshot: { ...snapshot, files: bin } });
        const adds = await writeDataFiles(table.conn, table.storage, plan.sql, snapshot.schema, {
          partitionColumns: snapshot.metadata.partitionColumns,
          clock: () => table.now(),
          dataChange: false,
        });
        actions.push(...bin.map((f) => ({ remove: removeOf(f, now, false) })), ...adds.map((add) => ({ add })));
        removed += bin.length;
        added += adds.length;
      }
    }
    if (actions.length === 0) return { skip: 'nothing to compact' };
    return {
      actions,
      operation: 'OPTIMIZE',
      operationParameters: { predicate: '[]', zOrderBy: '[]' },
      blindAppend: false,
      appendsOk: true,
      readFiles: new Set(actions.flatMap((a) => ('remove' in a ? [fileKey(decodeDataPath(a.remove.path, table.location), a.remove.deletionVector)] : []))),
      metrics: { numRemovedFiles: String(removed), numAddedFiles: String(added) },
    };
  });
  return { ...outcome, removed, added };
}

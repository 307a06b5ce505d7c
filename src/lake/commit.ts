import { serializeActions, type Action, type CommitInfo } from './actions.js';
import { DeltaError } from './error.js';
import { commitPath } from './log-path.js';
import { decodeDataPath, fileKey, readCommit, type Snapshot } from './snapshot.js';
import type { Storage } from './storage.js';

/**
 * Optimistic commits (PROTOCOL.md "Optimistic Concurrency Control"): write version N+1 with
 * put-if-absent; if another writer won, read the winners and decide whether our transaction
 * still holds. Blind appends always hold and simply move to the next version; a transaction
 * that read the table (overwrite, merge, optimize) is rebuilt from a fresh snapshot when a
 * winner touched what it read.
 */
export interface Prepared {
  /** Actions without commitInfo; the commit loop adds it. */
  actions: Action[];
  operation: string;
  operationParameters: Record<string, unknown>;
  /** True when the transaction read no table data (pure append). */
  blindAppend: boolean;
  /** A rewrite that stays valid when others append (compaction): only removals conflict. */
  appendsOk?: boolean;
  /** Keys (fileKey) of files the transaction read or removed; undefined means the whole table. */
  readFiles?: Set<string>;
  /**
   * App transactions this commit records (idempotent writes): one, or one per source file when
   * small files share a commit. A winner holding all of them makes ours a duplicate, one holding
   * some a rebuild (whose build decides).
   */
  txns?: { appId: string; version: number }[];
  metrics?: Record<string, string>;
}

export type Outcome =
  | { status: 'committed'; version: number; attempts: number; readSnapshot?: Snapshot }
  | { status: 'skipped'; reason: string; version: number };

export interface CommitOptions {
  maxAttempts?: number;
  clock?: () => number;
  engineInfo?: string;
}

export async function commitWithRetry(
  storage: Storage,
  load: () => Promise<Snapshot>,
  build: (snapshot: Snapshot) => Promise<Prepared | { skip: string }>,
  options: CommitOptions = {},
): Promise<Outcome> {
  const clock = options.clock ?? Date.now;
  const maxAttempts = options.maxAttempts ?? 10_000;
  let snapshot = await load();
  let prepared = await build(snapshot);
  let attempts = 0;
  let version = snapshot.version + 1;
  for (;;) {
    if ('skip' in prepared) return { status: 'skipped', reason: prepared.skip, version: snapshot.version };
    attempts++;
    const commitInfo: CommitInfo = {
      timestamp: clock(),
      operation: prepared.operation,
      operationParameters: prepared.operationParameters,
      readVersion: snapshot.version,
      isolationLevel: 'Serializable',
      isBlindAppend: prepared.blindAppend,
      ...(prepared.metrics ? { operationMetrics: prepared.metrics } : {}),
      engineInfo: options.engineInfo ?? 'certhunt',
    };
    const body = serializeActions([{ commitInfo }, ...prepared.actions]);
    if (await storage.putIfAbsent(commitPath(version), Buffer.from(body))) {
      return { status: 'committed', version, attempts, readSnapshot: snapshot };
    }
    if (attempts >= maxAttempts) {
      throw new DeltaError('conflict', `gave up after ${attempts} attempts to commit version ${version}`, { file: storage.root });
    }
    // Lost the race for `version`: check what the winner did.
    const winner = await readCommit(storage, commitPath(version));
    const verdict = conflictWith(prepared, winner);
    if (verdict === 'duplicate') {
      return { status: 'skipped', reason: `${describeTxns(prepared.txns ?? [])} already committed`, version };
    }
    if (verdict === 'rebuild') {
      await backoff(attempts);
      snapshot = await load();
      prepared = await build(snapshot);
      version = snapshot.version + 1;
      continue;
    }
    version++;
  }
}

/** What a winning commit means for ours: keep going at the next version, rebuild, or stop. */
export function conflictWith(ours: Prepared, winner: Action[]): 'retry' | 'rebuild' | 'duplicate' {
  let rebuild = false;
  const txns = ours.txns ?? [];
  const theirs = new Map<string, number>();
  for (const a of winner) {
    if ('txn' in a) theirs.set(a.txn.appId, a.txn.version);
    // A new schema or protocol may invalidate how our files were written.
    if ('metaData' in a || 'protocol' in a) rebuild = true;
    if (!ours.blindAppend) {
      if ('add' in a && a.add.dataChange !== false && !ours.appendsOk) rebuild = true; // rows we did not see
      if ('remove' in a) {
        const key = fileKey(decodeDataPath(a.remove.path, 'winner'), a.remove.deletionVector);
        if (!ours.readFiles || ours.readFiles.has(key)) rebuild = true;
      }
    }
  }
  const done = txns.filter((t) => (theirs.get(t.appId) ?? -Infinity) >= t.version).length;
  if (txns.length > 0 && done === txns.length) return 'duplicate';
  if (done > 0) rebuild = true;
  return rebuild ? 'rebuild' : 'retry';
}

/** "app transaction A v1" (and "and N more"), for messages. */
export function describeTxns(txns: { appId: string; version: number }[]): string {
  const [t] = txns;
  return `app transaction ${t?.appId} v${t?.version}${txns.length > 1 ? ` and ${txns.length - 1} more` : ''}`;
}

async function backoff(attempt: number): Promise<void> {
  const ms = Math.min(200, 2 ** Math.min(attempt, 7)) * Math.random();
  await new Promise((r) => setTimeout(r, ms));
}

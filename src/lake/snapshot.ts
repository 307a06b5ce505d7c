import { parseCommit, type Action, type AddFile, type CommitInfo, type DomainMetadata, type Metadata, type Protocol, type RemoveFile, type Txn } from './actions.js';
import { dvUniqueId } from './deletion-vector.js';
import { DeltaError } from './error.js';
import { LAST_CHECKPOINT, LOG_DIR, parseLogPath, versionName, type LogFile } from './log-path.js';
import { checkReadable } from './features.js';
import { parseSchemaString, type StructType } from './schema.js';
import type { FileInfo, Storage } from './storage.js';

/**
 * Snapshots: which log files make up a version (the log segment) and what replaying them gives
 * (protocol, metadata, live files, tombstones, app transactions, domains). Pure protocol logic:
 * bytes come from Storage, checkpoint rows from an injected reader.
 */
export type CheckpointReader = (paths: string[]) => Promise<Action[]>;

export interface LogSegment {
  version: number;
  checkpoint?: { version: number; paths: string[] };
  commits: FileInfo[];
}

export interface Snapshot {
  version: number;
  /** When this version was committed, epoch ms (see commitTimestamp). */
  timestamp: number;
  protocol: Protocol;
  metadata: Metadata;
  schema: StructType;
  files: AddFile[];
  tombstones: RemoveFile[];
  txns: Map<string, Txn>;
  domains: Map<string, DomainMetadata>;
  segment: LogSegment;
}

export function fileKey(path: string, dv?: { storageType: string; pathOrInlineDv: string; offset?: number } | null): string {
  return dv ? `${path}\u0000${dvUniqueId(dv as never)}` : path;
}

/** Decode a log path (an RFC 2396 URI reference) into a storage path. */
export function decodeDataPath(path: string, where: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new DeltaError('corrupt', `file path is not a valid URI: ${JSON.stringify(path)}`, { file: where });
  }
}

async function readLastCheckpointHint(storage: Storage): Promise<number | undefined> {
  const bytes = await storage.readIfExists(LAST_CHECKPOINT);
  if (!bytes) return undefined;
  try {
    const v = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { version?: unknown }).version;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
  } catch {
    return undefined; // only a hint: a torn or stale one costs a longer listing, not correctness
  }
}

/** Every log file from `fromVersion` on (or all), parsed. */
async function listLog(storage: Storage, fromVersion?: number): Promise<{ info: FileInfo; file: LogFile }[]> {
  const startAfter = fromVersion !== undefined && fromVersion > 0 ? `${LOG_DIR}/${versionName(fromVersion - 1)}.zzz` : undefined;
  const listed = await storage.list(`${LOG_DIR}/`, startAfter ? { startAfter } : {});
  const out: { info: FileInfo; file: LogFile }[] = [];
  for (const info of listed) {
    const file = parseLogPath(info.path);
    if (file) out.push({ info, file });
  }
  return out;
}

/** The checkpoint and commits that make up `version` (latest when undefined). */
export async function logSegment(storage: Storage, version?: number): Promise<LogSegment> {
  const hint = await readLastCheckpointHint(storage);
  let entries = await listLog(storage, hint !== undefined && (version === undefined || version >= hint) ? hint : undefined);
  if (entries.length === 0 && hint !== undefined) entries = await listLog(storage);
  const commits = new Map<number, FileInfo>();
  const checkpoints = new Map<number, { parts: Map<number, string>; total: number }>();
  let v2Seen = false;
  for (const { info, file } of entries) {
    if (file.kind === 'commit') commits.set(file.version, info);
    else if (file.kind === 'checkpoint') {
      const total = file.parts ?? 1;
      const key = file.version;
      let cp = checkpoints.get(key);
      if (!cp || cp.total !== total) {
        // Several multi-part checkpoints of one version can coexist (different part counts):
        // keep the one we see complete.
        if (cp && cp.parts.size === cp.total) continue;
        cp = { parts: new Map(), total };
        checkpoints.set(key, cp);
      }
      cp.parts.set(file.part ?? 1, info.path);
    } else if (file.kind === 'checkpoint-v2') v2Seen = true;
  }
  if (commits.size === 0 && checkpoints.size === 0) {
    if (v2Seen) throw new DeltaError('unsupported', 'table uses v2 checkpoints (table feature v2Checkpoint), which certhunt cannot read', { file: storage.root });
    throw new DeltaError('not-a-table', 'no Delta log found', { file: `${storage.root}/${LOG_DIR}` });
  }
  const latest = Math.max(...commits.keys(), ...checkpoints.keys());
  const target = version ?? latest;
  if (!Number.isInteger(target) || target < 0 || target > latest) {
    throw new DeltaError('invalid', `version ${target} does not exist (latest is ${latest})`, { file: storage.root });
  }
  let checkpoint: LogSegment['checkpoint'];
  for (const [v, cp] of [...checkpoints].sort((a, b) => b[0] - a[0])) {
    if (v > target || cp.parts.size !== cp.total) continue;
    checkpoint = { version: v, paths: [...cp.parts].sort((a, b) => a[0] - b[0]).map(([, p]) => p) };
    break;
  }
  const from = checkpoint ? checkpoint.version + 1 : 0;
  const segCommits: FileInfo[] = [];
  for (let v = from; v <= target; v++) {
    const c = commits.get(v);
    if (!c) {
      if (v2Seen) throw new DeltaError('unsupported', 'table uses v2 checkpoints (table feature v2Checkpoint), which certhunt cannot read', { file: storage.root });
      throw new DeltaError('corrupt', `log is missing commit ${v} needed for version ${target}`, { file: `${storage.root}/${LOG_DIR}/${versionName(v)}.json` });
    }
    segCommits.push(c);
  }
  return { version: target, ...(checkpoint ? { checkpoint } : {}), commits: segCommits };
}

export async function readCommit(storage: Storage, path: string): Promise<Action[]> {
  const bytes = await storage.read(path);
  return parseCommit(Buffer.from(bytes).toString('utf8'), `${storage.root}/${path}`);
}

/**
 * The time a commit was made: the in-commit timestamp when the table records one, otherwise
 * commitInfo.timestamp (the writer's clock), otherwise the file's modification time. Delta's
 * own readers use file times, but those do not survive a copy of the table.
 */
export function commitTimestamp(actions: Action[], file: FileInfo): number {
  for (const a of actions) {
    if ('commitInfo' in a) {
      const ci = a.commitInfo as CommitInfo & { inCommitTimestamp?: unknown };
      if (typeof ci.inCommitTimestamp === 'number') return ci.inCommitTimestamp;
      if (typeof ci.timestamp === 'number') return ci.timestamp;
    }
  }
  return Math.floor(file.modified);
}

/** Replay state: live files and tombstones keyed by (path, deletion vector). */
class Replay {
  protocol: Protocol | undefined;
  metadata: Metadata | undefined;
  files = new Map<string, AddFile>();
  tombstones = new Map<string, RemoveFile>();
  txns = new Map<string, Txn>();
  domains = new Map<string, DomainMetadata>();

  static from(base: Snapshot): Replay {
    const r = new Replay();
    r.protocol = base.protocol;
    r.metadata = base.metadata;
    for (const f of base.files) r.files.set(fileKey(decodeDataPath(f.path, 'snapshot'), f.deletionVector), f);
    for (const t of base.tombstones) r.tombstones.set(fileKey(decodeDataPath(t.path, 'snapshot'), t.deletionVector), t);
    r.txns = new Map(base.txns);
    r.domains = new Map(base.domains);
    return r;
  }

  apply(action: Action, where: string): void {
    if ('add' in action) {
      const add = action.add;
      const key = fileKey(decodeDataPath(add.path, where), add.deletionVector);
      this.files.set(key, add);
      this.tombstones.delete(key);
    } else if ('remove' in action) {
      const rm = action.remove;
      const key = fileKey(decodeDataPath(rm.path, where), rm.deletionVector);
      this.files.delete(key);
      this.tombstones.set(key, rm);
    } else if ('metaData' in action) this.metadata = action.metaData;
    else if ('protocol' in action) this.protocol = action.protocol;
    else if ('txn' in action) this.txns.set(action.txn.appId, action.txn);
    else if ('domainMetadata' in action) {
      if (action.domainMetadata.removed) this.domains.delete(action.domainMetadata.domain);
      else this.domains.set(action.domainMetadata.domain, action.domainMetadata);
    }
  }

  snapshot(storage: Storage, segment: LogSegment, timestamp: number): Snapshot {
    const { protocol, metadata } = this;
    if (!protocol) throw new DeltaError('corrupt', `no protocol action up to version ${segment.version}`, { file: storage.root });
    if (!metadata) throw new DeltaError('corrupt', `no metaData action up to version ${segment.version}`, { file: storage.root });
    checkReadable(protocol, metadata, storage.root);
    return {
      version: segment.version,
      timestamp,
      protocol,
      metadata,
      schema: parseSchemaString(metadata.schemaString, storage.root),
      files: [...this.files.values()],
      tombstones: [...this.tombstones.values()],
      txns: this.txns,
      domains: this.domains,
      segment,
    };
  }
}

export async function loadSnapshot(storage: Storage, readCheckpoint: CheckpointReader, version?: number): Promise<Snapshot> {
  const segment = await logSegment(storage, version);
  const replay = new Replay();
  // The checkpoint and the commits after it are independent reads: do them at once.
  const [cpActions, commits] = await Promise.all([
    segment.checkpoint ? readCheckpoint(segment.checkpoint.paths) : Promise.resolve([]),
    Promise.all(segment.commits.map((c) => readCommit(storage, c.path))),
  ]);
  if (segment.checkpoint) {
    const where = `${storage.root}/${segment.checkpoint.paths[0]}`;
    for (const a of cpActions) replay.apply(a, where);
    if (!replay.protocol || !replay.metadata) {
      throw new DeltaError('corrupt', 'checkpoint has no protocol or metaData action', { file: where });
    }
  }
  let timestamp = 0;
  segment.commits.forEach((c, i) => {
    const actions = commits[i]!;
    for (const a of actions) replay.apply(a, `${storage.root}/${c.path}`);
    timestamp = commitTimestamp(actions, c);
  });
  if (!segment.commits.length && segment.checkpoint) {
    const info = (await storage.list(`${LOG_DIR}/${versionName(segment.checkpoint.version)}.json`))[0];
    timestamp = info ? commitTimestamp(await readCommit(storage, info.path), info) : 0;
  }
  return replay.snapshot(storage, segment, timestamp);
}

/**
 * The latest snapshot, starting from one we already hold: only the commits after it are read.
 * Falls back to a full load when those commits are gone (log cleanup) or out of order.
 */
export async function updateSnapshot(storage: Storage, readCheckpoint: CheckpointReader, base: Snapshot): Promise<Snapshot> {
  const listed = await listLog(storage, base.version + 1);
  const commits = listed.filter((e) => e.file.kind === 'commit').map((e) => e.info);
  if (commits.length === 0) return base;
  const ok = commits.every((c, i) => parseLogPath(c.path)?.version === base.version + 1 + i);
  if (!ok) return loadSnapshot(storage, readCheckpoint);
  const actions = await Promise.all(commits.map((c) => readCommit(storage, c.path)));
  const replay = Replay.from(base);
  let timestamp = base.timestamp;
  commits.forEach((c, i) => {
    for (const a of actions[i]!) replay.apply(a, `${storage.root}/${c.path}`);
    timestamp = commitTimestamp(actions[i]!, c);
  });
  const segment: LogSegment = { ...base.segment, version: base.version + commits.length, commits: [...base.segment.commits, ...commits] };
  return replay.snapshot(storage, segment, timestamp);
}

/** Snapshot version committed at or before `timestamp` (epoch ms). */
export async function versionAtTimestamp(storage: Storage, timestamp: number): Promise<number> {
  const entries = (await listLog(storage)).filter((e) => e.file.kind === 'commit');
  let best: number | undefined;
  let earliest: number | undefined;
  for (const { info, file } of entries) {
    const ts = commitTimestamp(await readCommit(storage, info.path), info);
    earliest = earliest === undefined ? ts : Math.min(earliest, ts);
    if (ts <= timestamp) best = file.version;
  }
  if (best === undefined) {
    const first = earliest === undefined ? 'none' : new Date(earliest).toISOString();
    throw new DeltaError('invalid', `no version at or before ${new Date(timestamp).toISOString()} (earliest commit: ${first})`, { file: storage.root });
  }
  return best;
}

export interface HistoryEntry {
  version: number;
  timestamp: number;
  operation: string | null;
  operationParameters: Record<string, unknown>;
  commitInfo: CommitInfo;
}

/** Commit history, newest first, from the commits still in the log. */
export async function history(storage: Storage, limit?: number): Promise<HistoryEntry[]> {
  const entries = (await listLog(storage)).filter((e) => e.file.kind === 'commit').reverse();
  if (entries.length === 0) throw new DeltaError('not-a-table', 'no Delta log found', { file: `${storage.root}/${LOG_DIR}` });
  const out: HistoryEntry[] = [];
  for (const { info, file } of entries.slice(0, limit ?? entries.length)) {
    const actions = await readCommit(storage, info.path);
    const ci = (actions.find((a) => 'commitInfo' in a) as { commitInfo: CommitInfo } | undefined)?.commitInfo ?? {};
    out.push({
      version: file.version,
      timestamp: commitTimestamp(actions, info),
      operation: typeof ci.operation === 'string' ? ci.operation : null,
      operationParameters: (ci.operationParameters as Record<string, unknown>) ?? {},
      commitInfo: ci,
    });
  }
  return out;
}

import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { physicalRows, type Action, type AddFile, type Metadata } from './actions.js';
import { checkpointInterval, writeCheckpoint } from './checkpoint.js';
import { commitWithRetry, describeTxns, type Outcome, type Prepared } from './commit.js';
import { DeltaError } from './error.js';
import { checkWritable, dvWritable, ENABLE_DV, hasNtz, protocolFor } from './features.js';
import { commitPath } from './log-path.js';
import { queryJson, readCheckpointActions } from './parquet.js';
import { planScan, type Filter, type ScanPlan } from './scan.js';
import { duckdbType, type StructType } from './schema.js';
import { decodeDataPath, fileKey, history, loadSnapshot, readCommit, updateSnapshot, versionAtTimestamp, type HistoryEntry, type Snapshot } from './snapshot.js';
import type { Storage } from './storage.js';
import { alignToSchema, schemaOfQuery, writeDataFiles } from './write.js';
import { mergePlan } from './merge.js';

/**
 * A Delta table: the verbs (create, append, overwrite, merge, scan, history) over the protocol
 * modules. Sources are DuckDB queries on the table's connection; data never passes through JS.
 */
export interface TableOptions {
  /** Write a checkpoint every N commits (default: the table's delta.checkpointInterval, else 10). */
  checkpointInterval?: number;
  clock?: () => number;
}

export interface TxnId {
  appId: string;
  version: number;
}

export interface CreateOptions {
  schema?: StructType;
  /** A query whose rows become version 0 (and whose columns give the schema when none is declared). */
  from?: string;
  partitionColumns?: string[];
  configuration?: Record<string, string>;
  name?: string;
  description?: string;
  ifNotExists?: boolean;
}

export interface MergeOptions {
  /** Key columns: a source row matches the target row with equal keys. */
  on: string[];
  /** On match, column → SQL expression over `t` (target row) and `s` (source row); unlisted columns take the source's value. */
  set?: Record<string, string>;
  txn?: TxnId;
  mergeSchema?: boolean;
}

export class DeltaTable {
  readonly storage: Storage;
  readonly conn: DuckDBConnection;
  private readonly clock: () => number;
  private readonly interval: number | undefined;
  private latest: Snapshot | undefined;

  constructor(storage: Storage, conn: DuckDBConnection, options: TableOptions = {}) {
    this.storage = storage;
    this.conn = conn;
    this.clock = options.clock ?? Date.now;
    this.interval = options.checkpointInterval;
  }

  get location(): string {
    return this.storage.root;
  }

  /**
   * The items whose app transaction the table does not hold yet: what a writer that groups
   * several sources' rows in one commit still has to land after a crash.
   */
  async uncommitted<T>(items: T[], txnOf: (item: T) => TxnId): Promise<T[]> {
    if (!(await this.exists())) return items;
    const snapshot = await this.snapshot();
    return items.filter((item) => !alreadyDone(snapshot, txnOf(item)));
  }

  async exists(): Promise<boolean> {
    // A table seen once stays: listing (and, on a folder, stat-ing) its whole log on every
    // append made ingesting 720 hourly logs quadratic, 23 s of stat calls by the end.
    if (this.latest) return true;
    const files = await this.storage.list('_delta_log/');
    return files.some((f) => /^_delta_log\/\d{20}\.(json|checkpoint\.parquet)$/.test(f.path) || /\.checkpoint\.\d+\.\d+\.parquet$/.test(f.path));
  }

  /**
   * The table at a version, a time, or now. The latest snapshot is kept and brought up to date
   * by reading only newer commits, so a run of small appends does not replay the log each time.
   */
  async snapshot(at: { version?: number; timestamp?: number | Date } = {}): Promise<Snapshot> {
    const reader = (paths: string[]): Promise<Action[]> => this.readCheckpoint(paths);
    let version = at.version;
    if (at.timestamp !== undefined) {
      const ms = at.timestamp instanceof Date ? at.timestamp.getTime() : at.timestamp;
      version = await versionAtTimestamp(this.storage, ms);
    }
    if (version !== undefined) {
      if (this.latest?.version === version) return this.latest;
      return loadSnapshot(this.storage, reader, version);
    }
    this.latest = this.latest ? await updateSnapshot(this.storage, reader, this.latest) : await loadSnapshot(this.storage, reader);
    return this.latest;
  }

  private async readCheckpoint(paths: string[]): Promise<Action[]> {
    const files = await Promise.all(paths.map(async (p) => ({ local: await this.storage.localPath(p), name: `${this.storage.root}/${p}` })));
    return readCheckpointActions(this.conn, files);
  }

  /**
   * Files added with new data (dataChange) by the commits after `version` up to the latest:
   * what an incremental consumer has not seen yet. Compaction adds no new data and is skipped.
   */
  /** Files added after `version`, in commit order; `commits` keeps them by version. */
  async addedSince(version: number): Promise<{ files: AddFile[]; version: number; snapshot: Snapshot; commits: { version: number; files: AddFile[] }[] }> {
    const snapshot = await this.snapshot();
    const commits: { version: number; files: AddFile[] }[] = [];
    for (let v = version + 1; v <= snapshot.version; v++) {
      const files: AddFile[] = [];
      for (const a of await readCommit(this.storage, commitPath(v))) {
        if ('add' in a && a.add.dataChange !== false) files.push(a.add);
      }
      commits.push({ version: v, files });
    }
    return { files: commits.flatMap((c) => c.files), version: snapshot.version, snapshot, commits };
  }

  async history(limit?: number): Promise<HistoryEntry[]> {
    return history(this.storage, limit);
  }

  /** A DuckDB query over a snapshot's rows; files are pruned with `filters` first. */
  async scan(options: { snapshot?: Snapshot; version?: number; timestamp?: number | Date; filters?: Filter[]; columns?: string[]; fileColumn?: string; rowColumn?: string } = {}): Promise<ScanPlan> {
    const snapshot = options.snapshot ?? (await this.snapshot(options));
    return planScan(snapshot, this.storage, (sql) => this.describe(sql), options);
  }

  /** Convenience: the rows as JSON-safe objects (for small results and tests). */
  async rows(options: Parameters<DeltaTable['scan']>[0] & { orderBy?: string } = {}): Promise<Record<string, unknown>[]> {
    const plan = await this.scan(options);
    return queryJson(this.conn, `SELECT * FROM (${plan.sql})${options.orderBy ? ` ORDER BY ${options.orderBy}` : ''}`);
  }

  private async describe(sql: string): Promise<string[]> {
    try {
      return (await this.conn.runAndReadAll(`SELECT * FROM (${sql}) LIMIT 0`)).columnNames();
    } catch (e) {
      throw new DeltaError('corrupt', `cannot read data files: ${String((e as Error).message).split('\n')[0]}`, { file: this.storage.root, cause: e });
    }
  }

  async create(options: CreateOptions): Promise<Outcome> {
    let schema = options.schema;
    if (!schema) {
      if (!options.from) throw new DeltaError('invalid', 'create needs a schema or a source query');
      schema = await schemaOfQuery(this.conn, options.from);
    }
    const partitionColumns = options.partitionColumns ?? [];
    for (const p of partitionColumns) {
      const f = schema.fields.find((x) => x.name === p);
      if (!f) throw new DeltaError('invalid', `partition column "${p}" is not in the schema`);
      if (typeof f.type !== 'string') throw new DeltaError('invalid', `partition column "${p}" must have a primitive type`);
    }
    for (const f of schema.fields) duckdbType(f.type); // refuses types we cannot hold
    const metadata: Metadata = {
      id: randomUUID(),
      ...(options.name ? { name: options.name } : {}),
      ...(options.description ? { description: options.description } : {}),
      format: { provider: 'parquet', options: {} },
      schemaString: JSON.stringify(schema),
      partitionColumns,
      configuration: options.configuration ?? {},
      createdTime: this.clock(),
    };
    const actions: Action[] = [{ protocol: protocolFor(schema.fields.some((f) => hasNtz(f.type)), metadata.configuration[ENABLE_DV] === 'true') }, { metaData: metadata }];
    let adds: AddFile[] = [];
    if (options.from) {
      const aligned = await alignToSchema(this.conn, options.from, schema, false);
      adds = await writeDataFiles(this.conn, this.storage, aligned.select, schema, { partitionColumns, clock: this.clock });
      actions.push(...adds.map((add) => ({ add })));
    }
    const commitInfo = {
      timestamp: this.clock(),
      operation: options.from ? 'CREATE TABLE AS SELECT' : 'CREATE TABLE',
      operationParameters: { partitionBy: JSON.stringify(partitionColumns), isManaged: 'false' },
      isBlindAppend: true,
      engineInfo: 'certhunt',
    };
    const body = [{ commitInfo }, ...actions].map((a) => JSON.stringify(a)).join('\n') + '\n';
    if (!(await this.storage.putIfAbsent(commitPath(0), Buffer.from(body)))) {
      if (options.ifNotExists) return { status: 'skipped', reason: 'table exists', version: (await this.snapshot()).version };
      throw new DeltaError('invalid', 'table already exists', { file: this.storage.root });
    }
    return { status: 'committed', version: 0, attempts: 1 };
  }

  /**
   * Append the rows of `source`; with `txn`, a batch already committed is skipped. Several app
   * transactions (small files sharing a commit) skip only when all are committed; some without
   * the others is a conflict, as the rows cannot be told apart here: the caller leaves out what
   * its snapshot shows committed, so only another writer at the same moment gets there. `tags`
   * go on every file added (the add action's `tags`), for readers of the log to plan by.
   */
  async append(source: string, options: { txn?: TxnId | TxnId[]; mergeSchema?: boolean; createIfMissing?: CreateOptions; tags?: Record<string, string> } = {}): Promise<Outcome> {
    const txns = options.txn === undefined ? [] : Array.isArray(options.txn) ? options.txn : [options.txn];
    if (options.createIfMissing && !(await this.exists())) {
      await this.create({ ...options.createIfMissing, ifNotExists: true });
    }
    let written: { schemaString: string; adds: AddFile[]; evolved?: Metadata } | undefined;
    return this.commit(async (snapshot) => {
      const done = txns.filter((t) => alreadyDone(snapshot, t));
      if (txns.length > 0 && done.length === txns.length) return { skip: `${describeTxns(txns)} already committed` };
      if (done.length > 0) {
        throw new DeltaError('conflict', `app transaction ${done[0]!.appId} v${done[0]!.version} was committed by another writer while this one held it with others`, { file: this.storage.root });
      }
      checkWritable(snapshot.protocol, snapshot.metadata, 'append', this.storage.root);
      // Files written for an earlier attempt stay valid while the schema is unchanged.
      if (!written || written.schemaString !== snapshot.metadata.schemaString) {
        const aligned = await alignToSchema(this.conn, source, snapshot.schema, options.mergeSchema ?? false);
        const adds = await writeDataFiles(this.conn, this.storage, aligned.select, aligned.schema, {
          partitionColumns: snapshot.metadata.partitionColumns,
          clock: this.clock,
        });
        written = {
          schemaString: snapshot.metadata.schemaString,
          adds,
          ...(aligned.evolved ? { evolved: { ...snapshot.metadata, schemaString: JSON.stringify(aligned.schema) } } : {}),
        };
      }
      const tags = options.tags;
      const actions: Action[] = written.adds.map((add) => ({ add: tags ? { ...add, tags } : add }));
      if (written.evolved) actions.unshift({ metaData: written.evolved });
      for (const t of txns) actions.push({ txn: { ...t, lastUpdated: this.clock() } });
      return {
        actions,
        operation: 'WRITE',
        operationParameters: { mode: 'Append', partitionBy: JSON.stringify(snapshot.metadata.partitionColumns) },
        blindAppend: !written.evolved,
        ...(txns.length > 0 ? { txns } : {}),
        metrics: metrics(written.adds),
      };
    });
  }

  /**
   * Replace the table's rows with those of `source` (history keeps the old version). With
   * `partition`, only that partition's files are replaced (Spark's replaceWhere on partition
   * columns); the source's rows must all belong to it.
   */
  async overwrite(source: string, options: { txn?: TxnId; overwriteSchema?: boolean; partition?: Record<string, string | null> } = {}): Promise<Outcome> {
    return this.commit(async (snapshot) => {
      if (options.txn && alreadyDone(snapshot, options.txn)) return { skip: `app transaction ${options.txn.appId} v${options.txn.version} already committed` };
      checkWritable(snapshot.protocol, snapshot.metadata, 'rewrite', this.storage.root);
      let schema = snapshot.schema;
      let newMeta: Metadata | undefined;
      if (options.overwriteSchema) {
        schema = await schemaOfQuery(this.conn, source);
        if (JSON.stringify(schema) !== snapshot.metadata.schemaString) newMeta = { ...snapshot.metadata, schemaString: JSON.stringify(schema) };
      }
      const aligned = await alignToSchema(this.conn, source, schema, false);
      const adds = await writeDataFiles(this.conn, this.storage, aligned.select, aligned.schema, {
        partitionColumns: snapshot.metadata.partitionColumns,
        clock: this.clock,
      });
      const now = this.clock();
      const part = options.partition;
      if (part) {
        for (const k of Object.keys(part)) {
          if (!snapshot.metadata.partitionColumns.includes(k)) throw new DeltaError('invalid', `"${k}" is not a partition column`);
        }
        const stray = adds.filter((a) => Object.entries(part).some(([k, v]) => (a.partitionValues[k] ?? null) !== v));
        if (stray.length) throw new DeltaError('invalid', `source rows fall outside the partition being replaced (${JSON.stringify(part)})`);
      }
      const replaced = part ? snapshot.files.filter((f) => Object.entries(part).every(([k, v]) => (f.partitionValues[k] ?? null) === v)) : snapshot.files;
      const actions: Action[] = [
        ...(newMeta ? [{ metaData: newMeta }] : []),
        ...replaced.map((f) => ({ remove: removeOf(f, now, true) })),
        ...adds.map((add) => ({ add })),
      ];
      if (options.txn) actions.push({ txn: { ...options.txn, lastUpdated: now } });
      return {
        actions,
        operation: 'WRITE',
        operationParameters: {
          mode: 'Overwrite',
          partitionBy: JSON.stringify(snapshot.metadata.partitionColumns),
          ...(part ? { predicate: JSON.stringify(Object.entries(part).map(([k, v]) => (v === null ? `${k} IS NULL` : `${k} = '${v}'`))) } : {}),
        },
        blindAppend: false,
        ...(part ? { readFiles: new Set(replaced.map((f) => fileKey(decodeDataPath(f.path, this.location), f.deletionVector))) } : {}),
        ...(options.txn ? { txns: [options.txn] } : {}),
        metrics: { ...metrics(adds), numRemovedFiles: String(replaced.length) },
      };
    });
  }

  /**
   * Insert-or-update by key: merge-on-read (deletion vectors) where the table enables them,
   * else copy-on-write of the files holding a matching key (lake/merge.ts).
   */
  async merge(source: string, options: MergeOptions): Promise<Outcome> {
    if (options.on.length === 0) throw new DeltaError('invalid', 'merge needs at least one key column');
    return this.commit(async (snapshot) => {
      if (options.txn && alreadyDone(snapshot, options.txn)) return { skip: `app transaction ${options.txn.appId} v${options.txn.version} already committed` };
      checkWritable(snapshot.protocol, snapshot.metadata, 'rewrite', this.storage.root);
      return mergePlan(this, snapshot, source, options);
    });
  }

  /**
   * Let merges mark rows deleted instead of copying files (delta.enableDeletionVectors), upgrading
   * the protocol to the table feature as Spark's ALTER TABLE does: a legacy writer version's
   * implied features are listed explicitly at writer version 7.
   */
  async enableDeletionVectors(): Promise<Outcome> {
    return this.commit(async (snapshot) => {
      checkWritable(snapshot.protocol, snapshot.metadata, 'append', this.storage.root);
      if (dvWritable(snapshot.protocol, snapshot.metadata)) return { skip: 'deletion vectors are already enabled' };
      const p = snapshot.protocol;
      const legacyWriter = ['appendOnly', 'invariants', 'checkConstraints', 'changeDataFeed', 'generatedColumns', 'columnMapping', 'identityColumns'];
      const implied = p.minWriterVersion >= 7 ? (p.writerFeatures ?? []) : legacyWriter.slice(0, [0, 0, 2, 3, 5, 6, 7][p.minWriterVersion] ?? 0);
      const impliedReader = p.minReaderVersion >= 3 ? (p.readerFeatures ?? []) : p.minReaderVersion === 2 ? ['columnMapping'] : [];
      const protocol = {
        minReaderVersion: 3,
        minWriterVersion: 7,
        readerFeatures: [...new Set([...impliedReader, 'deletionVectors'])],
        writerFeatures: [...new Set([...implied, 'deletionVectors'])],
      };
      const metaData = { ...snapshot.metadata, configuration: { ...snapshot.metadata.configuration, [ENABLE_DV]: 'true' } };
      return {
        actions: [{ protocol }, { metaData }],
        operation: 'SET TBLPROPERTIES',
        operationParameters: { properties: JSON.stringify({ [ENABLE_DV]: 'true' }) },
        blindAppend: false,
      };
    });
  }

  /** Run a commit loop, then checkpoint when the new version calls for one. */
  async commit(build: (snapshot: Snapshot) => Promise<Prepared | { skip: string }>): Promise<Outcome> {
    const outcome = await commitWithRetry(this.storage, () => this.snapshot(), build, { clock: this.clock });
    if (outcome.status !== 'committed') return outcome;
    const { readSnapshot, ...result } = outcome;
    const interval = readSnapshot ? checkpointInterval(readSnapshot, this.interval) : this.interval ?? 10;
    if (outcome.version > 0 && outcome.version % interval === 0) {
      await writeCheckpoint(this.conn, this.storage, await this.snapshot({ version: outcome.version }), this.clock());
    }
    return result;
  }

  async checkpoint(): Promise<number> {
    const snapshot = await this.snapshot();
    await writeCheckpoint(this.conn, this.storage, snapshot, this.clock());
    return snapshot.version;
  }

  now(): number {
    return this.clock();
  }
}

function alreadyDone(snapshot: Snapshot, txn: TxnId): boolean {
  const seen = snapshot.txns.get(txn.appId);
  return seen !== undefined && seen.version >= txn.version;
}

export function removeOf(f: AddFile, now: number, dataChange: boolean) {
  return {
    path: f.path,
    deletionTimestamp: now,
    dataChange,
    extendedFileMetadata: true,
    partitionValues: f.partitionValues,
    size: f.size,
    ...(f.tags ? { tags: f.tags } : {}),
    ...(f.deletionVector ? { deletionVector: f.deletionVector } : {}),
  };
}

export function metrics(adds: AddFile[]): Record<string, string> {
  let rows = 0;
  let bytes = 0;
  for (const a of adds) {
    bytes += a.size;
    rows += physicalRows(a) ?? 0;
  }
  return { numFiles: String(adds.length), numOutputRows: String(rows), numOutputBytes: String(bytes) };
}

import { randomBytes } from 'node:crypto';
import { physicalRows, type Action, type AddFile } from './actions.js';
import type { Prepared } from './commit.js';
import { deletionVectorFile, readDeletionVector } from './deletion-vector.js';
import { DeltaError } from './error.js';
import { dvWritable } from './features.js';
import { queryJson } from './parquet.js';
import { mayMatch, type Filter } from './scan.js';
import { duckdbType, quoteIdent, tempTableName } from './schema.js';
import { decodeDataPath, fileKey, type Snapshot } from './snapshot.js';
import { metrics, removeOf, type DeltaTable, type MergeOptions } from './table.js';
import { alignToSchema, writeDataFiles } from './write.js';

/**
 * MERGE (insert-or-update by key). Files that may hold a source key are found through key stats,
 * then the rows that really match through a semi-join. Where the table allows deletion vectors
 * (merge-on-read), matched rows are marked deleted in their files and written again, merged,
 * with the inserts: a merge writes in proportion to its source, not to the files it touches.
 * That matters for tables keyed by hashes (silver.certificates by SHA-256), where every file
 * covers the whole key range and every batch touches every file: copy-on-write rewrote the whole
 * table per batch, and its sorted write of all those rows ran out of memory on a 5 GB Zeek log
 * with DER (bench/ingest.ts). Elsewhere the touched files are rewritten (copy-on-write).
 *
 * Rows are written in no particular order. Sorting them by key gave tight row-group stats, but
 * hash keys make every batch touch every file anyway, and DuckDB's sort of wide rows (the DER)
 * was what ran out of memory: 200k certificates of ~1.5 kB failed at 448 MB sorted and wrote in
 * 876 MiB RSS unsorted (a 1.5 GB Zeek log with log-certs-base64).
 */
const FILE_COLUMN = '__certhunt_file';
const ROW_COLUMN = '__certhunt_row';

export async function mergePlan(table: DeltaTable, snapshot: Snapshot, source: string, options: MergeOptions): Promise<Prepared> {
  const conn = table.conn;
  const keys = options.on;
  const aligned = await alignToSchema(conn, source, snapshot.schema, options.mergeSchema ?? false);
  const schema = aligned.schema;
  for (const k of keys) if (!schema.fields.some((f) => f.name === k)) throw new DeltaError('invalid', `merge key "${k}" is not a column`);
  const onRead = dvWritable(snapshot.protocol, snapshot.metadata);
  const src = tempTableName('src');
  const tgt = tempTableName('tgt');
  const upd = tempTableName('upd');
  await conn.run(`CREATE TEMP TABLE ${src} AS ${aligned.select}`);
  try {
    const keyList = keys.map(quoteIdent).join(', ');
    const [dup] = await queryJson(conn, `SELECT count(*)::VARCHAR AS n FROM (SELECT ${keyList} FROM ${src} GROUP BY ALL HAVING count(*) > 1)`);
    if (dup && dup.n !== '0') throw new DeltaError('invalid', `merge source has ${dup.n} key(s) appearing more than once`);
    const candidates = await candidateFiles(table, snapshot, src, keys);
    const on = keys.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
    const cols = schema.fields.map((f) => f.name);
    const setExpr = (c: string): string => options.set?.[c] ?? `s.${quoteIdent(c)}`;
    // A target row's column in the merged schema: columns the source adds are NULL there.
    const targetCols = new Set(snapshot.schema.fields.map((f) => f.name));
    const targetCol = (alias: string, c: string): string =>
      targetCols.has(c) ? `${alias}.${quoteIdent(c)}` : `CAST(NULL AS ${duckdbType(schema.fields.find((f) => f.name === c)!.type)})`;
    let affected: AddFile[] = [];
    let rewrite = `SELECT * FROM ${src} WHERE false`;
    let updated = '0';
    if (candidates.length && onRead) {
      // The matched target rows with their file and position: a semi-join, whose hash table
      // holds the source's keys only.
      const plan = await table.scan({ snapshot: { ...snapshot, files: candidates }, fileColumn: FILE_COLUMN, rowColumn: ROW_COLUMN });
      await conn.run(`CREATE TEMP TABLE ${tgt} AS SELECT * FROM (${plan.sql}) t WHERE EXISTS (SELECT 1 FROM ${src} s WHERE ${on})`);
      const hits = await queryJson(conn, `SELECT DISTINCT ${FILE_COLUMN} AS i FROM ${tgt}`);
      affected = hits.map((h) => candidates[Number(h.i)]!);
      // Each matched pair meets in a window over both sides, not in a hash join: a join's table
      // would hold one side's whole rows (the DER), and ran out of 448 MB on 200k certificates;
      // a window partitions and sorts, and spills. (A POSITIONAL JOIN of both sides sorted by
      // key was twice as fast on the 1M log of bench/ingest.ts, but holds its right side whole:
      // it ran out of 384 MB merging 5 GB of Zeek's default log, ~350k matches a step.) `t` and
      // `s` are structs, so the caller's set expressions (t.col, s.col) read them unchanged.
      // Keys a target repeats (a table written elsewhere) are joined instead, so that each of
      // its rows is updated, as Delta's MERGE does.
      const byKey = keys.map(quoteIdent).join(', ');
      const [rep] = await queryJson(conn, `SELECT count(*)::VARCHAR AS n FROM (SELECT ${byKey} FROM ${tgt} GROUP BY ALL HAVING count(*) > 1)`);
      const struct = (alias: string, names: string[]) => `struct_pack(${names.map((c) => `${quoteIdent(c)} := ${alias}.${quoteIdent(c)}`).join(', ')})`;
      const targetRow = `struct_pack(${cols.map((c) => `${quoteIdent(c)} := ${targetCol('x', c)}`).join(', ')})`;
      const w = `PARTITION BY ${keys.map((k) => `__k.${quoteIdent(k)}`).join(', ')} ORDER BY __side`;
      const pairs = rep?.n === '0'
        ? `(SELECT __side, __srow AS s, lag(__trow) OVER (${w}) AS t
             FROM (SELECT 0 AS __side, ${struct('x', keys)} AS __k, ${targetRow} AS __trow, NULL AS __srow FROM ${tgt} x
                   UNION ALL BY NAME
                   SELECT 1 AS __side, ${struct('x', keys)} AS __k, NULL AS __trow, ${struct('x', cols)} AS __srow FROM ${src} x
                     WHERE EXISTS (SELECT 1 FROM ${tgt} t WHERE ${keys.map((k) => `t.${quoteIdent(k)} = x.${quoteIdent(k)}`).join(' AND ')})))
           WHERE __side = 1`
        : `(SELECT ${cols.map((c) => `${targetCol('x', c)} AS ${quoteIdent(c)}`).join(', ')} FROM ${tgt} x) t JOIN ${src} s ON ${on}`;
      const paired = keys.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
      await conn.run(
        `CREATE TEMP TABLE ${upd} AS SELECT ${cols.map((c) => `${setExpr(c)} AS ${quoteIdent(c)}`).join(', ')}, coalesce(${paired}, false) AS __paired FROM ${pairs}`,
      );
      const [check] = await queryJson(conn, `SELECT count(*)::VARCHAR AS n, count(*) FILTER (WHERE NOT __paired)::VARCHAR AS bad FROM ${upd}`);
      // A guard on the reasoning above, not an expected state: nothing is written when it fails.
      if (check?.bad !== '0') throw new DeltaError('invalid', `merge paired ${check?.bad ?? '?'} target row(s) with another key's source row (a bug: nothing written)`);
      rewrite = `SELECT ${cols.map(quoteIdent).join(', ')} FROM ${upd}`;
      updated = String(check.n ?? '0');
    } else if (candidates.length) {
      const plan = await table.scan({ snapshot: { ...snapshot, files: candidates }, fileColumn: FILE_COLUMN });
      const hits = await queryJson(conn, `SELECT DISTINCT ${FILE_COLUMN} AS i FROM (${plan.sql}) t WHERE EXISTS (SELECT 1 FROM ${src} s WHERE ${on})`);
      affected = hits.map((h) => candidates[Number(h.i)]!);
      if (affected.length) {
        await conn.run(`CREATE TEMP TABLE ${tgt} AS ${(await table.scan({ snapshot: { ...snapshot, files: affected } })).sql}`);
        rewrite = `SELECT ${cols
          .map((c) => `CASE WHEN s.__certhunt_m THEN ${setExpr(c)} ELSE ${targetCol('t', c)} END AS ${quoteIdent(c)}`)
          .join(', ')} FROM ${tgt} t LEFT JOIN (SELECT *, true AS __certhunt_m FROM ${src}) s ON ${on}`;
        updated = String((await queryJson(conn, `SELECT count(*)::VARCHAR AS n FROM ${tgt} t JOIN ${src} s ON ${on}`))[0]?.n ?? '0');
      }
    }
    // Only the keys of the target's side are needed here, so the anti-join's table stays narrow.
    const inserts = affected.length
      ? `SELECT ${cols.map((c) => `s.${quoteIdent(c)}`).join(', ')} FROM ${src} s WHERE NOT EXISTS (SELECT 1 FROM ${tgt} t WHERE ${on})`
      : `SELECT ${cols.map((c) => `s.${quoteIdent(c)}`).join(', ')} FROM ${src} s`;
    const [ins] = await queryJson(conn, `SELECT count(*)::VARCHAR AS n FROM (${inserts})`);
    const adds = await writeDataFiles(conn, table.storage, `(${rewrite}) UNION ALL (${inserts})`, schema, {
      partitionColumns: snapshot.metadata.partitionColumns,
      clock: table.now.bind(table),
    });
    const now = table.now();
    const kept = onRead && affected.length ? await markDeleted(table, tgt, candidates) : [];
    const actions: Action[] = [
      ...(aligned.evolved ? [{ metaData: { ...snapshot.metadata, schemaString: JSON.stringify(schema) } }] : []),
      ...affected.map((f) => ({ remove: removeOf(f, now, true) })),
      ...kept.map((add) => ({ add })),
      ...adds.map((add) => ({ add })),
    ];
    if (options.txn) actions.push({ txn: { ...options.txn, lastUpdated: now } });
    return {
      actions,
      operation: 'MERGE',
      operationParameters: { predicate: JSON.stringify(keys.map((k) => `t.${k} = s.${k}`)), matchedPredicates: JSON.stringify([{ actionType: 'update' }]), notMatchedPredicates: JSON.stringify([{ actionType: 'insert' }]) },
      blindAppend: false,
      readFiles: new Set(affected.map((f) => fileKey(decodeDataPath(f.path, table.location), f.deletionVector))),
      ...(options.txn ? { txns: [options.txn] } : {}),
      metrics: {
        ...metrics(adds),
        numTargetRowsUpdated: updated,
        numTargetRowsInserted: String(ins?.n ?? '0'),
        numTargetFilesRemoved: String(affected.length - kept.length),
        numTargetDeletionVectorsAdded: String(kept.length),
      },
    };
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${src}`);
    await conn.run(`DROP TABLE IF EXISTS ${tgt}`);
    await conn.run(`DROP TABLE IF EXISTS ${upd}`);
  }
}

/** Files whose key ranges (from their stats) overlap the source's. */
async function candidateFiles(table: DeltaTable, snapshot: Snapshot, src: string, keys: string[]): Promise<AddFile[]> {
  const filters: Filter[] = [];
  const existing = snapshot.schema.fields.map((f) => f.name);
  for (const k of keys) {
    if (!existing.includes(k)) continue;
    const [r] = await queryJson(table.conn, `SELECT CAST(min(${quoteIdent(k)}) AS VARCHAR) AS lo, CAST(max(${quoteIdent(k)}) AS VARCHAR) AS hi FROM ${src}`);
    if (r && typeof r.lo === 'string' && typeof r.hi === 'string') {
      filters.push({ column: k, op: '>=', value: r.lo }, { column: k, op: '<=', value: r.hi });
    }
  }
  const numericKey = (k: string): boolean => /^(long|integer|short|byte|float|double|decimal)/.test(String(snapshot.schema.fields.find((f) => f.name === k)?.type));
  const typed = filters.map((f) => (numericKey(f.column) ? { ...f, value: Number(f.value) } : f));
  const partCols = new Set(snapshot.metadata.partitionColumns);
  return typed.length ? snapshot.files.filter((f) => mayMatch(f, typed, snapshot.schema.fields, partCols)) : []; // column-mapped tables are refused for writes
}

/**
 * The matched rows of each affected file join the rows its deletion vector already names, in a
 * new DV (all of this commit's DVs in one file, staged before the commit names it). A file left
 * with no live row is only removed. `tgt` tags each row with its file's index in `candidates`.
 */
async function markDeleted(table: DeltaTable, tgt: string, candidates: AddFile[]): Promise<AddFile[]> {
  const rows = await queryJson(table.conn, `SELECT ${FILE_COLUMN} AS i, list(${ROW_COLUMN} ORDER BY ${ROW_COLUMN}) AS r FROM ${tgt} GROUP BY 1 ORDER BY 1`);
  const files: AddFile[] = [];
  const entries: number[][] = [];
  for (const r of rows) {
    const add = candidates[Number(r.i)]!;
    const matched = (r.r as (string | number)[]).map(Number);
    const old = add.deletionVector ? Array.from(await readDeletionVector(table.storage, add.deletionVector), Number) : [];
    const all = old.length ? [...new Set([...old, ...matched])].sort((a, b) => a - b) : matched;
    const physical = physicalRows(add);
    if (physical !== undefined && all.length >= physical) continue; // nothing left alive
    files.push(add);
    entries.push(all);
  }
  if (!entries.length) return [];
  const dv = deletionVectorFile(entries, randomBytes(16));
  await table.storage.put(dv.path, dv.bytes);
  const now = table.now();
  return files.map((f, j) => ({ ...f, deletionVector: dv.descriptors[j]!, modificationTime: now, dataChange: true, ...(f.stats ? { stats: looseStats(f.stats) } : {}) }));
}

/** Min/max of a file with deleted rows may no longer be reached: PROTOCOL.md's tightBounds. */
function looseStats(stats: string): string {
  try {
    return JSON.stringify({ ...(JSON.parse(stats) as object), tightBounds: false });
  } catch {
    return stats;
  }
}

/**
 * Interoperability with a real Apache Spark + Delta Lake (pyspark and delta-spark from
 * scripts/spark-deps.sh): Spark reads what we write, we read what Spark writes, and both
 * return the same rows, value by value.
 *
 * Spark costs a JVM start per invocation, so everything Spark does runs in two batches
 * (test/helpers/spark_roundtrip.py): (1) Spark writes its tables and reads ours and its own;
 * (2) after we have written onto copies of Spark's tables, Spark reads those. Both sides
 * normalise values to one wire form (see spark_roundtrip.py) before comparing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { DeltaError } from '../../src/lake/error.js';
import { queryJson } from '../../src/lake/parquet.js';
import { quoteIdent, type DeltaType, type StructType } from '../../src/lake/schema.js';
import { FsStorage } from '../../src/lake/storage-fs.js';
import { DeltaTable } from '../../src/lake/table.js';
import type { Filter } from '../../src/lake/scan.js';
import { runSpark, sparkAvailable } from '../helpers/spark.js';

const skip = sparkAvailable()
  ? false
  : 'Spark is not installed: run `bash scripts/spark-deps.sh` (pyspark + delta-spark into .venv/, jars from Maven Central)';

// ---------------------------------------------------------------- wire form, our side

/** A DuckDB expression turning `expr` (of Delta type `t`) into the wire form of spark_roundtrip.py. */
function wireSql(expr: string, t: DeltaType, depth = 0): string {
  if (typeof t === 'string') {
    if (t === 'string' || t === 'boolean') return expr;
    if (/^(long|integer|short|byte)$/.test(t) || t.startsWith('decimal')) return `CAST(${expr} AS VARCHAR)`;
    if (t === 'float' || t === 'double') return `CAST(CAST(${expr} AS DOUBLE) AS VARCHAR)`;
    if (t === 'binary') return `lower(hex(${expr}))`;
    if (t === 'date') return `strftime(${expr}, '%Y-%m-%d')`;
    if (t === 'timestamp') return `strftime(${expr}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
    if (t === 'timestamp_ntz') return `strftime(${expr}, '%Y-%m-%dT%H:%M:%S.%f')`;
    throw new Error(`no wire form for ${t}`);
  }
  const x = `__w${depth}`;
  switch (t.type) {
    case 'array':
      return `list_transform(${expr}, ${x} -> ${wireSql(x, t.elementType, depth + 1)})`;
    case 'struct':
      return `CASE WHEN ${expr} IS NULL THEN NULL ELSE struct_pack(${t.fields
        .map((f) => `${quoteIdent(f.name)} := ${wireSql(`struct_extract(${expr}, ${sqlStr(f.name)})`, f.type, depth + 1)}`)
        .join(', ')}) END`;
    case 'map':
      return `list_transform(map_entries(${expr}), ${x} -> struct_pack(k := ${wireSql(`${x}.key`, t.keyType, depth + 1)}, v := ${wireSql(
        `${x}.value`,
        t.valueType,
        depth + 1,
      )}))`;
  }
}

const sqlStr = (s: string): string => `'${s.replace(/'/g, "''")}'`;

type Row = Record<string, unknown>;
interface Side {
  schema: StructType;
  rows: Row[];
}

/** Our rows of a table (at `version`), in wire form. */
async function ourSide(e: Engine, dir: string, version?: number): Promise<Side> {
  const t = new DeltaTable(new FsStorage(dir), e.conn);
  const snapshot = await t.snapshot(version === undefined ? {} : { version });
  const plan = await t.scan({ snapshot });
  const fields = snapshot.schema.fields;
  const sql = `SELECT ${fields.map((f) => `to_json(${wireSql(quoteIdent(f.name), f.type)}) AS ${quoteIdent(f.name)}`).join(', ')} FROM (${plan.sql}) AS __t`;
  const rows = (await queryJson(e.conn, sql)).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' ? JSON.parse(v) : v])),
  );
  return { schema: snapshot.schema, rows };
}

// ---------------------------------------------------------------- comparing

/** One value in its canonical wire form, driven by the Delta type. */
function canon(v: unknown, t: DeltaType): unknown {
  if (v === null || v === undefined) return null;
  if (typeof t === 'string') {
    if (t === 'float' || t === 'double') {
      const s = String(v);
      if (/^nan$/i.test(s)) return 'NaN';
      if (/^(\+?inf(inity)?)$/i.test(s)) return 'Infinity';
      if (/^-inf(inity)?$/i.test(s)) return '-Infinity';
      const n = Number(s);
      return Object.is(n, -0) ? '-0' : String(n);
    }
    return v;
  }
  switch (t.type) {
    case 'array':
      return (v as unknown[]).map((x) => canon(x, t.elementType));
    case 'struct': {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(t.fields.map((f) => [f.name, f.name in o ? canon(o[f.name], f.type) : '<missing field>']));
    }
    case 'map':
      return (v as unknown[])
        .map((e) => (Array.isArray(e) ? e : [(e as { k: unknown }).k, (e as { v: unknown }).v]))
        .map(([k, x]) => [canon(k, t.keyType), canon(x, t.valueType)])
        .sort((a, b) => cmp(JSON.stringify(a[0]), JSON.stringify(b[0])));
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function canonRows(side: Side): Row[] {
  return side.rows
    .map((r) => Object.fromEntries(side.schema.fields.map((f) => [f.name, f.name in r ? canon(r[f.name], f.type) : '<missing column>'])))
    .sort((a, b) => cmp(JSON.stringify(a), JSON.stringify(b)));
}

/** Names and types only (nullability and field metadata such as column mapping ids aside). */
function shape(t: DeltaType): unknown {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') return t.fields.map((f) => [f.name, shape(f.type)]);
  if (t.type === 'array') return { array: shape(t.elementType) };
  return { map: [shape(t.keyType), shape(t.valueType)] };
}

/** Every difference between our rows and Spark's, keyed by `id`, as readable lines. */
function differences(ours: Side, spark: Side): string[] {
  const out: string[] = [];
  if (JSON.stringify(shape(ours.schema)) !== JSON.stringify(shape(spark.schema))) {
    out.push(`schema: ours ${JSON.stringify(shape(ours.schema))} vs Spark ${JSON.stringify(shape(spark.schema))}`);
  }
  const a = canonRows(ours);
  const b = canonRows(spark);
  const byId = (rows: Row[]): Map<string, Row[]> => {
    const m = new Map<string, Row[]>();
    for (const r of rows) {
      const k = JSON.stringify(r.id ?? null);
      m.set(k, [...(m.get(k) ?? []), r]);
    }
    return m;
  };
  const ma = byId(a);
  const mb = byId(b);
  for (const [id, ra] of ma) {
    const rb = mb.get(id) ?? [];
    if (ra.length !== rb.length) {
      out.push(`id=${id}: ours has ${ra.length} row(s), Spark ${rb.length}${rb.length === 0 ? ` (ours: ${JSON.stringify(ra[0])})` : ''}`);
      continue;
    }
    ra.forEach((x, i) => {
      const y = rb[i]!;
      for (const col of new Set([...Object.keys(x), ...Object.keys(y)])) {
        const vx = JSON.stringify(x[col]);
        const vy = JSON.stringify(y[col]);
        if (vx !== vy) out.push(`id=${id} column ${col}: ours ${vx} vs Spark ${vy}`);
      }
    });
  }
  for (const [id, rb] of mb) if (!ma.has(id)) out.push(`id=${id}: only Spark has it (${rb.length} row(s)): ${JSON.stringify(rb[0])}`);
  return out;
}

// ---------------------------------------------------------------- the batches' results

interface Guarded<T> {
  ok?: T;
  error?: string;
  trace?: string;
  seconds?: number;
}
interface CheckpointRead {
  columns: string[];
  actions: Record<string, Record<string, unknown> | null>[];
}
interface SparkFiles {
  version: number;
  checkpointVersion: number | null;
  files: { path: string; partitionValues: Record<string, string | null>; size: number; deletionVector?: unknown }[];
}
interface BatchOut {
  startSeconds: number;
  totalSeconds: number;
  writes: Record<string, Guarded<true>>;
  reads: Record<string, Guarded<{ schema: StructType; rows: Row[] }>>;
  checkpoints: Record<string, Guarded<CheckpointRead>>;
  files: Record<string, Guarded<SparkFiles>>;
  skipping: Record<string, Guarded<string[]>>;
}
interface Spec {
  writes?: { name: string; kind: string; path: string }[];
  reads?: { name: string; path: string; version?: number; conf?: Record<string, string> }[];
  checkpoints?: { name: string; path: string }[];
  files?: { name: string; path: string }[];
  skipping?: { name: string; path: string }[];
}

function ok<T>(g: Guarded<T> | undefined, what: string): T {
  assert.ok(g, `Spark did not run ${what}`);
  if (g.error !== undefined) assert.fail(`Spark failed on ${what}: ${g.error}\n${g.trace ?? ''}`);
  return g.ok as T;
}

// ---------------------------------------------------------------- our tables

/** Every DuckDB type we map to a Delta type, with edge values and nulls. */
const TYPES_COLUMNS = `
  id::BIGINT AS id, s, i::INTEGER AS i, sh::SMALLINT AS sh, b::TINYINT AS b, f::FLOAT AS f, d::DOUBLE AS d,
  h::HUGEINT AS h, dec::DECIMAL(10,2) AS dec, flag, bin, dt, ts, ts_naive, ts_ns, ubig, utiny, usmall, uint, uid, en,
  arr, arr_s, st, m, arr_st, m_arr, fixed`;
const TYPES_ROWS = [
  `SELECT 1 AS id, 'hello' AS s, 1 AS i, 2 AS sh, 3 AS b, 1.5 AS f, 2.25 AS d, 170141183460469231731687303715884105 AS h,
     12.34 AS dec, true AS flag, '\\x00\\xFF\\x10'::BLOB AS bin, DATE '2024-02-29' AS dt,
     TIMESTAMPTZ '2024-01-02 03:04:05.678901+00' AS ts, TIMESTAMP '2024-01-02 03:04:05.678901' AS ts_naive,
     TIMESTAMP_NS '2024-01-02 03:04:05.678901234' AS ts_ns, 18446744073709551615::UBIGINT AS ubig, 255::UTINYINT AS utiny,
     65535::USMALLINT AS usmall, 4294967295::UINTEGER AS uint, '6f1c2b3a-0000-4000-8000-00000000abcd'::UUID AS uid,
     'b'::ENUM('a', 'b') AS en, [1, 2, NULL]::INTEGER[] AS arr, ['a', NULL, '']::VARCHAR[] AS arr_s,
     {'a': 7, 'b': 'x', 'inner': {'x': 0.5::DOUBLE, 'ys': [1, 2]::BIGINT[]}} AS st,
     MAP {'k1': 1, 'k2': NULL}::MAP(VARCHAR, INTEGER) AS m, [{'k': 'a', 'v': 1::BIGINT}] AS arr_st,
     MAP {1: ['p', 'q']}::MAP(INTEGER, VARCHAR[]) AS m_arr, [5, 6]::INTEGER[2] AS fixed`,
  `SELECT 2, 'ünïcödé ✓ and a string longer than thirty-two chars', -2147483648, -32768, -128, 'NaN'::FLOAT, '-Infinity'::DOUBLE,
     -99999999999999999999999999999999999999::HUGEINT, -99999999.99, false, ''::BLOB, DATE '1970-01-01',
     TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', TIMESTAMP '1969-12-31 23:59:59.999999', TIMESTAMP_NS '1969-12-31 23:59:59.999999999',
     0::UBIGINT, 0::UTINYINT, 0::USMALLINT, 0::UINTEGER, '00000000-0000-0000-0000-000000000000'::UUID, 'a'::ENUM('a', 'b'),
     []::INTEGER[], []::VARCHAR[], {'a': NULL, 'b': NULL, 'inner': NULL}::STRUCT(a INTEGER, b VARCHAR, "inner" STRUCT(x DOUBLE, ys BIGINT[])),
     MAP {}::MAP(VARCHAR, INTEGER), []::STRUCT(k VARCHAR, v BIGINT)[], MAP {}::MAP(INTEGER, VARCHAR[]), [NULL, 0]::INTEGER[2]`,
  `SELECT 3, '', 2147483647, 32767, 127, 'Infinity'::FLOAT, '-0.0'::DOUBLE, 99999999999999999999999999999999999999::HUGEINT, 0.01, NULL,
     '\\xDE\\xAD\\xBE\\xEF'::BLOB, DATE '9999-12-31', TIMESTAMPTZ '9999-12-31 23:59:59.999999+00', TIMESTAMP '2000-02-29 12:00:00',
     TIMESTAMP_NS '2000-02-29 12:00:00', NULL, NULL, NULL, NULL, NULL, NULL, [0]::INTEGER[], ['z']::VARCHAR[],
     {'a': 1, 'b': 'y', 'inner': {'x': NULL, 'ys': NULL}}::STRUCT(a INTEGER, b VARCHAR, "inner" STRUCT(x DOUBLE, ys BIGINT[])),
     MAP {'a': 0}::MAP(VARCHAR, INTEGER), [{'k': NULL, 'v': NULL}]::STRUCT(k VARCHAR, v BIGINT)[], MAP {2: NULL}::MAP(INTEGER, VARCHAR[]), NULL`,
  `SELECT 4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL`,
];
/** Rows `ids` of TYPES_ROWS (the first row names the columns, so the union always has it). */
const typesSource = (ids: number[]): string => `SELECT ${TYPES_COLUMNS} FROM (${TYPES_ROWS.join(' UNION ALL ')}) WHERE id IN (${ids.join(', ')})`;

/** Partition values that need escaping in folder names, and nulls, over four partition types. */
const PART_S = ['a:b', '100%', 'x y', 'k=v', 'a/b', 'ünï', "q'uote", '#hash?', '%25', 'trailing ', '', null];
function partsSource(from: number, count: number): string {
  const rows: string[] = [];
  for (let k = 0; k < count; k++) {
    const id = from + k;
    const s = PART_S[id % PART_S.length]!;
    const n = id % 3 === 0 ? 'NULL' : String(id % 3 === 1 ? 1 : -5);
    const d = id % 4 === 0 ? 'NULL' : id % 4 === 1 ? "DATE '2024-02-29'" : "DATE '1970-01-01'";
    const ts = id % 5 === 0 ? 'NULL' : id % 5 === 1 ? "TIMESTAMPTZ '2024-01-01 10:00:00.123456+00'" : "TIMESTAMPTZ '2024-01-01 10:00:00+00'";
    rows.push(`SELECT ${id}::BIGINT AS id, ${s === null ? 'NULL' : sqlStr(s)}::VARCHAR AS s, ${n}::INTEGER AS n, ${d}::DATE AS d, ${ts}::TIMESTAMPTZ AS ts, 'v${id}' AS v`);
  }
  return rows.join(' UNION ALL ');
}

const kv = (ids: number[], tag: string): string =>
  ids.map((id) => `SELECT ${id}::BIGINT AS id, ${id % 4 === 3 ? 'NULL' : id % 4}::INTEGER AS p, '${tag}${id}' AS v`).join(' UNION ALL ');

/** Spark settings that read pre-1582 dates (and pre-1900 INT96) as written, with no rebase. */
const REBASE_CORRECTED = {
  'spark.sql.parquet.datetimeRebaseModeInRead': 'CORRECTED',
  'spark.sql.parquet.int96RebaseModeInRead': 'CORRECTED',
};

// ---------------------------------------------------------------- the suite

describe('Spark + Delta Lake interoperability', { skip }, () => {
  let root = '';
  let e: Engine;
  let first: BatchOut;
  let second: BatchOut;
  const P = (name: string): string => join(root, name);
  const t = (name: string, interval?: number): DeltaTable =>
    new DeltaTable(new FsStorage(P(name)), e.conn, interval ? { checkpointInterval: interval } : {});

  before(
    async () => {
      root = mkdtempSync(join(tmpdir(), 'certhunt-spark-'));
      e = await openEngine();

      // (a) Our tables.
      await t('ours_types').create({ from: typesSource([1, 2]) });
      await t('ours_types').append(typesSource([3, 4]));

      await t('ours_parts').create({ from: partsSource(0, 22), partitionColumns: ['s', 'n', 'd', 'ts'] });
      await t('ours_parts').append(partsSource(22, 14));

      // Dates and instants before the Gregorian switch (1582-10-15) and at year 1.
      await t('ours_ancient').create({
        from: `SELECT * FROM (VALUES (1::BIGINT, DATE '1000-01-01', TIMESTAMPTZ '1000-01-01 12:00:00+00'),
                                   (2, DATE '0001-01-01', TIMESTAMPTZ '0001-01-03 12:00:00+00'),
                                   (3, DATE '1582-10-14', TIMESTAMPTZ '1582-10-14 00:00:00+00')) v(id, dt, ts)`,
      });

      // 13 commits with merges (copy-on-write removes), an overwrite, an app transaction and
      // a checkpoint at version 10.
      const ck = t('ours_ckpt', 10);
      await ck.create({ from: kv([0, 1, 2, 3, 4], 'c'), partitionColumns: ['p'] }); // v0
      for (let v = 1; v <= 6; v++) await ck.append(kv([10 * v, 10 * v + 1], 'a'), v === 3 ? { txn: { appId: 'spark-test', version: 1 } } : {}); // v1-6
      await ck.merge(kv([1, 11, 100], 'm'), { on: ['id'] }); // v7
      await ck.overwrite(kv([200, 201, 202, 203, 204, 205], 'o')); // v8
      await ck.append(kv([300, 301, 302, 303], 'a')); // v9
      await ck.merge(kv([201, 203, 302, 400], 'm'), { on: ['id'] }); // v10 -> checkpoint
      await ck.append(kv([500, 501, 502, 503], 'a')); // v11
      await ck.merge(kv([200, 500, 600], 'm'), { on: ['id'] }); // v12
      assert.ok(existsSync(join(P('ours_ckpt'), '_delta_log', '00000000000000000010.checkpoint.parquet')), 'we wrote no checkpoint at 10');
      assert.ok(existsSync(join(P('ours_ckpt'), '_delta_log', '_last_checkpoint')), 'we wrote no _last_checkpoint');
      // A copy without the commits before the checkpoint: readable through the checkpoint only.
      cpSync(P('ours_ckpt'), P('ours_ckpt_cponly'), { recursive: true });
      for (let v = 0; v < 10; v++) rmSync(join(P('ours_ckpt_cponly'), '_delta_log', `${String(v).padStart(20, '0')}.json`));

      // Merge-on-read: our deletion vectors, unioned with earlier ones in a second merge.
      const dvt = t('ours_dv');
      await dvt.create({ from: kv([0, 1, 2, 3], 'c'), configuration: { 'delta.enableDeletionVectors': 'true' } });
      for (let v = 1; v <= 3; v++) await dvt.append(kv([10 * v, 10 * v + 1, 10 * v + 2], 'a'));
      await dvt.merge(kv([1, 11, 21, 100], 'm'), { on: ['id'] });
      await dvt.merge(kv([2, 12, 101], 'm2'), { on: ['id'] });
      assert.ok((await dvt.snapshot()).files.some((f) => f.deletionVector?.cardinality === 2), 'a DV of two merges');

      // (b) + reads: one Spark run.
      const sparkKinds = ['plain', 'ntz', 'part_ts', 'dml', 'ckpt', 'dv', 'colmap', 'v2'];
      const spec: Spec = {
        writes: sparkKinds.map((k) => ({ name: `spark_${k}`, kind: k, path: P(`spark_${k}`) })),
        reads: [
          ...['ours_types', 'ours_parts', 'ours_ancient', 'ours_ckpt', 'ours_ckpt_cponly', 'ours_dv'].map((n) => ({ name: n, path: P(n) })),
          { name: 'ours_parts@America/New_York', path: P('ours_parts'), conf: { 'spark.sql.session.timeZone': 'America/New_York' } },
          { name: 'ours_ancient@corrected', path: P('ours_ancient'), conf: REBASE_CORRECTED },
          ...[7, 8, 10].map((v) => ({ name: `ours_ckpt@${v}`, path: P('ours_ckpt'), version: v })),
          ...sparkKinds.map((k) => ({ name: `spark_${k}`, path: P(`spark_${k}`) })),
          ...[5, 10, 15].map((v) => ({ name: `spark_ckpt@${v}`, path: P('spark_ckpt'), version: v })),
          { name: 'spark_dml@1', path: P('spark_dml'), version: 1 },
          { name: 'spark_dv@3', path: P('spark_dv'), version: 3 },
        ],
        checkpoints: [{ name: 'ours_ckpt', path: join(P('ours_ckpt'), '_delta_log', '00000000000000000010.checkpoint.parquet') }],
        files: ['ours_ckpt', 'ours_ckpt_cponly', 'spark_ckpt'].map((n) => ({ name: n, path: P(n) })),
        skipping: ['ours_types', 'ours_parts', 'ours_ckpt'].map((n) => ({ name: n, path: P(n) })),
      };
      first = await batch(spec, 'first');

      // (c) Our writes onto copies of Spark's tables, then Spark reads them.
      const copies = ['dv', 'part_ts', 'ckpt', 'dml'];
      for (const k of copies) cpSync(P(`spark_${k}`), P(`mixed_${k}`), { recursive: true });
      if (first.writes.spark_dv?.ok) {
        // Rewrites files that carry deletion vectors (their removes must name the DV).
        await t('mixed_dv').merge(`SELECT * FROM (VALUES (1::BIGINT, 'ours-m'), (14, 'ours-m'), (1500, 'ours-m'), (5000, 'ours-new')) v(id, v)`, { on: ['id'] });
        const merged = await t('mixed_dv').snapshot();
        assert.ok(merged.files.some((f) => f.deletionVector?.storageType === 'u' && f.modificationTime === merged.files.reduce((m, x) => Math.max(m, x.modificationTime), 0)), 'our merge wrote DVs onto Spark\'s');
        await t('mixed_dv').append(`SELECT 6000::BIGINT AS id, 'ours-a' AS v`);
      }
      if (first.writes.spark_part_ts?.ok) {
        await t('mixed_part_ts').append(
          `SELECT * FROM (VALUES (100::BIGINT, TIMESTAMPTZ '2024-01-01 10:00:00+00', 'a:b', 'ours'),
                                 (101, TIMESTAMPTZ '2024-01-01 10:00:00.123456+00', NULL, 'ours'),
                                 (102, NULL, 'new part', 'ours')) v(id, ts, p, v)`,
        );
        await t('mixed_part_ts').merge(`SELECT 1::BIGINT AS id, TIMESTAMPTZ '2024-01-01 10:00:00+00' AS ts, 'a:b' AS p, 'ours-m' AS v`, { on: ['id'] });
      }
      if (first.writes.spark_ckpt?.ok) {
        // Spark's table has multi-part checkpoints at 10 and 20 and is at version 24: ours comes at 30.
        for (let k = 0; k < 6; k++) await t('mixed_ckpt').append(`SELECT ${1000 + k}::BIGINT AS id, ${k % 3}::INTEGER AS p, 'ours' AS v`);
      }
      if (first.writes.spark_dml?.ok) {
        await t('mixed_dml').merge(`SELECT * FROM (VALUES (1::BIGINT, 'ours-m', 1), (2, 'ours-m', 2), (99, 'ours-new', 3)) v(id, v, grp)`, { on: ['id'] });
        await t('mixed_dml').overwrite(`SELECT id, v, grp FROM (${await scanSql('mixed_dml')}) WHERE id % 2 = 0`);
      }
      second = await batch(
        {
          reads: copies.map((k) => ({ name: `mixed_${k}`, path: P(`mixed_${k}`) })),
          files: copies.map((k) => ({ name: `mixed_${k}`, path: P(`mixed_${k}`) })),
        },
        'second',
      );
    },
    { timeout: 360_000 },
  );

  async function scanSql(name: string): Promise<string> {
    return (await t(name).scan()).sql;
  }

  async function batch(spec: Spec, label: string): Promise<BatchOut> {
    const specFile = join(root, `${label}.spec.json`);
    const outFile = join(root, `${label}.out.json`);
    writeFileSync(specFile, JSON.stringify(spec));
    const started = Date.now();
    await runSpark(['batch', specFile, outFile], { timeoutMs: 240_000 });
    const out = JSON.parse(readFileSync(outFile, 'utf8')) as BatchOut;
    console.log(`# Spark batch ${label}: ${((Date.now() - started) / 1000).toFixed(1)} s (JVM start ${out.startSeconds} s)`);
    return out;
  }

  after(() => {
    e?.close();
    if (root && !process.env.KEEP_SPARK_TMP) rmSync(root, { recursive: true, force: true });
    else if (root) console.log(`# kept ${root}`);
  });

  /**
   * For each primitive column: `= min`, `= max`, `is null`, `is not null` through our scan's
   * filters (file pruning first) must count what our full read counts (itself checked
   * against Spark).
   */
  async function filterProbes(name: string): Promise<string[]> {
    const table = t(name);
    const full = await ourSide(e, P(name));
    const rows = canonRows(full);
    const out: string[] = [];
    for (const f of full.schema.fields) {
      if (typeof f.type !== 'string' || f.type === 'binary') continue;
      const col = f.name;
      const values = rows.map((r) => r[col]).filter((v) => v !== null && !/^(NaN|-?Infinity)$/.test(String(v)));
      const num = /^(long|integer|short|byte|float|double|decimal)/.test(f.type);
      const sorted = [...new Set(values)].sort((a, b) => (num ? Number(a) - Number(b) : cmp(String(a), String(b))));
      const probes: { filter: Filter; want: number }[] = [];
      for (const v of new Set([sorted[0], sorted[sorted.length - 1]])) {
        if (v === undefined) continue;
        probes.push({ filter: { column: col, op: '=', value: v }, want: rows.filter((r) => r[col] === v).length });
      }
      probes.push({ filter: { column: col, op: 'is null' }, want: rows.filter((r) => r[col] === null).length });
      probes.push({ filter: { column: col, op: 'is not null' }, want: rows.filter((r) => r[col] !== null).length });
      for (const p of probes) {
        const plan = await table.scan({ filters: [p.filter] });
        const [r] = await queryJson(e.conn, `SELECT count(*)::INTEGER AS n FROM (${plan.sql})`);
        const got = Number(r?.n);
        if (got !== p.want) {
          out.push(`${name}: ${col} ${p.filter.op}${p.filter.value === undefined ? '' : ' ' + JSON.stringify(p.filter.value)} gave ${got} row(s), a full read has ${p.want} (files kept ${plan.files.length}, skipped ${plan.skipped})`);
        }
      }
    }
    return out;
  }

  /** Our rows vs Spark's rows of one read, value by value. */
  async function same(readName: string, dir: string, version?: number, out: BatchOut = first): Promise<void> {
    const spark = ok(out.reads[readName], `reading ${readName}`);
    const ours = await ourSide(e, dir, version);
    const diffs = differences(ours, spark);
    assert.deepEqual(diffs, [], `${readName}: ${diffs.length} difference(s) between certhunt and Spark:\n  ${diffs.slice(0, 40).join('\n  ')}`);
  }

  // -------------------------------------------------------------- (a) Spark reads ours

  describe('Spark reads tables certhunt writes', () => {
    test('every mapped type, edge values and nulls', async () => {
      await same('ours_types', P('ours_types'));
      assert.equal(ok(first.reads.ours_types, 'ours_types').rows.length, 4);
    });

    test('partition columns (string, int, date, timestamp) with escaped characters and nulls', async () => {
      await same('ours_parts', P('ours_parts'));
      assert.equal(ok(first.reads.ours_parts, 'ours_parts').rows.length, 36);
    });

    test('timestamp partition values mean the same instant in a non-UTC Spark session', async () => {
      await same('ours_parts@America/New_York', P('ours_parts'));
    });

    test('dates and timestamps before the Gregorian switch, Spark with its default settings', async () => {
      await same('ours_ancient', P('ours_ancient'));
    });

    test('dates and timestamps before the Gregorian switch, Spark reading without rebase', async () => {
      await same('ours_ancient@corrected', P('ours_ancient'));
    });

    test('Spark data skipping and partition pruning on our stats never drop a matching row', () => {
      for (const n of ['ours_types', 'ours_parts', 'ours_ckpt']) {
        assert.deepEqual(ok(first.skipping[n], `skipping checks on ${n}`), [], n);
      }
    });

    test('merge-on-read: our deletion vectors', async () => {
      await same('ours_dv', P('ours_dv'));
      const rows = ok(first.reads.ours_dv, 'ours_dv').rows;
      assert.equal(rows.length, 15, 'Spark sees 13 appended rows and 2 inserts, no deleted copy');
    });

    test('merges, overwrite and checkpoint: latest and time travel', async () => {
      await same('ours_ckpt', P('ours_ckpt'));
      for (const v of [7, 8, 10]) await same(`ours_ckpt@${v}`, P('ours_ckpt'), v);
    });

    test('Spark replays from our checkpoint (and from it alone once older commits are gone)', async () => {
      const files = ok(first.files.ours_ckpt, 'DeltaLog of ours_ckpt');
      assert.equal(files.version, 12);
      assert.equal(files.checkpointVersion, 10, 'Spark did not use our checkpoint');
      const ours = await t('ours_ckpt').snapshot();
      assert.deepEqual(
        files.files.map((f) => [f.path, f.partitionValues, f.size]),
        [...ours.files].sort((a, b) => cmp(a.path, b.path)).map((f) => [f.path, f.partitionValues, f.size]),
      );
      const only = ok(first.files.ours_ckpt_cponly, 'DeltaLog of ours_ckpt_cponly');
      assert.equal(only.checkpointVersion, 10);
      assert.equal(only.version, 12);
      await same('ours_ckpt_cponly', P('ours_ckpt_cponly'));
    });

    test('Spark reads our checkpoint file itself: the actions of version 10', async () => {
      const cp = ok(first.checkpoints.ours_ckpt, 'reading our checkpoint Parquet');
      for (const c of ['txn', 'add', 'remove', 'metaData', 'protocol']) assert.ok(cp.columns.includes(c), `checkpoint has no ${c} column: ${cp.columns}`);
      const snap = await t('ours_ckpt').snapshot({ version: 10 });
      const of = (k: string): Record<string, unknown>[] => cp.actions.map((a) => a[k]).filter((x): x is Record<string, unknown> => !!x);
      const adds = of('add')
        .map((a) => ({ path: a.path, partitionValues: a.partitionValues, size: a.size, dataChange: a.dataChange, stats: a.stats }))
        .sort((x, y) => cmp(String(x.path), String(y.path)));
      const want = [...snap.files]
        .sort((x, y) => cmp(x.path, y.path))
        .map((a) => ({ path: a.path, partitionValues: a.partitionValues, size: a.size, dataChange: false, stats: a.stats }));
      assert.deepEqual(adds, want);
      assert.deepEqual(of('remove').map((r) => r.path).sort(), snap.tombstones.map((r) => r.path).sort());
      assert.ok(of('remove').length > 0, 'no tombstones in the checkpoint');
      const [meta] = of('metaData');
      assert.equal(meta?.id, snap.metadata.id);
      assert.equal(meta?.schemaString, snap.metadata.schemaString);
      assert.deepEqual(meta?.partitionColumns, ['p']);
      const [proto] = of('protocol');
      assert.deepEqual([proto?.minReaderVersion, proto?.minWriterVersion], [snap.protocol.minReaderVersion, snap.protocol.minWriterVersion]);
      assert.deepEqual(of('txn').map((x) => [x.appId, x.version]), [['spark-test', 1]]);
    });
  });

  // -------------------------------------------------------------- (b) we read Spark's

  describe('certhunt reads tables Spark writes', () => {
    const wrote = (k: string): void => void ok(first.writes[`spark_${k}`], `writing spark_${k}`);

    test('every type (Spark Parquet, INT96 timestamps)', async () => {
      wrote('plain');
      await same('spark_plain', P('spark_plain'));
    });

    test('timestamp_ntz', async () => {
      wrote('ntz');
      await same('spark_ntz', P('spark_ntz'));
    });

    test('partitioned by timestamp and by strings needing escapes, with nulls', async () => {
      wrote('part_ts');
      await same('spark_part_ts', P('spark_part_ts'));
    });

    test('after DELETE, UPDATE and MERGE (copy-on-write), and time travel', async () => {
      wrote('dml');
      await same('spark_dml', P('spark_dml'));
      await same('spark_dml@1', P('spark_dml'), 1);
    });

    test('multi-part checkpoints, tombstones, time travel across them', async () => {
      wrote('ckpt');
      const names = readdirSync(join(P('spark_ckpt'), '_delta_log'));
      assert.ok(names.some((n) => /^0{18}20\.checkpoint\.0000000001\.\d{9}[2-9]\.parquet$/.test(n)), `no multi-part checkpoint at 20: ${names}`);
      const files = ok(first.files.spark_ckpt, 'DeltaLog of spark_ckpt');
      const snap = await t('spark_ckpt').snapshot();
      assert.equal(snap.segment.checkpoint?.version, 20);
      assert.equal(snap.segment.checkpoint?.paths.length, Number(/\.(\d{10})\.parquet$/.exec(snap.segment.checkpoint?.paths[0] ?? '')?.[1]));
      assert.deepEqual([...snap.files].map((f) => f.path).sort(), files.files.map((f) => f.path));
      await same('spark_ckpt', P('spark_ckpt'));
      for (const v of [5, 10, 15]) await same(`spark_ckpt@${v}`, P('spark_ckpt'), v);
    });

    test('deletion vectors (DELETE, UPDATE, MERGE; in a checkpoint and after it)', async () => {
      wrote('dv');
      const snap = await t('spark_dv').snapshot();
      assert.ok(snap.files.some((f) => f.deletionVector), 'Spark wrote no deletion vector');
      await same('spark_dv', P('spark_dv'));
      await same('spark_dv@3', P('spark_dv'), 3);
    });

    test('column mapping, name mode: renamed top-level, nested and partition columns, a dropped one', async () => {
      wrote('colmap');
      await same('spark_colmap', P('spark_colmap'));
    });

    test('our filtered scans (partition pruning, data skipping on Spark stats) drop no matching row', async () => {
      const problems: string[] = [];
      for (const k of ['plain', 'ntz', 'part_ts', 'dml', 'ckpt', 'dv', 'colmap']) {
        if (!first.writes[`spark_${k}`]?.ok) continue;
        problems.push(...(await filterProbes(`spark_${k}`)));
      }
      assert.deepEqual(problems, [], `${problems.length} filtered scan(s) differ from a full read:\n  ${problems.join('\n  ')}`);
    });

    test('a v2-checkpoint table is refused, naming the feature', async () => {
      wrote('v2');
      ok(first.reads.spark_v2, 'Spark reading its v2 table');
      await assert.rejects(
        () => t('spark_v2').rows(),
        (err: unknown) => err instanceof DeltaError && err.kind === 'unsupported' && /v2Checkpoint/.test(err.message),
      );
    });
  });

  // -------------------------------------------------------------- (c) ours on Spark's tables

  describe('Spark reads what certhunt wrote onto Spark tables', () => {
    test('merge and append onto a table with deletion vectors', async () => {
      await same('mixed_dv', P('mixed_dv'), undefined, second);
    });

    test('append and merge onto a timestamp-partitioned table', async () => {
      await same('mixed_part_ts', P('mixed_part_ts'), undefined, second);
    });

    test('appends after Spark multi-part checkpoints, up to our checkpoint at 30', async () => {
      const files = ok(second.files.mixed_ckpt, 'DeltaLog of mixed_ckpt');
      assert.equal(files.version, 30);
      assert.equal(files.checkpointVersion, 30, 'Spark did not use our checkpoint at 30');
      await same('mixed_ckpt', P('mixed_ckpt'), undefined, second);
    });

    test('merge and overwrite onto a table Spark rewrote', async () => {
      await same('mixed_dml', P('mixed_dml'), undefined, second);
    });
  });
});

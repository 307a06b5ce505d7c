/**
 * Reads the real Spark / Databricks / delta-rs tables in ../shared/fixtures/delta (see its
 * MANIFEST.md) and checks counts, types and values. Expected values never come from our library:
 * they are either the golden-table generator's formulas (delta-io/delta GoldenTables.scala, and
 * the kernel's DeltaTableReadsSuite expectations for the same tables), or DuckDB read_parquet over
 * the files a hand replay of the JSON log keeps, or the writer's own stats in the log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { DeltaError } from '../../src/lake/error.js';
import { FsStorage } from '../../src/lake/storage-fs.js';
import { DeltaTable } from '../../src/lake/table.js';
import { commitInfos, expectedTypeof, fileList, ident, jsonCommits, liveAdds, query, schemaFields } from '../helpers/fixture-log.js';

const DIR = fileURLToPath(new URL('../../../shared/fixtures/delta/', import.meta.url));
const skip = existsSync(DIR) ? false : '../shared/fixtures not found';
const dir = (name: string) => join(DIR, name);

/** MANIFEST.md, column "expected latest rows". */
const LIVE_ROWS: Record<string, number> = {
  deltars__simple_table: 3,
  deltars__simple_table_with_checkpoint: 11,
  'deltars__table-with-dv-small': 8,
  deltars__table_with_edge_timestamps: 2,
  'golden__basic-with-inserts-deletes-checkpoint': 41,
  'golden__data-reader-partition-values': 3,
  'golden__data-reader-timestamp_ntz': 9,
  'golden__data-skipping-basic-stats-all-types': 1,
  'golden__dv-partitioned-with-checkpoint': 35,
  'golden__kernel-timestamp-TIMESTAMP_MICROS': 5,
  'golden__parquet-all-types': 200,
  'golden__table-with-columnmapping-mode-name': 6,
};

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
/** key/value pairs the way getRowObjectsJson renders a MAP. */
const map = (...pairs: [unknown, unknown][]) => pairs.map(([key, value]) => ({ key, value }));
const BASIC = 'golden__basic-with-inserts-deletes-checkpoint';

describe('Delta fixture tables', { skip }, () => {
  let e: Engine;
  before(async () => {
    e = await openEngine();
  });
  after(() => e?.close());
  const table = (name: string) => new DeltaTable(new FsStorage(dir(name)), e.conn);
  const sql = (q: string) => query(e.conn, q);
  /** `select` over the table's scan, so values can be compared typed (epoch_us etc). */
  const scanSelect = async (name: string, select: string, opts: Parameters<DeltaTable['scan']>[0] = {}, tail = '') =>
    sql(`SELECT ${select} FROM (${(await table(name).scan(opts)).sql}) ${tail}`);

  for (const [name, rows] of Object.entries(LIVE_ROWS)) {
    test(`${name}: ${rows} live rows, typeof() of every column follows the Delta schema`, async () => {
      const fields = schemaFields(dir(name));
      const plan = await table(name).scan();
      const [count] = await sql(`SELECT count(*)::INTEGER AS n FROM (${plan.sql})`);
      assert.equal(count!.n, rows);
      const [types] = await sql(`SELECT ${fields.map((f) => `typeof(${ident(f.name)}) AS ${ident(f.name)}`).join(', ')} FROM (${plan.sql}) LIMIT 1`);
      assert.deepEqual(types, Object.fromEntries(fields.map((f) => [f.name, expectedTypeof(f.type)])));
    });

    test(`${name}: history() matches the commitInfo of each JSON commit`, async () => {
      const actual = (await table(name).history()).map(({ version, operation, timestamp }) => ({ version, operation, timestamp }));
      assert.deepEqual(actual, commitInfos(dir(name)).reverse());
    });
  }

  // ---- Log replay and time travel, against a hand replay of the JSON commits + read_parquet ----

  const REPLAYED: Record<string, string> = {
    deltars__simple_table: 'id',
    deltars__simple_table_with_checkpoint: 'version',
    [BASIC]: 'id',
  };
  for (const [name, column] of Object.entries(REPLAYED)) {
    test(`${name}: every version's rows equal a JSON replay read with read_parquet`, async () => {
      const t = table(name);
      for (const { version } of jsonCommits(dir(name))) {
        const adds = liveAdds(dir(name), version);
        const expected = adds.length ? await sql(`SELECT ${column} FROM read_parquet(${fileList(dir(name), adds)}) ORDER BY 1`) : [];
        const actual = (await t.rows({ version, orderBy: column })).map((r) => ({ [column]: r[column] }));
        assert.deepEqual(actual, expected, `version ${version}`);
      }
    });
  }

  test('deltars__simple_table: 3 rows from 5 live files though 32 parquet files lie on disk', async () => {
    const d = dir('deltars__simple_table');
    const [glob] = await sql(`SELECT count(*)::INTEGER AS n FROM read_parquet('${d}/*.parquet')`);
    assert.equal(glob!.n, 32); // what a glob would wrongly return
    const adds = liveAdds(d);
    assert.equal(adds.length, 5);
    const expected = await sql(`SELECT id FROM read_parquet(${fileList(d, adds)}) ORDER BY id`);
    assert.deepEqual(await table('deltars__simple_table').rows({ orderBy: 'id' }), expected);
    // _delta_log/.tmp/00000000000000000005.json is an abandoned write, not a commit.
    assert.equal((await table('deltars__simple_table').snapshot()).version, 4);
  });

  test('deltars__simple_table_with_checkpoint: read from the v10 checkpoint, 11 appended rows', async () => {
    const t = table('deltars__simple_table_with_checkpoint');
    const snap = await t.snapshot();
    assert.equal(snap.version, 10);
    assert.equal(snap.segment.checkpoint?.version, 10);
    assert.equal(snap.segment.commits.length, 0);
    const d = dir('deltars__simple_table_with_checkpoint');
    const expected = await sql(`SELECT version FROM read_parquet(${fileList(d, liveAdds(d))}) ORDER BY version`);
    assert.equal(expected.length, 11);
    assert.deepEqual(await t.rows({ orderBy: 'version' }), expected);
  });

  test(`${BASIC}: checkpoint v10 + commits 11-13 give the generator's ids`, async () => {
    // GoldenTables.scala: range(0,50) in 5 appends; DELETE 5-9, 15-19, 25-29, 35-39, 45-49;
    // appends 50-59, 60-69, 70-79; DELETE id >= 66.
    const ids = [...range(0, 50).filter((i) => i % 10 < 5), ...range(50, 66)];
    const t = table(BASIC);
    const snap = await t.snapshot();
    assert.equal(snap.segment.checkpoint?.version, 10);
    assert.deepEqual(snap.segment.commits.map((c) => c.path.replace(/^.*\//, '')), [11, 12, 13].map((v) => `${String(v).padStart(20, '0')}.json`));
    assert.deepEqual((await t.rows({ orderBy: 'id' })).map((r) => r.id), ids.map(String));
    // Version 4 (before any DELETE) and 12 (before the last DELETE), also from the generator.
    assert.deepEqual((await t.rows({ version: 4, orderBy: 'id' })).map((r) => r.id), range(0, 50).map(String));
    assert.deepEqual((await t.rows({ version: 12, orderBy: 'id' })).map((r) => r.id), [...range(0, 50).filter((i) => i % 10 < 5), ...range(50, 80)].map(String));
  });

  test(`${BASIC}: time travel by commitInfo.timestamp`, async () => {
    const t = table(BASIC);
    const infos = commitInfos(dir(BASIC));
    for (const [k, { version, timestamp }] of infos.entries()) {
      assert.equal((await t.snapshot({ timestamp })).version, version, `at ${timestamp}`);
      const next = infos[k + 1]?.timestamp;
      if (next === undefined || next > timestamp + 1) assert.equal((await t.snapshot({ timestamp: new Date(timestamp + 1) })).version, version);
    }
    const v5 = infos[5]!.timestamp; // after DELETE 5-9
    assert.deepEqual((await t.rows({ timestamp: v5, orderBy: 'id' })).map((r) => r.id), [...range(0, 5), ...range(10, 50)].map(String));
    await assert.rejects(t.snapshot({ timestamp: infos[0]!.timestamp - 1 }), DeltaError);
  });

  // ---- Values per table ----

  test('golden__data-reader-partition-values: 12 typed partition columns, the all-NULL partition, %253A paths', async () => {
    // GoldenTables.scala: rows i = 0, 1 and a row with every partition value NULL (data = 2).
    // as_timestamp '2021-09-08 11:11:11' is read as UTC (kernel PartitionPruningSuite: 1631099471000000 µs).
    const row = (i: number) => ({
      as_int: i, as_long: String(i), as_byte: i, as_short: i, as_boolean: i % 2 === 0, as_float: i, as_double: i,
      as_string: String(i), as_string_lit_null: 'null', as_date: '2021-09-08', as_timestamp: '2021-09-08 11:11:11+00', as_big_decimal: String(i),
    });
    const data = (i: number) => ({
      as_list_of_records: [{ val: i }, { val: i }, { val: i }],
      as_nested_struct: { aa: String(i), ab: String(i), ac: { aca: i, acb: String(i) } },
      value: String(i),
    });
    const nulls = Object.fromEntries(Object.keys(row(0)).map((k) => [k, null]));
    const name = 'golden__data-reader-partition-values';
    assert.deepEqual(await table(name).rows({ orderBy: 'value' }), [{ ...row(0), ...data(0) }, { ...row(1), ...data(1) }, { ...nulls, ...data(2) }]);
    const [ts] = await scanSelect(name, 'epoch_us(as_timestamp)::VARCHAR AS us', { filters: [{ column: 'as_int', op: '=', value: 0 }] });
    assert.equal(ts!.us, '1631099471000000');
    // The log path holds '%253A' (':' encoded twice); the folder on disk is '%3A'.
    assert.ok(liveAdds(dir(name)).some((a) => a.path.includes('as_timestamp=2021-09-08%2011%253A11%253A11')));
    // Partition pruning sees the literal string 'null' as a value, and the NULL partition as NULL.
    assert.equal((await table(name).rows({ filters: [{ column: 'as_string_lit_null', op: '=', value: 'null' }] })).length, 2);
    assert.deepEqual((await table(name).rows({ filters: [{ column: 'as_int', op: 'is null' }] })).map((r) => r.value), ['2']);
  });

  test('golden__data-reader-timestamp_ntz: TIMESTAMP_NTZ data and partition values, wall-clock, NULLs', async () => {
    // Kernel DeltaTableReadsSuite expectation for this golden table.
    const A = '2021-11-18 02:30:00.123456';
    const B = '2013-07-05 17:01:00.123456';
    const expected = [[A, A], [B, A], [null, A], [A, B], [B, B], [null, B], [A, null], [B, null], [null, null]].map(([tsNtz, tsNtzPartition], id) => ({ id, tsNtz, tsNtzPartition }));
    const t = table('golden__data-reader-timestamp_ntz');
    assert.deepEqual(await t.rows({ orderBy: 'id' }), expected);
    // 2021-11-18 02:30:00.123456 as naive micros (kernel: 1637202600123456), no zone shift.
    const [us] = await scanSelect('golden__data-reader-timestamp_ntz', 'epoch_us(tsNtzPartition)::VARCHAR AS us', { filters: [{ column: 'id', op: '=', value: 0 }] });
    assert.equal(us!.us, '1637202600123456');
    assert.deepEqual(await t.rows({ version: 0 }), []); // CREATE TABLE: no files yet
  });

  test('golden__kernel-timestamp-TIMESTAMP_MICROS: INT64 micros and timestamp partitions as UTC instants', async () => {
    // GoldenTables.writeBasicTimestampTable (UTC); micros from the kernel's DeltaTableReadsSuite.
    const expected = [
      { id: 0, part: '1577866150001000', time: '1580544550000000' }, // 2020-01-01 08:09:10.001, 2020-02-01 08:09:10
      { id: 1, part: '1633075760000000', time: '915181200000000' }, // 2021-10-01 08:09:20, 1999-01-01 09:00:00
      { id: 2, part: '1633075760000000', time: '946717200000000' }, // 2021-10-01 08:09:20, 2000-01-01 09:00:00
      { id: 3, part: '-31536000000000', time: '-31536000000000' }, // 1969-01-01 00:00:00
      { id: 4, part: null, time: null },
    ];
    const name = 'golden__kernel-timestamp-TIMESTAMP_MICROS';
    assert.deepEqual(await scanSelect(name, 'id, epoch_us(part)::VARCHAR AS part, epoch_us(time)::VARCHAR AS time', {}, 'ORDER BY id'), expected);
    const rows = await table(name).rows({ orderBy: 'id' });
    assert.deepEqual(rows[0], { id: 0, part: '2020-01-01 08:09:10.001+00', time: '2020-02-01 08:09:10+00' });
  });

  test('golden__parquet-all-types: 200 rows of every primitive, INT96 and NTZ timestamps, nested, nulls', async () => {
    // GoldenTables.scala "parquet-all-types", row i of 0..199 (Spark writes the rows in order).
    const rows = await scanSelect('golden__parquet-all-types', '*, epoch_us("TimestampType")::VARCHAR AS ts_us, epoch_us("TimestampNTZType")::VARCHAR AS ntz_us');
    const i = (r: Record<string, unknown>) => (r.IntegerType as number | null) ?? (r.LongType === null ? 0 : Number(r.LongType) - 1);
    const when = <T>(cond: boolean, v: T) => (cond ? v : null);
    const expected = (i: number) => ({
      ByteType: when(i % 72 !== 0, ((i + 128) % 256) - 128), // i.byteValue() wraps
      ShortType: when(i % 56 !== 0, i),
      IntegerType: when(i % 23 !== 0, i),
      LongType: when(i % 25 !== 0, String(i + 1)),
      FloatType: when(i % 28 !== 0, Math.fround(i * 0.234)),
      DoubleType: when(i % 54 !== 0, i * 234234.23),
      decimal: when(i % 67 !== 0, (i * 123.52).toFixed(2)), // BigDecimal(double) rounded HALF_UP to scale 2
      BooleanType: when(i % 87 !== 0, i % 2 === 0),
      StringType: when(i % 57 !== 0, String(i)),
      BinaryType: when(i % 59 !== 0, String(i)), // i.toString.getBytes
      DateType: when(i % 61 !== 0, new Date(Math.floor((i * 20000000) / 86400000) * 86400000).toISOString().slice(0, 10)),
      ts_us: when(i % 62 !== 0, String(i * 23423523 * 1000)), // new Timestamp(i * 23423523L), INT96
      // The generator revision in reach predates this column; values read off the file with
      // read_parquet (INT64 isAdjustedToUTC=false) and its stats: i * 234234 s + 200 µs, NULL when i % 69 == 0.
      ntz_us: when(i % 69 !== 0, String(i * 234234 * 1e6 + 200)),
      nested_struct: when(i % 63 !== 0, i % 19 === 0 ? { aa: null, ac: null } : { aa: String(i), ac: when(i % 23 !== 0, { aca: i }) }),
    });
    assert.deepEqual(rows.map(i).sort((a, b) => a - b), range(0, 200));
    for (const r of rows) {
      const want = expected(i(r));
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, r[k]]));
      assert.deepEqual(got, want, `row i=${i(r)}`);
    }
    // This Spark 3.5 file holds the array/map columns as all NULL (add.stats nullCount = 200 each).
    const stats = JSON.parse(liveAdds(dir('golden__parquet-all-types'))[0]!.stats);
    for (const c of ['array_of_prims', 'array_of_arrays', 'array_of_structs', 'map_of_prims', 'map_of_rows', 'map_of_arrays']) {
      assert.equal(stats.nullCount[c], 200);
      assert.ok(rows.every((r) => r[c] === null), c);
    }
  });

  test('golden__table-with-columnmapping-mode-name: logical names back, nested values right', async () => {
    // Kernel DeltaTableReadsSuite "table with `name` column mapping mode": i = 0..4 + an all-NULL row.
    const row = (i: number) => ({
      ByteType: i, ShortType: i, IntegerType: i, LongType: String(i), FloatType: i, DoubleType: i, decimal: i.toFixed(2),
      BooleanType: i % 2 === 0, StringType: String(i), BinaryType: String(i), DateType: '2021-11-18',
      TimestampType: `1970-01-01 00:00:00${i ? `.00${i}` : ''}+00`, // i * 1000 µs
      nested_struct: { aa: String(i), ac: { aca: i } },
      array_of_prims: [i, i + 1],
      array_of_arrays: [[i, i + 1], [i + 2, i + 3]],
      array_of_map_of_arrays: [map([i, [2, 3]], [i + 1, [4, 5]])],
      array_of_structs: [{ ab: i }, { ab: i }],
      struct_of_arrays_maps_of_structs: { aa: [i, i + 1], ab: map([[i, i + 1], { aca: i + 2 }]) },
      map_of_prims: map([i, String(i + 1)], [i + 2, String(i + 3)]),
      map_of_rows: map([i + 1, { ab: String(i * 20) }]),
      map_of_arrays: map([String(i), [i, null, i + 1]], [String(i + 1), []]),
      map_of_maps: map([String(i), map([i, i])], [String(i + 1), map([i + 2, i])]),
    });
    const nulls = Object.fromEntries(Object.keys(row(0)).map((k) => [k, null]));
    const name = 'golden__table-with-columnmapping-mode-name';
    assert.deepEqual(await table(name).rows({ orderBy: 'IntegerType' }), [...range(0, 5).map(row), nulls]);
    // The files really hold physical names only.
    const [raw] = await sql(`SELECT * FROM read_parquet(${fileList(dir(name), liveAdds(dir(name)))}) LIMIT 1`);
    assert.ok(Object.keys(raw!).every((k) => k.startsWith('col-')));
  });

  test('deltars__table_with_edge_timestamps: year-9999 instants equal the writer stats', async () => {
    const d = dir('deltars__table_with_edge_timestamps');
    const expected = liveAdds(d)
      .map((a) => JSON.parse(a.stats).minValues) // one row per file: min == max
      .map((m) => ({ SOME_VALUE: m.SOME_VALUE, big: String(Date.parse(m.BIG_DATE)), normal: String(Date.parse(m.NORMAL_DATE)) }))
      .sort((a, b) => a.SOME_VALUE - b.SOME_VALUE);
    assert.deepEqual(await scanSelect('deltars__table_with_edge_timestamps', 'SOME_VALUE, epoch_ms(BIG_DATE)::VARCHAR AS big, epoch_ms(NORMAL_DATE)::VARCHAR AS normal', {}, 'ORDER BY SOME_VALUE'), expected);
    const rows = await table('deltars__table_with_edge_timestamps').rows({ orderBy: 'SOME_VALUE' });
    assert.deepEqual(rows.map((r) => r.BIG_DATE), ['9999-12-31 00:00:00+00', '9999-12-30 00:00:00+00']);
  });

  test('golden__data-skipping-basic-stats-all-types: the one row equals its stats (timestamp -08:00 → UTC)', async () => {
    const [add] = liveAdds(dir('golden__data-skipping-basic-stats-all-types'));
    const stats = JSON.parse(add!.stats);
    assert.deepEqual(stats.minValues, stats.maxValues); // one row: min == max == the value
    const s = stats.minValues;
    const [row] = await scanSelect('golden__data-skipping-basic-stats-all-types', '* EXCLUDE (as_timestamp), epoch_ms(as_timestamp)::VARCHAR AS as_timestamp_ms');
    assert.deepEqual(row, {
      as_int: s.as_int, as_long: String(s.as_long), as_byte: s.as_byte, as_short: s.as_short, as_float: s.as_float, as_double: s.as_double,
      as_string: s.as_string, as_date: s.as_date, as_big_decimal: String(s.as_big_decimal),
      as_timestamp_ms: String(Date.parse(s.as_timestamp)), // '2000-01-01T00:00:00.000-08:00' = 08:00 UTC
    });
  });

  // ---- Deletion vectors (src/lake/deletion-vector.ts) ----

  test('deltars__table-with-dv-small: the DV removes exactly values 0 and 9', async () => {
    const d = dir('deltars__table-with-dv-small');
    const physical = (await sql(`SELECT value FROM read_parquet(${fileList(d, liveAdds(d))}) ORDER BY value`)).map((r) => r.value);
    assert.deepEqual(physical, range(0, 10));
    // Commit 1: DELETE ... value IN (0, 9), a DV of cardinality 2 on the one file.
    assert.equal(liveAdds(d)[0]!.deletionVector.cardinality, 2);
    const rows = await table('deltars__table-with-dv-small').rows({ orderBy: 'value' });
    assert.deepEqual(rows.map((r) => r.value), range(1, 9));
  });

  test('golden__dv-partitioned-with-checkpoint: 35 live rows after 15 DV deletes', async () => {
    // GoldenTables.scala: x in 0..49 → (part = x % 10, col1 = x, col2 = "foo" + x % 5), partitioned
    // by part; then DELETE WHERE col1 = 2n for n in 0..14.
    const expected = range(0, 50)
      .filter((x) => !(x % 2 === 0 && x < 30))
      .map((x) => ({ part: x % 10, col1: x, col2: `foo${x % 5}` }));
    const t = table('golden__dv-partitioned-with-checkpoint');
    assert.equal((await t.snapshot()).segment.checkpoint?.version, 10);
    assert.deepEqual(await t.rows({ orderBy: 'col1' }), expected);
  });
});

import type { DuckDBConnection } from '@duckdb/node-api';
import { promises as fs } from 'node:fs';
import { toAction, type Action } from './actions.js';
import { DeltaError } from './error.js';
import { duckdbType, quoteIdent, sqlString, type StructType } from './schema.js';

/**
 * The engine side of the lake: every Parquet byte is read and written by DuckDB. The protocol
 * code (snapshot, replay, commit) never touches DuckDB; it calls these functions.
 */

/** Run a query and return its rows as JSON-safe objects (BIGINTs as strings). */
export async function queryJson(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson() as Record<string, unknown>[];
}

/** Read a classic checkpoint (all parts) into actions, the same shape JSON commits give. */
export async function readCheckpointActions(conn: DuckDBConnection, files: { local: string; name: string }[]): Promise<Action[]> {
  const actions: Action[] = [];
  for (const file of files) {
    let rows: Record<string, unknown>[];
    try {
      // to_json turns each action struct into the JSON object a commit would hold (maps become
      // objects), so one validator serves both.
      rows = await queryJson(conn, `SELECT to_json(COLUMNS(*)) FROM read_parquet(${sqlString(file.local)})`);
    } catch (e) {
      throw new DeltaError('corrupt', `cannot read checkpoint: ${firstLine(e)}`, { file: file.name, cause: e });
    }
    let row = 0;
    for (const r of rows) {
      row++;
      for (const [key, value] of Object.entries(r)) {
        if (value === null || typeof value !== 'string') continue;
        const action = toAction({ [key]: JSON.parse(value) }, `${file.name} row ${row}`);
        if (action) actions.push(action);
      }
    }
  }
  return actions;
}

export interface WrittenFile {
  numRecords: number;
  size: number;
  /** The Delta `stats` JSON text. */
  stats: string;
}

/**
 * Write the result of `select` (columns already in the table's physical order and types) to a
 * Parquet file and compute its Delta stats from the file's own footer: reading row-group
 * statistics costs a footer read, not another scan of the data.
 */
export async function writeParquet(
  conn: DuckDBConnection,
  select: string,
  localFile: string,
  dataSchema: StructType,
): Promise<WrittenFile> {
  try {
    // Spark refuses dates before 1582 in Parquet files that do not say which Spark wrote them
    // (it cannot tell Julian from proleptic Gregorian). DuckDB writes proleptic Gregorian, as
    // Spark 3 does, so the file says so in the key Spark reads.
    await conn.run(`COPY (${select}) TO ${sqlString(localFile)} (FORMAT parquet, COMPRESSION snappy, KV_METADATA {'org.apache.spark.version': '3.5.0'})`);
  } catch (e) {
    throw new DeltaError('invalid', `cannot write data file: ${firstLine(e)}`, { file: localFile, cause: e });
  }
  const size = (await fs.stat(localFile)).size;
  const stats = await fileStats(conn, localFile, dataSchema);
  return { numRecords: stats.numRecords, size, stats: stats.json };
}

const STATS_STRING_PREFIX = 32; // Spark's dataSkippingStringPrefixLength

async function fileStats(conn: DuckDBConnection, localFile: string, schema: StructType): Promise<{ numRecords: number; json: string }> {
  const cols = schema.fields.filter((f) => typeof f.type === 'string');
  const exprs: string[] = [];
  cols.forEach((f, i) => {
    const t = duckdbType(f.type);
    const where = `FILTER (WHERE path_in_schema = ${sqlString(f.name)})`;
    exprs.push(`CAST(sum(TRY_CAST(stats_null_count AS BIGINT)) ${where} AS VARCHAR) AS n${i}`);
    if (!hasMinMax(f.type as string)) return;
    const min = `min(TRY_CAST(stats_min_value AS ${t})) ${where}`;
    const max = `max(TRY_CAST(stats_max_value AS ${t})) ${where}`;
    if (f.type === 'timestamp' || f.type === 'timestamp_ntz') {
      // Delta stats keep milliseconds: floor the minimum, ceil the maximum, so both stay bounds.
      const fmt = f.type === 'timestamp' ? "'%Y-%m-%dT%H:%M:%S.%gZ'" : "'%Y-%m-%dT%H:%M:%S.%g'";
      exprs.push(`strftime(date_trunc('millisecond', ${min}), ${fmt}) AS lo${i}`);
      exprs.push(
        `strftime(date_trunc('millisecond', ${max}) + CASE WHEN ${max} > date_trunc('millisecond', ${max}) THEN INTERVAL 1 millisecond ELSE INTERVAL 0 millisecond END, ${fmt}) AS hi${i}`,
      );
    } else {
      exprs.push(`CAST(${min} AS VARCHAR) AS lo${i}`, `CAST(${max} AS VARCHAR) AS hi${i}`);
    }
  });
  const file = sqlString(localFile);
  const sql = `SELECT (SELECT num_rows FROM parquet_file_metadata(${file}))::VARCHAR AS num_rows${exprs.length ? ', ' + exprs.join(', ') : ''} FROM parquet_metadata(${file})`;
  const [row] = await queryJson(conn, sql);
  if (!row) throw new DeltaError('corrupt', 'no parquet metadata', { file: localFile });
  const numRecords = Number(row.num_rows ?? 0);
  const mins: string[] = [];
  const maxs: string[] = [];
  const nulls: string[] = [];
  cols.forEach((f, i) => {
    const key = JSON.stringify(f.name);
    const n = row[`n${i}`];
    if (typeof n === 'string') nulls.push(`${key}:${n}`);
    const lo = row[`lo${i}`];
    const hi = row[`hi${i}`];
    if (typeof lo === 'string' && typeof hi === 'string') {
      const a = statValue(lo, f.type as string, 'min');
      const b = statValue(hi, f.type as string, 'max');
      if (a !== undefined && b !== undefined) {
        mins.push(`${key}:${a}`);
        maxs.push(`${key}:${b}`);
      }
    }
  });
  const json = `{"numRecords":${numRecords},"minValues":{${mins.join(',')}},"maxValues":{${maxs.join(',')}},"nullCount":{${nulls.join(',')}}}`;
  return { numRecords, json };
}

function hasMinMax(t: string): boolean {
  // Spark collects no min/max for boolean and binary; neither do we.
  return t !== 'boolean' && t !== 'binary';
}

/** A stats value as JSON text: numbers verbatim (no precision lost), the rest as strings. */
function statValue(text: string, t: string, bound: 'min' | 'max'): string | undefined {
  if (t === 'float' || t === 'double') {
    return /^-?\d/.test(text) && !/inf|nan/i.test(text) ? text : undefined;
  }
  if (/^(long|integer|short|byte)$/.test(t) || t.startsWith('decimal')) return text;
  if (t === 'string' && [...text].length > STATS_STRING_PREFIX) {
    const prefix = [...text].slice(0, STATS_STRING_PREFIX).join('');
    // A truncated maximum must stay an upper bound: append the largest code point.
    return JSON.stringify(bound === 'min' ? prefix : prefix + '\u{10FFFF}');
  }
  return JSON.stringify(text);
}

/**
 * Write a classic checkpoint: one row per action, one non-null action column per row, in the
 * schema Spark writes (PROTOCOL.md "Checkpoint Schema").
 */
export async function writeCheckpointParquet(conn: DuckDBConnection, actions: Action[], localFile: string): Promise<void> {
  const ndjson = `${localFile}.ndjson`;
  await fs.writeFile(ndjson, actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
  const map = 'MAP(VARCHAR, VARCHAR)';
  const dv = 'STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, "offset" INTEGER, sizeInBytes INTEGER, cardinality BIGINT, maxRowIndex BIGINT)';
  const columns: Record<string, string> = {
    txn: 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)',
    add: `STRUCT(path VARCHAR, partitionValues ${map}, size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags ${map}, deletionVector ${dv}, baseRowId BIGINT, defaultRowCommitVersion BIGINT)`,
    remove: `STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues ${map}, size BIGINT, tags ${map}, deletionVector ${dv}, baseRowId BIGINT, defaultRowCommitVersion BIGINT)`,
    metaData: `STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options ${map}), schemaString VARCHAR, partitionColumns VARCHAR[], configuration ${map}, createdTime BIGINT)`,
    protocol: 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], writerFeatures VARCHAR[])',
    domainMetadata: 'STRUCT(domain VARCHAR, configuration VARCHAR, removed BOOLEAN)',
  };
  const spec = Object.entries(columns)
    .map(([k, v]) => `${quoteIdent(k)}: ${sqlString(v)}`)
    .join(', ');
  try {
    await conn.run(
      `COPY (SELECT * FROM read_json(${sqlString(ndjson)}, format = 'newline_delimited', columns = {${spec}}, maximum_object_size = 1073741824)) TO ${sqlString(localFile)} (FORMAT parquet)`,
    );
  } finally {
    await fs.rm(ndjson, { force: true });
  }
}

export function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0] ?? '';
}

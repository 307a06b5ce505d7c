import type { DuckDBConnection } from '@duckdb/node-api';
import { promises as fs } from 'node:fs';
import { toAction, type Action } from './actions.js';
import { DeltaError } from './error.js';
import { quoteIdent, sqlString, type StructType } from './schema.js';

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
 * Rows per row group at most. DuckDB honours ROW_GROUP_SIZE_BYTES only when it may reorder rows:
 * a sorted write (silver's merges once, any SELECT with ORDER BY) made row groups of 122,880 rows,
 * whose DER column alone was 200 MB, and a reader must hold a whole column chunk: every hunt
 * reading `der` ran out of the default 448 MB (with 32,768-row groups, of 55 MB, one still did).
 * 16,384 rows of DER are ~28 MB.
 */
export const ROW_GROUP_ROWS = 16_384;
/**
 * Bytes per row group at most, for the writes that may reorder rows (all but sorted ones). The
 * writer holds a row group's column chunks whole: with DER, 16,384 rows made 32 MiB buffers,
 * the allocation that failed a 5 GB ingest at 384 MB (bench/ingest.ts, ingest-memory).
 */
export const ROW_GROUP_BYTES = 8 * 1024 * 1024;
/**
 * Write the result of `select` (columns already in the table's physical order and types) to a
 * Parquet file. Delta stats come from the statistics DuckDB's writer returns (RETURN_STATS):
 * measured in bench/lake.ts, a separate parquet_metadata() query cost 7% of an append; this
 * costs nothing.
 */
export async function writeParquet(
  conn: DuckDBConnection,
  select: string,
  localFile: string,
  dataSchema: StructType,
): Promise<WrittenFile> {
  let rows: Record<string, unknown>[];
  try {
    // Spark refuses dates before 1582 in Parquet files that do not say which Spark wrote them
    // (it cannot tell Julian from proleptic Gregorian). DuckDB writes proleptic Gregorian, as
    // Spark 3 does, so the file says so in the key Spark reads.
    rows = await queryJson(
      conn,
      `COPY (${select}) TO ${sqlString(localFile)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${ROW_GROUP_ROWS}, ROW_GROUP_SIZE_BYTES ${ROW_GROUP_BYTES}, RETURN_STATS, KV_METADATA {'org.apache.spark.version': '3.5.0'})`,
    );
  } catch (e) {
    throw new DeltaError('invalid', `cannot write data file: ${firstLine(e)}`, { file: localFile, cause: e });
  }
  const row = rows[0];
  if (!row) throw new DeltaError('corrupt', 'the Parquet writer returned no statistics', { file: localFile });
  const numRecords = Number(row.count ?? 0);
  const size = Number(row.file_size_bytes ?? 0);
  return { numRecords, size, stats: statsJson(numRecords, columnStats(row.column_statistics), dataSchema) };
}

type ColumnStats = Map<string, Record<string, string>>;

/** RETURN_STATS gives MAP("quoted"."path" → MAP(stat → text)); keep top-level columns. */
function columnStats(raw: unknown): ColumnStats {
  const out: ColumnStats = new Map();
  if (!Array.isArray(raw)) return out;
  for (const entry of raw as { key: string; value: { key: string; value: string }[] }[]) {
    const m = /^"((?:[^"]|"")*)"$/.exec(entry.key);
    if (!m) continue; // a nested leaf
    out.set(m[1]!.replace(/""/g, '"'), Object.fromEntries(entry.value.map((kv) => [kv.key, kv.value])));
  }
  return out;
}

const STATS_STRING_PREFIX = 32; // Spark's dataSkippingStringPrefixLength

function statsJson(numRecords: number, stats: ColumnStats, schema: StructType): string {
  const mins: string[] = [];
  const maxs: string[] = [];
  const nulls: string[] = [];
  for (const f of schema.fields) {
    if (typeof f.type !== 'string') continue;
    const st = stats.get(f.name);
    if (!st) continue;
    const key = JSON.stringify(f.name);
    if (st.null_count !== undefined && /^\d+$/.test(st.null_count)) nulls.push(`${key}:${st.null_count}`);
    if (st.min === undefined || st.max === undefined || st.has_nan === 'true') continue;
    const lo = statValue(st.min, f.type, 'min');
    const hi = statValue(st.max, f.type, 'max');
    if (lo !== undefined && hi !== undefined) {
      mins.push(`${key}:${lo}`);
      maxs.push(`${key}:${hi}`);
    }
  }
  return `{"numRecords":${numRecords},"minValues":{${mins.join(',')}},"maxValues":{${maxs.join(',')}},"nullCount":{${nulls.join(',')}}}`;
}

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(\+00(?::00)?)?$/;

/** A stats value as JSON text: numbers verbatim (no precision lost), the rest as strings. */
function statValue(text: string, t: string, bound: 'min' | 'max'): string | undefined {
  // Spark collects no min/max for boolean and binary; neither do we.
  if (t === 'boolean' || t === 'binary') return undefined;
  if (/^(long|integer|short|byte|float|double)$/.test(t) || t.startsWith('decimal')) return NUMBER.test(text) ? text : undefined;
  if (t === 'date') return /^\d{4}-\d\d-\d\d$/.test(text) ? JSON.stringify(text) : undefined;
  if (t === 'timestamp' || t === 'timestamp_ntz') {
    // Delta stats keep milliseconds: floor the minimum, ceil the maximum, so both stay bounds.
    const m = TIMESTAMP.exec(text);
    if (!m) return undefined;
    const frac = (m[7] ?? '').padEnd(9, '0');
    const d = new Date(0); // setUTCFullYear, unlike Date.UTC, keeps years below 100 as given
    d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), Number(frac.slice(0, 3)));
    let ms = d.getTime();
    if (bound === 'max' && /[1-9]/.test(frac.slice(3))) ms += 1;
    const iso = new Date(ms).toISOString();
    return JSON.stringify(t === 'timestamp' ? iso : iso.slice(0, -1));
  }
  if (t === 'string') {
    const chars = [...text];
    if (chars.length <= STATS_STRING_PREFIX) return JSON.stringify(text);
    const prefix = chars.slice(0, STATS_STRING_PREFIX).join('');
    // A truncated maximum must stay an upper bound: append the largest code point.
    return JSON.stringify(bound === 'min' ? prefix : prefix + '\u{10FFFF}');
  }
  return undefined;
}

/** The smallest maximum_object_size jsonObjectSize gives: a stage or checkpoint of short lines. */
export const MIN_JSON_OBJECT_SIZE = 1 << 20;

/**
 * maximum_object_size for DuckDB's read_json over lines of at most `longestBytes`: its reader
 * sizes its buffers (two, per thread) from it, so a fixed 64 MiB asked for 128 MiB for files of
 * 1 KiB lines. A power of two from 1 MiB, room for the line and its newline.
 */
export function jsonObjectSize(longestBytes: number): number {
  let size = MIN_JSON_OBJECT_SIZE;
  while (size < longestBytes + 2) size *= 2;
  return size;
}

/**
 * Write a classic checkpoint: one row per action, one non-null action column per row, in the
 * schema Spark writes (PROTOCOL.md "Checkpoint Schema").
 */
export async function writeCheckpointParquet(conn: DuckDBConnection, actions: Action[], localFile: string): Promise<void> {
  const ndjson = `${localFile}.ndjson`;
  const lines = actions.map((a) => JSON.stringify(a));
  await fs.writeFile(ndjson, lines.join('\n') + '\n');
  // A fixed 64 MiB ran an ingest at CERTHUNT_MEMORY=256MB out of memory at its first checkpoint
  // (jsonObjectSize). A UTF-16 unit is at most 3 bytes.
  const size = jsonObjectSize(lines.reduce((n, l) => Math.max(n, l.length * 3), 0));
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
      `COPY (SELECT * FROM read_json(${sqlString(ndjson)}, format = 'newline_delimited', columns = {${spec}}, maximum_object_size = ${size})) TO ${sqlString(localFile)} (FORMAT parquet)`,
    );
  } finally {
    await fs.rm(ndjson, { force: true });
  }
}

export function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0] ?? '';
}

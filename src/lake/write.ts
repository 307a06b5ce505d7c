import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { AddFile } from './actions.js';
import { DeltaError } from './error.js';
import { queryJson, writeParquet } from './parquet.js';
import {
  duckdbType,
  partitionValueSql,
  partitionValueString,
  quoteIdent,
  schemaFromDuckDB,
  tempTableName,
  type DuckDBTypeJson,
  type StructType,
} from './schema.js';
import type { Storage } from './storage.js';

/**
 * Writing data files: align a DuckDB query with the table schema, split it by partition, write
 * Parquet through DuckDB and describe each file as an `add` action with stats.
 */
export const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/** Column names and types a query produces, without running it in full. */
export async function describeQuery(conn: DuckDBConnection, select: string): Promise<{ names: string[]; types: DuckDBTypeJson[] }> {
  let reader;
  try {
    reader = await conn.runAndReadAll(`SELECT * FROM (${select}) LIMIT 0`);
  } catch (e) {
    throw new DeltaError('invalid', `source query failed: ${String((e as Error).message).split('\n')[0]}`);
  }
  return { names: reader.columnNames(), types: reader.columnTypesJson() as unknown as DuckDBTypeJson[] };
}

/** The Delta schema a query's rows would get in a new table. */
export async function schemaOfQuery(conn: DuckDBConnection, select: string): Promise<StructType> {
  const { names, types } = await describeQuery(conn, select);
  return schemaFromDuckDB(names, types);
}

/**
 * A SELECT over the source that yields exactly the table's columns, in order, cast to their
 * Delta types. Source columns the table lacks are an error unless `mergeSchema`, in which case
 * the returned schema has them appended.
 */
export async function alignToSchema(
  conn: DuckDBConnection,
  select: string,
  schema: StructType,
  mergeSchema: boolean,
): Promise<{ select: string; schema: StructType; evolved: boolean }> {
  const source = await schemaOfQuery(conn, select);
  const have = new Set(schema.fields.map((f) => f.name));
  const extra = source.fields.filter((f) => !have.has(f.name));
  if (extra.length && !mergeSchema) {
    throw new DeltaError('invalid', `source has columns the table lacks: ${extra.map((f) => f.name).join(', ')} (allow schema evolution to add them)`);
  }
  const fields = [...schema.fields, ...extra];
  const sourceNames = new Set(source.fields.map((f) => f.name));
  const cols = fields.map((f) =>
    sourceNames.has(f.name)
      ? `CAST(__src.${quoteIdent(f.name)} AS ${duckdbType(f.type)}) AS ${quoteIdent(f.name)}`
      : `CAST(NULL AS ${duckdbType(f.type)}) AS ${quoteIdent(f.name)}`,
  );
  return { select: `SELECT ${cols.join(', ')} FROM (${select}) AS __src`, schema: { type: 'struct', fields }, evolved: extra.length > 0 };
}

/** Hive-style escaping of a partition directory value, as Spark does. */
export function escapePartitionValue(v: string): string {
  return v.replace(/[\u0000-\u001f"#%'*/:=?\\\u007f{[\]^]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/** A storage path as a URI reference for the log (so a '%' in a folder name survives). */
export function toLogPath(storagePath: string): string {
  return storagePath
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/%3D/g, '=').replace(/%2C/g, ','))
    .join('/');
}

export interface WriteOptions {
  partitionColumns: string[];
  clock: () => number;
  dataChange?: boolean;
}

/** Write the aligned query's rows as new data files; returns their add actions (none when empty). */
export async function writeDataFiles(
  conn: DuckDBConnection,
  storage: Storage,
  aligned: string,
  schema: StructType,
  options: WriteOptions,
): Promise<AddFile[]> {
  const parts = options.partitionColumns;
  const partFields = parts.map((p) => {
    const f = schema.fields.find((x) => x.name === p);
    if (!f) throw new DeltaError('invalid', `partition column "${p}" is not in the schema`);
    return f;
  });
  const dataFields = schema.fields.filter((f) => !parts.includes(f.name));
  const dataSchema: StructType = { type: 'struct', fields: dataFields };
  const dataCols = dataFields.map((f) => quoteIdent(f.name)).join(', ');
  if (parts.length === 0) {
    const add = await writeOne(conn, storage, '', `SELECT ${dataCols} FROM (${aligned})`, dataSchema, {}, options);
    return add ? [add] : [];
  }
  // Materialize once, then write one file per partition value.
  const tmp = tempTableName('batch');
  await conn.run(`CREATE TEMP TABLE ${tmp} AS ${aligned}`);
  try {
    const keys = await queryJson(
      conn,
      `SELECT DISTINCT ${partFields.map((f, i) => `CAST(${quoteIdent(f.name)} AS VARCHAR) AS p${i}`).join(', ')} FROM ${tmp}`,
    );
    const adds: AddFile[] = [];
    for (const key of keys) {
      const values: Record<string, string | null> = {};
      const where: string[] = [];
      const dirs: string[] = [];
      partFields.forEach((f, i) => {
        const raw = key[`p${i}`];
        const text = partitionValueString(typeof raw === 'string' ? raw : null, f.type);
        values[f.name] = text;
        where.push(`${quoteIdent(f.name)} IS NOT DISTINCT FROM ${partitionValueSql(text, f.type)}`);
        dirs.push(`${f.name}=${text === null ? HIVE_NULL : escapePartitionValue(text)}`);
      });
      const sql = `SELECT ${dataCols} FROM ${tmp} WHERE ${where.join(' AND ')}`;
      const add = await writeOne(conn, storage, dirs.join('/') + '/', sql, dataSchema, values, options);
      if (add) adds.push(add);
    }
    return adds;
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${tmp}`);
  }
}

async function writeOne(
  conn: DuckDBConnection,
  storage: Storage,
  dir: string,
  select: string,
  dataSchema: StructType,
  partitionValues: Record<string, string | null>,
  options: WriteOptions,
): Promise<AddFile | undefined> {
  const path = `${dir}part-00000-${randomUUID()}-c000.snappy.parquet`;
  const local = await storage.stagingPath(path);
  const written = await writeParquet(conn, select, local, dataSchema);
  if (written.numRecords === 0) {
    await fs.rm(local, { force: true });
    return undefined;
  }
  if (storage.writesInPlace) await storage.sync(path);
  else {
    await storage.putFile(path, local);
    await fs.rm(local, { force: true });
  }
  return {
    path: toLogPath(path),
    partitionValues,
    size: written.size,
    modificationTime: options.clock(),
    dataChange: options.dataChange ?? true,
    stats: written.stats,
  };
}

import { randomUUID } from 'node:crypto';
import { DeltaError } from './error.js';

/**
 * Delta table schemas (PROTOCOL.md "Schema Serialization Format") and their mapping to DuckDB
 * types, both ways. The mapping is the contract that keeps our files readable by Spark: no
 * DuckDB type without a Delta equivalent ever reaches a Parquet file.
 */
export type DeltaType = string | StructType | ArrayType | MapType;
export interface StructField {
  name: string;
  type: DeltaType;
  nullable: boolean;
  metadata: Record<string, unknown>;
}
export interface StructType {
  type: 'struct';
  fields: StructField[];
}
export interface ArrayType {
  type: 'array';
  elementType: DeltaType;
  containsNull: boolean;
}
export interface MapType {
  type: 'map';
  keyType: DeltaType;
  valueType: DeltaType;
  valueContainsNull: boolean;
}

const PRIMITIVE_TO_DUCKDB: Record<string, string> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  integer: 'INTEGER',
  short: 'SMALLINT',
  byte: 'TINYINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  binary: 'BLOB',
  date: 'DATE',
  // Delta `timestamp` is an instant; DuckDB's TIMESTAMPTZ is too (our connections run in UTC).
  timestamp: 'TIMESTAMPTZ',
  timestamp_ntz: 'TIMESTAMP',
};
const DECIMAL = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

export function parseSchemaString(schemaString: string, file?: string): StructType {
  let parsed: unknown;
  try {
    parsed = JSON.parse(schemaString);
  } catch (e) {
    throw new DeltaError('corrupt', `schemaString is not JSON: ${(e as Error).message}`, file ? { file } : {});
  }
  const s = parsed as StructType;
  if (!s || s.type !== 'struct' || !Array.isArray(s.fields)) {
    throw new DeltaError('corrupt', 'schemaString is not a struct type', file ? { file } : {});
  }
  return s;
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function sqlString(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}

/** A name for a temp table no other statement on the connection uses (`__certhunt_<what>_<uuid>`). */
export function tempTableName(what: string): string {
  return `__certhunt_${what}_${randomUUID().replace(/-/g, '')}`;
}

/** The DuckDB SQL type for a Delta type. */
export function duckdbType(t: DeltaType): string {
  if (typeof t === 'string') {
    const p = PRIMITIVE_TO_DUCKDB[t];
    if (p) return p;
    const m = DECIMAL.exec(t);
    if (m) return `DECIMAL(${m[1]},${m[2]})`;
    if (t === 'decimal') return 'DECIMAL(10,0)';
    throw new DeltaError('unsupported', `Delta type "${t}" is not supported`);
  }
  switch (t.type) {
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `${quoteIdent(f.name)} ${duckdbType(f.type)}`).join(', ')})`;
    case 'array':
      return `${duckdbType(t.elementType)}[]`;
    case 'map':
      return `MAP(${duckdbType(t.keyType)}, ${duckdbType(t.valueType)})`;
  }
  throw new DeltaError('unsupported', `Delta type ${JSON.stringify(t)} is not supported`);
}

/** The shape `columnTypesJson()` of @duckdb/node-api returns. */
export interface DuckDBTypeJson {
  typeId: number;
  width?: number;
  scale?: number;
  valueType?: DuckDBTypeJson;
  keyType?: DuckDBTypeJson;
  entryNames?: string[];
  entryTypes?: DuckDBTypeJson[];
}

// DuckDBTypeId values (stable in the C API).
const T = {
  BOOLEAN: 1, TINYINT: 2, SMALLINT: 3, INTEGER: 4, BIGINT: 5, UTINYINT: 6, USMALLINT: 7,
  UINTEGER: 8, UBIGINT: 9, FLOAT: 10, DOUBLE: 11, TIMESTAMP: 12, DATE: 13, TIME: 14,
  INTERVAL: 15, HUGEINT: 16, VARCHAR: 17, BLOB: 18, DECIMAL: 19, TIMESTAMP_S: 20,
  TIMESTAMP_MS: 21, TIMESTAMP_NS: 22, ENUM: 23, LIST: 24, STRUCT: 25, MAP: 26, UUID: 27,
  UNION: 28, BIT: 29, TIME_TZ: 30, TIMESTAMP_TZ: 31, UHUGEINT: 32, ARRAY: 33, SQLNULL: 36,
} as const;

/**
 * The Delta type that holds a DuckDB type. Types without an exact equivalent are widened to
 * one that holds every value (HUGEINT → decimal(38,0), UBIGINT → decimal(20,0), UUID → string,
 * TIMESTAMP_NS → timestamp at microseconds); types that cannot be held (INTERVAL, TIME, UNION,
 * BIT) are refused with the column's name. DuckDB's naive TIMESTAMP becomes `timestamp`
 * (an instant, read as UTC), because timestamp_ntz needs a reader feature older Sparks lack.
 */
export function deltaTypeFromDuckDB(t: DuckDBTypeJson, column: string): DeltaType {
  switch (t.typeId) {
    case T.BOOLEAN: return 'boolean';
    case T.TINYINT: return 'byte';
    case T.SMALLINT: case T.UTINYINT: return 'short';
    case T.INTEGER: case T.USMALLINT: return 'integer';
    case T.BIGINT: case T.UINTEGER: return 'long';
    case T.UBIGINT: return 'decimal(20,0)';
    case T.HUGEINT: case T.UHUGEINT: return 'decimal(38,0)';
    case T.FLOAT: return 'float';
    case T.DOUBLE: return 'double';
    case T.DECIMAL: return `decimal(${t.width ?? 18},${t.scale ?? 0})`;
    case T.VARCHAR: case T.UUID: case T.ENUM: case T.SQLNULL: return 'string';
    case T.BLOB: return 'binary';
    case T.DATE: return 'date';
    case T.TIMESTAMP: case T.TIMESTAMP_S: case T.TIMESTAMP_MS: case T.TIMESTAMP_NS: case T.TIMESTAMP_TZ:
      return 'timestamp';
    case T.LIST: case T.ARRAY:
      return { type: 'array', elementType: deltaTypeFromDuckDB(need(t.valueType, column), `${column}[]`), containsNull: true };
    case T.MAP:
      return {
        type: 'map',
        keyType: deltaTypeFromDuckDB(need(t.keyType, column), `${column}.key`),
        valueType: deltaTypeFromDuckDB(need(t.valueType, column), `${column}.value`),
        valueContainsNull: true,
      };
    case T.STRUCT: {
      const names = t.entryNames ?? [];
      return {
        type: 'struct',
        fields: names.map((name, i) => ({
          name,
          type: deltaTypeFromDuckDB(need(t.entryTypes?.[i], column), `${column}.${name}`),
          nullable: true,
          metadata: {},
        })),
      };
    }
    default:
      throw new DeltaError(
        'unsupported',
        `column "${column}" has DuckDB type id ${t.typeId} (${typeName(t.typeId)}), which Delta cannot store; cast it first`,
      );
  }
}

function typeName(id: number): string {
  return Object.entries(T).find(([, v]) => v === id)?.[0] ?? 'unknown';
}

function need<X>(x: X | undefined, column: string): X {
  if (x === undefined) throw new DeltaError('invalid', `incomplete DuckDB type for column "${column}"`);
  return x;
}

export function schemaFromDuckDB(names: string[], types: DuckDBTypeJson[]): StructType {
  return {
    type: 'struct',
    fields: names.map((name, i) => ({
      name,
      type: deltaTypeFromDuckDB(need(types[i], name), name),
      nullable: true,
      metadata: {},
    })),
  };
}

/**
 * A SQL expression for a partition value as stored in `partitionValues` (PROTOCOL.md
 * "Partition Value Serialization"), typed from the schema: never guessed from folder names.
 */
export function partitionValueSql(value: string | null | undefined, t: DeltaType): string {
  const target = duckdbType(t);
  if (value === null || value === undefined) return `CAST(NULL AS ${target})`;
  if (t === 'binary') return `CAST(${sqlString(value)} AS BLOB)`;
  if (t === 'timestamp') {
    // Serialized either as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC) or ISO-8601 with a zone.
    const hasZone = /(Z|[+-]\d\d(:?\d\d)?)$/.test(value) && /[T ]\d/.test(value);
    return `CAST(${sqlString(hasZone ? value : value + '+00')} AS TIMESTAMPTZ)`;
  }
  return `CAST(${sqlString(value)} AS ${target})`;
}

/** Serialize a value read back from DuckDB (as its SQL text form) into `partitionValues`. */
export function partitionValueString(text: string | null, t: DeltaType): string | null {
  if (text === null) return null;
  if (t === 'timestamp') {
    // ISO-8601 in UTC with a Z (PROTOCOL.md "Partition Value Serialization"): the zone-less
    // form is read in the reader's session time zone by Spark. DuckDB prints
    // '2021-09-08 11:11:11.5+00'; Spark writes '2021-09-08T11:11:11.500000Z'.
    const m = /^(-?\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00(?::00)?$/.exec(text);
    if (m) return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}Z`;
  }
  return text;
}

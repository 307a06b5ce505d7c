/**
 * A generated data set as silver-shaped Parquet (certificates.parquet, observations.parquet):
 * the columns and types of the lake's silver tables (DESIGN.md's contract, as
 * src/pipeline/silver.ts writes them), less the lineage columns, which name bronze files that
 * do not exist here. Certificates are every one of the N (and the CA certificates sessions
 * send), each parsed with our parser as ingest would; first_seen and last_seen come from the
 * sessions that carried it, null for one never sent in clear.
 *
 * Certificates are made once, in index order. A session names its certificates by index and
 * DuckDB joins their fingerprints in: rebuilding a DER per session to hash it (what the log
 * writers do, through a cache that misses when millions of certificates are drawn from) cost
 * most of a large run. The session columns that depend on the hellos come from a cache keyed
 * by what they depend on (sessions.ts Hellos), the same facts the log writers use.
 *
 * Memory stays bounded at any size: rows go from JS to DuckDB through NDJSON parts of at most
 * PART_ROWS rows (src/pipeline/stage.ts, written with backpressure), each turned into a
 * Parquet part (while JS stages the next) and deleted, and the parts are then read into the
 * one output file. Row numbers staged with the rows put them back in order, so one seed gives
 * the same rows in the same order, and the same bytes.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ROW_GROUP_ROWS as LAKE_ROW_GROUP_ROWS } from '../lake/parquet.js';
import { sqlString } from '../lake/schema.js';
import { CERT_FIELDS, msToTimestamp, OBS_FIELDS } from '../pipeline/columns.js';
import { Stage } from '../pipeline/stage.js';
import { shannonEntropy } from '../sources/certfile.js';
import { registeredDomain } from '../sources/domain.js';
import { parseCertificate } from '../x509/index.js';
import { CA_NAMES, type ScaleModel, type ScaleSession } from './scale.js';
import { Hellos, sessionUid } from './sessions.js';
import { CIPHER_NAMES } from './tls.js';

/** Rows per NDJSON part: ~0.5 GB of NDJSON at most on disk at a time. */
export const PART_ROWS = 1_000_000;

/** What the certificates' rows are staged as: the source record's columns less what only a log has, with their index. */
const CERT_STAGED: [string, string][] = [['cert_id', 'VARCHAR'], ...CERT_FIELDS.filter(([n]) => !['ts', 'host_cert', 'client_cert'].includes(n))];
const CERT_STAGED_ROWS: [string, string][] = [['row', 'BIGINT'], ...CERT_STAGED];
/** A session's row as staged: its position, what it carries itself, and its certificates by index. */
const OBS_STAGED: [string, string][] = [
  ['row', 'BIGINT'], ['ts', 'DOUBLE'], ['uid', 'VARCHAR'], ['src_ip', 'VARCHAR'], ['src_port', 'INTEGER'], ['dest_ip', 'VARCHAR'], ['dest_port', 'INTEGER'],
  ['server_name', 'VARCHAR'], ['tls_version', 'VARCHAR'], ['cipher', 'VARCHAR'], ['ja3', 'VARCHAR'], ['ja3s', 'VARCHAR'], ['ja4', 'VARCHAR'],
  ['leaf', 'BIGINT'], ['ca', 'BIGINT'], ['established', 'BOOLEAN'],
];
/** observations.parquet's columns in silver's order, from the staged row `o` and the joined certificates `leaf` and `ca`. */
const OBS_OUT: [string, string][] = [
  ...OBS_FIELDS.filter(([n]) => n !== 'chain_fuids').map(([n]): [string, string] => {
    switch (n) {
      case 'ts': return [n, msToTimestamp('o.ts')];
      case 'cert_sha256': return [n, 'leaf.sha256'];
      case 'cert_sha1': return [n, 'leaf.sha1'];
      case 'chain_sha256': return [n, 'CASE WHEN leaf.sha256 IS NULL THEN []::VARCHAR[] WHEN ca.sha256 IS NULL THEN [leaf.sha256] ELSE [leaf.sha256, ca.sha256] END'];
      case 'validation_status': case 'rdns': case 'country': case 'subject': case 'issuer': return [n, 'CAST(NULL AS VARCHAR)'];
      default: return [n, `o."${n}"`];
    }
  }),
  ['cert_id', 'leaf.sha256'],
  ['source', "'generate'"],
];
const TIMES = new Set(['not_valid_before', 'not_valid_after']);
const typed = (fields: [string, string][]) => fields.map(([n]) => (TIMES.has(n) ? `${msToTimestamp(`"${n}"`)} AS "${n}"` : `"${n}"`)).join(', ');

export interface ParquetProgress {
  table: 'observations' | 'certificates';
  rows: number;
  total: number;
}

export interface ParquetResult {
  observations: number;
  certificates: number;
}

/** Writes DIR/certificates.parquet and DIR/observations.parquet; `sessions` are the model's, in order. */
export async function writeSilverParquet(
  model: ScaleModel,
  sessions: Iterable<ScaleSession>,
  dir: string,
  conn: DuckDBConnection,
  options: { onProgress?: (p: ParquetProgress) => void; partRows?: number } = {},
): Promise<ParquetResult> {
  const onProgress = options.onProgress ?? (() => {});
  const partRows = options.partRows ?? PART_ROWS;
  const work = join(dir, '.parts');
  await fs.rm(work, { recursive: true, force: true });
  await fs.mkdir(work, { recursive: true });
  // The caller's connection gets its setting back (a lake writer refuses to write with it on).
  const kept = (await conn.runAndReadAll("SELECT current_setting('preserve_insertion_order') AS v")).getRows()[0]![0];
  await conn.run('SET preserve_insertion_order = true');
  try {
    const certs = await writeTable(conn, work, 'certificates', CERT_STAGED_ROWS, certificateRows(model), model.certificateCount + model.caCertificates().length, partRows, onProgress);
    const obs = await writeTable(conn, work, 'observations', OBS_STAGED, observationRows(model, sessions), model.sessionCount, partRows, onProgress);
    const certParts = `read_parquet([${certs.parts.map(sqlString).join(', ')}])`;
    const obsParts = `read_parquet([${obs.parts.map(sqlString).join(', ')}])`;
    await copy(conn, `SELECT ${OBS_OUT.map(([n, e]) => `${e} AS "${n}"`).join(', ')}
      FROM ${obsParts} o
      LEFT JOIN (SELECT row, sha256, sha1 FROM ${certParts}) leaf ON leaf.row = o.leaf
      LEFT JOIN (SELECT row, sha256 FROM ${certParts} WHERE row >= ${model.certificateCount}) ca ON ca.row = o.ca
      ORDER BY o.row`, join(dir, 'observations.parquet'), 'observations');

    // Seen: every certificate of a chain, leaf or CA, at the time of the session that sent it;
    // one narrow row per certificate in certificate order, so that the wide rows are paired
    // with theirs by position (sorting the wide rows, DER and all, is costly).
    const seenFile = join(work, 'seen.parquet');
    await copy(conn, `SELECT c.row, s.first_seen, s.last_seen
      FROM (SELECT row FROM ${certParts}) c
      LEFT JOIN (SELECT row, min(ts) AS first_seen, max(ts) AS last_seen
                 FROM (SELECT leaf AS row, ts FROM ${obsParts} WHERE leaf IS NOT NULL UNION ALL SELECT ca, ts FROM ${obsParts} WHERE ca IS NOT NULL)
                 GROUP BY row) s ON s.row = c.row
      ORDER BY c.row`, seenFile, 'observations');
    await removeAll(obs.parts);
    await copy(conn, `SELECT ${typed(CERT_STAGED)}, ${msToTimestamp('s.first_seen')} AS first_seen, ${msToTimestamp('s.last_seen')} AS last_seen, ['generate'] AS sources,
        length(subject) AS subject_length, length(issuer) AS issuer_length,
        date_diff('second', ${msToTimestamp('not_valid_before')}, ${msToTimestamp('not_valid_after')}) / 86400.0 AS validity_days
      FROM ${certParts} POSITIONAL JOIN read_parquet(${sqlString(seenFile)}) s`, join(dir, 'certificates.parquet'), 'certificates');
    return { observations: obs.rows, certificates: certs.rows };
  } finally {
    await conn.run(`SET preserve_insertion_order = ${kept === true || kept === 'true'}`);
    await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * Rows per row group. DuckDB fills a whole row group in memory before writing it (per thread,
 * and ROW_GROUP_SIZE_BYTES is ignored while insertion order is kept): its default 122,880 rows
 * of certificates, ~3 KB each with the DER, ran out of the engine's 448 MB at 100k certificates.
 * Certificates take the lake's limit, for the reason it gives; observations are narrow.
 */
const ROW_GROUP_ROWS = { certificates: LAKE_ROW_GROUP_ROWS, observations: 65_536 } as const;

async function copy(conn: DuckDBConnection, select: string, file: string, table: keyof typeof ROW_GROUP_ROWS): Promise<void> {
  try {
    await conn.run(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS[table]})`);
  } catch (e) {
    throw new Error(`writing ${file}: ${(e as Error).message}`);
  }
}

async function removeAll(files: string[]): Promise<void> {
  for (const f of files) await fs.rm(f, { force: true });
}

/**
 * Rows staged as NDJSON and turned into Parquet parts, PART_ROWS at a time (staged values,
 * untyped times). DuckDB converts a part while JS stages the next: on two cores, the two
 * overlap instead of taking turns.
 */
async function writeTable(
  conn: DuckDBConnection,
  work: string,
  table: ParquetProgress['table'],
  fields: [string, string][],
  rows: Iterable<Record<string, unknown>>,
  total: number,
  partRows: number,
  onProgress: (p: ParquetProgress) => void,
): Promise<{ rows: number; parts: string[] }> {
  const parts: string[] = [];
  let stage: Stage | null = null;
  /** The part DuckDB is writing, if any; at most one at a time (one connection). */
  let converting: Promise<void> | null = null;
  let count = 0;
  const finish = async () => {
    if (!stage) return;
    const s = stage;
    stage = null;
    await s.close();
    await converting;
    const part = join(work, `${table}-${String(parts.length).padStart(5, '0')}.parquet`);
    parts.push(part);
    const done = copy(conn, s.select(fields), part, table).finally(() => s.remove());
    // Awaited at the next part or the end; until then a failure must not go unhandled.
    done.catch(() => {});
    converting = done;
  };
  try {
    for (const row of rows) {
      stage ??= new Stage(work);
      await stage.write(row);
      count++;
      if (count % 65_536 === 0) onProgress({ table, rows: count, total });
      if (stage.rows >= partRows) await finish();
    }
    await finish();
    await converting;
  } finally {
    await (stage as Stage | null)?.remove();
    await (converting as Promise<void> | null)?.catch(() => {});
  }
  // An empty table still has its columns.
  if (parts.length === 0) {
    const empty = join(work, `${table}-empty.parquet`);
    await copy(conn, `SELECT ${fields.map(([n, t]) => `CAST(NULL AS ${t}) AS "${n}"`).join(', ')} LIMIT 0`, empty, table);
    parts.push(empty);
  }
  onProgress({ table, rows: count, total });
  return { rows: count, parts };
}

function* observationRows(model: ScaleModel, sessions: Iterable<ScaleSession>): Generator<Record<string, unknown>> {
  const hellos = new Hellos();
  // The CA certificates come after the N in certificates.parquet.
  const caRow = new Map<string, number>(CA_NAMES.map((n, k) => [n, model.certificateCount + k]));
  let row = 0;
  for (const s of sessions) {
    if (s.chain.length > 2 || (s.chain.length > 0 && s.chain[0] !== `cert/${s.certificate}`) || (s.chain.length === 2 && !caRow.has(s.chain[1]!))) {
      throw new Error(`session ${row}: chain ${JSON.stringify(s.chain)} is not its certificate and at most a CA`);
    }
    const client = hellos.client(s);
    yield {
      row,
      // Zeek's ssl.log time (the ClientHello), as silver has it from Zeek.
      ts: s.ts + client.offset,
      uid: sessionUid(row++),
      src_ip: s.client.ip,
      src_port: s.client.port,
      dest_ip: s.server.ip,
      dest_port: s.server.port,
      server_name: s.sni,
      tls_version: s.version ?? 'TLSv12',
      cipher: CIPHER_NAMES[s.cipher],
      ja3: client.ja3.md5,
      ja3s: hellos.server(s).md5,
      ja4: client.ja4,
      leaf: s.chain.length > 0 ? s.certificate : null,
      ca: s.chain.length === 2 ? caRow.get(s.chain[1]!) : null,
      established: s.established ?? true,
    };
  }
}

function* certificateRows(model: ScaleModel): Generator<Record<string, unknown>> {
  const ders = function* () {
    for (let i = 0; i < model.certificateCount; i++) yield model.certificateAt(i).der;
    for (const [, der] of model.caCertificates()) yield der;
  };
  let row = 0;
  for (const der of ders()) {
    // Signatures are random bytes: checking one would only say "no", so self_signed stays unknown.
    const c = parseCertificate(der, { selfSigned: 'never' });
    const domains = new Set<string>();
    for (const n of [c.common_name, ...c.subject_alternative_names]) {
      const d = registeredDomain(n);
      if (d) domains.add(d);
    }
    yield { row: row++, ...c, cert_id: c.sha256, cn_entropy: shannonEntropy(c.common_name), registered_domains: [...domains] };
  }
}

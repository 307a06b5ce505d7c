/**
 * A generated data set as silver-shaped Parquet (certificates.parquet, observations.parquet):
 * the columns and types of the lake's silver tables (DESIGN.md's contract, as
 * src/pipeline/silver.ts writes them), less the lineage columns, which name bronze files that
 * do not exist here. Certificates are every one of the N (and the CA certificates sessions
 * send), each parsed with our parser as ingest would; first_seen and last_seen come from the
 * sessions that carried it, null for one never sent in clear.
 *
 * Memory stays bounded at any size: rows go from JS to DuckDB through NDJSON parts of at most
 * PART_ROWS rows (src/pipeline/stage.ts, written with backpressure), each turned into a
 * Parquet part and deleted, and the parts are then read into the one output file. DuckDB
 * keeps insertion order here (the engine's default does not), so one seed gives the same rows
 * in the same order, and the same bytes.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { sqlString } from '../lake/schema.js';
import { CERT_FIELDS, msToTimestamp, OBS_FIELDS } from '../pipeline/columns.js';
import { Stage } from '../pipeline/stage.js';
import { shannonEntropy } from '../sources/certfile.js';
import { registeredDomain } from '../sources/domain.js';
import { parseCertificate } from '../x509/index.js';
import { Lru } from './lru.js';
import type { ScaleModel } from './scale.js';
import { CERTIFICATE_CACHE, eachSession, type SessionStream } from './sessions.js';

/** Rows per NDJSON part: ~0.5 GB of NDJSON at most on disk at a time. */
export const PART_ROWS = 1_000_000;

/** What the certificates' rows are staged as: the source record's columns less what only a log has. */
const CERT_STAGED: [string, string][] = [['cert_id', 'VARCHAR'], ...CERT_FIELDS.filter(([n]) => !['ts', 'host_cert', 'client_cert'].includes(n))];
/** Staged with their position, which pairs them with their seen times. */
const CERT_STAGED_ROWS: [string, string][] = [['row', 'BIGINT'], ...CERT_STAGED];
const OBS_STAGED: [string, string][] = [...OBS_FIELDS.filter(([n]) => n !== 'chain_fuids'), ['cert_id', 'VARCHAR'], ['source', 'VARCHAR']];
const TIMES = new Set(['ts', 'not_valid_before', 'not_valid_after']);
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

/** Writes DIR/observations.parquet, then DIR/certificates.parquet (which needs the sessions' times). */
export async function writeSilverParquet(
  model: ScaleModel,
  stream: SessionStream,
  dir: string,
  conn: DuckDBConnection,
  options: { onProgress?: (p: ParquetProgress) => void; partRows?: number } = {},
): Promise<ParquetResult> {
  const onProgress = options.onProgress ?? (() => {});
  const partRows = options.partRows ?? PART_ROWS;
  const work = join(dir, '.parts');
  await fs.rm(work, { recursive: true, force: true });
  await fs.mkdir(work, { recursive: true });
  await conn.run('SET preserve_insertion_order = true');
  try {
    const observations = await writeTable(conn, work, 'observations', OBS_STAGED, observationRows(stream), model.sessionCount, partRows, onProgress);
    const obsFile = join(dir, 'observations.parquet');
    await copy(conn, `SELECT ${typed(OBS_STAGED)} FROM read_parquet([${observations.parts.map(sqlString).join(', ')}])`, obsFile, 'observations');
    await removeAll(observations.parts);

    const certs = await writeTable(conn, work, 'certificates', CERT_STAGED_ROWS, certificateRows(model), model.certificateCount + model.caCertificates().length, partRows, onProgress);
    const certParts = `read_parquet([${certs.parts.map(sqlString).join(', ')}])`;
    // Seen: every certificate of a chain, leaf or CA, at the time of the session that sent it;
    // one narrow row per certificate in certificate order, so that the wide rows are paired
    // with theirs by position: a hash join's output order is the engine's to choose (it
    // differed with the number of parts), and sorting the wide rows (DER and all) is costly.
    const seenFile = join(work, 'seen.parquet');
    await copy(conn, `SELECT c.row, s.first_seen, s.last_seen
      FROM (SELECT row, sha256 FROM ${certParts}) c
      LEFT JOIN (SELECT sha, min(ts) AS first_seen, max(ts) AS last_seen
                 FROM (SELECT unnest(chain_sha256) AS sha, ts FROM read_parquet(${sqlString(obsFile)})) GROUP BY sha) s ON s.sha = c.sha256
      ORDER BY c.row`, seenFile, 'observations');
    await copy(conn, `SELECT ${typed(CERT_STAGED)}, s.first_seen, s.last_seen, ['generate'] AS sources,
        length(subject) AS subject_length, length(issuer) AS issuer_length,
        date_diff('second', ${msToTimestamp('not_valid_before')}, ${msToTimestamp('not_valid_after')}) / 86400.0 AS validity_days
      FROM ${certParts} POSITIONAL JOIN read_parquet(${sqlString(seenFile)}) s`, join(dir, 'certificates.parquet'), 'certificates');
    return { observations: observations.rows, certificates: certs.rows };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * Rows per row group. DuckDB fills a whole row group in memory before writing it (per thread,
 * and ROW_GROUP_SIZE_BYTES is ignored while insertion order is kept): its default 122,880 rows
 * of certificates, ~3 KB each with the DER, ran out of the engine's 448 MB at 100k certificates.
 */
const ROW_GROUP_ROWS = { certificates: 16_384, observations: 65_536 } as const;

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

/** Rows staged as NDJSON and turned into Parquet parts, PART_ROWS at a time (staged values, untyped times). */
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
  let count = 0;
  const finish = async () => {
    if (!stage) return;
    const s = stage;
    stage = null;
    await s.close();
    const part = join(work, `${table}-${String(parts.length).padStart(5, '0')}.parquet`);
    try {
      await copy(conn, s.select(fields), part, table);
    } finally {
      await s.remove();
    }
    parts.push(part);
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
  } finally {
    await (stage as Stage | null)?.remove();
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

function* observationRows(stream: SessionStream): Generator<Record<string, unknown>> {
  // SHA-1 of a leaf, by its SHA-256: a session log rarely has it, a generator can say.
  const sha1 = new Lru<string, string>(CERTIFICATE_CACHE);
  for (const f of eachSession(stream)) {
    const s = f.spec;
    const leaf = f.chainSha256[0] ?? null;
    yield {
      // Zeek's ssl.log time (the ClientHello), as silver has it from Zeek.
      ts: f.times.clientHello,
      uid: f.uid,
      src_ip: s.client.ip,
      src_port: s.client.port,
      dest_ip: s.server.ip,
      dest_port: s.server.port,
      server_name: s.sni,
      tls_version: f.version,
      cipher: f.cipherName,
      ja3: f.ja3.md5,
      ja3s: f.ja3s.md5,
      ja4: f.ja4,
      cert_sha256: leaf,
      cert_sha1: leaf === null ? null : sha1.through(leaf, () => createHash('sha1').update(f.ders[0]!).digest('hex')),
      chain_sha256: f.chainSha256,
      established: f.established,
      validation_status: null,
      rdns: null,
      country: null,
      subject: null,
      issuer: null,
      cert_id: leaf,
      source: 'generate',
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

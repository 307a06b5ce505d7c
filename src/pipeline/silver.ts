import { physicalRows } from '../lake/actions.js';
import { queryJson } from '../lake/parquet.js';
import { dvWritable, ENABLE_DV } from '../lake/features.js';
import { optimize } from '../lake/maintenance.js';
import { quoteIdent, sqlString, tempTableName } from '../lake/schema.js';
import type { DeltaTable } from '../lake/table.js';
import { CERT_FIELDS, msToTimestamp, OBS_FIELDS, TIME_COLUMNS } from './columns.js';
import type { Lake } from './lake.js';
import { LARGE_ROWS_TAG, REJECTS } from './bronze.js';
import { LARGE_ROWS_CHARS } from './stage.js';

/**
 * Silver from bronze, incrementally: each bronze table's commits since the version silver last
 * consumed (recorded as an app transaction in the silver table, so the step is idempotent and
 * a crash between bronze and silver heals on the next run) become certificate upserts and
 * observation appends.
 *
 * Certificates are keyed by `cert_id`: the SHA-256 when known, else `sha1:<hex>` (Suricata logs
 * SHA-1 only), else `issuer-serial:<issuer>|<serial>` (pre-4.1 Zeek logs neither), which
 * RFC 5280 makes unique per CA.
 */
export const NOT_SOURCES = new Set([REJECTS, 'ingested_files']);
const ISSUER_SERIAL_ONLY = new Set(['zeek_known_certs']);

const CERT_KEY = `coalesce(lower(c.sha256), 'sha1:' || lower(c.sha1), CASE WHEN c.serial IS NOT NULL AND c.issuer IS NOT NULL THEN 'issuer-serial:' || c.issuer || '|' || lower(c.serial) END)`;
/** The key of a bronze row's `cert` struct. */
const BRONZE_CERT_KEY = CERT_KEY.replace(/c\./g, 'cert.');

/** Columns of silver.certificates in order (the DESIGN contract plus what sources give). */
const CERT_COLUMNS = CERT_FIELDS.filter(([n]) => !['ts', 'host_cert', 'client_cert'].includes(n)).map(([n]) => n);

/**
 * Silver takes the bronze commits since its last run a few at a time, each step its own silver
 * commit recording the bronze version it reached, so that an ingest of any size needs bounded
 * memory and a crash redoes one step. A step ends at SILVER_STEP_ROWS rows or, for wide rows,
 * at SILVER_STEP_BYTES of bronze (Parquet, as committed).
 *
 * Rows per step. Fewer, larger steps are both faster and leaner on memory: DuckDB spills what
 * one step cannot hold, while every further step is a merge that pairs the certificates it saw
 * again and hides their old rows. Silver alone on the bronze of a 5 GB plain Zeek x509.log
 * (7.1M rows; scratch, 384 MB): 171 s and 803 MiB peak RSS in ~350k-row steps, 116 s / 773 MiB
 * in 1M-row ones, 79 s / 719 MiB in 2M, 53 s / 758 MiB in 4M; 26 s / 731 MiB in 4M with the
 * two-pass batch of certificateBatch.
 */
export const SILVER_STEP_ROWS = 4_000_000;
/**
 * Bronze bytes per step when rows are wide (rows carrying the DER: Zeek's log-certs-base64, eve's
 * `certificate`, ~3 kB each). Larger steps are faster and leaner with them too, since the
 * two-pass batch no longer sorts their rows (a 1M-row step of them once ran out of DuckDB's
 * 448 MB doing so): silver alone on the bronze of 1 GB of Zeek log with DER (430k lines; scratch,
 * 384 MB) took 34 s and peaked at 763 MiB in 128 MB steps, 20 s / 672 MiB in 512 MB steps,
 * 10 s / 597 MiB in one step of 1.2 GB. A whole ingest of 5 GB with DER (bench/ingest.ts,
 * ingest-memory): 348 s / 904 MiB in 128 MB steps, 208–217 s / 835–861 MiB in these.
 */
export const SILVER_STEP_BYTES = 1024 * 1024 * 1024;
/** Bronze bytes per row past which rows are wide: Zeek's default x509 rows are ~370 B. */
export const WIDE_ROW_BYTES = 1024;

type Added = Awaited<ReturnType<DeltaTable['addedSince']>>;

/** How silver steps through bronze; the defaults are the constants here (tests take small ones). */
export interface StepLimits {
  rows: number;
  bytes: number;
  wideRowBytes: number;
  /** Purge hidden rows past this share of silver.certificates' stored rows (PURGE_DELETED_SHARE). */
  purgeShare: number;
}

/**
 * Consecutive bronze commits grouped into silver steps (see SILVER_STEP_ROWS); a commit is never
 * split. Commits with large rows (LARGE_ROWS_TAG) share a step only while those fit in
 * LARGE_ROWS_CHARS, as rows do in a bronze batch: the bronze of six rows of a 15 MB serial is a
 * few MB of Parquet (it compresses), far under the step's bytes, and silver ran out of memory
 * on them in one step.
 */
export function* silverSteps(added: Added, limits: Omit<StepLimits, 'purgeShare'>): Generator<{ version: number; files: Added['files']; snapshot: Added['snapshot'] }> {
  let files: Added['files'] = [];
  let rows = 0;
  let bytes = 0;
  let large = 0;
  let last = 0;
  for (const [i, c] of added.commits.entries()) {
    const commitLarge = c.files.reduce((n, f) => n + (Number(f.tags?.[LARGE_ROWS_TAG]) || 0), 0);
    if (commitLarge > 0 && large > 0 && large + commitLarge > LARGE_ROWS_CHARS) {
      yield { version: last, files, snapshot: added.snapshot };
      files = [];
      rows = 0;
      bytes = 0;
      large = 0;
    }
    large += commitLarge;
    last = c.version;
    files.push(...c.files);
    rows += c.files.reduce((n, f) => n + (physicalRows(f) ?? 0), 0);
    bytes += c.files.reduce((n, f) => n + f.size, 0);
    const wide = bytes > rows * limits.wideRowBytes;
    if (rows >= limits.rows || (wide && bytes >= limits.bytes) || i === added.commits.length - 1) {
      yield { version: c.version, files, snapshot: added.snapshot };
      files = [];
      rows = 0;
      bytes = 0;
      large = 0;
    }
  }
}

export interface SilverResult {
  certificates: { inserted: number; updated: number };
  observations: number;
  consumed: string[];
}

export async function refreshSilver(lake: Lake, bronzeTables: string[], steps: Partial<StepLimits> = {}): Promise<SilverResult> {
  const limits: StepLimits = { rows: SILVER_STEP_ROWS, bytes: SILVER_STEP_BYTES, wideRowBytes: WIDE_ROW_BYTES, purgeShare: PURGE_DELETED_SHARE, ...steps };
  const result: SilverResult = { certificates: { inserted: 0, updated: 0 }, observations: 0, consumed: [] };
  const certs = await lake.table('silver', 'certificates');
  const obs = await lake.table('silver', 'observations');
  // Sources that fingerprint certificates first, so that rows known only by issuer and serial
  // (known_certs) find the fingerprinted certificate they stand for in the same run.
  const ordered = [...bronzeTables].sort((a, b) => Number(ISSUER_SERIAL_ONLY.has(a)) - Number(ISSUER_SERIAL_ONLY.has(b)) || a.localeCompare(b));
  // Certificates of every source first, then observations, so a session finds the
  // certificate it names whichever log came first.
  const pending: { name: string; bronze: DeltaTable; appId: string }[] = [];
  for (const name of ordered) {
    if (NOT_SOURCES.has(name)) continue;
    const bronze = await lake.table('bronze', name);
    if (await bronze.exists()) pending.push({ name, bronze, appId: `bronze/${name}` });
  }
  for (const { name, bronze, appId } of pending) {
    for (const chunk of silverSteps(await bronze.addedSince(await consumedVersion(certs, appId)), limits)) {
      const plan = await bronze.scan({ snapshot: { ...chunk.snapshot, files: chunk.files }, fileColumn: BRONZE_FILE, rowColumn: BRONZE_ROW });
      const r = await upsertCertificates(certs, plan.sql, name, { appId, version: chunk.version });
      result.certificates.inserted += r.inserted;
      result.certificates.updated += r.updated;
      if (!result.consumed.includes(name)) result.consumed.push(name);
      // Between steps, not once at the end: each step's merge reads the whole table, its
      // deletion vectors' rows included, and a 5 GB log with DER had 850k rows hidden by step 34.
      await purgeDeleted(certs, limits.purgeShare);
    }
  }
  const fuids = await fuidIndex(lake, certs);
  for (const { name, bronze, appId } of pending) {
    for (const chunk of silverSteps(await bronze.addedSince(await consumedVersion(obs, appId)), limits)) {
      // Files holding no observation (a certificate log) are skipped by their `kind` stats.
      const plan = await bronze.scan({ snapshot: { ...chunk.snapshot, files: chunk.files }, filters: [{ column: 'kind', op: '=', value: 'observation' }] });
      if (plan.files.length === 0) {
        await markConsumed(obs, appId, chunk.version);
        continue;
      }
      result.observations += await appendObservations(obs, plan.sql, name, { appId, version: chunk.version }, fuids);
      if (!result.consumed.includes(name)) result.consumed.push(name);
    }
  }
  return result;
}

/**
 * Pre-4.1 Zeek names a session's certificates by file id (fuid), which only x509.log's `id`
 * ties to a certificate: file id → issuer and serial → the silver certificate.
 */
async function fuidIndex(lake: Lake, certs: DeltaTable): Promise<string | undefined> {
  const x509 = await lake.table('bronze', 'zeek_x509');
  if (!(await x509.exists()) || !(await certs.exists())) return undefined;
  const b = (await x509.scan({ columns: ['raw', 'cert', 'kind'] })).sql;
  const c = (await certs.scan({ columns: ['cert_id', 'issuer', 'serial'] })).sql;
  // TRY: raw is the line as read, and DuckDB refuses some JSON that JavaScript reads (a lone
  // surrogate's \udc00 escape); such a line then links nothing, where it failed every step.
  const fuid = `TRY(json_extract_string(x.raw, '$.id'))`;
  return `SELECT ${fuid} AS fuid, any_value(coalesce(s.cert_id, ${CERT_KEY.replace(/c\./g, 'x.cert.')})) AS cert_id
    FROM (${b}) x LEFT JOIN (${c}) s ON s.issuer = x.cert.issuer AND lower(s.serial) = lower(x.cert.serial)
    WHERE x.kind = 'certificate' AND ${fuid} IS NOT NULL GROUP BY 1`;
}

/**
 * Share of silver.certificates' stored rows that deletion vectors may hide before a step purges
 * them (OPTIMIZE): each hidden row costs every reader a lookup, and every step's merge hides the
 * certificates it saw again. A query that skips N hidden rows costs DuckDB ~18 MB per 100k of
 * them, mostly outside its memory limit (scratch, DuckDB 1.5), so hidden rows are a memory cost
 * as much as a time one. Purging once a quarter is stale keeps the rewrite amortised.
 */
export const PURGE_DELETED_SHARE = 0.25;

async function purgeDeleted(certs: DeltaTable, share: number): Promise<void> {
  let rows = 0;
  let deleted = 0;
  for (const f of (await certs.snapshot()).files) {
    rows += physicalRows(f) ?? 0;
    deleted += Number(f.deletionVector?.cardinality ?? 0);
  }
  if (deleted > rows * share) await optimize(certs);
}

async function consumedVersion(table: DeltaTable, appId: string): Promise<number> {
  if (!(await table.exists())) return -1;
  return (await table.snapshot()).txns.get(appId)?.version ?? -1;
}

/** Where a bronze row is (its file in the step's scan, its row in that file): pass 2 fetches the winners by it. */
const BRONZE_FILE = '__bronze_file';
const BRONZE_ROW = '__bronze_row';

/**
 * One row per certificate of a bronze batch. Rows known only by issuer and serial (Zeek's
 * known_certs, pre-4.1 x509) take the id of a fingerprinted certificate with the same issuer
 * and serial, from this batch or from silver, so one certificate stays one row.
 *
 * The best sighting of each certificate (one with the DER, else the fullest, then the latest)
 * stands for it. Two passes over the batch: the first groups narrow rows (key, rank, time,
 * where the row is) to find each certificate's winner and its first and last sighting; the
 * second reads the winners' whole rows by where they are. Ranking whole rows in one window
 * sorted them all, wide as they are: 4.4 s of a 5.3 s silver on the 1M-record log of
 * bench/ingest.ts, which takes 3.5 s this way; an aggregate holding whole rows (arg_max of the
 * row) ran out of memory.
 *
 * `bronzeSql` must tag rows with BRONZE_FILE and BRONZE_ROW (DeltaTable.scan's fileColumn and
 * rowColumn). `lookup` is null when the batch has no row known by issuer and serial alone: the
 * lookup's CTEs then go.
 */
function certificateBatch(bronzeSql: string, source: string, lookup: { silverSql: string | undefined } | null): { winners: string; rows: (winners: string) => string } {
  const silverSql = lookup?.silverSql;
  const cols = CERT_COLUMNS.map((n) => {
    const col = `b.cert.${quoteIdent(n)}`;
    return `${TIME_COLUMNS.has(n) ? msToTimestamp(col) : col} AS ${quoteIdent(n)}`;
  });
  const known = `SELECT issuer, lower(serial) AS serial, cert_id FROM c0 WHERE cert_id NOT LIKE 'issuer-serial:%'${
    silverSql ? ` UNION ALL SELECT issuer, lower(serial), cert_id FROM (${silverSql}) WHERE cert_id NOT LIKE 'issuer-serial:%'` : ''
  }`;
  // Only the pairs this batch asks about: a semi-join against the (usually empty) set of rows
  // known by issuer and serial alone, instead of grouping all of silver, which grew an ingest's
  // memory with the size of silver (bench/ingest.ts, 5 GB: 1.5 GiB by the last step).
  const wanted = `SELECT DISTINCT issuer, lower(serial) AS serial FROM c0 WHERE cert_id LIKE 'issuer-serial:%'`;
  // Rank: the DER, a subject, an expiry; then the latest sighting, then the later line, so that
  // ties within a file break the same way every run (only sightings from two files at the same
  // time and line can still tie).
  const rank = `((cert.der IS NOT NULL)::INT * 100 + (cert.subject IS NOT NULL)::INT * 10 + (cert.not_valid_after IS NOT NULL)::INT, coalesce(cert.ts, '-infinity'::DOUBLE), _source_pos)`;
  const winners = `WITH c0 AS (
      SELECT ${BRONZE_CERT_KEY} AS cert_id, cert.issuer AS issuer, cert.serial AS serial, cert.ts AS ts, ${rank} AS __rank,
             struct_pack(f := ${BRONZE_FILE}, r := ${BRONZE_ROW}) AS __at
      FROM (${bronzeSql}) WHERE kind = 'certificate'),
    ${lookup ? `wanted AS (${wanted}),
    known AS (SELECT issuer, serial, min(cert_id) AS cert_id FROM (${known}) k WHERE EXISTS (SELECT 1 FROM wanted w WHERE w.issuer = k.issuer AND w.serial = k.serial) GROUP BY issuer, serial),
    -- Equality keys only in ON, so the join is hashed (with the LIKE there it was a nested loop).
    c1 AS (SELECT c0.* REPLACE (CASE WHEN c0.cert_id LIKE 'issuer-serial:%' THEN coalesce(k.cert_id, c0.cert_id) ELSE c0.cert_id END AS cert_id) FROM c0
          LEFT JOIN known k ON k.issuer = c0.issuer AND k.serial = lower(c0.serial))` : 'c1 AS (SELECT * FROM c0)'}
    SELECT cert_id, arg_max(__at, __rank) AS __at, min(ts) AS __first, max(ts) AS __last FROM c1 WHERE cert_id IS NOT NULL GROUP BY cert_id`;
  const rows = (table: string) => `SELECT w.cert_id, ${cols.join(', ')},
           ${msToTimestamp('w.__first')} AS first_seen, ${msToTimestamp('w.__last')} AS last_seen,
           [${sqlString(source)}] AS sources
    FROM (${bronzeSql}) b JOIN ${table} w ON b.${BRONZE_FILE} = w.__at.f AND b.${BRONZE_ROW} = w.__at.r`;
  return { winners, rows };
}

function withDerived(sql: string): string {
  return `SELECT *, length(subject) AS subject_length,
      length(issuer) AS issuer_length,
      date_diff('second', not_valid_before, not_valid_after) / 86400.0 AS validity_days
    FROM (${sql})`;
}

async function upsertCertificates(certs: DeltaTable, bronzeSql: string, source: string, txn: { appId: string; version: number }): Promise<{ inserted: number; updated: number }> {
  // Silver is looked up by issuer and serial only for a batch with certificates known by
  // nothing else (pre-4.1 x509, known_certs): a scan of all of silver is the cost of every
  // step otherwise, and its deletion vectors' row lists sit in the query text.
  const byIssuerSerial = await queryJson(certs.conn, `SELECT 1 AS x FROM (${bronzeSql}) WHERE kind = 'certificate' AND ${BRONZE_CERT_KEY} LIKE 'issuer-serial:%' LIMIT 1`);
  const lookup = byIssuerSerial.length
    ? { silverSql: (await certs.exists()) ? (await certs.scan({ columns: ['cert_id', 'issuer', 'serial'] })).sql : undefined }
    : null;
  const { winners, rows } = certificateBatch(bronzeSql, source, lookup);
  // The winners are a table of their own, so that DuckDB knows their number and hashes them,
  // not the step's bronze rows: planned as a subquery, the join hashed the wide side and ran out
  // of 384 MB on a 4M-row step (5 GB plain Zeek log).
  const table = tempTableName('winners');
  await certs.conn.run(`CREATE TEMP TABLE ${table} AS ${winners}`);
  try {
    return await mergeCertificates(certs, withDerived(rows(table)), txn);
  } finally {
    await certs.conn.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

async function mergeCertificates(certs: DeltaTable, batch: string, txn: { appId: string; version: number }): Promise<{ inserted: number; updated: number }> {
  // Merge-on-read: a step writes its own certificates, not the table again (lake/merge.ts).
  if (!(await certs.exists())) {
    await certs.create({ from: `SELECT * FROM (${batch}) LIMIT 0`, ifNotExists: true, configuration: { [ENABLE_DV]: 'true' } });
  } else {
    const { protocol, metadata } = await certs.snapshot();
    if (!dvWritable(protocol, metadata)) await certs.enableDeletionVectors(); // a lake made before merges wrote DVs
  }
  // Existing values win unless the new sighting carries the DER and the old one did not: a
  // parsed certificate is the authority over a log line's copy of it.
  const set: Record<string, string> = {
    first_seen: 'least(t.first_seen, s.first_seen)',
    last_seen: 'greatest(t.last_seen, s.last_seen)',
    sources: 'list_sort(list_distinct(list_concat(t.sources, s.sources)))',
  };
  for (const n of [...CERT_COLUMNS, 'subject_length', 'issuer_length', 'validity_days']) {
    set[n] = `CASE WHEN t.der IS NULL AND s.der IS NOT NULL THEN s.${quoteIdent(n)} ELSE coalesce(t.${quoteIdent(n)}, s.${quoteIdent(n)}) END`;
  }
  const out = await certs.merge(batch, { on: ['cert_id'], set, txn, mergeSchema: true });
  const metrics = out.status === 'committed' ? await lastMetrics(certs) : {};
  return { inserted: Number(metrics.numTargetRowsInserted ?? 0), updated: Number(metrics.numTargetRowsUpdated ?? 0) };
}

async function appendObservations(obs: DeltaTable, bronzeSql: string, source: string, txn: { appId: string; version: number }, fuids: string | undefined): Promise<number> {
  // The file-id link reads every x509 line of bronze, JSON and all: only for a step that has a
  // session known by file ids alone (pre-4.1 Zeek), not for every step of a current log.
  if (fuids) {
    const byFuid = await queryJson(obs.conn, `SELECT 1 AS x FROM (${bronzeSql}) b WHERE b.kind = 'observation' AND b.obs.cert_sha256 IS NULL AND b.obs.cert_sha1 IS NULL AND len(b.obs.chain_fuids) > 0 LIMIT 1`);
    if (byFuid.length === 0) fuids = undefined;
  }
  const cols = OBS_FIELDS.filter(([n]) => n !== 'chain_fuids').map(([n]) => (n === 'ts' ? `${msToTimestamp('b.obs.ts')} AS ts` : `b.obs.${quoteIdent(n)}`));
  // cert_id joins a sighting to silver.certificates whatever the source logged of the leaf.
  const certId = `coalesce(lower(b.obs.cert_sha256), 'sha1:' || lower(b.obs.cert_sha1)${fuids ? ', f.cert_id' : ''})`;
  const join = fuids ? ` LEFT JOIN (${fuids}) f ON f.fuid = b.obs.chain_fuids[1]` : '';
  const sql = `SELECT ${cols.join(', ')}, ${certId} AS cert_id, ${sqlString(source)} AS source, b._source, b._source_pos, b._ingest_id FROM (${bronzeSql}) b${join} WHERE b.kind = 'observation'`;
  const out = await obs.append(sql, { txn, mergeSchema: true, createIfMissing: { from: `SELECT * FROM (${sql}) LIMIT 0` } });
  return out.status === 'committed' ? Number((await lastMetrics(obs)).numOutputRows ?? 0) : 0;
}

/** Record that silver has consumed a bronze version that held nothing for this table. */
async function markConsumed(table: DeltaTable, appId: string, version: number): Promise<void> {
  if (!(await table.exists())) return; // nothing to remember yet: the next run re-checks cheaply
  await table.commit(async (snapshot) =>
    (snapshot.txns.get(appId)?.version ?? -1) >= version
      ? { skip: 'already consumed' }
      : { actions: [{ txn: { appId, version, lastUpdated: table.now() } }], operation: 'SET TRANSACTION', operationParameters: {}, blindAppend: true, txns: [{ appId, version }] },
  );
}

async function lastMetrics(table: DeltaTable): Promise<Record<string, string>> {
  const [h] = await table.history(1);
  return (h?.commitInfo.operationMetrics as Record<string, string>) ?? {};
}

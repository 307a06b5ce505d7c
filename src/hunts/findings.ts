import type { DuckDBConnection } from '@duckdb/node-api';
import { Allowlist, type HuntConfig } from './config.js';
import type { Hunt, Severity } from './hunt.js';
import { huntSelect, HuntRunError, withHuntPath, type HuntRow } from './runner.js';
import { sqlString } from '../lake/schema.js';

/**
 * A hunt run: every hunt over the `hunt.*` views, the allowlists applied to every finding,
 * and a combined risk score per certificate and per destination IP (noisy-OR of the weighted
 * scores of the hunts that flagged it; an IP inherits the findings of the certificates it
 * served). All of it happens in DuckDB, in temp tables that spill: a run over tens of millions
 * of sightings flags hundreds of thousands of certificates, more than a JS heap should hold.
 * The callers read the ranked top (`topFindings`) and hand the tables to gold.
 */
export interface Finding extends HuntRow {
  attack: string[];
}

export interface Risk {
  entity_type: 'certificate' | 'ip';
  entity: string;
  score: number;
  severity: Severity;
  hunts: string[];
  findings: number;
}

export interface HuntRun {
  /** Temp tables holding the run: the columns of FINDING_COLUMNS / RISK_COLUMNS but run_id. */
  findingsTable: string;
  riskTable: string;
  findings: number;
  risk: number;
  /** Findings dropped by the allowlists, per hunt. */
  allowlisted: Record<string, number>;
  /** Hunts that could not run; the others' findings stand. */
  failed: HuntRunError[];
}

const T = {
  findings: '__certhunt_findings',
  risk: '__certhunt_risk',
  flagged: '__certhunt_flagged',
  allowed: '__certhunt_allowed',
  allowIp: '__certhunt_allow_ip',
  ipScores: '__certhunt_ip_scores',
} as const;

const list = (xs: string[]) => `CAST([${xs.map(sqlString).join(', ')}] AS VARCHAR[])`;

/** A name as the domain allowlist compares it: lower case, no `*.`, no trailing dot. */
const norm = (x: string) => `regexp_replace(regexp_replace(lower(${x}), '^\\*\\.', ''), '\\.$', '')`;
/** The name and every parent domain: a.b.x.com → [a.b.x.com, b.x.com, x.com, com]. */
const suffixes = (x: string) => `list_transform(range(1, len(string_split(${x}, '.')) + 1), i -> array_to_string(string_split(${x}, '.')[i:], '.'))`;
/** The address of an `ip` entity: `1.2.3.4:443` and `[2001:db8::1]:443` lose the port, bare IPv6 stays whole. */
const host = (x: string) =>
  `CASE WHEN ${x} LIKE '[%' THEN regexp_extract(${x}, '^\\[([^\\]]*)\\]', 1) WHEN length(${x}) - length(replace(${x}, ':', '')) = 1 THEN split_part(${x}, ':', 1) ELSE ${x} END`;

async function count(conn: DuckDBConnection, sql: string): Promise<number> {
  const r = (await conn.runAndReadAll(sql)).getRows()[0]?.[0];
  return Number(r ?? 0);
}

/**
 * Every hunt's rows into one table, one row per (hunt, entity), in the order the hunt gave them.
 * A hunt that fails (bad SQL in a user's file, memory it cannot get) is reported and skipped:
 * its INSERT rolls back whole, and the other hunts' findings still count.
 */
async function collect(conn: DuckDBConnection, hunts: Hunt[], log: (msg: string) => void): Promise<HuntRunError[]> {
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${T.findings} (n BIGINT, entity VARCHAR, score DOUBLE, first_seen VARCHAR, last_seen VARCHAR, evidence VARCHAR,
    hunt_id VARCHAR, entity_type VARCHAR, severity VARCHAR, title VARCHAR, attack VARCHAR[])`);
  const failed: HuntRunError[] = [];
  let offset = 0;
  for (const hunt of hunts) {
    try {
      const sql = await huntSelect(conn, hunt);
      try {
        await conn.run(`INSERT INTO ${T.findings} SELECT ${offset} + row_number() OVER (), * FROM (${sql})`);
      } catch (e) {
        throw new HuntRunError(hunt, `SQL failed: ${(e as Error).message.split('\n')[0]}`);
      }
    } catch (e) {
      if (!(e instanceof HuntRunError)) throw e;
      failed.push(e);
      log(e.message);
      continue;
    }
    // Hashes keep the distinct set small; a collision only sends the hunt through the exact path below.
    const [rows, distinct] = (await conn.runAndReadAll(`SELECT count(*), count(DISTINCT hash(entity)) FROM ${T.findings} WHERE n > ${offset}`)).getRows()[0]!.map(Number) as [number, number];
    if (rows !== distinct) {
      await conn.run(`DELETE FROM ${T.findings} WHERE n > ${offset} AND n NOT IN (SELECT min(n) FROM ${T.findings} WHERE n > ${offset} GROUP BY entity)`);
    }
    offset += rows;
    log(`${hunt.id}: ${rows} rows`);
  }
  return failed;
}

/**
 * The addresses the IP allowlist covers, among those the run can meet (servers of flagged
 * certificates, `ip` entities). CIDR matching stays in node:net's BlockList (IPv4 and IPv6);
 * only distinct addresses cross into JS, in chunks.
 */
async function allowedAddresses(conn: DuckDBConnection, allow: Allowlist): Promise<void> {
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${T.allowIp} (ip VARCHAR)`);
  const result = await conn.stream(`SELECT DISTINCT ip FROM (
      SELECT o.dest_ip AS ip FROM hunt.base_observations o SEMI JOIN ${T.flagged} f ON f.cert_id = o.cert_id
      UNION ALL SELECT ${host('entity')} FROM ${T.findings} WHERE entity_type = 'ip') WHERE ip IS NOT NULL`);
  // The stream must end before the connection runs anything else.
  const hit: string[] = [];
  for await (const rows of result.yieldRows()) for (const r of rows) if (allow.ip(String(r[0]))) hit.push(String(r[0]));
  for (let i = 0; i < hit.length; i += 1000) await conn.run(`INSERT INTO ${T.allowIp} VALUES ${hit.slice(i, i + 1000).map((ip) => `(${sqlString(ip)})`).join(', ')}`);
}

/**
 * (entity_type, entity) pairs the allowlists cover: a fingerprint, an issuer, every name under an
 * allowlisted domain, or every address it was served from in the IP list (certhunt.example.yaml).
 */
async function allowlisted(conn: DuckDBConnection, config: HuntConfig): Promise<void> {
  const a = config.allowlist;
  const allow = new Allowlist(a);
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${T.allowed} (entity_type VARCHAR, entity VARCHAR)`);
  if (a.fingerprints.length + a.domains.length + a.ips.length + a.issuers.length === 0) return;
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${T.flagged} AS SELECT DISTINCT entity AS cert_id FROM ${T.findings} WHERE entity_type = 'certificate'`);
  await allowedAddresses(conn, allow);
  const fps = list(a.fingerprints);
  const issuers = list(a.issuers);
  const domains = list(allow.domains);
  const domainOk = (x: string) => `len(list_intersect(${suffixes(norm(x))}, ${domains})) > 0`;
  await conn.run(`INSERT INTO ${T.allowed}
    WITH c AS (SELECT c.cert_id, c.sha1, c.sha256, c.issuer, list_filter(list_concat([c.common_name], c.subject_alternative_names), x -> x IS NOT NULL) AS names
               FROM hunt.base_certificates c SEMI JOIN ${T.flagged} f ON f.cert_id = c.cert_id),
    by_fact AS (SELECT cert_id FROM c WHERE list_contains(${fps}, lower(sha1)) OR list_contains(${fps}, lower(sha256)) OR list_contains(${issuers}, issuer)
                OR (len(names) > 0 AND list_bool_and(list_transform(names, n -> ${domainOk('n')})))),
    by_ip AS (SELECT o.cert_id FROM hunt.base_observations o SEMI JOIN ${T.flagged} f ON f.cert_id = o.cert_id LEFT JOIN ${T.allowIp} a ON a.ip = o.dest_ip
              WHERE o.dest_ip IS NOT NULL GROUP BY o.cert_id HAVING bool_and(a.ip IS NOT NULL)),
    unknown AS (SELECT cert_id FROM ${T.flagged} f ANTI JOIN c USING (cert_id) WHERE list_contains(${fps}, lower(regexp_replace(cert_id, '^sha1:', ''))))
    SELECT 'certificate', cert_id FROM (SELECT cert_id FROM by_fact UNION SELECT cert_id FROM by_ip UNION SELECT cert_id FROM unknown)
    UNION ALL SELECT DISTINCT entity_type, entity FROM ${T.findings} r WHERE
      (entity_type = 'ip' AND EXISTS (SELECT 1 FROM ${T.allowIp} a WHERE a.ip = ${host('r.entity')}))
      OR (entity_type = 'issuer' AND list_contains(${issuers}, entity))
      OR (entity_type = 'domain' AND ${domainOk('entity')})`);
}

/**
 * Per certificate and per destination IP: the noisy-OR of the best weighted score of each hunt
 * (1 - Π(1 - weight × score / 100), to one decimal). An address's share comes hunt by hunt, one pass over the sightings
 * joined to that hunt's certificates: the join's table is one hunt's findings, never the
 * product of all findings and all sightings.
 */
async function score(conn: DuckDBConnection, config: HuntConfig): Promise<void> {
  const w = Object.entries(config.weights);
  const weight = w.length ? `CASE hunt_id ${w.map(([id, x]) => `WHEN ${sqlString(id)} THEN ${x}`).join(' ')} ELSE 1 END` : '1';
  const t = config.thresholds;
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${T.ipScores} AS
    SELECT ${host('entity')} AS entity, hunt_id, max(score) AS score FROM ${T.findings} WHERE entity_type = 'ip' GROUP BY ALL`);
  const hunts = (await conn.runAndReadAll(`SELECT DISTINCT hunt_id FROM ${T.findings} WHERE entity_type = 'certificate' ORDER BY 1`)).getRows().map((r) => String(r[0]));
  for (const h of hunts) {
    await conn.run(`INSERT INTO ${T.ipScores}
      SELECT o.dest_ip, ${sqlString(h)}, max(f.score) FROM hunt.base_observations o
        JOIN (SELECT entity, score FROM ${T.findings} WHERE entity_type = 'certificate' AND hunt_id = ${sqlString(h)}) f ON f.entity = o.cert_id
        ANTI JOIN ${T.allowIp} a ON a.ip = o.dest_ip
      WHERE o.dest_ip IS NOT NULL GROUP BY 1`);
  }
  // Millions of entities: the aggregate keeps fixed-size states (a product, a count, the hunts as
  // bits of a HUGEINT) so that it can spill; a list per entity could not. Over 120 hunts, lists.
  const all = (await conn.runAndReadAll(`SELECT DISTINCT hunt_id FROM ${T.findings} ORDER BY 1`)).getRows().map((r) => String(r[0]));
  const bits = all.length <= 120;
  const bit = all.length === 0 ? 'CAST(0 AS HUGEINT)' : `CASE hunt_id ${all.map((h, i) => `WHEN ${sqlString(h)} THEN CAST(1 AS HUGEINT) << ${i}`).join(' ')} END`;
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${T.risk} AS
    WITH per AS (SELECT 'certificate' AS entity_type, entity, hunt_id, score FROM ${T.findings} WHERE entity_type = 'certificate'
                 UNION ALL SELECT 'ip', entity, hunt_id, max(score) FROM ${T.ipScores} GROUP BY ALL),
    combined AS (SELECT entity_type, entity, round((1 - product(1 - least(1, ${weight} * score / 100))) * 1000) / 10 AS score,
                 ${bits ? `bit_or(${bit})` : 'list(hunt_id)'} AS hunts, CAST(count(*) AS INTEGER) AS findings FROM per GROUP BY ALL)
    SELECT entity_type, entity, score,
      CASE WHEN score >= ${t.critical} THEN 'critical' WHEN score >= ${t.high} THEN 'high' WHEN score >= ${t.medium} THEN 'medium' WHEN score >= ${t.low} THEN 'low' ELSE 'info' END AS severity,
      ${bits ? `list_filter(${list(all)}, (h, i) -> ((hunts >> (i - 1)) & 1) = 1)` : 'list_sort(hunts)'} AS hunts, findings FROM combined`);
  await conn.run(`DROP TABLE ${T.ipScores}`);
}

export async function huntAll(conn: DuckDBConnection, hunts: Hunt[], config: HuntConfig, log: (msg: string) => void = () => {}): Promise<HuntRun> {
  return withHuntPath(conn, async () => {
    // An empty allowlist table keeps the SQL below the same whether or not the config has one.
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${T.allowIp} (ip VARCHAR)`);
    const failed = await collect(conn, hunts, log);
    await allowlisted(conn, config);
    log('allowlists applied');
    const dropped = (await conn.runAndReadAll(`SELECT hunt_id, count(*) FROM ${T.findings} r SEMI JOIN ${T.allowed} a USING (entity_type, entity) GROUP BY 1`)).getRows();
    // In place: a copy of every finding's evidence would double the run's largest table.
    if (dropped.length > 0) await conn.run(`DELETE FROM ${T.findings} r USING ${T.allowed} a WHERE a.entity_type = r.entity_type AND a.entity = r.entity`);
    await conn.run(`DROP TABLE IF EXISTS ${T.flagged}`);
    await score(conn, config);
    log('risk scored');
    return {
      findingsTable: T.findings,
      riskTable: T.risk,
      findings: await count(conn, `SELECT count(*) FROM ${T.findings}`),
      risk: await count(conn, `SELECT count(*) FROM ${T.risk}`),
      allowlisted: Object.fromEntries(dropped.map(([h, n]) => [String(h), Number(n)])),
      failed,
    };
  });
}

/** The run's findings, highest score first. */
export async function topFindings(conn: DuckDBConnection, run: HuntRun, options: { minScore?: number; limit?: number } = {}): Promise<Finding[]> {
  const limit = options.limit !== undefined && Number.isFinite(options.limit) ? `LIMIT ${Math.max(0, Math.floor(options.limit))}` : '';
  const rows = (
    await conn.runAndReadAll(`SELECT hunt_id, entity_type, entity, score, severity, title, attack, evidence, first_seen, last_seen FROM ${run.findingsTable}
      WHERE score >= ${Number(options.minScore ?? 0)} ORDER BY score DESC, hunt_id, entity ${limit}`)
  ).getRowObjectsJson() as unknown as Finding[];
  return rows;
}

/** The run's risk scores, highest first. */
export async function topRisk(conn: DuckDBConnection, run: HuntRun, limit?: number): Promise<Risk[]> {
  return (
    await conn.runAndReadAll(`SELECT * FROM ${run.riskTable} ORDER BY score DESC, entity_type, entity ${limit !== undefined ? `LIMIT ${Math.floor(limit)}` : ''}`)
  ).getRowObjectsJson() as unknown as Risk[];
}

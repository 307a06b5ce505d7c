import type { DuckDBConnection } from '@duckdb/node-api';
import { profileCase, type Profile } from './profile.js';

/**
 * What hunt SQL sees: `certificates`, `observations`, `intel_sslbl`, `intel_ja3`,
 * `intel_toplist` as views in the `hunt` schema, with fixed columns (the DESIGN contract plus
 * enrichment), whatever the lake holds: a table not there yet is an empty view, a column an
 * older lake lacks is NULL. The same views sit over hunt test fixtures.
 */
const PARTS = ['cn', 'o', 'ou', 'c', 'l', 'st', 'email'];

export const BASE_COLUMNS: Record<string, [string, string][]> = {
  certificates: [
    ['cert_id', 'VARCHAR'], ['sha256', 'VARCHAR'], ['sha1', 'VARCHAR'], ['md5', 'VARCHAR'], ['serial', 'VARCHAR'], ['version', 'INTEGER'],
    ['subject', 'VARCHAR'], ['issuer', 'VARCHAR'], ['common_name', 'VARCHAR'], ['subject_alternative_names', 'VARCHAR[]'],
    ['san_ip', 'VARCHAR[]'], ['san_email', 'VARCHAR[]'], ['san_uri', 'VARCHAR[]'], ['not_valid_before', 'TIMESTAMPTZ'],
    ['not_valid_after', 'TIMESTAMPTZ'], ['key_alg', 'VARCHAR'], ['key_type', 'VARCHAR'], ['key_length', 'INTEGER'], ['exponent', 'VARCHAR'],
    ['curve', 'VARCHAR'], ['sig_alg', 'VARCHAR'], ['is_ca', 'BOOLEAN'], ['self_issued', 'BOOLEAN'], ['self_signed', 'BOOLEAN'],
    ['extensions', 'VARCHAR[]'], ['der', 'VARCHAR'], ['first_seen', 'TIMESTAMPTZ'], ['last_seen', 'TIMESTAMPTZ'], ['sources', 'VARCHAR[]'],
    ['cn_entropy', 'DOUBLE'], ['subject_length', 'BIGINT'], ['issuer_length', 'BIGINT'], ['validity_days', 'DOUBLE'],
    ['registered_domains', 'VARCHAR[]'], ['spki_sha256', 'VARCHAR'], ['parse_warnings', 'VARCHAR[]'],
    ...['subject', 'issuer'].flatMap((side) => PARTS.map((p): [string, string] => [`${side}_${p}`, 'VARCHAR'])),
  ],
  observations: [
    ['ts', 'TIMESTAMPTZ'], ['source', 'VARCHAR'], ['uid', 'VARCHAR'], ['src_ip', 'VARCHAR'], ['src_port', 'INTEGER'], ['dest_ip', 'VARCHAR'],
    ['dest_port', 'INTEGER'], ['server_name', 'VARCHAR'], ['tls_version', 'VARCHAR'], ['cipher', 'VARCHAR'], ['ja3', 'VARCHAR'],
    ['ja3s', 'VARCHAR'], ['ja4', 'VARCHAR'], ['cert_id', 'VARCHAR'], ['cert_sha256', 'VARCHAR'], ['cert_sha1', 'VARCHAR'],
    ['chain_sha256', 'VARCHAR[]'], ['established', 'BOOLEAN'], ['validation_status', 'VARCHAR'], ['rdns', 'VARCHAR'], ['country', 'VARCHAR'],
  ],
  intel_sslbl: [['sha1', 'VARCHAR'], ['listing_date', 'TIMESTAMPTZ'], ['listing_reason', 'VARCHAR']],
  intel_ja3: [['ja3_md5', 'VARCHAR'], ['first_seen', 'TIMESTAMPTZ'], ['last_seen', 'TIMESTAMPTZ'], ['listing_reason', 'VARCHAR']],
  intel_toplist: [['list', 'VARCHAR'], ['rank', 'BIGINT'], ['domain', 'VARCHAR'], ['registered_domain', 'VARCHAR']],
};

const q = (n: string) => `"${n.replace(/"/g, '""')}"`;

async function columnsOf(conn: DuckDBConnection, relation: string): Promise<Set<string>> {
  const r = await conn.runAndReadAll(`SELECT * FROM ${relation} LIMIT 0`);
  return new Set(r.columnNames());
}

/** A relation's rows under the contract's columns and types. */
async function shaped(conn: DuckDBConnection, name: string, relation: string | undefined): Promise<string> {
  const cols = BASE_COLUMNS[name]!;
  if (!relation) return `SELECT ${cols.map(([n, t]) => `CAST(NULL AS ${t}) AS ${q(n)}`).join(', ')} WHERE false`;
  const have = await columnsOf(conn, relation);
  return `SELECT ${cols.map(([n, t]) => (have.has(n) ? `CAST(${q(n)} AS ${t}) AS ${q(n)}` : `CAST(NULL AS ${t}) AS ${q(n)}`)).join(', ')} FROM ${relation}`;
}

/**
 * Create `hunt.*` views over the given relations (e.g. `silver.certificates`; missing ones
 * become empty). Enrichment on certificates: SSL Blacklist by SHA-1, best top-list rank of the
 * registered domains of the common name and SANs, the matching C2 profile; on observations:
 * the JA3 blacklist.
 */
export async function createHuntViews(conn: DuckDBConnection, relations: Partial<Record<keyof typeof BASE_COLUMNS, string>>, profiles: Profile[]): Promise<void> {
  await conn.run('CREATE SCHEMA IF NOT EXISTS hunt');
  for (const name of Object.keys(BASE_COLUMNS)) {
    const base = await shaped(conn, name, relations[name]);
    await conn.run(`CREATE OR REPLACE VIEW hunt.${q(`base_${name}`)} AS ${base}`);
  }
  await conn.run(`CREATE OR REPLACE VIEW hunt.intel_sslbl AS SELECT * FROM hunt.base_intel_sslbl`);
  await conn.run(`CREATE OR REPLACE VIEW hunt.intel_ja3 AS SELECT * FROM hunt.base_intel_ja3`);
  await conn.run(`CREATE OR REPLACE VIEW hunt.intel_toplist AS SELECT * FROM hunt.base_intel_toplist`);
  await conn.run(`CREATE OR REPLACE VIEW hunt.certificates AS
    WITH bl AS (SELECT lower(sha1) AS sha1, min(listing_date) AS listing_date, string_agg(DISTINCT listing_reason, '; ' ORDER BY listing_reason) AS listing_reason
                FROM hunt.base_intel_sslbl GROUP BY 1),
    top AS (SELECT registered_domain, min(rank) AS rank FROM hunt.base_intel_toplist GROUP BY 1),
    ranked AS (SELECT c.cert_id, min(t.rank) AS rank, arg_min(t.registered_domain, t.rank) AS domain
               FROM (SELECT cert_id, unnest(registered_domains) AS d FROM hunt.base_certificates) c JOIN top t ON t.registered_domain = c.d GROUP BY 1)
    SELECT c.*, bl.listing_reason AS sslbl_listing_reason, bl.listing_date AS sslbl_listing_date,
           r.rank AS toplist_rank, r.domain AS toplist_domain, ${profileCase(profiles, 'c')} AS known_c2_profile
    FROM hunt.base_certificates c LEFT JOIN bl ON bl.sha1 = lower(c.sha1) LEFT JOIN ranked r ON r.cert_id = c.cert_id`);
  await conn.run(`CREATE OR REPLACE VIEW hunt.observations AS
    WITH j AS (SELECT lower(ja3_md5) AS ja3, string_agg(DISTINCT listing_reason, '; ' ORDER BY listing_reason) AS listing_reason FROM hunt.base_intel_ja3 GROUP BY 1)
    SELECT o.*, j.listing_reason AS ja3_listing_reason FROM hunt.base_observations o LEFT JOIN j ON j.ja3 = lower(o.ja3)`);
}

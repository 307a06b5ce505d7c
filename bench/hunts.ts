/**
 * Hunt benchmark (run through scripts/bench.mjs):
 *
 * - hunts: `certhunt hunt` (every hunt of the library, allowlists, risk scores, gold writes) over
 *   a lake of 10,000,000 certificates and 50,000,000 observations (500k / 2.5M with --quick), against
 *   the same hunt queries run by hand in a bare DuckDB over the same rows as flat Parquet (the
 *   enrichment views written out once by hand). Both are child processes timed wall to wall
 *   (/usr/bin/time for max RSS), alternated; ratio of medians, target ≤ 1.5× (our overhead).
 *
 * The rows are generated in SQL from range(): certificate-shaped (issuers from a skewed set of
 * CAs and self-made ones, CNs from words, random-looking or IP addresses, validity from days to
 * decades — valid over the observation month but for 1% short-lived and 0.5% long expired —, a
 * sprinkle of C2 defaults and SSL-Blacklisted SHA-1s) and observations drawing
 * certificates with a skew (a few very popular), clients from 10/8, servers from a few
 * thousand addresses, ports mostly 443.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions, BenchResult } from './lake.js';
import { median, timed, type Timed } from './lib/measure.js';
import type * as EngineMod from '../src/engine/duckdb.js';
import type * as LakeMod from '../src/pipeline/lake.js';
import type * as HuntMod from '../src/hunts/hunt.js';
import type * as ProfileMod from '../src/hunts/profile.js';
import type * as ViewsMod from '../src/hunts/views.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { openEngine } = (await import('../dist/engine/duckdb.js' as string)) as typeof EngineMod;
const { Lake } = (await import('../dist/pipeline/lake.js' as string)) as typeof LakeMod;
const { loadHunts } = (await import('../dist/hunts/hunt.js' as string)) as typeof HuntMod;
const { loadProfiles, profileCase } = (await import('../dist/hunts/profile.js' as string)) as typeof ProfileMod;
const { BASE_COLUMNS } = (await import('../dist/hunts/views.js' as string)) as typeof ViewsMod;

export const scenarios: Record<string, (o: BenchOptions) => Promise<BenchResult>> = { hunts: huntsBench };

function certificatesSql(n: number): string {
  return `
WITH b AS (SELECT range AS i, sha256(range::VARCHAR || 'c') AS h FROM range(${n})),
r AS (SELECT *, hash(i) % 1000 AS k, hash(i * 7) % 100000 AS w FROM b)
SELECT h AS cert_id, h AS sha256, substr(sha256(h), 1, 40) AS sha1, md5(h) AS md5,
  substr(md5(h), 1, 16) AS serial, 3 AS version,
  CASE WHEN k < 3 THEN 'CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth'
       WHEN k < 40 THEN 'CN=' || substr(md5(h), 1, 8)
       WHEN k < 60 THEN 'CN=' || (10 + w % 200)::VARCHAR || '.' || (w % 250)::VARCHAR || '.1.' || (i % 250)::VARCHAR
       ELSE 'CN=host' || w::VARCHAR || '.example' || (w % 97)::VARCHAR || '.com,O=Org ' || (w % 5011)::VARCHAR || ',C=US' END AS subject,
  CASE WHEN k < 60 THEN NULL ELSE 'host' || w::VARCHAR || '.example' || (w % 97)::VARCHAR || '.com' END AS common_name,
  CASE WHEN k < 3 THEN 'CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth'
       WHEN k < 100 THEN 'CN=' || substr(md5(h), 1, 8)
       ELSE ['CN=R3,O=Let''s Encrypt,C=US', 'CN=E1,O=Let''s Encrypt,C=US', 'CN=GTS CA 1C3,O=Google Trust Services LLC,C=US',
             'CN=DigiCert TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US', 'CN=Sectigo RSA Domain Validation Secure Server CA,O=Sectigo Limited,L=Salford,ST=Greater Manchester,C=GB',
             'CN=Internal Issuing CA ' || (w % 50)::VARCHAR || ',O=Corp,C=US'][1 + (w % 6)::INT] END AS issuer,
  CASE WHEN k < 60 THEN [] ELSE ['host' || w::VARCHAR || '.example' || (w % 97)::VARCHAR || '.com', 'www.host' || w::VARCHAR || '.example' || (w % 97)::VARCHAR || '.com'] END AS subject_alternative_names,
  []::VARCHAR[] AS san_ip, []::VARCHAR[] AS san_email, []::VARCHAR[] AS san_uri,
  CASE WHEN k < 100 THEN TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_days((w % 700)::INT)
       WHEN k < 110 THEN TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_days((w % 30)::INT)
       WHEN k < 115 THEN TIMESTAMPTZ '2024-06-01 00:00:00+00' + to_days((w % 100)::INT)
       ELSE TIMESTAMPTZ '2025-11-05 00:00:00+00' + to_days((w % 55)::INT) END AS not_valid_before,
  not_valid_before + to_days(CASE WHEN k < 100 THEN 3650 WHEN k < 110 THEN 7 WHEN k < 115 THEN 365 ELSE 90 END) AS not_valid_after,
  'rsaEncryption' AS key_alg, 'rsa' AS key_type, CASE WHEN k < 20 THEN 1024 ELSE 2048 END AS key_length, '65537' AS exponent, NULL::VARCHAR AS curve,
  CASE WHEN k < 30 THEN 'sha1WithRSAEncryption' ELSE 'sha256WithRSAEncryption' END AS sig_alg,
  false AS is_ca, k < 100 AS self_issued, k < 100 AS self_signed, []::VARCHAR[] AS extensions, NULL::VARCHAR AS der,
  TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds((w * 37) % 2592000) AS first_seen,
  TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds((w * 37) % 2592000 + 86400) AS last_seen,
  ['zeek_x509'] AS sources, CASE WHEN k < 40 THEN 3.0 ELSE 2.5 END AS cn_entropy,
  length(subject) AS subject_length, length(issuer) AS issuer_length,
  CASE WHEN k < 100 THEN 3650.0 WHEN k < 110 THEN 7.0 WHEN k < 115 THEN 365.0 ELSE 90.0 END AS validity_days,
  CASE WHEN k < 60 THEN [] ELSE ['example' || (w % 97)::VARCHAR || '.com'] END AS registered_domains
FROM r`;
}

function observationsSql(n: number, certs: number): string {
  return `
WITH b AS (SELECT range AS i, hash(range) AS x FROM range(${n}))
SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds((i * 53) % 2592000) AS ts, 'zeek_ssl' AS source, 'C' || i::VARCHAR AS uid,
  '10.' || (x % 250)::VARCHAR || '.' || ((x >> 8) % 250)::VARCHAR || '.' || ((x >> 16) % 250)::VARCHAR AS src_ip, (1024 + x % 60000)::INT AS src_port,
  '198.51.' || ((x >> 24) % 40)::VARCHAR || '.' || ((x >> 32) % 250)::VARCHAR AS dest_ip,
  CASE WHEN x % 100 < 90 THEN 443 WHEN x % 100 < 95 THEN 8443 ELSE 22 END AS dest_port,
  NULL::VARCHAR AS server_name, 'TLSv12' AS tls_version, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' AS cipher,
  md5((x % 5000)::VARCHAR) AS ja3, NULL::VARCHAR AS ja3s, NULL::VARCHAR AS ja4,
  sha256(((CASE WHEN x % 10 < 3 THEN x % 100 ELSE x % ${certs} END))::VARCHAR || 'c') AS cert_id,
  sha256(((CASE WHEN x % 10 < 3 THEN x % 100 ELSE x % ${certs} END))::VARCHAR || 'c') AS cert_sha256, NULL::VARCHAR AS cert_sha1,
  []::VARCHAR[] AS chain_sha256, true AS established, NULL::VARCHAR AS validation_status, NULL::VARCHAR AS rdns, NULL::VARCHAR AS country
FROM b`;
}

/**
 * Both sides get the same DuckDB cap. 448 MB (certhunt's default) holds the whole library at
 * 1M / 5M; at 10M / 50M five hunts' windows and aggregates need more than 448 MB in bare
 * DuckDB as in ours, so the full run gives both 4 GB (the machine has 24).
 */
const MEMORY = { quick: '448MB', full: '4GB' };

async function huntsBench(o: BenchOptions): Promise<BenchResult> {
  const certs = o.quick ? 500_000 : 10_000_000;
  const observations = o.quick ? 2_500_000 : 50_000_000;
  const memory = o.quick ? MEMORY.quick : MEMORY.full;
  // CERTHUNT_BENCH_HUNTS_DATA: the folder of a run kept with --keep, to skip the ~8 min of generation.
  const data = process.env.CERTHUNT_BENCH_HUNTS_DATA ?? o.workDir;
  const lakeDir = path.join(data, 'lake');
  const flat = path.join(data, 'flat');
  const marker = path.join(data, 'sizes.json');
  const sizes = JSON.stringify({ certs, observations, version: 2 });
  const reuse = await fs.readFile(marker, 'utf8').then((t) => t === sizes, () => false);
  if (reuse) o.log(`reusing the data in ${data}`);
  else await generate();
  async function generate() {
    await fs.rm(lakeDir, { recursive: true, force: true });
    await fs.mkdir(flat, { recursive: true });
    o.log(`generating ${certs.toLocaleString('en')} certificates and ${observations.toLocaleString('en')} observations …`);
    const engine = await openEngine({ memoryLimit: '4GB' });
    const lake = new Lake(lakeDir, engine.conn);
    const t0 = performance.now();
    for (const [name, sql, size] of [['certificates', certificatesSql(certs), certs], ['observations', observationsSql(observations, certs), observations]] as const) {
      const table = await lake.table('silver', name);
      const step = 5_000_000;
      for (let lo = 0; lo < size; lo += step) {
        const part = `SELECT * FROM (${sql}) LIMIT ${Math.min(step, size - lo)} OFFSET ${lo}`;
        if (lo === 0) await table.create({ from: `SELECT * FROM (${sql}) LIMIT 0`, ifNotExists: true });
        await table.append(part);
      }
      const plan = await table.scan();
      await engine.conn.run(`COPY (${plan.sql}) TO '${path.join(flat, name + '.parquet')}' (FORMAT parquet)`);
    }
    // A blacklist naming some of the certificates, and a small top list.
    const sslbl = await lake.table('silver', 'intel_sslbl');
    const bl = `SELECT substr(sha256(sha256(range::VARCHAR || 'c')), 1, 40) AS sha1, TIMESTAMPTZ '2025-06-01 00:00:00+00' AS listing_date, 'Malware C&C' AS listing_reason FROM range(0, ${certs}, 997)`;
    await sslbl.create({ from: bl });
    await engine.conn.run(`COPY (${bl}) TO '${path.join(flat, 'intel_sslbl.parquet')}' (FORMAT parquet)`);
    const top = await lake.table('silver', 'intel_toplist');
    const tl = `SELECT 'tranco' AS list, range + 1 AS rank, 'example' || range::VARCHAR || '.com' AS domain, 'example' || range::VARCHAR || '.com' AS registered_domain FROM range(50)`;
    await top.create({ from: tl });
    await engine.conn.run(`COPY (${tl}) TO '${path.join(flat, 'intel_toplist.parquet')}' (FORMAT parquet)`);
    engine.close();
    await fs.writeFile(marker, sizes);
    o.log(`  generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  // The peer: the hunts' SQL by hand in bare DuckDB over the flat files, enrichment written once.
  const hunts = await loadHunts([path.join(ROOT, 'hunts')]);
  const profiles = await loadProfiles([path.join(ROOT, 'profiles')]);
  const f = (n: string) => `read_parquet('${path.join(flat, n + '.parquet')}')`;
  const empty = (n: string) => `SELECT ${BASE_COLUMNS[n]!.map(([c, t]) => `CAST(NULL AS ${t}) AS "${c}"`).join(', ')} WHERE false`;
  const setup = [
    `CREATE VIEW intel_sslbl AS SELECT * FROM ${f('intel_sslbl')}`,
    `CREATE VIEW intel_toplist AS SELECT * FROM ${f('intel_toplist')}`,
    `CREATE VIEW intel_ja3 AS ${empty('intel_ja3')}`,
    `CREATE VIEW certificates AS WITH bl AS (SELECT lower(sha1) AS sha1, min(listing_date) AS listing_date, string_agg(DISTINCT listing_reason, '; ') AS listing_reason FROM intel_sslbl GROUP BY 1),
       top AS (SELECT registered_domain, min(rank) AS rank FROM intel_toplist GROUP BY 1),
       ranked AS (SELECT c.cert_id, min(t.rank) AS rank, arg_min(t.registered_domain, t.rank) AS domain FROM (SELECT cert_id, unnest(registered_domains) AS d FROM ${f('certificates')}) c JOIN top t ON t.registered_domain = c.d GROUP BY 1)
       SELECT c.*, NULL::VARCHAR AS subject_cn, NULL::VARCHAR AS subject_o, NULL::VARCHAR AS subject_ou, NULL::VARCHAR AS subject_c, NULL::VARCHAR AS subject_l, NULL::VARCHAR AS subject_st, NULL::VARCHAR AS subject_email,
              NULL::VARCHAR AS issuer_cn, NULL::VARCHAR AS issuer_o, NULL::VARCHAR AS issuer_ou, NULL::VARCHAR AS issuer_c, NULL::VARCHAR AS issuer_l, NULL::VARCHAR AS issuer_st, NULL::VARCHAR AS issuer_email,
              bl.listing_reason AS sslbl_listing_reason, bl.listing_date AS sslbl_listing_date, r.rank AS toplist_rank, r.domain AS toplist_domain, ${profileCase(profiles, 'c')} AS known_c2_profile
       FROM ${f('certificates')} c LEFT JOIN bl ON bl.sha1 = lower(c.sha1) LEFT JOIN ranked r ON r.cert_id = c.cert_id`,
    `CREATE VIEW observations AS SELECT o.*, NULL::VARCHAR AS ja3_listing_reason FROM ${f('observations')} o`,
  ];
  const peerScript = path.join(o.workDir, 'peer.mjs');
  await fs.writeFile(peerScript, `
    import { DuckDBInstance } from ${JSON.stringify(path.join(ROOT, 'node_modules/@duckdb/node-api/lib/index.js'))};
    const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false', memory_limit: ${JSON.stringify(memory)}, preserve_insertion_order: 'false', temp_directory: ${JSON.stringify(path.join(o.workDir, 'peer-tmp'))} });
    const conn = await inst.connect();
    await conn.run("SET TimeZone = 'UTC'");
    for (const q of ${JSON.stringify(setup)}) await conn.run(q);
    let i = 0;
    for (const q of ${JSON.stringify(hunts.map((h) => h.sql))}) await conn.run('CREATE TABLE r' + (i++) + ' AS ' + q);
  `);
  // A full pair takes over half an hour here: one, ours first (the colder cache goes to ours).
  const pairs = o.quick ? 3 : 1;
  const ours: Timed[] = [];
  const peer: Timed[] = [];
  for (let i = 0; i < pairs; i++) {
    const a = async () => {
      const r = await timed(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'hunt', '--lake', lakeDir, '--limit', '20', '--verbose'], { cwd: ROOT, env: { ...process.env, CERTHUNT_MEMORY: memory } });
      ours.push(r);
      o.log(`  ours  ${(r.ms / 1000).toFixed(2)} s  ${r.rssMiB.toFixed(0)} MiB`);
    };
    const b = async () => {
      const r = await timed(process.execPath, [peerScript], { cwd: ROOT });
      peer.push(r);
      o.log(`  peer  ${(r.ms / 1000).toFixed(2)} s  ${r.rssMiB.toFixed(0)} MiB`);
    };
    if (i % 2 === 0) {
      await a();
      await b();
    } else {
      await b();
      await a();
    }
  }
  const om = median(ours.map((r) => r.ms));
  const pm = median(peer.map((r) => r.ms));
  return {
    scenario: 'hunts',
    sizes: `${hunts.length} hunts, ${certs.toLocaleString('en')} certificates, ${observations.toLocaleString('en')} observations`,
    measure: `median of ${pairs}: certhunt hunt (CLI child: views, all hunts, allowlists, risk, gold writes) vs the hunts' SQL in bare DuckDB over flat Parquet (child)`,
    unit: 's',
    ours: om,
    floor: pm,
    target: 1.5,
    details: [`ours peak RSS ${median(ours.map((r) => r.rssMiB)).toFixed(0)} MiB, peer ${median(peer.map((r) => r.rssMiB)).toFixed(0)} MiB`],
    notes: `ours peak RSS ${median(ours.map((r) => r.rssMiB)).toFixed(0)} MiB, bare DuckDB ${median(peer.map((r) => r.rssMiB)).toFixed(0)} MiB (DuckDB capped at ${memory} on both sides)`,
  };
}

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run, sql } from '../helpers/cli.js';

/**
 * certhunt hunt / hunts / cert over a lake of the real brimdata Zeek logs: findings land in
 * gold per run, allowlists and the config file apply, bad hunt and config files are refused
 * with the file and field named.
 */
const BRIM = new URL('../../../shared/fixtures/zeek-logs/brimdata/', import.meta.url).pathname;
const SSLBL = new URL('../../../shared/fixtures/intel/sslblacklist.csv', import.meta.url).pathname;
const HAVE = existsSync(BRIM) && existsSync(SSLBL);
const skip = !HAVE && 'needs ../shared/fixtures';
const dir = mkdtempSync(join(tmpdir(), 'certhunt-hunt-'));
const lake = join(dir, 'lake');
after(() => rmSync(dir, { recursive: true, force: true }));

before(async () => {
  if (!HAVE) return;
  assert.equal((await run('ingest', BRIM, '--lake', lake)).code, 0);
  assert.equal((await run('intel', SSLBL, '--lake', lake)).code, 0);
});

test('hunt writes one run of findings and risk scores to gold; runs accumulate', { skip }, async () => {
  const r1 = await run('hunt', '--lake', lake, '--format', 'json');
  assert.equal(r1.code, 0, r1.err);
  const f1 = JSON.parse(r1.out) as { run_id: string; hunt_id: string; entity: string; score: number }[];
  assert.ok(f1.length > 0, 'findings on brimdata');
  // Ranked: scores never rise down the list.
  for (let i = 1; i < f1.length; i++) assert.ok(f1[i]!.score <= f1[i - 1]!.score, `rank at ${i}`);
  const runs1 = await sql(lake, 'SELECT run_id, count(*)::INT AS n FROM gold.findings GROUP BY run_id');
  assert.deepEqual(runs1, [{ run_id: f1[0]!.run_id, n: f1.length }]);
  const risk = await sql(lake, "SELECT entity_type, count(*)::INT AS n FROM gold.risk GROUP BY 1 ORDER BY 1");
  assert.ok(risk.some((r) => r.entity_type === 'certificate'), JSON.stringify(risk));
  assert.equal((await run('hunt', '--lake', lake)).code, 0);
  assert.deepEqual(await sql(lake, 'SELECT count(DISTINCT run_id)::INT AS n FROM gold.findings'), [{ n: 2 }]);
});

test('the allowlist drops findings by domain (a domain covers its subdomains) and by issuer', { skip }, async () => {
  // Expected independently: certificates whose CN and SANs all fall under the allowlisted domain.
  const target = await sql(lake, "SELECT cert_id, issuer FROM certificates WHERE common_name = 'Snozberry'");
  assert.equal(target.length, 1);
  const cfg = join(dir, 'allow.yaml');
  writeFileSync(cfg, `allowlist:\n  domains: ["*.loompa"]\n  issuers: ["CN=nessus,O=Default Company Ltd,L=Default City,ST=Maryland,C=US"]\n`);
  const before = JSON.parse((await run('hunt', '--lake', lake, '--format', 'json')).out) as { entity: string; hunt_id: string }[];
  // Snozberry's names are Snozberry and Snozberry.factory.oompa.loompa: "Snozberry" is not
  // under loompa, so a domain allowlist alone must not drop it…
  const r = await run('hunt', '--lake', lake, '--config', cfg, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const after = JSON.parse(r.out) as { entity: string; hunt_id: string }[];
  assert.ok(after.some((f) => f.entity === target[0]!.cert_id), 'a name outside the allowlisted domain keeps the finding');
  // …while the nessus issuer is gone from every hunt.
  assert.ok(before.some((f) => f.entity.startsWith('CN=nessus')), 'nessus issuer found without allowlist');
  assert.ok(!after.some((f) => f.entity.startsWith('CN=nessus')), 'nessus issuer allowlisted');
  writeFileSync(cfg, 'allowlist:\n  domains: ["snozberry", "*.loompa"]\n');
  const again = JSON.parse((await run('hunt', '--lake', lake, '--config', cfg, '--format', 'json')).out) as { entity: string }[];
  assert.ok(!again.some((f) => f.entity === target[0]!.cert_id), 'all its names allowlisted');
});

test('bad config and hunt files are refused naming the file and field', { skip }, async () => {
  const cfg = join(dir, 'bad.yaml');
  writeFileSync(cfg, 'thresholds:\n  high: 500\n');
  const r = await run('hunt', '--lake', lake, '--config', cfg);
  assert.equal(r.code, 2);
  assert.match(r.err, /bad\.yaml: thresholds\.high: must be a number from 0 to 100/);
  const hunts = join(dir, 'my-hunts');
  mkdirSync(hunts, { recursive: true });
  writeFileSync(join(hunts, 'mine.yaml'), 'id: mine\ntitle: t\ndescription: d\nattack: [T1573.002]\nseverity: severe\nscore: 10\nentity: certificate\nsql: SELECT 1 AS entity\ntests: []\n');
  const h = await run('hunts', '--hunts', hunts);
  assert.equal(h.code, 2);
  assert.match(h.err, /mine\.yaml: severity: "severe" is not one of info, low, medium, high, critical/);
});

test('a user hunt from a folder runs with the library and its cases pass', { skip }, async () => {
  const hunts = join(dir, 'good-hunts');
  mkdirSync(hunts, { recursive: true });
  writeFileSync(join(hunts, 'snozberry.yaml'), `id: snozberry-cn
title: The Snozberry certificate
description: A user hunt.
attack: [T1587.003]
severity: high
score: 80
entity: certificate
sql: SELECT cert_id AS entity, common_name FROM certificates WHERE common_name = 'Snozberry'
tests:
  - given: { certificates: [ { cert_id: x, common_name: Snozberry }, { cert_id: y, common_name: other } ] }
    expect: [x]
`);
  const t = await run('hunts', '--hunts', hunts, '--test', '--format', 'json');
  assert.equal(t.code, 0, t.out + t.err);
  assert.ok((JSON.parse(t.out) as { hunt: string; result: string }[]).some((c) => c.hunt === 'snozberry-cn' && c.result === 'pass'), 'user case passes');
  const r = await run('hunt', 'snozberry-cn', '--hunts', hunts, '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const expected = await sql(lake, "SELECT cert_id FROM certificates WHERE common_name = 'Snozberry'");
  assert.deepEqual((JSON.parse(r.out) as { entity: string }[]).map((f) => f.entity), expected.map((c) => c.cert_id));
});

test('cert shows a certificate, its findings and where it was seen', { skip }, async () => {
  const [c] = await sql(lake, "SELECT cert_id, sha256 FROM certificates WHERE common_name = 'Snozberry'");
  const r = await run('cert', String(c!.sha256), '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as { certificate: { common_name: string }; seen: { dest_ip: string; sessions: number }[]; findings: unknown[] };
  assert.equal(doc.certificate.common_name, 'Snozberry');
  // Independently: the distinct (dest_ip, dest_port) pairs of its sessions in silver.
  const pairs = await sql(lake, `SELECT count(DISTINCT (dest_ip, dest_port))::INT AS n FROM observations WHERE cert_id = '${c!.cert_id}'`);
  assert.equal(doc.seen.length, pairs[0]!.n);
  assert.ok(doc.findings.length > 0, 'findings of the latest run');
  // Related: same key, same subject or same (not self-) issuer, worked out here from every row.
  const all = (await sql(lake, 'SELECT cert_id, subject, issuer, spki_sha256 FROM certificates')) as { cert_id: string; subject: string | null; issuer: string | null; spki_sha256: string | null }[];
  const me = all.find((x) => x.cert_id === c!.cert_id)!;
  const expected = all.filter((x) => x.cert_id !== me.cert_id && ((x.spki_sha256 !== null && x.spki_sha256 === me.spki_sha256) || (x.subject !== null && x.subject === me.subject) || (x.issuer !== null && x.issuer === me.issuer && x.issuer !== x.subject)));
  const related = (JSON.parse(r.out) as { related: { cert_id: string }[] }).related;
  assert.deepEqual(related.map((x) => x.cert_id).sort(), expected.map((x) => x.cert_id).sort().slice(0, 50));
  assert.equal((await run('cert', 'nothex', '--lake', lake)).code, 2);
});

test('export writes the latest run as STIX, Zeek intel, Suricata rules and CSV', { skip }, async () => {
  assert.equal((await run('hunt', '--lake', lake)).code, 0);
  const [latest] = (await sql(lake, 'SELECT count(*)::INT AS n, count(*) FILTER (WHERE score >= 40)::INT AS high FROM gold.findings WHERE run_id = (SELECT max(run_id) FROM gold.findings)')) as { n: number; high: number }[];
  const stix = await run('export', '--to', 'stix', '--lake', lake);
  assert.equal(stix.code, 0, stix.err);
  const bundle = JSON.parse(stix.out) as { type: string; objects: { type: string; pattern?: string }[] };
  assert.equal(bundle.type, 'bundle');
  assert.ok(bundle.objects.some((o) => o.type === 'indicator' && /^\[/.test(o.pattern ?? '')), 'indicators with patterns');
  const file = join(dir, 'intel.dat');
  const zeek = await run('export', '--to', 'zeek-intel', '-o', file, '--lake', lake);
  assert.equal(zeek.code, 0, zeek.err);
  const { readFileSync } = await import('node:fs');
  assert.match(readFileSync(file, 'utf8'), /^#fields\tindicator\tindicator_type\tmeta\.source/);
  const csv = await run('export', '--to', 'csv', '--min-score', '40', '--lake', lake);
  assert.equal(csv.code, 0, csv.err);
  // One header plus one line per finding scoring ≥ 40 (no field holds a newline here).
  assert.equal(csv.out.trimEnd().split('\r\n').length, 1 + latest!.high);
  // brimdata has findings on both sides of 40 (stack-issuers scores at most 10), so the filter drops some.
  assert.ok(latest!.high > 0 && latest!.high < latest!.n, `filter keeps a strict subset: ${latest!.high} of ${latest!.n}`);
  assert.equal((await run('export', '--to', 'pdf', '--lake', lake)).code, 2);
});

test('a hunt that fails is reported and skipped; the others land', { skip }, async () => {
  const hunts = join(dir, 'broken-hunts');
  mkdirSync(hunts, { recursive: true });
  writeFileSync(join(hunts, 'broken.yaml'), 'id: broken\ntitle: t\ndescription: d\nattack: [T1573.002]\nseverity: low\nscore: 10\nentity: certificate\nsql: SELECT cert_id AS entity FROM no_such_table\ntests:\n  - given: { certificates: [] }\n    expect: []\n');
  const r = await run('hunt', 'broken', 'ip-as-common-name', '--hunts', hunts, '--lake', lake, '--format', 'json');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /hunt broken \(.*broken\.yaml\): SQL does not run: .*no_such_table/);
  assert.match(r.err, /1 of 2 hunts failed/);
  const printed = JSON.parse(r.out) as { hunt_id: string; run_id: string }[];
  // Independently: certificates whose common name is an IPv4 address.
  const expected = await sql(lake, "SELECT count(*)::INT AS n FROM certificates WHERE regexp_matches(common_name, '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$')");
  assert.ok((expected[0]!.n as number) > 0, 'brimdata has an IP common name');
  assert.equal(printed.filter((f) => f.hunt_id === 'ip-as-common-name').length, expected[0]!.n);
  const landed = await sql(lake, `SELECT count(*)::INT AS n FROM gold.findings WHERE run_id = '${printed[0]!.run_id}'`);
  assert.deepEqual(landed, [{ n: printed.length }]);
});

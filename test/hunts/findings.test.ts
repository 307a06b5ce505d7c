import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { configFrom, type HuntConfig } from '../../src/hunts/config.js';
import { huntAll, topFindings, topRisk } from '../../src/hunts/findings.js';
import type { Hunt } from '../../src/hunts/hunt.js';
import { createHuntViews } from '../../src/hunts/views.js';
import { prng } from '../helpers/bytes.js';
import { AllowRules, combine, severityOf } from './rules.js';

/**
 * huntAll does allowlists and risk scores in SQL. Here a random population (names, issuers,
 * addresses in and out of allowlisted blocks, IPv4 and IPv6) goes through it, and the
 * expected findings and scores are worked out row by row in JS with the rules as the config
 * file documents them (./rules.ts).
 */
let engine: Engine;
before(async () => {
  engine = await openEngine();
});
after(() => engine.close());

const DOMAINS = ['x.com', 'a.x.com', 'b.a.x.com', 'evilx.com', 'corp.example', 'www.corp.example', 'other.net', 'Snozberry', 'X.COM.', '*.corp.example'];
const ISSUERS = ['CN=Corp CA', 'CN=Corp CA,O=x', 'CN=R3,O=Let\'s Encrypt,C=US', 'CN=evil'];
const IPS = ['10.1.2.3', '10.9.9.9', '11.0.0.1', '192.0.2.7', '192.0.2.8', '2001:db8::1', '2001:db9::1', '198.51.100.4'];

function hunt(id: string, entity: string, sql: string, score = 50): Hunt {
  return { id, title: id, description: id, attack: ['T1573.002'], severity: 'medium', score, entity, sql, false_positives: [], references: [], tests: [], file: `${id}.yaml` };
}

const q = (v: unknown): string => (v === null ? 'NULL' : typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : Array.isArray(v) ? `CAST([${v.map(q).join(', ')}] AS VARCHAR[])` : String(v));

test('allowlists and risk scores in SQL agree with the documented rules on a random population', async () => {
  const rnd = prng(42);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const certs = Array.from({ length: 150 }, (_, i) => {
    const names = Array.from({ length: Math.floor(rnd() * 3) }, () => pick(DOMAINS));
    return {
      cert_id: `c${i}`, sha1: i % 17 === 0 ? '6ECE5ECE4192683D2D84E25B0BA7E04F9CB7EB7C' : (i.toString(16).padStart(2, '0')).repeat(20),
      sha256: `s${i}`, issuer: pick(ISSUERS), common_name: rnd() < 0.8 ? pick(DOMAINS) : null, subject_alternative_names: names, score: Math.floor(rnd() * 101),
    };
  });
  const obs = Array.from({ length: 600 }, () => ({ cert_id: `c${Math.floor(rnd() * 170)}`, dest_ip: rnd() < 0.05 ? null : pick(IPS), dest_port: pick([443, 8443]) }));
  const c = engine.conn;
  await c.run(`CREATE OR REPLACE TABLE t_certs AS SELECT * FROM (VALUES ${certs.map((x) => `(${[x.cert_id, x.sha1, x.sha256, x.issuer, x.common_name, x.subject_alternative_names, x.score].map(q).join(', ')})`).join(', ')})
    AS v(cert_id, sha1, sha256, issuer, common_name, subject_alternative_names, score)`);
  await c.run(`CREATE OR REPLACE TABLE t_obs AS SELECT * FROM (VALUES ${obs.map((o) => `(${[o.cert_id, o.dest_ip, o.dest_port].map(q).join(', ')})`).join(', ')}) AS v(cert_id, dest_ip, dest_port)`);
  await createHuntViews(c, { certificates: 't_certs', observations: 't_obs' }, []);
  const hunts = [
    // Every certificate, scored by the row; certificates seen but never landed keep a sha1: entity.
    hunt('all-certs', 'certificate', `SELECT cert_id AS entity, (SELECT score FROM main.t_certs t WHERE t.cert_id = c.cert_id) AS score FROM certificates c
      UNION ALL SELECT DISTINCT 'sha1:' || CASE WHEN cert_id = 'c160' THEN '6ece5ece4192683d2d84e25b0ba7e04f9cb7eb7c' ELSE cert_id END, 35 FROM observations WHERE cert_id NOT IN (SELECT cert_id FROM certificates)`),
    hunt('odd-certs', 'certificate', `SELECT cert_id AS entity FROM certificates WHERE CAST(substr(cert_id, 2) AS INT) % 2 = 1`, 70),
    hunt('endpoints', 'ip', `SELECT DISTINCT CASE WHEN dest_ip LIKE '%:%' THEN CASE WHEN dest_port = 443 THEN '[' || dest_ip || ']:443' ELSE dest_ip END ELSE dest_ip || ':' || dest_port END AS entity FROM observations WHERE dest_ip IS NOT NULL`, 40),
    hunt('issuers', 'issuer', `SELECT DISTINCT issuer AS entity FROM certificates`, 20),
    hunt('names', 'domain', `SELECT DISTINCT n AS entity FROM (SELECT unnest(subject_alternative_names) AS n FROM certificates)`, 30),
  ];
  const config: HuntConfig = configFrom('test.yaml', {
    weights: { 'odd-certs': 0.5 },
    allowlist: { fingerprints: ['6ece5ece4192683d2d84e25b0ba7e04f9cb7eb7c'], domains: ['*.x.com', 'corp.example'], ips: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'], issuers: ['CN=Corp CA'] },
  });
  const run = await huntAll(c, hunts, config);
  const got = await topFindings(c, run);

  // Expected, row by row.
  const allow = new AllowRules(config.allowlist);
  const ipsOf = (id: string) => [...new Set(obs.filter((o) => o.cert_id === id && o.dest_ip !== null).map((o) => o.dest_ip!))];
  const certAllowed = (id: string) => {
    const cert = certs.find((x) => x.cert_id === id);
    if (!cert) return allow.fingerprint(id.replace(/^sha1:/, ''));
    if (allow.fingerprint(cert.sha1) || allow.fingerprint(cert.sha256) || allow.issuer(cert.issuer)) return true;
    const names = [cert.common_name, ...cert.subject_alternative_names].filter((n): n is string => n !== null);
    if (names.length > 0 && names.every((n) => allow.domain(n))) return true;
    const ips = ipsOf(id);
    return ips.length > 0 && ips.every((ip) => allow.ip(ip));
  };
  const hostOf = (e: string) => (e.startsWith('[') ? e.slice(1, e.indexOf(']')) : e.split(':').length === 2 ? e.split(':')[0]! : e);
  const raw: { hunt_id: string; entity_type: string; entity: string; score: number }[] = [];
  for (const x of certs) raw.push({ hunt_id: 'all-certs', entity_type: 'certificate', entity: x.cert_id, score: x.score });
  for (const id of new Set(obs.map((o) => o.cert_id).filter((id) => !certs.some((x) => x.cert_id === id)))) {
    raw.push({ hunt_id: 'all-certs', entity_type: 'certificate', entity: `sha1:${id === 'c160' ? '6ece5ece4192683d2d84e25b0ba7e04f9cb7eb7c' : id}`, score: 35 });
  }
  for (const x of certs) if (Number(x.cert_id.slice(1)) % 2 === 1) raw.push({ hunt_id: 'odd-certs', entity_type: 'certificate', entity: x.cert_id, score: 70 });
  const endpoints = new Set(obs.filter((o) => o.dest_ip !== null).map((o) => (o.dest_ip!.includes(':') ? (o.dest_port === 443 ? `[${o.dest_ip}]:443` : o.dest_ip!) : `${o.dest_ip}:${o.dest_port}`)));
  for (const e of endpoints) raw.push({ hunt_id: 'endpoints', entity_type: 'ip', entity: e, score: 40 });
  for (const i of new Set(certs.map((x) => x.issuer))) raw.push({ hunt_id: 'issuers', entity_type: 'issuer', entity: i, score: 20 });
  for (const n of new Set(certs.flatMap((x) => x.subject_alternative_names))) raw.push({ hunt_id: 'names', entity_type: 'domain', entity: n, score: 30 });
  const keep = raw.filter((f) => {
    if (f.entity_type === 'certificate') return !certAllowed(f.entity);
    if (f.entity_type === 'ip') return !allow.ip(hostOf(f.entity));
    if (f.entity_type === 'issuer') return !allow.issuer(f.entity);
    return !allow.domain(f.entity);
  });
  const key = (f: { hunt_id: string; entity: string }) => `${f.hunt_id} ${f.entity}`;
  assert.deepEqual(got.map(key).sort(), keep.map(key).sort());
  assert.ok(keep.length < raw.length && keep.length > raw.length / 4, `the allowlists drop some, not most: ${keep.length} of ${raw.length}`);
  for (const t of ['certificate', 'ip', 'issuer', 'domain']) {
    assert.ok(raw.some((f) => f.entity_type === t && !keep.includes(f)), `some ${t} allowlisted`);
  }
  const dropped: Record<string, number> = {};
  for (const f of raw) if (!keep.includes(f)) dropped[f.hunt_id] = (dropped[f.hunt_id] ?? 0) + 1;
  assert.deepEqual(run.allowlisted, dropped);
  for (let i = 1; i < got.length; i++) assert.ok(got[i]!.score <= got[i - 1]!.score, `ranked at ${i}`);

  // Risk: per certificate its hunts; per address the hunts of the certificates it served (unless allowlisted) and its own.
  const per = new Map<string, Map<string, number>>();
  const add = (k: string, hunt: string, score: number) => {
    const m = per.get(k) ?? new Map<string, number>();
    per.set(k, m);
    m.set(hunt, Math.max(m.get(hunt) ?? 0, score));
  };
  for (const f of keep) {
    if (f.entity_type === 'certificate') {
      add(`certificate ${f.entity}`, f.hunt_id, f.score);
      for (const ip of ipsOf(f.entity)) if (!allow.ip(ip)) add(`ip ${ip}`, f.hunt_id, f.score);
    } else if (f.entity_type === 'ip') add(`ip ${hostOf(f.entity)}`, f.hunt_id, f.score);
  }
  const risk = await topRisk(c, run);
  assert.equal(risk.length, per.size);
  assert.ok(risk.some((r) => r.entity_type === 'ip' && r.entity.includes(':')), 'IPv6 scored');
  for (const r of risk) {
    const m = per.get(`${r.entity_type} ${r.entity}`);
    assert.ok(m, `unexpected risk entity ${r.entity_type} ${r.entity}`);
    const want = combine([...m].map(([hunt, score]) => ({ hunt, score })), config.weights);
    assert.ok(Math.abs(r.score - want) < 0.1 + 1e-9, `${r.entity}: ${r.score} vs ${want}`);
    assert.deepEqual(r.hunts, [...m.keys()].sort());
    assert.equal(r.findings, m.size);
    assert.equal(r.severity, severityOf(r.score, config.thresholds));
  }
});

test('risk names every hunt of an entity, past 64 hunts (bits) and past 120 (lists)', async () => {
  const c = engine.conn;
  await c.run(`CREATE OR REPLACE TABLE t_one AS SELECT 'c1' AS cert_id`);
  await createHuntViews(c, { certificates: 't_one' }, []);
  const none = await huntAll(c, [hunt('nothing', 'certificate', `SELECT cert_id AS entity FROM certificates WHERE false`)], configFrom('t.yaml', {}));
  assert.deepEqual([none.findings, none.risk, (await topRisk(c, none)).length], [0, 0, 0], 'a run without findings');
  for (const n of [100, 125]) {
    const hunts = Array.from({ length: n }, (_, i) => hunt(`h-${String(i).padStart(3, '0')}`, 'certificate', `SELECT cert_id AS entity, ${1 + (i % 3)} AS score FROM certificates`));
    const run = await huntAll(c, hunts, configFrom('t.yaml', {}));
    const [risk] = await topRisk(c, run);
    assert.equal(risk!.entity, 'c1');
    assert.deepEqual(risk!.hunts, hunts.map((h) => h.id), `${n} hunts, sorted`);
    assert.equal(risk!.findings, n);
    assert.ok(Math.abs(risk!.score - combine(hunts.map((h, i) => ({ hunt: h.id, score: 1 + (i % 3) })), {})) < 0.1 + 1e-9, `${n}: score ${risk!.score}`);
  }
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeNetwork, type DemoData } from '../../src/demo/network.js';
import { run, sql } from '../helpers/cli.js';

/**
 * certhunt demo end to end: it makes the data set, ingests every sensor's output, runs the
 * library and must find each planted threat with the hunt meant for it, while the benign
 * population (popular and partner sites, internal services, their CAs and servers) earns no
 * high or critical finding or risk score. The planted entities are worked out here from the
 * generator's own output (DER → SHA-256), not from the demo's report.
 */
const dir = mkdtempSync(join(tmpdir(), 'certhunt-demo-'));
const lake = join(dir, 'lake');
let data: DemoData;
let out = '';
after(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');

before(async () => {
  const r = await run('demo', '--dir', dir, '--seed', '7');
  out = r.out + r.err;
  assert.equal(r.code, 0, out);
  data = await makeNetwork(7);
});

test('every sensor format is on disk and landed', async () => {
  const files = readdirSync(join(dir, 'data'), { recursive: true }).map(String).sort();
  for (const f of ['zeek-hq/x509.log', 'zeek-hq/ssl.log', 'zeek-hq/dns.log', 'zeek-branch/ssl.log', 'suricata-guest/eve.json', 'captures/lab.pcapng', 'captures/dmz.pcap']) {
    assert.ok(files.includes(f), `${f} written`);
  }
  assert.match(readFileSync(join(dir, 'data/zeek-branch/ssl.log'), 'utf8'), /^#separator \\x09/);
  const sources = (await sql(lake, 'SELECT DISTINCT source FROM observations ORDER BY 1')).map((r) => r.source);
  assert.deepEqual(sources, ['pcap', 'suricata_tls', 'zeek_ssl'], 'observations from every kind of sensor');
  const sessions = Object.values(data.networks).reduce((n, x) => n + x.sessions.length, 0);
  const [obs] = await sql(lake, 'SELECT count(*)::INT AS n FROM observations');
  assert.equal(obs!.n, sessions, 'one observation per session');
});

test('the same seed makes the same data set; another seed another', async () => {
  const again = await makeNetwork(7);
  assert.deepEqual(Object.keys(again.certificates), Object.keys(data.certificates));
  for (const [k, der] of Object.entries(data.certificates)) assert.equal(sha256(again.certificates[k]!), sha256(der), `${k} identical`);
  const other = await makeNetwork(8);
  assert.notEqual(sha256(other.certificates['c2/cobalt-strike']!), sha256(data.certificates['c2/cobalt-strike']!), 'another seed, other keys');
});

test('every planted threat is found by the hunt meant for it', async () => {
  const findings = (await sql(lake, 'SELECT hunt_id, entity FROM gold.findings WHERE run_id = (SELECT max(run_id) FROM gold.findings)')) as { hunt_id: string; entity: string }[];
  const got = new Set(findings.map((f) => `${f.hunt_id} ${f.entity}`));
  const missed = data.planted.filter((p) => !got.has(`${p.hunt} ${p.kind === 'certificate' ? sha256(data.certificates[p.value]!) : p.value}`));
  assert.deepEqual(missed, [], 'missed planted threats');
  const hunts = readdirSync(new URL('../../hunts/', import.meta.url)).map((f) => f.replace(/\.yaml$/, ''));
  const planted = new Set(data.planted.map((p) => p.hunt));
  // stack-issuers lists every issuer: nothing to plant.
  assert.deepEqual(hunts.filter((h) => !planted.has(h)).sort(), ['stack-issuers'], 'a planted threat for every other hunt');
  assert.match(out, new RegExp(`found it: ${data.planted.length} of ${data.planted.length}`), 'the demo says so');
});

test('the benign population yields no high or critical finding or risk score', async () => {
  const benignCerts = new Set(Object.entries(data.certificates).filter(([k]) => /^(site|partner|internal|appliance|ca)\//.test(k)).map(([, der]) => sha256(der)));
  const plantedHosts = new Set(data.planted.filter((p) => p.kind === 'host').map((p) => p.value));
  const benignServers = new Set<string>();
  const benignClients = new Set<string>();
  for (const net of Object.values(data.networks)) {
    for (const s of net.sessions) {
      if (s.chain[0] && benignCerts.has(sha256(data.certificates[s.chain[0]]!))) benignServers.add(s.server.ip);
      if (!plantedHosts.has(s.client.ip)) benignClients.add(s.client.ip);
    }
  }
  assert.ok(benignCerts.size > 100 && benignServers.size > 100 && benignClients.size > 50, 'a benign population');
  const severe = (await sql(lake, `SELECT hunt_id, entity_type, entity, severity FROM gold.findings
    WHERE run_id = (SELECT max(run_id) FROM gold.findings) AND severity IN ('high', 'critical')`)) as { hunt_id: string; entity: string }[];
  assert.ok(severe.length > 0, 'the threats do score high');
  assert.deepEqual(severe.filter((f) => benignCerts.has(f.entity) || benignClients.has(f.entity) || benignServers.has(f.entity.split(':')[0]!)), [], 'benign entities with high or critical findings');
  const risky = (await sql(lake, `SELECT entity_type, entity, score FROM gold.risk
    WHERE run_id = (SELECT max(run_id) FROM gold.risk) AND severity IN ('high', 'critical')`)) as { entity: string }[];
  assert.ok(risky.length > 0, 'some risk is high');
  assert.deepEqual(risky.filter((r) => benignCerts.has(r.entity) || benignServers.has(r.entity)), [], 'benign entities with high or critical risk');
});

test('the certificate command the demo suggests runs as printed, on a certificate it planted', async () => {
  const m = /certhunt cert (\S+) --lake (\S+)/.exec(out);
  assert.ok(m, `the demo suggests a cert command:\n${out.slice(-800)}`);
  const [, fp, lakeArg] = m;
  const planted = new Set(data.planted.filter((p) => p.kind === 'certificate').map((p) => sha256(data.certificates[p.value]!)));
  assert.ok(planted.has(fp!), `${fp} is a planted certificate, not a placeholder`);
  const r = await run('cert', fp!, '--lake', lakeArg!, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const view = JSON.parse(r.out) as { findings?: unknown[] };
  assert.ok(Array.isArray(view.findings) && view.findings.length > 0, 'the certificate has findings');
});

test('a second run starts afresh; a folder the demo did not make is refused', async () => {
  const again = await run('demo', '--dir', dir, '--seed', '7');
  assert.equal(again.code, 0, again.err);
  const [runs] = await sql(lake, 'SELECT count(DISTINCT run_id)::INT AS n FROM gold.findings');
  assert.equal(runs!.n, 1, 'the lake was made anew');
  const other = mkdtempSync(join(tmpdir(), 'certhunt-not-demo-'));
  writeFileSync(join(other, 'precious.txt'), 'keep me');
  const r = await run('demo', '--dir', other);
  assert.equal(r.code, 2);
  assert.match(r.err, /not empty and not a folder certhunt demo made/);
  assert.equal(readFileSync(join(other, 'precious.txt'), 'utf8'), 'keep me');
  rmSync(other, { recursive: true, force: true });
});

test('the exports are written', () => {
  const stix = JSON.parse(readFileSync(join(dir, 'exports/indicators.stix.json'), 'utf8')) as { type: string; objects: { type: string; pattern?: string }[] };
  assert.equal(stix.type, 'bundle');
  const cs = createHash('sha1').update(data.certificates['c2/cobalt-strike']!).digest('hex');
  assert.ok(stix.objects.some((o) => o.type === 'indicator' && o.pattern?.includes(cs)), 'the Cobalt Strike certificate is an indicator');
  assert.match(readFileSync(join(dir, 'exports/certhunt.intel'), 'utf8'), new RegExp(cs));
  assert.match(readFileSync(join(dir, 'exports/certhunt.rules'), 'utf8'), /tls\.cert_fingerprint/);
});

/**
 * certhunt generate: the data set at scale (src/demo/scale.ts, der.ts, mix.ts) written by
 * src/demo/generate.ts through the command itself, called in-process with quiet effects. Small
 * sizes here; one larger run in a child process with a 64 MB heap stands for "memory does not
 * grow with N or M" (Zeek's path; the Parquet path's joins run in DuckDB under its cap).
 *
 * What the counts are, by definition:
 * - Zeek: ssl.log has one line per session; x509.log one line per certificate a session sent in
 *   clear (TLS 1.2, not resumed), again only after Zeek's relog day has passed. Ingested, silver
 *   certificates are the distinct certificates of those chains (leaves and CAs), observations the
 *   sessions.
 * - Parquet: certificates.parquet has every one of the N certificates plus the 3 CA certificates;
 *   observations.parquet one row per session.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateCommand } from '../../src/cli/generate.js';
import { ingestCommand } from '../../src/cli/ingest.js';
import type { Effects } from '../../src/cli/context.js';
import { templateCertificate } from '../../src/demo/der.js';
import { generate, type GenerateMetadata } from '../../src/demo/generate.js';
import { BASIS, MIX } from '../../src/demo/mix.js';
import { Rng } from '../../src/demo/rng.js';
import { ScaleModel } from '../../src/demo/scale.js';
import { eachSession } from '../../src/demo/sessions.js';
import { zeekLines, zeekSessionLines } from '../../src/demo/zeek.js';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { Lake } from '../../src/pipeline/lake.js';
import { parseCertificate } from '../../src/x509/index.js';
import { run } from '../helpers/cli.js';

const N = 2000;
const M = 10_000;
/** Captures are big per session: fewer of them. */
const M_CAPTURE = 1500;
const FORMATS = ['zeek-json', 'zeek-tsv', 'eve', 'pcap', 'pcapng', 'parquet'] as const;

const dir = mkdtempSync(join(tmpdir(), 'certhunt-generate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const quiet: Effects = { stdout: () => {}, stderr: () => {}, env: {}, isTTY: false };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const engines: Engine[] = [];
  let out = '';
  try {
    const code = await generateCommand(args, { ...quiet, stdout: (t) => void (out += t) }, engines);
    return { code, out };
  } finally {
    for (const e of engines) e.close();
  }
}

const sizes = (format: string) => ['--certificates', String(N), '--observations', String(format.startsWith('pcap') ? M_CAPTURE : M)];
const out = (name: string) => join(dir, name);
const meta = (name: string) => JSON.parse(readFileSync(join(out(name), 'generate.json'), 'utf8')) as GenerateMetadata;
const files = (d: string) => readdirSync(d).filter((f) => statSync(join(d, f)).isFile()).sort();

let engine: Engine;
before(async () => {
  for (const format of FORMATS) {
    const r = await cli(...sizes(format), '--format', format, '--out', out(format), '--seed', '7');
    assert.equal(r.code, 0, `${format}: exit code`);
  }
  engine = await openEngine();
});
after(() => engine?.close());

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await engine.conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

test('every format is written, with generate.json saying what is in it', () => {
  const expected: Record<(typeof FORMATS)[number], string[]> = {
    'zeek-json': ['ssl.log', 'x509.log'],
    'zeek-tsv': ['ssl.log', 'x509.log'],
    eve: ['eve.json'],
    pcap: ['capture.pcap'],
    pcapng: ['capture.pcapng'],
    parquet: ['certificates.parquet', 'observations.parquet'],
  };
  for (const format of FORMATS) {
    const names = files(out(format));
    assert.deepEqual(names, [...expected[format], 'generate.json', 'ja3_fingerprints.csv', 'sslblacklist.csv', 'toplist.csv'].sort(), `${format}: the files`);
    for (const f of names) assert.ok(statSync(join(out(format), f)).size > 0, `${format}/${f} is not empty`);
    const m = meta(format);
    const sessions = format.startsWith('pcap') ? M_CAPTURE : M;
    assert.deepEqual([m.format, m.seed, m.certificates, m.sessions, m.ca_certificates], [format, 7, N, sessions, 3], `${format}: generate.json header`);
    assert.match(m.signatures, /not? .*verif/i, `${format}: generate.json says signatures do not verify`);
    assert.equal(m.certhunt_version, JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version, `${format}: the version`);
    assert.equal(Object.values(m.kinds).reduce((n, k) => n + k.sessions, 0), sessions, `${format}: every session counted under a kind`);
    assert.ok(Object.keys(m.planted).length >= 14 && Object.values(m.planted).every((p) => p.certificates > 0 && p.hunt), `${format}: every planted shape has certificates and a hunt`);
    for (const f of m.files) assert.equal(f.bytes, statSync(join(out(format), f.name)).size, `${format}: generate.json has ${f.name}'s size`);
  }
  const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(lines(join(out('zeek-json'), 'ssl.log')).length, M, 'ssl.log: a line per session');
  assert.equal(lines(join(out('zeek-tsv'), 'ssl.log')).length, M, 'TSV ssl.log: a line per session');
  assert.match(readFileSync(join(out('zeek-tsv'), 'ssl.log'), 'utf8'), /^#separator \\x09\n[^]*#close\t/, 'TSV: header and #close');
  const eve = lines(join(out('eve'), 'eve.json')).map((l) => JSON.parse(l) as { event_type: string });
  assert.ok(eve.length === M && eve.every((e) => e.event_type === 'tls'), 'eve.json: a tls event per session');
  assert.equal(readFileSync(join(out('pcap'), 'capture.pcap')).readUInt32LE(0), 0xa1b2c3d4, 'pcap magic');
  assert.equal(readFileSync(join(out('pcapng'), 'capture.pcapng')).readUInt32LE(0), 0x0a0d0d0a, 'pcapng section header');
  const toplist = lines(join(out('zeek-json'), 'toplist.csv'));
  assert.ok(toplist.length === meta('zeek-json').kinds.popular!.certificates && /^1,[a-z]+\.[a-z.]+$/.test(toplist[0]!), `toplist: the popular sites by rank (${toplist[0]})`);
});

test('the same seed gives byte-identical files; another seed differs', async () => {
  for (const format of ['zeek-json', 'zeek-tsv', 'eve', 'pcapng', 'parquet'] as const) {
    const again = join(dir, `again-${format}`);
    assert.equal((await cli(...sizes(format), '--format', format, '--out', again, '--seed', '7')).code, 0, `${format}: again`);
    for (const f of files(out(format))) {
      assert.ok(readFileSync(join(out(format), f)).equals(readFileSync(join(again, f))), `${format}/${f}: byte-identical for the same seed`);
    }
  }
  const other = join(dir, 'other-seed');
  assert.equal((await cli(...sizes('zeek-json'), '--out', other, '--seed', '8')).code, 0, 'seed 8');
  for (const f of ['x509.log', 'ssl.log', 'toplist.csv']) {
    assert.ok(!readFileSync(join(out('zeek-json'), f)).equals(readFileSync(join(other, f))), `${f}: another seed, other content`);
  }
  // Parquet parts: however many the rows were staged in, the same rows in the same order.
  const parts = join(dir, 'parts');
  await generate({ seed: 7, certificates: N, sessions: M, format: 'parquet', dir: parts, duckdb: async () => engine.conn, partRows: 700 });
  for (const table of ['certificates', 'observations']) {
    const digest = async (d: string) =>
      (await query(`SELECT md5(string_agg(CAST(t AS VARCHAR), '|' ORDER BY file_row_number)) AS h FROM read_parquet('${join(d, `${table}.parquet`)}', file_row_number = true) t`))[0]!.h;
    assert.equal(await digest(parts), await digest(out('parquet')), `${table}: same rows in the same order from 700-row parts`);
  }
});

test('Zeek JSON ingests: silver has the certificates sessions sent in clear, and every session', async () => {
  const model = new ScaleModel({ seed: 7, certificates: N, sessions: M });
  const sent = new Set<string>();
  let withChain = 0;
  for (const s of model.sessions()) {
    for (const name of s.chain) sent.add(name);
    if (s.chain.length > 0) withChain++;
  }
  const lookup = model.lookup();
  const expected = [...sent].map((n) => sha256(lookup.get(n)!)).sort();
  assert.ok(expected.length > 1000 && expected.length < N + 3 && withChain > M / 2, `a good part of the certificates is seen (${expected.length})`);

  // x509.log against Zeek's rule, kept here in a plain Map: once per (fingerprint, host_cert) a day.
  const logged = new Map<string, number>();
  let x509 = 0;
  for (const f of eachSession(model.stream())) {
    const at = f.times.certificate;
    if (at === null) continue;
    for (const [i, fp] of f.chainSha256.entries()) {
      const key = `${fp} ${i === 0}`;
      const last = logged.get(key);
      if (last !== undefined && at - last < 86_400_000) continue;
      logged.set(key, at);
      x509++;
    }
  }
  const x509Lines = readFileSync(join(out('zeek-json'), 'x509.log'), 'utf8').trimEnd().split('\n');
  assert.equal(x509Lines.length, x509, 'x509.log: Zeek relog rule, line for line');

  const lake = join(dir, 'lake');
  const engines: Engine[] = [];
  try {
    const code = await ingestCommand([join(out('zeek-json'), 'x509.log'), join(out('zeek-json'), 'ssl.log'), '--lake', lake], quiet, engines);
    assert.equal(code, 0, 'ingest exit code');
  } finally {
    for (const e of engines) e.close();
  }
  const sqlRows = async (q: string) => {
    const r = await run('sql', q, '--lake', lake, '--format', 'json');
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as Record<string, unknown>[];
  };
  const got = (await sqlRows('SELECT sha256 FROM certificates ORDER BY sha256')).map((r) => r.sha256);
  assert.deepEqual(got, expected, 'silver certificates: exactly those sent in clear');
  const [obs] = await sqlRows('SELECT count(*)::INT AS n, count(cert_id)::INT AS certs FROM observations');
  assert.deepEqual([obs!.n, obs!.certs], [M, withChain], 'silver observations: one per session, a certificate for those that sent one');
  const cs = await sqlRows("SELECT count(*)::INT AS n FROM certificates WHERE subject LIKE 'CN=Major Cobalt Strike,%' AND serial = '08bb00ee'");
  assert.ok((cs[0]!.n as number) > 0, 'Cobalt Strike default certificates landed as such');

  // The parquet output has silver's columns and types, lineage aside.
  for (const table of ['certificates', 'observations']) {
    const silver = await sqlRows(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM silver.${table})`);
    const parquet = await query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${join(out('parquet'), `${table}.parquet`)}'))`);
    assert.deepEqual(parquet, silver.filter((c) => !String(c.column_name).startsWith('_')), `${table}.parquet: silver's columns`);
  }
});

test('parquet: every certificate and session, seen times from the sessions that sent each', async () => {
  const f = (t: string) => `read_parquet('${join(out('parquet'), `${t}.parquet`)}')`;
  const [c] = await query(`SELECT count(*)::INT AS n, count(DISTINCT cert_id)::INT AS ids, count(first_seen)::INT AS seen, count(der)::INT AS der,
      count(*) FILTER (WHERE is_ca)::INT AS cas, min(validity_days) > 0 AS positive FROM ${f('certificates')}`);
  const [o] = await query(`SELECT count(*)::INT AS n, count(cert_sha256)::INT AS certs, count(DISTINCT uid)::INT AS uids,
      count(*) FILTER (WHERE cert_sha1 IS NOT NULL)::INT AS sha1 FROM ${f('observations')}`);
  const [sent] = await query(`SELECT count(DISTINCT sha)::INT AS n FROM (SELECT unnest(chain_sha256) AS sha FROM ${f('observations')})`);
  assert.deepEqual([c!.n, c!.ids, c!.der, c!.cas, c!.positive], [N + 3, N + 3, N + 3, 3, true], 'certificates: N and the 3 CAs, DER and all');
  assert.equal(c!.seen, sent!.n, 'first_seen for exactly the certificates sessions sent');
  assert.deepEqual([o!.n, o!.uids, o!.sha1], [M, M, o!.certs], 'observations: one per session, a uid each, SHA-1 with every leaf');
  const [order] = await query(`SELECT bool_and(ts >= prev) AS ordered FROM (SELECT ts, lag(ts, 1, ts) OVER (ORDER BY file_row_number) AS prev FROM read_parquet('${join(out('parquet'), 'observations.parquet')}', file_row_number = true))`);
  assert.equal(order!.ordered, true, 'observations in time order');
});

test('parquet observations: the facts every log writer derives from the same sessions', async () => {
  // The Parquet writer names certificates by index and joins their fingerprints in SQL, and
  // takes hello facts from a cache: held here to eachSession, which the Zeek, eve and capture
  // writers use, row by row.
  const model = new ScaleModel({ seed: 7, certificates: N, sessions: M });
  const rows = await query(`SELECT uid, epoch_ms(ts)::DOUBLE AS ts, src_ip, src_port, dest_ip, dest_port, server_name, tls_version, cipher, ja3, ja3s, ja4,
      cert_sha256, cert_sha1, chain_sha256, established, cert_id
    FROM read_parquet('${join(out('parquet'), 'observations.parquet')}', file_row_number = true) ORDER BY file_row_number`);
  assert.equal(rows.length, M, 'a row per session');
  let k = 0;
  for (const f of eachSession(model.stream())) {
    const s = f.spec;
    const leaf = f.chainSha256[0] ?? null;
    const expected = {
      uid: f.uid, ts: f.times.clientHello, src_ip: s.client.ip, src_port: s.client.port, dest_ip: s.server.ip, dest_port: s.server.port,
      server_name: s.sni, tls_version: f.version, cipher: f.cipherName, ja3: f.ja3.md5, ja3s: f.ja3s.md5, ja4: f.ja4,
      cert_sha256: leaf, cert_sha1: leaf === null ? null : createHash('sha1').update(f.ders[0]!).digest('hex'), chain_sha256: f.chainSha256,
      established: f.established, cert_id: leaf,
    };
    assert.deepEqual(rows[k], expected, `session ${k}`);
    k++;
  }
});

test('intel lists: the SSL Blacklist lists every certificate of the listed kinds, and both lists load', async () => {
  const model = new ScaleModel({ seed: 7, certificates: N, sessions: 0 });
  const expected = new Map<string, string>();
  for (const [k, kind] of MIX.entries()) {
    if (!('sslbl' in kind)) continue;
    for (let r = 0; r < model.counts[k]!; r++) expected.set(createHash('sha1').update(model.certificateAt(model.indexOf(k, r)).der).digest('hex'), kind.sslbl);
  }
  assert.ok(expected.size >= 10, `some certificates are listed (${expected.size})`);
  const lake = join(dir, 'intel-lake');
  for (const [file, kind] of [['sslblacklist.csv', 'sslbl'], ['ja3_fingerprints.csv', 'ja3']] as const) {
    const r = await run('intel', join(out('parquet'), file), '--kind', kind, '--lake', lake);
    assert.equal(r.code, 0, `${file}: ${r.err}`);
  }
  const sql = async (q: string) => {
    const r = await run('sql', q, '--lake', lake, '--format', 'json');
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as Record<string, unknown>[];
  };
  const listed = await sql('SELECT sha1, listing_reason FROM intel_sslbl ORDER BY sha1');
  assert.deepEqual(listed.map((x) => [x.sha1, x.listing_reason]), [...expected].sort(([a], [b]) => (a < b ? -1 : 1)), 'intel_sslbl: the listed kinds\' SHA-1s, each with its reason');
  const implants = new Set<string>();
  for (const f of eachSession(new ScaleModel({ seed: 7, certificates: N, sessions: M }).stream())) if (f.spec.client_kind === 'implant') implants.add(f.ja3.md5);
  const ja3 = (await sql('SELECT ja3_md5 FROM intel_ja3 ORDER BY 1')).map((x) => x.ja3_md5);
  assert.deepEqual(ja3, [...implants].sort(), 'intel_ja3: exactly the JA3s implants send');
});

test('every planted shape is found by the hunt generate.json names for it; no benign certificate is high', async () => {
  // The lake the hunts benchmark builds: silver from the Parquet files, the intel generate wrote.
  const lake = join(dir, 'hunt-lake');
  const L = new Lake(lake, engine.conn);
  for (const name of ['certificates', 'observations']) {
    await (await L.table('silver', name)).create({ from: `SELECT * FROM read_parquet('${join(out('parquet'), `${name}.parquet`)}')` });
  }
  for (const [file, kind, name] of [['sslblacklist.csv', 'sslbl'], ['ja3_fingerprints.csv', 'ja3'], ['toplist.csv', 'toplist', 'tranco']] as const) {
    const r = await run('intel', join(out('parquet'), file), '--kind', kind, ...(name ? ['--name', name] : []), '--lake', lake);
    assert.equal(r.code, 0, `${file}: ${r.err}`);
  }
  const h = await run('hunt', '--lake', lake, '--limit', '1');
  assert.equal(h.code, 0, h.err);
  const sql = async (q: string) => {
    const r = await run('sql', q, '--lake', lake, '--format', 'json');
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as Record<string, unknown>[];
  };
  const found = new Map<string, Set<string>>();
  for (const f of await sql("SELECT hunt_id, entity FROM gold.findings WHERE entity_type = 'certificate'")) {
    const set = found.get(f.hunt_id as string) ?? new Set<string>();
    found.set(f.hunt_id as string, set.add(f.entity as string));
  }
  const high = new Set((await sql("SELECT entity FROM gold.findings WHERE entity_type = 'certificate' AND severity IN ('high', 'critical')")).map((r) => r.entity as string));
  // Sessions decide what a sensor saw: a planted certificate no session sent in clear cannot be
  // in use, moving or popular with anyone, so the hunts that need sightings are held to the seen ones.
  const seen = new Set((await sql('SELECT sha256 FROM certificates WHERE first_seen IS NOT NULL')).map((r) => r.sha256 as string));
  const model = new ScaleModel({ seed: 7, certificates: N, sessions: M });
  for (const [k, kind] of MIX.entries()) {
    const shas = Array.from({ length: model.counts[k]! }, (_, r) => sha256(model.certificateAt(model.indexOf(k, r)).der)).filter((s) => seen.has(s));
    if (!kind.threat) {
      assert.deepEqual(shas.filter((s) => high.has(s)), [], `${kind.id}: no high or critical finding on a benign certificate`);
      continue;
    }
    assert.ok(shas.length > 0, `${kind.id}: some certificates were seen`);
    for (const hunt of [kind.hunt, ...('sslbl' in kind ? ['blacklisted-certificates'] : [])]) {
      const missed = shas.filter((s) => !found.get(hunt)?.has(s));
      assert.deepEqual(missed, [], `${kind.id}: every one seen is found by ${hunt}`);
    }
  }
});

test('template DER: our parser and OpenSSL agree on every kind of certificate', () => {
  const model = new ScaleModel({ seed: 7, certificates: N, sessions: 0 });
  const ders: [string, Uint8Array][] = MIX.map((k, i) => [k.id, model.certificateAt(model.indexOf(i, 0)).der]);
  ders.push(...model.caCertificates());
  // Past 2049 a time is a GeneralizedTime; a P-384 key signed with ECDSA; an escaped comma.
  const far = templateCertificate({
    subject: 'CN=far\\, away,O=Example,C=US', issuer: 'CN=EC Root', serial: '00ff01', notBefore: Date.UTC(2049, 11, 31, 23, 59, 59), notAfter: Date.UTC(2051, 0, 1),
    key: { type: 'ec', curve: 'P-384' }, signerKey: { type: 'ec', curve: 'P-384' }, hash: 'sha384', san: { dns: ['far.example'], ip: ['192.0.2.7'] },
  }, new Rng(1, 'far'));
  ders.push(['far', far.der]);
  for (const [what, der] of ders) {
    const p = parseCertificate(der);
    const x = new X509Certificate(der);
    assert.deepEqual(p.parse_warnings, [], `${what}: no parse warnings`);
    // OpenSSL lists RDNs in encoding order, one a line; Zeek prints them the other way round.
    const dn = (s: string) => s.split('\n').reverse().join(',');
    assert.equal(dn(x.subject), p.subject, `${what}: subject`);
    assert.equal(dn(x.issuer), p.issuer, `${what}: issuer`);
    assert.equal(x.serialNumber.toLowerCase(), p.serial, `${what}: serial`);
    assert.equal(Date.parse(x.validFrom), p.not_valid_before, `${what}: notBefore`);
    assert.equal(Date.parse(x.validTo), p.not_valid_after, `${what}: notAfter`);
    const san = (x.subjectAltName ?? '').split(', ').filter(Boolean);
    assert.deepEqual(san, [...p.subject_alternative_names.map((d) => `DNS:${d}`), ...p.san_ip.map((ip) => `IP Address:${ip}`)], `${what}: SANs`);
    assert.equal(p.version, 3, `${what}: v3`);
    // OpenSSL decodes the key too (an EC point off the curve it refuses).
    const key = x.publicKey;
    assert.equal(key.asymmetricKeyType, p.key_type === 'ecdsa' ? 'ec' : 'rsa', `${what}: key type`);
    if (p.key_type === 'ecdsa') assert.equal(key.asymmetricKeyDetails?.namedCurve, p.curve, `${what}: curve`);
    else assert.equal(key.asymmetricKeyDetails?.modulusLength, p.key_length, `${what}: modulus length`);
  }
  const p = parseCertificate(far.der);
  assert.deepEqual([p.subject, p.serial, p.key_type, p.key_length, p.sig_alg], ['CN=far\\, away,O=Example,C=US', 'ff01', 'ecdsa', 384, 'ecdsa-with-SHA384'], 'far: fields');
  assert.ok(Buffer.from(far.der).includes(Buffer.from('20510101000000Z')), 'far: notAfter as GeneralizedTime');
  const weak = parseCertificate(model.certificateAt(model.indexOf(MIX.findIndex((k) => k.id === 'weak'), 0)).der);
  assert.deepEqual([weak.key_type, weak.key_length, weak.sig_alg, weak.self_issued], ['rsa', 1024, 'sha1WithRSAEncryption', true], 'weak: RSA 1024, SHA-1, self-issued');
  const cs = parseCertificate(model.certificateAt(model.indexOf(MIX.findIndex((k) => k.id === 'c2-cobalt-strike'), 0)).der);
  assert.deepEqual([cs.serial, cs.extensions], ['08bb00ee', ['2.5.29.14']], "Cobalt Strike: its serial, keytool's one extension");
});

test('the mix: certificates and sessions in proportion to the weights', () => {
  const model = new ScaleModel({ seed: 7, certificates: N, sessions: M });
  const kinds = new Map<string, number>();
  for (let i = 0; i < N; i++) kinds.set(model.kindOf(i), (kinds.get(model.kindOf(i)) ?? 0) + 1);
  for (const [i, k] of MIX.entries()) {
    assert.equal(kinds.get(k.id) ?? 0, model.counts[i], `${k.id}: the layout counts what it lays out`);
    assert.ok(Math.abs(model.counts[i]! - (N * k.certificates) / BASIS) <= 1.5, `${k.id}: ${model.counts[i]} certificates for weight ${k.certificates}`);
    const r = model.rankOf(model.indexOf(i, model.counts[i]! - 1));
    assert.equal(r, model.counts[i]! - 1, `${k.id}: indexOf and rankOf agree`);
  }
  let tls13 = 0;
  let port443 = 0;
  let implant = 0;
  const perKind = new Map<string, number>();
  const perCert = new Map<number, number>();
  for (const s of model.sessions()) {
    perKind.set(s.kind, (perKind.get(s.kind) ?? 0) + 1);
    perCert.set(s.certificate, (perCert.get(s.certificate) ?? 0) + 1);
    if (s.version === 'TLSv13') tls13++;
    if (s.server.port === 443) port443++;
    if (s.client_kind === 'implant') {
      implant++;
      assert.ok(MIX.find((k) => k.id === s.kind)!.threat, `${s.kind}: implants talk to threats only`);
    }
  }
  for (const k of MIX) {
    const p = k.sessions / BASIS;
    const sd = Math.sqrt(M * p * (1 - p));
    const n = perKind.get(k.id) ?? 0;
    assert.ok(Math.abs(n - M * p) <= 5 * sd + 3, `${k.id}: ${n} sessions, expected ${M * p} ± ${(5 * sd + 3).toFixed(0)}`);
  }
  assert.deepEqual(Object.fromEntries(perKind), Object.fromEntries(Object.entries(meta('zeek-json').kinds).filter(([, v]) => v.sessions > 0).map(([k, v]) => [k, v.sessions])), 'generate.json counts the sessions drawn');
  assert.ok(tls13 / M > 0.25 && tls13 / M < 0.4, `TLS 1.3 for some (${tls13 / M})`);
  assert.ok(port443 / M > 0.9, `port 443 mostly (${port443 / M})`);
  assert.ok(implant > 0 && implant / M < 0.05, `implant hellos, a few per cent (${implant / M})`);
  const top = [...perCert.values()].sort((a, b) => b - a);
  assert.ok(top[0]! > M * 0.03 && top[0]! > 20 * top[Math.floor(top.length / 2)]!, `a few very popular certificates (top ${top[0]}, median ${top[Math.floor(top.length / 2)]})`);
});

test('one pass writes both Zeek logs as zeekLines does', () => {
  const model = new ScaleModel({ seed: 3, certificates: 300, sessions: 1500 });
  for (const format of ['json', 'tsv'] as const) {
    const both = [...zeekSessionLines(model.stream(), { format, ja3: true })];
    for (const log of ['x509', 'ssl'] as const) {
      assert.deepEqual(both.filter((l) => l.log === log).map((l) => l.line), [...zeekLines(model.stream(), log, { format, ja3: true })], `${format} ${log}.log`);
    }
  }
});

test('usage errors exit 2', async () => {
  for (const args of [[], ['--certificates', '10'], ['--certificates', '10', '--observations', 'x'], ['--certificates', '0', '--observations', '5'],
    ['--certificates', '10', '--observations', '5', '--format', 'csv'], ['--certificates', '10', '--observations', '5', '--format', 'eve', '--zeek-certs']]) {
    await assert.rejects(cli(...args, '--out', join(dir, 'never')), (e: { exitCode?: number }) => e.exitCode === 2, `exit 2 for ${args.join(' ')}`);
  }
  assert.match((await cli('--help')).out, /certhunt generate --certificates N --observations M/, 'help');
});

test('bounded memory: 200k sessions in a 64 MB heap, as Zeek logs and as Parquet', () => {
  const module = pathToFileURL(fileURLToPath(new URL('../../src/cli/generate.ts', import.meta.url))).href;
  const child = `const { generateCommand } = await import(process.env.GENERATE_MODULE);
    const quiet = { stdout: (t) => process.stdout.write(t), stderr: () => {}, env: {}, isTTY: false };
    const engines = [];
    process.exitCode = await generateCommand(JSON.parse(process.env.GENERATE_ARGS), quiet, engines);
    for (const e of engines) e.close();`;
  for (const [format, file] of [['zeek-json', 'ssl.log'], ['parquet', 'observations.parquet']] as const) {
    const target = join(dir, `big-${format}`);
    const args = ['--certificates', '20000', '--observations', '200000', '--format', format, '--out', target];
    const stdout = execFileSync(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', '--input-type=module', '-e', child], {
      env: { ...process.env, GENERATE_MODULE: module, GENERATE_ARGS: JSON.stringify(args) },
      encoding: 'utf8',
    });
    assert.match(stdout, /200,000 sessions/, `${format}: it completes`);
    const m = JSON.parse(readFileSync(join(target, 'generate.json'), 'utf8')) as GenerateMetadata;
    assert.equal(m.files.find((f) => f.name === file)?.rows, 200_000, `${format}: every session written`);
  }
});

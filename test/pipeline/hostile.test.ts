import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { queryJson } from '../../src/lake/parquet.js';
import { BronzeBatch, countReason, LARGE_ROWS_TAG, MAX_REASONS, OTHER_REASONS, prepareItem } from '../../src/pipeline/bronze.js';
import type { Lake } from '../../src/pipeline/lake.js';
import { refreshSilver } from '../../src/pipeline/silver.js';
import { LARGE_ROWS_CHARS } from '../../src/pipeline/stage.js';
import { MAX_LIST_ENTRIES } from '../../src/sources/certfile.js';
import { runWith } from '../helpers/cli.js';
import { buildCertificate, keyPair, sanExt, simpleName, toPem } from '../x509/helpers/build.js';
import { testLakes } from '../helpers/lakes.js';

/**
 * Values that JavaScript reads without complaint but the lake's columns cannot hold, and text
 * DuckDB's JSON reader refuses: each once failed a whole batch (exit 2), or, once in bronze,
 * every silver step after it. One hostile line must cost one reject, or one replaced character.
 */
const lakes = testLakes('hostile');

const fp = (c: string) => c.repeat(64);
const x509 = (fields: Record<string, unknown>) =>
  JSON.stringify({ ts: 1700000000.5, 'certificate.version': 3, 'certificate.serial': '01', 'certificate.subject': 'CN=a', 'certificate.issuer': 'CN=Issuer', ...fields });

async function all(lake: Lake, sql: (from: (layer: 'bronze' | 'silver', name: string) => Promise<string>) => Promise<string>): Promise<Record<string, unknown>[]> {
  const from = async (layer: 'bronze' | 'silver', name: string) => `(${(await (await lake.table(layer, name)).scan()).sql})`;
  return queryJson(lake.conn, await sql(from));
}

test('a count past INTEGER, a time past the year 9999, a lone surrogate: one reject each, or U+FFFD; the run goes on', async () => {
  const log = join(lakes.dir, 'x509.log');
  // A lone surrogate can only be written as a JSON escape: JSON.stringify would write the character.
  const lone = x509({ fingerprint: fp('5'), 'certificate.subject': 'CN=SURROGATE' }).replace('SURROGATE', 'lone\\udc00x');
  const lines = [
    x509({ fingerprint: fp('1') }),
    x509({ fingerprint: fp('2'), 'certificate.key_length': 3_000_000_000 }),
    x509({ fingerprint: fp('3'), 'certificate.not_valid_after': 1e20 }),
    x509({ fingerprint: fp('4'), ts: 1e19 }),
    lone,
    x509({ fingerprint: fp('6'), 'basic_constraints.path_len': 2 ** 40 }),
    x509({ fingerprint: fp('7'), 'certificate.not_valid_after': 253402300799 }), // 9999-12-31T23:59:59Z: the last second there is
  ];
  writeFileSync(log, lines.join('\n') + '\n');
  const ssl = join(lakes.dir, 'ssl.log');
  const session = (port: number, uid: string) => JSON.stringify({ ts: 1700000001.25, uid, 'id.orig_h': '10.0.0.1', 'id.orig_p': 50000, 'id.resp_h': '192.0.2.1', 'id.resp_p': port, version: 'TLSv12', established: true, cert_chain_fps: [fp('1')] });
  writeFileSync(ssl, [session(443, 'Cgood'), session(5_000_000_000, 'Cbad')].join('\n') + '\n');

  const lands = new Map<string, { certs: unknown; obs: unknown; rejects: unknown }>();
  for (const threads of [0, 2]) {
    const { lake, report } = await lakes.ingestWith([log, ssl], { readers: { threads, blockBytes: 300, minBytes: 0 } });
    assert.deepEqual(report.files.map((f) => [f.status, f.certificates, f.observations, f.rejects]), [['ingested', 3, 0, 4], ['ingested', 0, 1, 1]], `${threads} threads: counts per file`);
    const rejects = await all(lake, async (from) => `SELECT _source_pos::INTEGER AS pos, reason FROM ${await from('bronze', 'rejects')} ORDER BY _source, pos`);
    assert.deepEqual(rejects, [
      { pos: 2, reason: 'dest_port: 5000000000 does not fit an INTEGER column' },
      { pos: 2, reason: 'key_length: 3000000000 does not fit an INTEGER column' },
      { pos: 3, reason: 'not_valid_after: 1e+23 ms is outside the years a timestamp can hold' },
      // Past 1e11, ts reads as Zeek's JSON::TS_MILLIS.
      { pos: 4, reason: 'ts: 10000000000000000000 ms is outside the years a timestamp can hold' },
      { pos: 6, reason: 'path_len: 1099511627776 does not fit an INTEGER column' },
    ], `${threads} threads: the rejects name the column and the value`);
    const certs = await all(lake, async (from) => `SELECT cert_id, subject, subject_cn, CAST(not_valid_after AS VARCHAR) AS nva FROM ${await from('silver', 'certificates')} ORDER BY cert_id`);
    assert.deepEqual(certs, [
      { cert_id: fp('1'), subject: 'CN=a', subject_cn: 'a', nva: null },
      { cert_id: fp('5'), subject: 'CN=lone\ufffdx', subject_cn: 'lone\ufffdx', nva: null },
      { cert_id: fp('7'), subject: 'CN=a', subject_cn: 'a', nva: '9999-12-31 23:59:59+00' },
    ], `${threads} threads: the good lines and the surrogate's line land, the surrogate replaced`);
    const obs = await all(lake, async (from) => `SELECT uid, dest_port, cert_id FROM ${await from('silver', 'observations')}`);
    assert.deepEqual(obs, [{ uid: 'Cgood', dest_port: 443, cert_id: fp('1') }], `${threads} threads: the good session lands`);
    lands.set(String(threads), { certs, obs, rejects });
  }
  assert.deepEqual(lands.get('2'), lands.get('0'), 'threads land what one thread lands');
});

test('a time past what silver can convert, already in bronze (from before staging refused it), does not stop silver', async () => {
  const lake = lakes.newLake();
  const batch = new BronzeBatch({ lake, ingestId: 'old-run', ingestedAt: 1_700_000_000, source: 'file:///old/x509.log', format: 'zeek_x509' });
  const ctx = { source: 'file:///old/x509.log', format: 'zeek_x509' };
  const cert = (sha256: string, notValidAfter: number) => ({
    sha256, sha1: null, md5: null, serial: '01', version: 3, subject: 'CN=a', issuer: 'CN=b', common_name: 'a', subject_alternative_names: [], san_ip: [], san_email: [], san_uri: [],
    not_valid_before: 1_600_000_000_000, not_valid_after: notValidAfter, key_alg: null, key_type: null, key_length: null, exponent: null, curve: null, sig_alg: null,
    is_ca: null, path_len: null, self_issued: null, self_signed: null, extensions: [], der: null, parse_warnings: [], ts: 1_700_000_000_000,
  });
  // The row text as staging wrote it before it checked ranges (prepareItem now refuses this one).
  const good = prepareItem({ kind: 'certificate', pos: 1, cert: cert(fp('a'), 1_800_000_000_000), raw: '{}' }, ctx);
  const poisoned = { ...good, pos: 2, text: good.text.replace(fp('a'), fp('b')).replace('"not_valid_after":1800000000000', '"not_valid_after":1e300') };
  assert.notEqual(poisoned.text, good.text.replace(fp('a'), fp('b')), 'the poisoned row differs from a good one by its time');
  assert.equal(prepareItem({ kind: 'certificate', pos: 2, cert: cert(fp('b'), 1e300), raw: '{}' }, ctx).kind, 'reject', 'staging refuses it now');
  await batch.addPrepared(good);
  await batch.addPrepared(poisoned);
  await batch.commit({ appId: 'test', version: 0 });
  const result = await refreshSilver(lake, ['zeek_x509']);
  assert.deepEqual(result.certificates, { inserted: 2, updated: 0 }, 'both certificates reach silver');
  const rows = await all(lake, async (from) => `SELECT cert_id, CAST(not_valid_after AS VARCHAR) AS nva, validity_days IS NULL AS no_days FROM ${await from('silver', 'certificates')} ORDER BY cert_id`);
  assert.deepEqual(rows, [
    { cert_id: fp('a'), nva: '2027-01-15 08:00:00+00', no_days: false },
    { cert_id: fp('b'), nva: null, no_days: true },
  ], 'the time silver cannot hold is NULL, not an error');
});

test('pre-4.1 logs: an x509 line DuckDB cannot read as JSON links no session, and the others still link', async () => {
  const x509 = join(lakes.dir, 'old-x509.log');
  const line = (id: string, serial: string, subject: string) => JSON.stringify({ ts: 1598992773.5, id, 'certificate.version': 3, 'certificate.serial': serial, 'certificate.subject': subject, 'certificate.issuer': 'CN=Old CA' });
  writeFileSync(x509, [line('Fgood', '0B', 'CN=good.example'), line('Flone', '0A', 'CN=SURROGATE').replace('SURROGATE', 'lone\\udc00')].join('\n') + '\n');
  const ssl = join(lakes.dir, 'old-ssl.log');
  const session = (uid: string, fuid: string) => JSON.stringify({ ts: 1598992774.5, uid, 'id.orig_h': '10.0.0.5', 'id.orig_p': 50000, 'id.resp_h': '192.0.2.7', 'id.resp_p': 443, established: true, cert_chain_fuids: [fuid] });
  writeFileSync(ssl, [session('Cgood', 'Fgood'), session('Clone', 'Flone')].join('\n') + '\n');
  const { lake, report } = await lakes.ingestWith([ssl, x509]);
  assert.deepEqual(report.files.map((f) => [f.status, f.rejects]), [['ingested', 0], ['ingested', 0]], 'both logs read whole');
  const rows = await all(lake, async (from) => `SELECT o.uid, o.cert_id, c.subject FROM ${await from('silver', 'observations')} o LEFT JOIN ${await from('silver', 'certificates')} c USING (cert_id) ORDER BY uid`);
  assert.deepEqual(rows, [
    { uid: 'Cgood', cert_id: 'issuer-serial:CN=Old CA|0b', subject: 'CN=good.example' },
    { uid: 'Clone', cert_id: null, subject: null },
  ], 'the readable line links its session');
  const certs = await all(lake, async (from) => `SELECT subject FROM ${await from('silver', 'certificates')} ORDER BY subject`);
  assert.deepEqual(certs, [{ subject: 'CN=good.example' }, { subject: 'CN=lone\ufffd' }], 'both certificates are in silver');
});

test("the summary's reasons stay few whatever the input: values masked, distinct ones capped", async () => {
  const log = join(lakes.dir, 'reasons.log');
  // A reason naming each line's own value: a summary of 3,000 reasons, and as many map entries per million lines.
  const lines = Array.from({ length: 3000 }, (_, i) => x509({ fingerprint: fp('9'), ts: `bad-${i.toString(36).replace(/\d/g, (d) => 'ghijklmnop'[Number(d)]!)}` }));
  writeFileSync(log, lines.join('\n') + '\n');
  const { report } = await lakes.ingestWith([log]);
  assert.equal(report.files[0]!.rejects, 3000, 'every line is a reject');
  assert.deepEqual(report.rejectReasons, { 'ts: not a time: "…"': 3000 }, 'one reason, the value masked');
  const reasons = new Map<string, number>();
  for (let i = 0; i < MAX_REASONS + 50; i++) countReason(reasons, `reason ${'abcdefghijklmnopqrstuvwxyz'[i % 26]}${'abcdefghij'[Math.floor(i / 26)]}`, 2);
  countReason(reasons, 'reason aa', 5);
  assert.equal(reasons.size, MAX_REASONS + 1, 'at most MAX_REASONS reasons, and the rest together');
  assert.equal(reasons.get(OTHER_REASONS), 100, 'the 50 reasons past the cap counted together');
  assert.equal(reasons.get('reason aa'), 7, 'a reason already kept goes on counting');
});

test('a long JSON line nested past MAX_JSON_DEPTH is a reject before it is parsed, in Zeek, eve and scan logs alike', async () => {
  const { MAX_JSON_DEPTH } = await import('../../src/sources/values.js');
  const deep = (n: number) => `{"a":${'['.repeat(n)}${']'.repeat(n)}}`;
  // Past the depth in a long line (a 16 MiB line of `[` once cost ~800 MB to parse); within it,
  // and a long line whose brackets sit inside a string, read as before.
  const long = 'x'.repeat(70_000);
  const files = [
    ['x509.log', (extra: string) => x509({ fingerprint: fp('c'), 'certificate.subject': `CN=${extra}` })],
    ['eve.json', (extra: string) => JSON.stringify({ timestamp: '2026-10-01T10:00:00.000000+0000', event_type: 'tls', src_ip: '10.0.0.1', src_port: 1, dest_ip: '192.0.2.1', dest_port: 443, tls: { subject: `CN=${extra}`, fingerprint: 'ab:'.repeat(19) + 'ab' } })],
  ] as const;
  for (const [name, line] of files) {
    const path = join(lakes.dir, `deep-${name}`);
    // The record's own object is one level: `a` holds the rest.
    const tooDeep = deep(MAX_JSON_DEPTH).replace('{"a":', `{"pad":"${long}","a":`);
    const fine = deep(MAX_JSON_DEPTH - 1).replace('{"a":', `{"pad":"${long}","a":`);
    writeFileSync(path, [line('ok'), tooDeep, line('[['.repeat(40_000)), fine].join('\n') + '\n');
    const { lake, report } = await lakes.ingestWith([path]);
    assert.equal(report.files[0]!.status, 'ingested', `${name} is read`);
    const rejects = await all(lake, async (from) => `SELECT _source_pos::INTEGER AS pos, reason FROM ${await from('bronze', 'rejects')} ORDER BY pos`);
    assert.deepEqual(rejects[0], { pos: 2, reason: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` }, `${name}: the deep line is refused`);
    assert.ok(!rejects.some((r) => r.pos === 1 || r.pos === 3), `${name}: the record and the one with brackets in a string are read (${JSON.stringify(rejects)})`);
    assert.ok(!rejects.some((r) => r.pos === 4 && /nested/.test(String(r.reason))), `${name}: nesting at the limit is parsed, not refused for depth`);
  }
});

test('a line of many megabytes under the line cap lands, or is a reject when its row is too large: the run goes on', async () => {
  const { run } = await import('../helpers/cli.js');
  const { MAX_ROW_BYTES } = await import('../../src/pipeline/bronze.js');
  const fields = ['ts', 'fingerprint', 'certificate.subject', 'certificate.issuer', 'san.dns'];
  const header = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tx509', `#fields\t${fields.join('\t')}`, '#types\ttime\tstring\tstring\tstring\tvector[string]'];
  const row = (f: string, subject: string, sans: string) => ['1700000000.0', fp(f), subject, 'CN=b', sans].join('\t');
  const log = join(lakes.dir, 'wide-x509.log');
  writeFileSync(log, [
    ...header,
    row('1', 'CN=a', 'a.example'),
    // 15 MB, 900k SANs: DuckDB's reader was sized for three bytes a character and ran out of memory.
    row('2', 'CN=many', Array.from({ length: 900_000 }, (_, i) => `h${i % 1000}.example.com`).join(',')),
    // 15 MB of quotes, escaped in raw and again in the row: past MAX_ROW_BYTES.
    row('3', `CN=${'"'.repeat(15_000_000)}`, 'q.example'),
    row('4', 'CN=d', 'd.example'),
    // 8 MB of quotes: the raw text passes the early check, the whole row (raw and record) does not.
    row('5', `CN=${'"'.repeat(8_000_000)}`, 'r.example'),
    // A second row of 900k SANs: two of them in one bronze batch ran out of DuckDB's ingest
    // memory, then, once batched apart, a dozen in silver and hunts.
    row('6', 'CN=many too', Array.from({ length: 900_000 }, (_, i) => `h${i % 1000}.example.org`).join(',')),
  ].join('\n') + '\n');
  const lake = join(lakes.dir, 'wide-lake');
  const r = await run('ingest', log, '--lake', lake, '--format', 'json', '--readers', '0');
  assert.equal(r.code, 0, r.err.slice(0, 1000));
  const report = JSON.parse(r.out) as { files: { certificates: number; rejects: number }[]; rejectReasons: Record<string, number>; coverage: { listsCut: number } };
  assert.equal(report.coverage.listsCut, 2, 'the summary counts the certificates whose lists were cut');
  assert.deepEqual([report.files[0]!.certificates, report.files[0]!.rejects], [4, 2], 'four certificates and two rejects');
  // The first refused from its raw text alone, before its row is built; the second once built.
  assert.deepEqual(Object.keys(report.rejectReasons).sort(), [
    'record too large for bronze: N bytes as a row (at most N)',
    'record too large for bronze: at least N bytes as a row (at most N)',
  ], 'the rejects say why');
  const { sql } = await import('../helpers/cli.js');
  const certs = await sql(lake, 'SELECT cert_id, len(subject_alternative_names)::INTEGER AS sans, parse_warnings AS warnings FROM silver.certificates ORDER BY cert_id');
  const kept = [`subject_alternative_names: kept the first ${MAX_LIST_ENTRIES} of 900000 entries`];
  assert.deepEqual(
    certs,
    [
      { cert_id: fp('1'), sans: 1, warnings: [] }, { cert_id: fp('2'), sans: MAX_LIST_ENTRIES, warnings: kept },
      { cert_id: fp('4'), sans: 1, warnings: [] }, { cert_id: fp('6'), sans: MAX_LIST_ENTRIES, warnings: kept },
    ],
    'the lists of 900k SANs land with their first MAX_LIST_ENTRIES, and a warning that says so',
  );
  const [first] = await sql(lake, `SELECT subject_alternative_names[1] AS a, subject_alternative_names[${MAX_LIST_ENTRIES}] AS z, registered_domains AS d FROM silver.certificates WHERE cert_id = '${fp('6')}'`);
  assert.deepEqual(first, { a: 'h0.example.org', z: `h${(MAX_LIST_ENTRIES - 1) % 1000}.example.org`, d: ['example.org'] }, 'the first ones, in order');
  const raws = await sql(lake, `SELECT _source_pos::INTEGER AS pos, length(raw) > 14000000 AS whole FROM bronze.zeek_x509 WHERE cert.sha256 IN ('${fp('2')}', '${fp('6')}') ORDER BY pos`);
  assert.deepEqual(raws, [{ pos: 9, whole: true }, { pos: 13, whole: true }], "bronze's raw keeps each line whole");
  // Both lines (~15 MB each as raw) are large rows: their batches say so for silver's steps,
  // and none holds more of them than LARGE_ROWS_CHARS.
  const logDir = join(lake, 'bronze', 'zeek_x509', '_delta_log');
  const tags = readdirSync(logDir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => readFileSync(join(logDir, f), 'utf8').trimEnd().split('\n'))
    .map((l) => Number((JSON.parse(l) as { add?: { tags?: Record<string, string> } }).add?.tags?.[LARGE_ROWS_TAG]))
    .filter((t) => !Number.isNaN(t));
  const total = tags.reduce((a, b) => a + b, 0);
  assert.ok(total > 28_000_000 && tags.every((t) => t <= LARGE_ROWS_CHARS), `the tags count both rows, at most LARGE_ROWS_CHARS a file: ${JSON.stringify(tags)}`);
  const again = await run('ingest', log, '--lake', lake, '--readers', '0');
  assert.equal(again.code, 0, again.err.slice(0, 1000));
  assert.match(again.out, /warning: 2 certificate\(s\) list more than 10,000 SANs or extensions; the first 10,000 are kept/, 'the text summary warns of them');
  const rejects = await sql(lake, 'SELECT _source_pos::INTEGER AS pos, reason FROM bronze.rejects ORDER BY pos');
  assert.deepEqual(rejects.map((x) => x.pos), [10, 12], 'the lines of quotes are the rejects');
  for (const x of rejects) assert.match(String(x.reason), new RegExp(`at most ${MAX_ROW_BYTES}\\)$`), 'the reason names the limit');
});

test('a first line past the 64 KiB head window still names the format: one served certificate hid every line after it', async () => {
  const { run } = await import('../helpers/cli.js');
  const dir = join(lakes.dir, 'long-first');
  mkdirSync(dir, { recursive: true });
  const many = Array.from({ length: 50_000 }, (_, i) => `h${i}.example.com`);
  const eve = (tls: Record<string, unknown>) =>
    JSON.stringify({ timestamp: '2024-01-01T00:00:00.000000+0000', flow_id: 1, event_type: 'tls', src_ip: '10.0.0.1', src_port: 50000, dest_ip: '198.51.100.1', dest_port: 443, proto: 'TCP', tls });
  const scan = (sha1: string, subject: string) =>
    JSON.stringify({ subject, issuer: 'CN=i', common_name: 'c', sha1_fingerprint: sha1.repeat(40), not_valid_before: 1700000000, not_valid_after: 1800000000, dest_ip: '203.0.113.1', dest_port: 443 });
  const logs: Record<string, [string, string[]]> = {
    // Cut inside the SAN list.
    'sans.log': ['zeek_x509', [x509({ fingerprint: fp('1'), 'san.dns': many }), x509({ fingerprint: fp('2') })]],
    // Cut inside the serial, before the subject: only the serial's key names the format.
    'serial.log': ['zeek_x509', [x509({ fingerprint: fp('3'), 'certificate.serial': 'ab'.repeat(100_000) }), x509({ fingerprint: fp('4') })]],
    'eve.json': ['suricata_tls', [eve({ sni: 'x'.repeat(100_000), version: 'TLS 1.2' }), eve({ sni: 'b.example', version: 'TLS 1.2' })]],
    'scan.json': ['scan_export', [scan('a', `CN=${'s'.repeat(100_000)}`), scan('b', 'CN=short')]],
  };
  for (const [name, [, lines]] of Object.entries(logs)) writeFileSync(join(dir, name), lines.join('\n') + '\n');
  // A PEM block after 100 kB of text, as `openssl x509 -text` prints a certificate of many names.
  const key = keyPair('p256');
  const der = buildCertificate({ issuer: simpleName([['CN', 'text']]), subject: simpleName([['CN', 'text']]), publicKey: key.publicKey, signer: key.privateKey, extensions: [sanExt({ dns: many.slice(0, 5000) })] });
  writeFileSync(join(dir, 'text.pem'), `Certificate:\n    Data:\n${'            DNS:h.example.com, '.repeat(4000)}\n${toPem(der)}`);
  const r = await run('ingest', dir, '--lake', join(lakes.dir, 'long-first-lake'), '--format', 'json', '--readers', '0');
  assert.equal(r.code, 0, r.err.slice(0, 1000));
  const report = JSON.parse(r.out) as { files: { uri: string; format: string | null; status: string; certificates: number; observations: number; rejects: number }[] };
  const got = Object.fromEntries(report.files.map((f) => [f.uri.split('/').pop(), [f.format, f.certificates + f.observations, f.rejects]]));
  assert.deepEqual(got, {
    'sans.log': ['zeek_x509', 2, 0], 'serial.log': ['zeek_x509', 2, 0], 'eve.json': ['suricata_tls', 2, 0], 'scan.json': ['scan_export', 4, 0], 'text.pem': ['cert_files', 1, 0],
  }, 'each file is read as its format, its long first line included');
});

test('a broken first line does not hide the log: it is a reject and every line after it lands, in Zeek, eve and scan logs alike', async () => {
  const { run } = await import('../helpers/cli.js');
  const dir = join(lakes.dir, 'broken-first');
  mkdirSync(dir, { recursive: true });
  const eve = (sni: string) =>
    JSON.stringify({ timestamp: '2024-01-01T00:00:00.000000+0000', flow_id: 1, event_type: 'tls', src_ip: '10.0.0.1', src_port: 50000, dest_ip: '198.51.100.1', dest_port: 443, proto: 'TCP', tls: { sni, version: 'TLS 1.2' } });
  const scan = (sha1: string) =>
    JSON.stringify({ subject: 'CN=s', issuer: 'CN=i', common_name: 's', sha1_fingerprint: sha1.repeat(40), not_valid_before: 1700000000, not_valid_after: 1800000000, dest_ip: '203.0.113.1', dest_port: 443 });
  // What a sensor leaves when it dies mid-write and the log is appended to, or a corrupt block.
  const broken = ['{"ts":1700000000.5,"fingerprint":"ab\u0000\u0001}}}', '{oops', '{"ts": 17000000'];
  const logs: Record<string, string[]> = {
    'x509.log': [x509({ fingerprint: fp('5') }), x509({ fingerprint: fp('6') })],
    'eve.json': [eve('a.example'), eve('b.example')],
    'scan.json': [scan('c'), scan('d')],
  };
  for (const [i, b] of broken.entries()) for (const [name, lines] of Object.entries(logs)) writeFileSync(join(dir, `${i}-${name}`), [b, ...lines].join('\n') + '\n');
  const r = await run('ingest', dir, '--lake', join(lakes.dir, 'broken-first-lake'), '--format', 'json', '--readers', '0');
  assert.equal(r.code, 0, r.err.slice(0, 1000));
  const report = JSON.parse(r.out) as { files: { uri: string; format: string | null; certificates: number; observations: number; rejects: number }[] };
  const got = Object.fromEntries(report.files.map((f) => [f.uri.split('/').pop(), [f.format, f.certificates + f.observations, f.rejects]]));
  const want: Record<string, unknown> = {};
  for (const i of broken.keys()) Object.assign(want, { [`${i}-x509.log`]: ['zeek_x509', 2, 1], [`${i}-eve.json`]: ['suricata_tls', 2, 1], [`${i}-scan.json`]: ['scan_export', 4, 1] });
  assert.deepEqual(got, want, 'each file read as its format: the broken line a reject, the others kept');
});

test('rows of tens of MB that land go one bronze batch (and silver step) each: three in one ran out of memory', async () => {
  // A 15 MB serial is kept twice in its row (raw and record): ~30 MB, under MAX_ROW_BYTES. At
  // 256 MB for DuckDB, three in one batch failed the bronze write (exit 2), as a dozen did at
  // the ingest's own 384 MB.
  const log = join(lakes.dir, 'long-serials.json');
  writeFileSync(log, [x509({ fingerprint: fp('1') }), ...['A', 'B', 'C'].map((c, i) => x509({ fingerprint: fp(String(i + 2)), 'certificate.serial': c.repeat(15_000_000) }))].join('\n') + '\n');
  const lake = join(lakes.dir, 'long-serials-lake');
  const r = await runWith({ CERTHUNT_MEMORY: '256MB' }, 'ingest', log, '--lake', lake, '--format', 'json', '--readers', '0');
  assert.equal(r.code, 0, r.err.slice(0, 1000));
  const { sql } = await import('../helpers/cli.js');
  const rows = await sql(lake, 'SELECT cert_id, length(serial)::INTEGER AS n FROM silver.certificates ORDER BY cert_id');
  assert.deepEqual(rows, [{ cert_id: fp('1'), n: 2 }, ...['2', '3', '4'].map((c) => ({ cert_id: fp(c), n: 15_000_000 }))], 'every serial lands whole');
});

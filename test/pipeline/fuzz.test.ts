import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Lake } from '../../src/pipeline/lake.js';
import { prng } from '../helpers/bytes.js';
import { run, sql } from '../helpers/cli.js';
import { tableRows, testLakes } from '../helpers/lakes.js';

/**
 * Hostile values in every field of every log format, through the whole pipeline: ingest, hunts,
 * exports, the certificate view. Sources check what they read field by field, but the lake's
 * columns, DuckDB's JSON reader, the hunts' SQL and the exports each have limits of their own
 * (a count past INTEGER once failed a whole batch). Invariants: nothing fails, every line is
 * accounted for (a record or a reject), and the untouched lines land.
 *
 * Bounded by count (ROUNDS lines per format, one seeded generator: a failure names its seed and
 * reproduces); CERTHUNT_FUZZ_ROUNDS and CERTHUNT_FUZZ_SEED run more, or another, by hand.
 */
const ROUNDS = Number(process.env.CERTHUNT_FUZZ_ROUNDS ?? 150);
const SEED = Number(process.env.CERTHUNT_FUZZ_SEED ?? 20261128);

const lakes = testLakes('fuzz');

/** Values a hostile or broken sensor, or an attacker's certificate, can put in a field. */
const HOSTILE: unknown[] = [
  2 ** 31, -(2 ** 31) - 1, 2 ** 53, 2 ** 64, 1e20, -1e20, 1e308, -1e308, 5e-324, -0, 0.5, -1, 65536, 1e11, 1e15,
  '', ' ', '-', '(empty)', 'T', 'F', 'true', 'NaN', 'Infinity', '1e999', '-1', '0x10', '99999999999999999999',
  '2026-13-45T99:99:99Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59-14:00', '+275760-09-13T00:00:00Z', '1970-01-01',
  'x'.repeat(100_000), '\t', 'a\nb', '\r\n#fields\tts', '#separator ,', '\u0000', '\u0000\u0001\u001b[31m', '\udc00', '\ud800x', '\u202eevil', 'é\u0301', '🔥',
  'CN=a,CN=b\\,c', 'CN=', '=', ',,,', '"', '\\', '\\x41\\x', '\\xff\\xfe', 'a,b,c', '*.*.*', '.', '..com', 'xn--', '-.example',
  '256.256.256.256', '::ffff:1.2.3.4', 'fe80::1%eth0', 'ab:cd', 'zz'.repeat(32), 'AB'.repeat(32), 'ab'.repeat(20), 'ab'.repeat(16),
  [], [''], ['a', 'b'], [1, 2], [[['deep']]], {}, { a: { b: 1 } }, true, false, null,
];

const hex = (n: number, r: () => number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');

/** Paths of a template's leaves (["tls", "subject"]: Zeek's own names hold dots). */
function leaves(obj: Record<string, unknown>, prefix: string[] = []): string[][] {
  return Object.entries(obj).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) ? leaves(v as Record<string, unknown>, [...prefix, k]) : [[...prefix, k]]));
}

function setPath(obj: Record<string, unknown>, parts: string[], value: unknown): void {
  let o = obj;
  for (const p of parts.slice(0, -1)) o = o[p] as Record<string, unknown>;
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete o[last];
  else o[last] = value;
}

/** A template with one to three fields replaced by hostile values (or removed); `keep` (what routes the line) untouched. */
function mutated(template: Record<string, unknown>, r: () => number, keep: string[]): Record<string, unknown> {
  const copy = structuredClone(template);
  const paths = leaves(copy).filter((p) => !keep.includes(p.join('.')));
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const path = paths[Math.floor(r() * paths.length)]!;
    const value = r() < 0.05 ? undefined : HOSTILE[Math.floor(r() * HOSTILE.length)];
    setPath(copy, path, value);
  }
  return copy;
}

function x509(r: () => number, fp = hex(64, r)): Record<string, unknown> {
  return {
    ts: 1_790_000_000 + Math.floor(r() * 1e6) / 1e3, fingerprint: fp, 'certificate.version': 3, 'certificate.serial': hex(16, r).toUpperCase(),
    'certificate.subject': 'CN=a.example,O=A Ltd', 'certificate.issuer': 'CN=Issuing CA,O=CA Inc,C=US', 'certificate.not_valid_before': 1_780_000_000.0,
    'certificate.not_valid_after': 1_800_000_000.0, 'certificate.key_alg': 'rsaEncryption', 'certificate.sig_alg': 'sha256WithRSAEncryption',
    'certificate.key_type': 'rsa', 'certificate.key_length': 2048, 'certificate.exponent': '65537', 'san.dns': ['a.example', 'www.a.example'],
    'san.ip': ['192.0.2.9'], 'basic_constraints.ca': false, 'basic_constraints.path_len': 0, host_cert: true, client_cert: false,
  };
}

function ssl(r: () => number, fp = hex(64, r)): Record<string, unknown> {
  return {
    ts: 1_790_000_000 + Math.floor(r() * 1e6) / 1e3, uid: `C${hex(17, r)}`, 'id.orig_h': '10.0.0.7', 'id.orig_p': 50_123, 'id.resp_h': '192.0.2.9', 'id.resp_p': 443,
    version: 'TLSv12', cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', server_name: 'a.example', established: true, validation_status: 'ok',
    cert_chain_fps: [fp], ja3: hex(32, r), ja3s: hex(32, r), ja4: 't13d1516h2_8daaf6152771_02713d6af862',
  };
}

function eve(r: () => number, sha1 = hex(40, r)): Record<string, unknown> {
  return {
    timestamp: '2026-10-01T10:00:00.123456+0000', flow_id: 1_234_567_890_123, event_type: 'tls', src_ip: '10.0.0.7', src_port: 50_123, dest_ip: '192.0.2.9', dest_port: 443, proto: 'TCP',
    tls: {
      subject: 'C=US, O=A Ltd, CN=a.example', issuerdn: 'C=US, O=CA Inc, CN=Issuing CA', serial: '0A:1B:2C', fingerprint: sha1.match(/../g)!.join(':'), sni: 'a.example',
      version: 'TLS 1.2', notbefore: '2026-01-01T00:00:00', notafter: '2027-01-01T00:00:00', ja3: { hash: hex(32, r), string: '771,4865,0,29,0' }, ja3s: { hash: hex(32, r) }, ja4: 't13d1516h2_8daaf6152771_02713d6af862',
    },
  };
}

function scan(r: () => number, sha1 = hex(40, r)): Record<string, unknown> {
  return {
    subject: 'CN=a.example', issuer: 'CN=Issuing CA', common_name: 'a.example', sha1_fingerprint: sha1, not_valid_before: '2026-01-01T00:00:00',
    not_valid_after: '2027-01-01T00:00:00', src_ip: '198.51.100.1', dest_ip: '192.0.2.9', dest_port: 443, rdns: 'host.example', country: 'US', subject_alternative_names: ['a.example'],
  };
}

/** A Zeek TSV x509 log of the same rows, with hostile text in a field (tabs and newlines included). */
function tsvLine(row: Record<string, unknown>, fields: string[]): string {
  return fields.map((f) => {
    const v = row[f];
    if (v === undefined || v === null) return '-';
    if (Array.isArray(v)) return v.length === 0 ? '(empty)' : v.map(String).join(',');
    if (typeof v === 'boolean') return v ? 'T' : 'F';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }).join('\t');
}

test(`hostile values in every field of every format (${ROUNDS} lines each, seed ${SEED}): nothing fails, every line is accounted for`, async () => {
  const r = prng(SEED);
  const controls = { x509: hex(64, r), eve: hex(40, r), scan: hex(40, r) };
  const files: { name: string; lines: string[] }[] = [];
  const json = (name: string, make: (r: () => number) => Record<string, unknown>, control: Record<string, unknown>, keep: string[]) => {
    const lines = [JSON.stringify(control)];
    for (let i = 0; i < ROUNDS; i++) lines.push(JSON.stringify(mutated(make(r), r, keep)));
    files.push({ name, lines });
  };
  json('x509.log', x509, x509(r, controls.x509), []);
  json('ssl.log', ssl, ssl(r, controls.x509), []);
  json('eve.json', eve, eve(r, controls.eve), ['event_type']);
  json('scan.json', scan, scan(r, controls.scan), ['sha1_fingerprint']);
  const fields = Object.keys(x509(r));
  const header = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tx509', `#fields\t${fields.join('\t')}`,
    `#types\ttime\tstring\tcount\tstring\tstring\tstring\ttime\ttime\tstring\tstring\tstring\tcount\tstring\tvector[string]\tvector[addr]\tbool\tcount\tbool\tbool`];
  const tsv = [tsvLine(x509(r, hex(64, r)), fields)];
  for (let i = 0; i < ROUNDS; i++) tsv.push(tsvLine(mutated(x509(r), r, []), fields));
  files.push({ name: 'x509-tsv.log', lines: [...header, ...tsv] });

  const paths = files.map((f) => {
    const path = join(lakes.dir, f.name);
    writeFileSync(path, f.lines.join('\n') + '\n');
    return path;
  });
  const lake = join(lakes.dir, 'lake');
  const ingest = await run('ingest', ...paths, '--lake', lake, '--format', 'json');
  assert.equal(ingest.code, 0, `ingest exits 0 (seed ${SEED}): ${ingest.err.slice(0, 2000)}`);
  const report = JSON.parse(ingest.out) as { files: { uri: string; status: string; certificates: number; observations: number; rejects: number }[] };
  for (const [i, f] of report.files.entries()) {
    assert.equal(f.status, 'ingested', `${f.uri} is read (seed ${SEED})`);
    const lines = files[i]!.lines.filter((l) => !l.startsWith('#')).length;
    // A hostile newline inside a TSV field makes two lines of one; each is still a record or a reject.
    assert.ok(f.certificates + f.observations + f.rejects >= lines, `${f.uri}: ${lines} lines, ${f.certificates + f.observations + f.rejects} records and rejects (seed ${SEED})`);
  }
  // The same files on reader threads, in blocks of a few lines (a hostile newline or directive
  // text falls anywhere in a block), land the very rows one thread lands.
  let onThreads = 0;
  const threaded = await lakes.ingestWith(paths, { readers: { threads: 2, blockBytes: 2048, minBytes: 0, onBlock: (n) => (onThreads += n) } });
  assert.ok(onThreads > 3 * ROUNDS, `the Zeek and eve lines were read on threads (${onThreads})`);
  const serial = new Lake(lake, threaded.lake.conn);
  for (const f of report.files) assert.ok(threaded.report.files.some((t) => t.uri === f.uri && t.rejects === f.rejects && t.certificates === f.certificates), `${f.uri}: the same counts on threads`);
  const formats = [...new Set(report.files.map((f) => (f as { format?: string }).format).filter((f): f is string => !!f)), 'rejects'];
  for (const name of formats) assert.deepEqual(await tableRows(threaded.lake, 'bronze', name), await tableRows(serial, 'bronze', name), `bronze.${name}: the same rows on threads (seed ${SEED})`);
  assert.ok((await tableRows(serial, 'silver', 'certificates')).length > ROUNDS, 'most mutated certificates land: the comparison is not of empty tables');
  for (const name of ['certificates', 'observations']) assert.deepEqual(await tableRows(threaded.lake, 'silver', name), await tableRows(serial, 'silver', name), `silver.${name}: the same rows on threads (seed ${SEED})`);

  const landed = await sql(lake, `SELECT cert_id FROM silver.certificates WHERE cert_id IN ('${controls.x509}', 'sha1:${controls.eve}', 'sha1:${controls.scan}') ORDER BY cert_id`);
  assert.deepEqual(landed.map((x) => x.cert_id), [controls.x509, `sha1:${controls.eve}`, `sha1:${controls.scan}`].sort(), 'the untouched lines land');
  const sessions = await sql(lake, `SELECT count(*)::INTEGER AS n FROM silver.observations WHERE cert_id = '${controls.x509}'`);
  assert.equal(sessions[0]!.n, 1, "the untouched session finds its certificate");

  // Everything downstream reads the same hostile values.
  const hunt = await run('hunt', '--lake', lake, '--format', 'json');
  assert.equal(hunt.code, 0, `hunts run (seed ${SEED}): ${hunt.err.slice(0, 2000)}`);
  assert.ok(Array.isArray(JSON.parse(hunt.out)), 'hunt prints findings as JSON');
  for (const to of ['stix', 'zeek-intel', 'suricata', 'csv', 'json']) {
    const out = await run('export', '--to', to, '--lake', lake);
    assert.equal(out.code, 0, `export --to ${to} (seed ${SEED}): ${out.err.slice(0, 2000)}`);
    if (to === 'stix' || to === 'json') JSON.parse(out.out);
  }
  const cert = await run('cert', controls.x509, '--lake', lake, '--format', 'json');
  assert.equal(cert.code, 0, `cert view (seed ${SEED}): ${cert.err.slice(0, 2000)}`);
  const table = await run('sql', 'SELECT * FROM silver.certificates', '--lake', lake);
  assert.equal(table.code, 0, `a table of every certificate prints (seed ${SEED}): ${table.err.slice(0, 2000)}`);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(table.out, /[\u0000-\u0008\u000b-\u001f\u007f\u202e]/, 'no control character reaches the terminal');
});

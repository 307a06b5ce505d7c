import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ingestCommand } from '../../src/cli/ingest.js';
import { main } from '../../src/cli/main.js';
import { INGEST_MEMORY_LIMIT, openEngine } from '../../src/engine/duckdb.js';
import { FsStorage } from '../../src/lake/storage-fs.js';
import { DeltaTable } from '../../src/lake/table.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(root, '..', 'shared', 'fixtures', 'delta');
const noFixtures = existsSync(fixtures) ? false : '../shared/fixtures not found';
let lake: string;

/** The real bin, as a user runs it (npm test builds dist/ first). */
function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, CERTHUNT_LAKE: lake } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** In-process, with captured effects. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env: { CERTHUNT_LAKE: lake }, isTTY: false });
  return { code, out, err };
}

before(async () => {
  lake = mkdtempSync(join(tmpdir(), 'certhunt-cli-'));
  const e = await openEngine();
  const certs = new DeltaTable(new FsStorage(join(lake, 'silver', 'certificates')), e.conn);
  await certs.create({ from: `SELECT * FROM (VALUES ('aa', 'CN=evil\x1b[31m\u202e,O=x', 3), ('bb', 'CN=good', 5)) v(sha256, subject, n)` });
  await certs.append(`SELECT 'cc' AS sha256, 'CN=new' AS subject, 7 AS n`);
  const obs = new DeltaTable(new FsStorage(join(lake, 'bronze', 'zeek_x509')), e.conn);
  await obs.create({ from: `SELECT 'aa' AS fingerprint, 1 AS line` });
  e.close();
});
after(() => rmSync(lake, { recursive: true, force: true }));

test('table scan prints every format, escapes control characters, time-travels', async () => {
  const path = join(lake, 'silver', 'certificates');
  const json = cli('table', 'scan', path, '--format', 'json');
  assert.equal(json.code, 0, json.err);
  const rows = JSON.parse(json.out);
  assert.deepEqual(rows.map((r: any) => r.sha256).sort(), ['aa', 'bb', 'cc']);
  assert.equal(rows.find((r: any) => r.sha256 === 'aa').subject, 'CN=evil\x1b[31m\u202e,O=x', 'JSON keeps the value, escaped');
  assert.ok(!json.out.includes('\x1b') && !json.out.includes('\u202e'), 'no raw control characters reach the terminal');
  const tableOut = cli('table', 'scan', path, '--where', "sha256 = 'aa'");
  assert.equal(tableOut.code, 0);
  assert.match(tableOut.out, /CN=evil\\x1b\[31m\\u202e,O=x/);
  assert.match(tableOut.out, /\(1 row\)/);
  const v0 = cli('table', 'scan', path, '--version', '0', '--format', 'ndjson');
  assert.equal(v0.out.trim().split('\n').length, 2);
  const csv = cli('table', 'scan', path, '--format', 'csv', '--columns', 'sha256,n', '--where', 'n > 4');
  assert.equal(csv.out.replace(/\r\n/g, '\n').split('\n').filter(Boolean).sort().join('|'), 'bb,5|cc,7|sha256,n');
});

test('table history and info', async () => {
  const path = join(lake, 'silver', 'certificates');
  const h = JSON.parse(cli('table', 'history', path, '--format', 'json').out);
  assert.deepEqual(h.map((r: any) => [r.version, r.operation]), [[1, 'WRITE'], [0, 'CREATE TABLE AS SELECT']]);
  const info = JSON.parse(cli('table', 'info', path, '--format', 'json').out)[0];
  assert.equal(info.version, 1);
  assert.equal(info.rows_from_stats, 3);
});

test('reads Spark-written tables', { skip: noFixtures }, async () => {
  const r = await run('table', 'scan', join(fixtures, 'golden__basic-with-inserts-deletes-checkpoint'), '--format', 'json');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).length, 41);
  const dv = await run('table', 'info', join(fixtures, 'golden__data-reader-partition-values'), '--format', 'json');
  assert.equal(JSON.parse(dv.out)[0].partition_columns.split(',').length, 12);
});

test('sql sees the lake by layer and by name', async () => {
  const r = await run('sql', 'SELECT count(*)::INT AS n FROM silver.certificates JOIN zeek_x509 ON sha256 = fingerprint', '--format', 'json');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), [{ n: 1 }]);
  const bad = await run('sql', 'SELECT * FROM nope');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /tables: bronze\.zeek_x509, silver\.certificates/);
});

test('exit codes: 2 for bad usage, 1 for failures', async () => {
  assert.equal((await run('nope')).code, 2);
  assert.equal((await run('table', 'scan')).code, 2);
  assert.equal((await run('table', 'scan', lake, '--format', 'xml')).code, 2);
  assert.equal((await run('table', 'scan', join(lake, 'silver', 'certificates'), '--version', 'x')).code, 2);
  assert.equal((await run('table', 'scan', join(lake, 'silver', 'certificates'), '--version', '9')).code, 2);
  const missing = await run('table', 'scan', join(lake, 'missing'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no Delta log found/);
  assert.equal(cli('--help').code, 0);
});

test('ingest runs DuckDB at its own memory limit unless CERTHUNT_MEMORY says otherwise', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certhunt-cli-mem-'));
  const log = join(dir, 'x509.log');
  writeFileSync(log, JSON.stringify({ ts: 1700000000.5, fingerprint: 'ab'.repeat(32), 'certificate.serial': '01', 'certificate.subject': 'CN=a', 'certificate.issuer': 'CN=b' }) + '\n');
  const limitOf = async (env: Record<string, string>) => {
    const engines: Awaited<ReturnType<typeof openEngine>>[] = [];
    try {
      const code = await ingestCommand([log, '--lake', join(dir, `lake-${Object.keys(env).length}`), '--format', 'json'], { stdout: () => {}, stderr: () => {}, env, isTTY: false }, engines);
      assert.equal(code, 0, 'ingest exits 0');
      const r = await engines[0]!.conn.runAndReadAll("SELECT current_setting('memory_limit') AS v");
      return String(r.getRows()[0]?.[0]);
    } finally {
      for (const e of engines) e.close();
    }
  };
  const probe = await openEngine({ memoryLimit: INGEST_MEMORY_LIMIT });
  const expected = String((await probe.conn.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]?.[0]);
  probe.close();
  const defaultProbe = await openEngine();
  const general = String((await defaultProbe.conn.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]?.[0]);
  defaultProbe.close();
  assert.notEqual(expected, general, 'ingest has a limit of its own');
  assert.equal(await limitOf({}), expected, 'ingest without CERTHUNT_MEMORY');
  assert.equal(await limitOf({ CERTHUNT_MEMORY: '1GB' }), '953.6 MiB', 'CERTHUNT_MEMORY wins');
  rmSync(dir, { recursive: true, force: true });
});

test('ingest --help lists every input format it takes, and the top-level help points there', async () => {
  const { inputFormatNames } = await import('../../src/sources/index.js');
  const help = await run('ingest', '--help');
  assert.equal(help.code, 0, help.err);
  const line = help.out.split('\n').find((l) => l.startsWith('Input formats'));
  assert.ok(line, `a line lists the input formats:\n${help.out}`);
  const listed = line.slice(line.indexOf(':') + 1).split(',').map((s) => s.trim());
  assert.deepEqual(listed, inputFormatNames(), 'the names --input-format takes, captures and certificate files included');
  for (const name of ['zeek_x509', 'suricata_tls', 'cert_files', 'pcap']) assert.ok(listed.includes(name), `${name} is listed`);
  const top = await run('--help');
  assert.match(top.out, /Input formats \(--input-format\): see certhunt ingest --help/, 'the top-level help points to the command');
  const bad = await run('ingest', '--input-format', 'nope', join(root, 'package.json'), '--lake', mkdtempSync(join(tmpdir(), 'certhunt-cli-fmt-')));
  assert.equal(bad.code, 2, 'a misspelt format is a usage error');
  assert.match(bad.err, new RegExp(`unknown input format "nope" \\(known: auto, ${inputFormatNames().join(', ')}\\)`), 'the error names the same formats');
});

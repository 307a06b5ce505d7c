import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { run, sql } from '../helpers/cli.js';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { queryJson } from '../../src/lake/parquet.js';
import { Lake } from '../../src/pipeline/lake.js';
import { refreshSilver } from '../../src/pipeline/silver.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const brim = join(root, '..', 'shared', 'fixtures', 'zeek-logs', 'brimdata');
const zeekPcaps = join(root, '..', 'shared', 'fixtures', 'pcap', 'zeek');
const noShared = existsSync(brim) ? false : '../shared/fixtures not found';
let dir: string;
let engine: Engine;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certhunt-ingest-'));
  engine = await openEngine();
});
after(() => {
  engine.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const newLake = () => join(dir, `lake${n++}`);

/**
 * `certhunt ingest` of `input` killed (SIGKILL) four times, each after `from` ms plus up to
 * `spread` ms more, then run to its end: it must succeed.
 */
function killedThenFinished(input: string, lake: string, batchSize: number, from: number, spread: number): void {
  const args = [join(root, 'dist', 'cli.js'), 'ingest', input, '--lake', lake, '--batch-size', String(batchSize)];
  for (let trial = 0; trial < 4; trial++) {
    spawnSync(process.execPath, args, { timeout: from + Math.floor(Math.random() * spread), killSignal: 'SIGKILL' });
  }
  const done = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(done.status, 0, done.stderr);
}



/** Zeek TSV split by hand (independent of src/sources): header fields, rows as objects. */
function zeekTsv(text: string): Record<string, string>[] {
  let fields: string[] = [];
  const rows: Record<string, string>[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#fields')) fields = line.split('\t').slice(1);
    if (!line || line.startsWith('#')) continue;
    const vals = line.split('\t');
    rows.push(Object.fromEntries(fields.map((f, i) => [f, vals[i] ?? ''])));
  }
  return rows;
}

describe('real Zeek logs (brimdata)', { skip: noShared }, () => {
  test('TSV and JSON logs give identical silver tables; 348 certificates; chains resolve as the data allows', async () => {
    const tsv = newLake();
    const json = newLake();
    const a = await run('ingest', join(brim, 'zeek-default_x509.log.gz'), join(brim, 'zeek-default_ssl.log.gz'), join(brim, 'zeek-default_known_certs.log.gz'), '--lake', tsv, '--format', 'json');
    assert.equal(a.code, 0, a.err);
    const b = await run('ingest', join(brim, 'zeek-json_x509.json.gz'), join(brim, 'zeek-json_ssl.json.gz'), join(brim, 'zeek-json_known_certs.json.gz'), '--lake', json);
    assert.equal(b.code, 0, b.err);
    const certCols = `* EXCLUDE (sources, first_seen, last_seen)`;
    const q = `SELECT ${certCols} FROM silver.certificates ORDER BY cert_id`;
    const [ct, cj] = [await sql(tsv, q), await sql(json, q)];
    const raw = zeekTsv(gunzipSync(readFileSync(join(brim, 'zeek-default_x509.log.gz'))).toString('utf8'));
    assert.equal(new Set(raw.map((r) => r.fingerprint)).size, 348);
    assert.equal(ct.length, 348);
    assert.deepEqual(cj, ct);
    // first/last seen are the min/max of x509 and known_certs times: same in both encodings.
    const seen = `SELECT cert_id, first_seen, last_seen, sources FROM silver.certificates ORDER BY cert_id`;
    assert.deepEqual(await sql(json, seen), await sql(tsv, seen));
    const obs = `SELECT * EXCLUDE (_source, _source_pos, _ingest_id, source) FROM silver.observations ORDER BY ts, uid, dest_ip, cert_sha256 NULLS FIRST`;
    const [ot, oj] = [await sql(tsv, obs), await sql(json, obs)];
    assert.equal(ot.length, 49474 + 35);
    assert.deepEqual(oj, ot);
    // Every certificate x509.log holds is in silver with Zeek's own columns.
    const byId = new Map(ct.map((c) => [c.cert_id, c]));
    for (const r of raw) {
      const c = byId.get(r.fingerprint) as Record<string, unknown>;
      assert.ok(c, r.fingerprint);
      assert.equal(c.subject, r['certificate.subject']!.replace(/\\\\/g, '\\'));
      assert.equal(String(c.serial), r['certificate.serial']!.toLowerCase());
      assert.equal(Date.parse(String(c.not_valid_after).replace(' ', 'T').replace('+00', 'Z')) / 1000, Number(r['certificate.not_valid_after']));
    }
    // Chains: every cert_chain_fps fingerprint resolves, except those this x509.log never logged
    // (Zeek logs each certificate once per cache period); computed here from the raw files.
    const ssl = zeekTsv(gunzipSync(readFileSync(join(brim, 'zeek-default_ssl.log.gz'))).toString('utf8'));
    const logged = new Set(raw.map((r) => r.fingerprint));
    const missing = new Set(ssl.flatMap((r) => (r.cert_chain_fps && r.cert_chain_fps !== '-' && r.cert_chain_fps !== '(empty)' ? r.cert_chain_fps.split(',') : [])).filter((f) => !logged.has(f)));
    const [unresolved] = await sql(tsv, `SELECT count(DISTINCT fp)::INT AS n FROM (SELECT unnest(chain_sha256) AS fp FROM silver.observations) WHERE fp NOT IN (SELECT cert_id FROM silver.certificates)`);
    assert.equal(unresolved!.n, missing.size);
    // Coverage: Zeek logged SHA-256 only, so every certificate is blind to SHA-1 lists.
    const summary = JSON.parse(a.out);
    assert.deepEqual(summary.coverage, { certificates: 348, withoutSha1: 348, listsCut: 0 });
  });

  test('small bronze batches (--batch-bytes) give the same silver as one batch', async () => {
    const one = newLake();
    const many = newLake();
    const log = join(brim, 'zeek-json_x509.json.gz');
    assert.equal((await run('ingest', log, '--lake', one)).code, 0);
    const r = await run('ingest', log, '--lake', many, '--batch-bytes', '20000');
    assert.equal(r.code, 0, r.err);
    const history = await run('table', 'history', join(many, 'bronze', 'zeek_x509'), '--format', 'json');
    const appends = (JSON.parse(history.out) as { operation: string }[]).filter((h) => h.operation === 'WRITE').length;
    assert.ok(appends >= 5, `${appends} bronze commits`);
    const q = 'SELECT * FROM silver.certificates ORDER BY cert_id';
    const [a, b] = [await sql(one, q), await sql(many, q)];
    assert.equal(a.length, 348);
    assert.deepEqual(b, a, 'the same rows, columns and first/last seen');
  });

  test('a second log of some of the same certificates merges through a deletion vector: silver as if read once', async () => {
    const once = newLake();
    const twice = newLake();
    const tsv = join(brim, 'zeek-default_x509.log.gz');
    assert.equal((await run('ingest', tsv, '--lake', once)).code, 0);
    assert.equal((await run('ingest', tsv, '--lake', twice)).code, 0);
    // Half of the same certificates again, from the JSON log: their rows are marked deleted in
    // the one silver file and written anew.
    const lines = gunzipSync(readFileSync(join(brim, 'zeek-json_x509.json.gz'))).toString('utf8').trim().split('\n');
    const half = join(dir, `half-${n++}.json`);
    writeFileSync(half, lines.slice(0, Math.floor(lines.length / 2)).join('\n') + '\n');
    assert.equal((await run('ingest', half, '--lake', twice)).code, 0);
    const history = await run('table', 'history', join(twice, 'silver', 'certificates'), '--format', 'json');
    const merges = (JSON.parse(history.out) as { operation: string; metrics: string }[]).filter((h) => h.operation === 'MERGE');
    const last = JSON.parse(merges[0]?.metrics ?? '{}') as Record<string, string>;
    assert.ok(Number(last.numTargetRowsUpdated) > 50 && Number(last.numTargetRowsInserted) === 0, `the half log matched certificates already there: ${JSON.stringify(last)}`);
    assert.equal(last.numTargetDeletionVectorsAdded, '1', `a deletion vector, no rewrite: ${JSON.stringify(last)}`);
    assert.equal(last.numOutputRows, last.numTargetRowsUpdated, 'only the updated rows were written');
    const q = 'SELECT * EXCLUDE (sources) FROM silver.certificates ORDER BY cert_id';
    assert.deepEqual(await sql(twice, q), await sql(once, q));
  });

  test('re-ingesting adds nothing; a log that grew adds only its new lines', async () => {
    const lake = newLake();
    const text = gunzipSync(readFileSync(join(brim, 'zeek-default_ssl.log.gz'))).toString('utf8');
    const lines = text.split('\n');
    const cut = 30000;
    const file = join(dir, `ssl-${n++}.log`);
    writeFileSync(file, lines.slice(0, cut).join('\n') + '\n');
    await run('ingest', file, '--lake', lake);
    const first = await sql(lake, `SELECT count(*)::INT AS n FROM silver.observations`);
    const again = await run('ingest', file, '--lake', lake, '--format', 'json');
    assert.equal(JSON.parse(again.out).files[0].status, 'unchanged');
    assert.deepEqual(await sql(lake, `SELECT count(*)::INT AS n FROM silver.observations`), first);
    appendFileSync(file, lines.slice(cut).join('\n'));
    const grown = await run('ingest', file, '--lake', lake, '--format', 'json');
    assert.equal(JSON.parse(grown.out).files[0].status, 'grown');
    const rows = zeekTsv(text).length;
    const [all] = await sql(lake, `SELECT count(*)::INT AS n, count(DISTINCT _source_pos)::INT AS pos FROM silver.observations`);
    assert.deepEqual(all, { n: rows, pos: rows });
  });
});

describe('a folder of many small logs (hourly rotation)', { skip: noShared }, () => {
  /** The brimdata JSON ssl and x509 logs cut into files of `per` lines, ssl and x509 hour by hour. */
  function hourly(per: number): { folder: string; files: string[]; ssl: number; x509: number } {
    const folder = join(dir, `hourly-${n++}`);
    mkdirSync(folder);
    const files: string[] = [];
    const counts = { ssl: 0, x509: 0 };
    for (const kind of ['ssl', 'x509'] as const) {
      const lines = gunzipSync(readFileSync(join(brim, `zeek-json_${kind}.json.gz`))).toString('utf8').split('\n').filter((l) => l.trim());
      counts[kind] = lines.length;
      for (let i = 0, h = 0; i < lines.length; i += per, h++) {
        const file = join(folder, `${kind}.${String(h).padStart(2, '0')}.log`);
        writeFileSync(file, lines.slice(i, i + per).join('\n') + '\n');
        files.push(file);
      }
    }
    return { folder, files: files.sort(), ...counts };
  }
  const writes = async (table: string) => {
    const h = await run('table', 'history', table, '--format', 'json');
    return (JSON.parse(h.out) as { operation: string }[]).filter((e) => e.operation === 'WRITE').length;
  };
  const counts = (lake: string) =>
    sql(lake, `SELECT (SELECT count(*) FROM bronze.zeek_ssl)::INT AS ssl, (SELECT count(DISTINCT _source || '#' || _source_pos) FROM bronze.zeek_ssl)::INT AS ssl_rows,
                      (SELECT count(*) FROM bronze.zeek_x509)::INT AS x509, (SELECT count(DISTINCT _source || '#' || _source_pos) FROM bronze.zeek_x509)::INT AS x509_rows,
                      (SELECT count(*) FROM bronze.ingested_files)::INT AS registered, (SELECT count(DISTINCT uri) FROM bronze.ingested_files)::INT AS uris`);

  test('small files share bronze and registry commits; silver is as if each log were read whole', async () => {
    const { folder, files, ssl, x509 } = hourly(2500);
    assert.ok(files.length >= 20, `${files.length} files`);
    const lake = newLake();
    const r = await run('ingest', folder, '--lake', lake, '--format', 'json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await counts(lake), [{ ssl, ssl_rows: ssl, x509, x509_rows: x509, registered: files.length, uris: files.length }]);
    // Before, every file made a bronze commit and a registry commit of its own.
    const bronzeWrites = (await writes(join(lake, 'bronze', 'zeek_ssl'))) + (await writes(join(lake, 'bronze', 'zeek_x509')));
    const registryWrites = await writes(join(lake, 'bronze', 'ingested_files'));
    assert.ok(bronzeWrites <= 4 && registryWrites <= 2, `${bronzeWrites} bronze and ${registryWrites} registry commits for ${files.length} files`);
    const whole = newLake();
    assert.equal((await run('ingest', join(brim, 'zeek-json_x509.json.gz'), join(brim, 'zeek-json_ssl.json.gz'), '--lake', whole)).code, 0);
    for (const q of ['SELECT * EXCLUDE (sources) FROM silver.certificates ORDER BY cert_id', 'SELECT count(*)::INT AS n, count(DISTINCT uid)::INT AS uids, min(ts)::VARCHAR AS a, max(ts)::VARCHAR AS b FROM silver.observations']) {
      assert.deepEqual(await sql(lake, q), await sql(whole, q), q);
    }
  });

  test('a re-run that groups the files otherwise lands only what is missing', async () => {
    const { folder, files, ssl, x509 } = hourly(2500);
    const lake = newLake();
    // Every third file first, named one by one; then the folder, whose run groups them otherwise.
    const some = files.filter((_, i) => i % 3 === 0);
    assert.equal((await run('ingest', ...some, '--lake', lake)).code, 0);
    // As if the run had stopped after its bronze commits and before its registry commit.
    rmSync(join(lake, 'bronze', 'ingested_files'), { recursive: true });
    const r = await run('ingest', folder, '--lake', lake, '--format', 'json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await counts(lake), [{ ssl, ssl_rows: ssl, x509, x509_rows: x509, registered: files.length, uris: files.length }]);
  });

  test('killed at random moments: re-running finishes without duplicates', async () => {
    const { folder, files, ssl, x509 } = hourly(2000);
    const lake = newLake();
    // Small batches too, so that some files span several commits of their own.
    killedThenFinished(folder, lake, 1500, 600, 2500);
    assert.deepEqual(await counts(lake), [{ ssl, ssl_rows: ssl, x509, x509_rows: x509, registered: files.length, uris: files.length }]);
    const [o] = await sql(lake, `SELECT count(*)::INT AS n FROM silver.observations`);
    assert.equal(o!.n, ssl);
  });
});

describe('bad input is quarantined, the run goes on', () => {
  const header = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tssl',
    '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tcipher\tserver_name\testablished\tcert_chain_fps',
    '#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tbool\tvector[string]'];
  const good = (i: number) => `1521911720.${String(i).padStart(6, '0')}\tC${i}\t10.0.0.1\t5000${i % 10}\t10.0.0.2\t443\tTLSv12\tTLS_AES_128_GCM_SHA256\tx${i}.example\tT\t${'ab'.repeat(32)}`;

  test('invalid UTF-8, NUL bytes, wrong column counts, a line of many megabytes', async () => {
    const lake = newLake();
    const file = join(dir, `bad-${n++}.log`);
    const body = [
      ...header, good(1),
      Buffer.from(good(2).replace('x2.example', 'x\xff\xfe.example'), 'latin1').toString('latin1'),
      good(3).replace('x3.example', 'x\u0000y'),
      'only\ttwo',
      good(4) + '\t' + 'z'.repeat(20 * 1024 * 1024),
      good(5),
    ];
    writeFileSync(file, Buffer.concat(body.map((l, i) => Buffer.from(l + '\n', i === 8 ? 'latin1' : 'utf8'))));
    const r = await run('ingest', file, '--lake', lake, '--format', 'json');
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    const rejects = await sql(lake, `SELECT _source_pos::INT AS pos, reason FROM bronze.rejects ORDER BY pos`);
    assert.ok(rejects.length >= 3, JSON.stringify(rejects));
    assert.ok(rejects.some((x) => /column|field/i.test(String(x.reason))), 'wrong column count named');
    const kept = await sql(lake, `SELECT server_name FROM silver.observations ORDER BY ts`);
    assert.ok(kept.some((x) => x.server_name === 'x1.example') && kept.some((x) => x.server_name === 'x5.example'), JSON.stringify(kept));
    assert.equal(s.files[0].rejects, rejects.length);
  });

  test('truncated gzip keeps what came before; a decompression bomb is stopped', async () => {
    const lake = newLake();
    const full = gzipSync(Buffer.from([...header, ...Array.from({ length: 2000 }, (_, i) => good(i))].join('\n') + '\n'));
    const truncated = join(dir, `trunc-${n++}.log.gz`);
    writeFileSync(truncated, full.subarray(0, Math.floor(full.length * 0.6)));
    const bomb = join(dir, `bomb-${n++}.log.gz`);
    writeFileSync(bomb, gzipSync(Buffer.concat([Buffer.from(header.join('\n') + '\n'), Buffer.alloc(300 * 1024 * 1024, 0x41)]), { level: 9 }));
    const r = await run('ingest', truncated, bomb, '--lake', lake, '--format', 'json');
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    const t = s.files.find((f: any) => f.uri.endsWith('.log.gz') && f.uri.includes('trunc'));
    assert.ok(t.observations > 0 && t.observations < 2000, JSON.stringify(t));
    assert.match(String(t.error ?? JSON.stringify(s.rejectReasons)), /truncat|incomplete/i);
    const bombFile = s.files.find((f: any) => f.uri.includes('bomb'));
    assert.match(String(bombFile.error ?? JSON.stringify(s.rejectReasons)), /ratio|large|bomb|cap/i);
  });
});

test('expected x509.log of every Zeek fixture ingests to the columns it shows', { skip: existsSync(zeekPcaps) ? false : '../shared absent' }, async () => {
  const { readdirSync } = await import('node:fs');
  for (const c of readdirSync(zeekPcaps)) {
    const f = join(zeekPcaps, c, 'expected', 'x509.log');
    if (!existsSync(f)) continue;
    const lake = newLake();
    const r = await run('ingest', f, '--lake', lake, '--format', 'json');
    assert.equal(r.code, 0, r.err);
    const raw = zeekTsv(readFileSync(f, 'utf8'));
    const rows = await sql(lake, `SELECT * FROM silver.certificates`);
    for (const z of raw) {
      const c = rows.find((x) => x.sha256 === z.fingerprint) as Record<string, unknown>;
      assert.ok(c, `${c}: ${z.fingerprint}`);
      assert.equal(c.subject, z['certificate.subject']!.replace(/\\\\/g, '\\'), c.subject as string);
      assert.equal(c.issuer, z['certificate.issuer']!.replace(/\\\\/g, '\\'));
      assert.equal(c.key_alg, z['certificate.key_alg']);
      assert.equal(c.sig_alg, z['certificate.sig_alg']);
      assert.equal(String(c.key_length), z['certificate.key_length']);
      assert.equal(String(c.version), z['certificate.version']);
    }
  }
});

test('silver rebuilds from bronze: a crash between the two heals on the next run', { skip: noShared }, async () => {
  const lake = newLake();
  await run('ingest', join(brim, 'zeek-default_x509.log.gz'), '--lake', lake);
  const before = await sql(lake, `SELECT cert_id, last_seen FROM silver.certificates ORDER BY cert_id`);
  rmSync(join(lake, 'silver'), { recursive: true });
  const l = new Lake(lake, engine.conn);
  await refreshSilver(l, ['zeek_x509']);
  const plan = await (await l.table('silver', 'certificates')).scan();
  assert.deepEqual(await queryJson(engine.conn, `SELECT cert_id, last_seen FROM (${plan.sql}) ORDER BY cert_id`), before);
  // And again: nothing more.
  const r = await refreshSilver(l, ['zeek_x509']);
  assert.deepEqual(r.certificates, { inserted: 0, updated: 0 });
});

test('ingest killed at random moments: re-running finishes without duplicates', { skip: noShared }, async () => {
  const lake = newLake();
  killedThenFinished(join(brim, 'zeek-default_ssl.log.gz'), lake, 5000, 300, 1500);
  const [c] = await sql(lake, `SELECT count(*)::INT AS n, count(DISTINCT _source_pos)::INT AS pos FROM silver.observations`);
  assert.deepEqual(c, { n: 49474, pos: 49474 });
  const [b] = await sql(lake, `SELECT count(*)::INT AS n FROM bronze.zeek_ssl`);
  assert.equal(b!.n, 49474);
});

test('pre-4.1 Zeek logs: sessions find their certificate through the file id', async () => {
  const lake = newLake();
  const head = (path: string, fields: string[], types: string[]) => ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', `#path\t${path}`, `#fields\t${fields.join('\t')}`, `#types\t${types.join('\t')}`];
  const x509 = join(dir, `old-x509-${n++}.log`);
  writeFileSync(x509, [
    ...head('x509', ['ts', 'id', 'certificate.version', 'certificate.serial', 'certificate.subject', 'certificate.issuer', 'certificate.not_valid_before', 'certificate.not_valid_after'], ['time', 'string', 'count', 'string', 'string', 'string', 'time', 'time']),
    ['1598992773.5', 'FwuVrR3ZAcBJl3GZ2', '3', '0A1B', 'CN=old.example,O=Old', 'CN=Old CA', '1577836800.0', '1609459200.0'].join('\t'),
    ['1598992773.6', 'Fq7rbE1r2c0hJwqvHh', '3', '0C', 'CN=Old CA', 'CN=Old CA', '1577836800.0', '1609459200.0'].join('\t'),
  ].join('\n') + '\n');
  const ssl = join(dir, `old-ssl-${n++}.log`);
  writeFileSync(ssl, [
    ...head('ssl', ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'version', 'cipher', 'server_name', 'established', 'cert_chain_fuids', 'subject', 'issuer'], ['time', 'string', 'addr', 'port', 'addr', 'port', 'string', 'string', 'string', 'bool', 'vector[string]', 'string', 'string']),
    ['1598992773.4', 'CabcDEF1', '10.0.0.5', '50000', '192.0.2.7', '443', 'TLSv12', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'old.example', 'T', 'FwuVrR3ZAcBJl3GZ2,Fq7rbE1r2c0hJwqvHh', 'CN=old.example,O=Old', 'CN=Old CA'].join('\t'),
  ].join('\n') + '\n');
  // The session log first: the link must not depend on the order files arrive in.
  assert.equal((await run('ingest', ssl, x509, '--lake', lake)).code, 0);
  const rows = await sql(lake, `SELECT o.uid, o.cert_id, c.subject, c.serial FROM silver.observations o LEFT JOIN silver.certificates c USING (cert_id)`);
  assert.deepEqual(rows, [{ uid: 'CabcDEF1', cert_id: 'issuer-serial:CN=Old CA|0a1b', subject: 'CN=old.example,O=Old', serial: '0a1b' }]);
});

test('standard input is new content every run: never unchanged, never grown', { skip: noShared }, async () => {
  const lines = gunzipSync(readFileSync(join(brim, 'zeek-json_x509.json.gz'))).toString('utf8').split('\n').filter((l) => l.trim());
  const lake = newLake();
  const pipe = (text: string) => {
    const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'ingest', '-', '--lake', lake, '--format', 'json'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [file] = (JSON.parse(r.stdout) as { files: { status: string; certificates: number; error?: string }[] }).files;
    return { status: file!.status, certificates: file!.certificates, error: file!.error };
  };
  const first = lines.slice(0, 100).join('\n') + '\n';
  // The next hour's sightings of the same certificates: another input of the very same size.
  const again = first.replaceAll('"ts":"2018-03-24T17', '"ts":"2018-03-24T18');
  assert.notEqual(again, first);
  assert.equal(again.length, first.length);
  assert.deepEqual(pipe(first), { status: 'ingested', certificates: 100, error: undefined });
  assert.deepEqual(pipe(again), { status: 'ingested', certificates: 100, error: undefined }, 'same size is not the same input');
  // Longer than the last: not a log that grew (reading its old part again would need stdin twice).
  assert.deepEqual(pipe(lines.slice(100, 300).join('\n') + '\n'), { status: 'ingested', certificates: 200, error: undefined }, 'a longer input is read whole');
  const rows = await sql(lake, `SELECT count(*)::INTEGER AS n, count(DISTINCT _ingest_id)::INTEGER AS runs FROM bronze.zeek_x509`);
  assert.deepEqual(rows, [{ n: 400, runs: 3 }], 'every run landed all it was given');
});

test('progress goes to a TTY only; a pipe gets none', { skip: noShared }, async () => {
  for (const isTTY of [true, false]) {
    let err = '';
    const code = await main(['ingest', join(brim, 'zeek-default_ssl.log.gz'), '--lake', newLake()], { stdout: () => {}, stderr: (s) => (err += s), env: {}, isTTY });
    assert.equal(code, 0);
    if (isTTY) assert.match(err, /\r\x1b\[2K.*records.*rec\/s/);
    else assert.equal(err, '');
  }
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run, sql } from '../helpers/cli.js';
import { registeredDomain } from '../../src/sources/domain.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const intel = join(root, '..', 'shared', 'fixtures', 'intel');
const noShared = existsSync(intel) ? false : '../shared/fixtures not found';
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'certhunt-intel-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));


/** Data lines of an abuse.ch CSV, read here independently of src/sources. */
function dataLines(file: string): string[][] {
  return readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.split(','));
}

test('abuse.ch SSL Blacklist and JA3 list load whole; a reload replaces the list and keeps history', { skip: noShared }, async () => {
  const lake = join(dir, 'lake1');
  const r = await run('intel', join(intel, 'sslblacklist.csv'), '--kind', 'sslbl', '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const expected = dataLines(join(intel, 'sslblacklist.csv'));
  assert.equal(JSON.parse(r.out)[0].entries, expected.length);
  const rows = await sql(lake, `SELECT sha1, listing_reason, strftime(listing_date, '%Y-%m-%d %H:%M:%S') AS d FROM silver.intel_sslbl`);
  assert.equal(rows.length, expected.length);
  const bySha = new Map(rows.map((x) => [x.sha1, x]));
  for (const [date, sha1, reason] of expected.slice(0, 200)) {
    const got = bySha.get(sha1!)!;
    assert.equal(got.listing_reason, reason);
    assert.equal(got.d, date);
  }
  // Detected by content without --kind, loaded again: an overwrite, not a duplicate.
  assert.equal((await run('intel', join(intel, 'sslblacklist.csv'), '--lake', lake)).code, 0);
  assert.deepEqual(await sql(lake, `SELECT count(*)::INT AS n FROM silver.intel_sslbl`), [{ n: expected.length }]);
  const h = JSON.parse((await run('table', 'history', join(lake, 'silver', 'intel_sslbl'), '--format', 'json')).out);
  assert.ok(h.some((e: any) => /Overwrite/.test(e.parameters)));

  const ja3 = await run('intel', join(intel, 'ja3_fingerprints.csv'), '--lake', lake, '--format', 'json');
  assert.equal(ja3.code, 0, ja3.err);
  const ja3Lines = dataLines(join(intel, 'ja3_fingerprints.csv'));
  assert.deepEqual(await sql(lake, `SELECT count(*)::INT AS n FROM silver.intel_ja3`), [{ n: ja3Lines.length }]);
  const first = ja3Lines[0]!;
  assert.deepEqual(await sql(lake, `SELECT listing_reason FROM silver.intel_ja3 WHERE ja3_md5 = '${first[0]}'`), [{ listing_reason: first[3] }]);
});

test('top lists: Umbrella and Tranco (rank,domain), Majestic (header), plain or zipped, matched by registered domain', async () => {
  const lake = join(dir, 'lake2');
  const umbrella = join(dir, 'top-1m.csv');
  writeFileSync(umbrella, '1,google.com\n2,www.bbc.co.uk\n3,api.evil.duckdns.org\n4,*.example.com\n');
  const tranco = join(dir, 'tranco.csv');
  writeFileSync(tranco, '1,google.com\n2,facebook.com\n');
  const zipped = join(dir, 'tranco.zip');
  const z = spawnSync('python3', ['-c', `import zipfile,sys; zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED).write(sys.argv[2],'top-1m.csv')`, zipped, tranco]);
  assert.equal(z.status, 0, String(z.stderr));
  const majestic = join(dir, 'majestic_million.csv');
  writeFileSync(majestic, 'GlobalRank,TldRank,Domain,TLD,RefSubNets,RefIPs,IDN_Domain,IDN_TLD,PrevGlobalRank,PrevTldRank,PrevRefSubNets,PrevRefIPs\n1,1,google.com,com,1,1,google.com,com,1,1,1,1\n2,2,github.io,io,1,1,github.io,io,2,2,1,1\n');
  for (const [file, name] of [[umbrella, 'umbrella'], [zipped, 'tranco'], [majestic, 'majestic']] as const) {
    const r = await run('intel', file, '--kind', 'toplist', '--name', name, '--lake', lake);
    assert.equal(r.code, 0, `${name}: ${r.err}`);
  }
  const rows = await sql(lake, `SELECT list, rank::INT AS rank, domain, registered_domain FROM silver.intel_toplist ORDER BY list, rank`);
  assert.deepEqual(rows.map((x) => `${x.list}:${x.rank}:${x.registered_domain}`), [
    'majestic:1:google.com', 'majestic:2:github.io',
    'tranco:1:google.com', 'tranco:2:facebook.com',
    'umbrella:1:google.com', 'umbrella:2:bbc.co.uk', 'umbrella:3:evil.duckdns.org', 'umbrella:4:example.com',
  ]);
  // Reloading one list leaves the others.
  writeFileSync(umbrella, '1,example.org\n');
  await run('intel', umbrella, '--kind', 'toplist', '--name', 'umbrella', '--lake', lake);
  assert.deepEqual(await sql(lake, `SELECT list, count(*)::INT AS n FROM silver.intel_toplist GROUP BY list ORDER BY list`), [
    { list: 'majestic', n: 2 }, { list: 'tranco', n: 2 }, { list: 'umbrella', n: 1 },
  ]);
});

test('registered domains follow the Public Suffix List, private suffixes included', () => {
  assert.equal(registeredDomain('a.b.example.co.uk'), 'example.co.uk');
  assert.equal(registeredDomain('*.evil.duckdns.org'), 'evil.duckdns.org');
  assert.equal(registeredDomain('user.github.io'), 'user.github.io');
  assert.equal(registeredDomain('WWW.Example.COM.'), 'example.com');
  assert.equal(registeredDomain('10.0.0.1'), null);
  assert.equal(registeredDomain(''), null);
});

test('a list the tool cannot identify is a usage error naming the file', async () => {
  const f = join(dir, 'mystery.txt');
  writeFileSync(f, 'hello\nworld\n');
  const r = await run('intel', f, '--lake', join(dir, 'lake3'));
  assert.equal(r.code, 2);
  assert.match(r.err, /mystery\.txt/);
});

test('a list of bad lines is counted whole and reported in part: memory does not grow with it', async () => {
  const { MAX_REPORTED_REJECTS } = await import('../../src/pipeline/intel.js');
  const f = join(dir, 'tranco-hostile.csv');
  const bad = Array.from({ length: 5000 }, (_, i) => `${i + 2},bad domain ${i}.com`);
  writeFileSync(f, ['1,good.example', ...bad, '5002,also-good.example'].join('\n') + '\n');
  const r = await run('intel', f, '--kind', 'toplist', '--name', 'tranco', '--lake', join(dir, 'lake-hostile'), '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const [row] = JSON.parse(r.out) as { entries: number; rejected: number }[];
  assert.deepEqual([row!.entries, row!.rejected], [2, 5000], 'every line counted');
  assert.equal(r.err.split('\n').filter((l) => l.startsWith('  rejected line')).length, 5, 'five reported on stderr');
  const { loadIntel } = await import('../../src/pipeline/intel.js');
  const { openEngine } = await import('../../src/engine/duckdb.js');
  const { Lake } = await import('../../src/pipeline/lake.js');
  const { listLocations } = await import('../../src/sources/input.js');
  const engine = await openEngine();
  try {
    const [file] = await listLocations([f]);
    const report = await loadIntel(new Lake(join(dir, 'lake-hostile-2'), engine.conn), file!, { kind: 'toplist', name: 'tranco' });
    assert.equal(report.rejected, 5000, 'the report counts them all');
    assert.equal(report.rejects.length, MAX_REPORTED_REJECTS, 'and keeps only the first few');
    assert.deepEqual(report.rejects.map((x) => x.position).slice(0, 3), [2, 3, 4], 'the first ones, in order');
  } finally {
    engine.close();
  }
});

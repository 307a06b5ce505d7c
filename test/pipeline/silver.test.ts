import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { queryJson } from '../../src/lake/parquet.js';
import type { IngestOptions } from '../../src/pipeline/ingest.js';
import type { Lake } from '../../src/pipeline/lake.js';
import { LARGE_ROWS_TAG } from '../../src/pipeline/bronze.js';
import { silverSteps } from '../../src/pipeline/silver.js';
import { LARGE_ROWS_CHARS } from '../../src/pipeline/stage.js';
import { run } from '../helpers/cli.js';
import { testLakes } from '../helpers/lakes.js';

type Added = Parameters<typeof silverSteps>[0];

/** Commits of `rows` rows in `bytes` of Parquet each, as addedSince gives them (`large`: LARGE_ROWS_TAG). */
function added(commits: { rows: number; bytes: number; large?: number }[]): Added {
  return {
    files: [],
    version: commits.length,
    snapshot: {} as Added['snapshot'],
    commits: commits.map((c, i) => ({
      version: i + 1,
      files: [{
        path: `f${i}.parquet`, size: c.bytes, partitionValues: {}, modificationTime: 0, dataChange: true, stats: JSON.stringify({ numRecords: c.rows }),
        ...(c.large ? { tags: { [LARGE_ROWS_TAG]: String(c.large) } } : {}),
      }],
    })),
  };
}

const versions = (a: Added, limits: Parameters<typeof silverSteps>[1]) => [...silverSteps(a, limits)].map((s) => s.version);

test('silver steps: narrow rows group up to the row limit, wide ones (the DER) by bytes, a commit is never split', () => {
  const limits = { rows: 1000, bytes: 1_000_000, wideRowBytes: 1024 };
  // 400 B rows: 300 rows a commit, the byte limit never binds.
  const narrow = added(Array.from({ length: 7 }, () => ({ rows: 300, bytes: 120_000 })));
  assert.deepEqual(versions(narrow, limits), [4, 7], 'narrow rows end a step at 1000 rows (after the 4th commit) and at the last commit');
  // 3 kB rows: 200 rows (600 kB) a commit, so every second commit passes the byte limit.
  const wide = added(Array.from({ length: 5 }, () => ({ rows: 200, bytes: 600_000 })));
  assert.deepEqual(versions(wide, limits), [2, 4, 5], 'wide rows end a step at 1 MB of bronze');
  const big = added([{ rows: 5000, bytes: 100 }, { rows: 1, bytes: 1 }]);
  assert.deepEqual(versions(big, limits), [1, 2], 'a commit over the limit is one step of its own');
  assert.deepEqual(versions(added([]), limits), [], 'nothing new, no step');
});

test('silver steps: commits with large rows share a step only while those fit in LARGE_ROWS_CHARS', () => {
  const limits = { rows: 1000, bytes: 1_000_000, wideRowBytes: 1024 };
  const half = LARGE_ROWS_CHARS / 2;
  // A dozen rows of 900k SANs are a few MB of Parquet: only the tag tells them apart.
  const mixed = added([
    { rows: 10, bytes: 4000, large: half }, { rows: 10, bytes: 4000, large: half }, { rows: 10, bytes: 4000, large: 1 },
    { rows: 10, bytes: 4000 }, { rows: 10, bytes: 4000, large: LARGE_ROWS_CHARS * 2 }, { rows: 10, bytes: 4000 },
  ]);
  assert.deepEqual(versions(mixed, limits), [2, 4, 6], 'a step ends before the large rows that would not fit, and a commit past the limit starts a step of its own');
  const plain = added(Array.from({ length: 6 }, () => ({ rows: 10, bytes: 4000 })));
  assert.deepEqual(versions(plain, limits), [6], 'without large rows, one step as before');
});

const lakes = testLakes('silver');
// Logs here are small: read on the main thread as ingest would, without starting reader threads.
const ingestWith = (files: string[], options: IngestOptions) => lakes.ingestWith(files, { readers: { threads: 0 }, ...options });

async function silverRows(lake: Lake, name: string): Promise<unknown[]> {
  const plan = await (await lake.table('silver', name)).scan();
  return queryJson(lake.conn, `SELECT * ${name === 'observations' ? 'EXCLUDE (_ingest_id)' : ''} FROM (${plan.sql}) ORDER BY ALL`);
}

test('silver in many small steps (merges between them, hidden rows purged) equals silver in one', async () => {
  // A generated log relogs certificates on later days, so later steps see them again, later.
  const out = join(lakes.dir, 'generated');
  const r = await run('generate', '--certificates', '300', '--observations', '3000', '--format', 'zeek-json', '--out', out, '--seed', '3');
  assert.equal(r.code, 0, r.err);
  const files = [join(out, 'x509.log'), join(out, 'ssl.log')];
  const one = await ingestWith(files, {});
  const many = await ingestWith(files, { batchSize: 100, silverSteps: { rows: 250, purgeShare: 0.1 } });
  assert.equal(many.report.silver.certificates.inserted, one.report.silver.certificates.inserted, 'the same certificates inserted');
  assert.ok(many.report.silver.certificates.updated > 100, `later steps updated the certificates earlier ones inserted (${many.report.silver.certificates.updated})`);
  assert.equal(many.report.silver.observations, 3000, 'every session observed');
  const history = await (await many.lake.table('silver', 'certificates')).history(1000);
  const merges = history.filter((h) => h.commitInfo.operation === 'MERGE').length;
  assert.ok(merges >= 4, `silver.certificates took many steps (${merges} merges)`);
  assert.ok(history.some((h) => Number((h.commitInfo.operationMetrics as Record<string, string> | undefined)?.numTargetDeletionVectorsAdded) > 0), 'steps hid rows with deletion vectors');
  assert.ok(history.some((h) => h.commitInfo.operation === 'OPTIMIZE'), 'hidden rows were purged between steps');
  assert.deepEqual(await silverRows(many.lake, 'certificates'), await silverRows(one.lake, 'certificates'), 'the same certificates, first and last seen included');
  assert.deepEqual(await silverRows(many.lake, 'observations'), await silverRows(one.lake, 'observations'), 'the same observations');
});

test('within a step, the sighting with the DER stands for a certificate, else the fullest, else the latest', async () => {
  const out = join(lakes.dir, 'generated-der');
  const r = await run('generate', '--certificates', '20', '--observations', '40', '--format', 'zeek-json', '--zeek-certs', '--out', out, '--seed', '5');
  assert.equal(r.code, 0, r.err);
  const withDer = JSON.parse(readFileSync(join(out, 'x509.log'), 'utf8').split('\n')[0]!) as Record<string, unknown>;
  const a = String(withDer.fingerprint);
  const b = 'b'.repeat(64);
  const plain = { _path: 'x509', 'certificate.version': 3, 'certificate.serial': '01', 'certificate.issuer': 'CN=Test CA', 'certificate.not_valid_after': 1_900_000_000, 'certificate.key_alg': 'rsaEncryption' };
  const t0 = 1_790_000_000;
  const lines = [
    // A: the log's copy comes later and says otherwise; the DER wins all the same.
    { ...withDer, ts: t0 },
    { ...plain, ts: t0 + 500, fingerprint: a, 'certificate.subject': 'CN=the log says otherwise' },
    // B: without the DER, the latest full sighting; a later one without a subject ranks lower.
    { ...plain, ts: t0 + 10, fingerprint: b, 'certificate.subject': 'CN=b' },
    { ...plain, ts: t0 + 90, fingerprint: b, 'certificate.subject': 'CN=b', 'certificate.key_alg': 'id-ecPublicKey' },
    { ...plain, ts: t0 + 30, fingerprint: b, 'certificate.subject': 'CN=b', 'certificate.key_alg': 'dsaEncryption' },
    { ...plain, ts: t0 + 900, fingerprint: b, 'certificate.key_alg': 'no-subject' },
  ];
  const file = join(lakes.dir, 'ranked.json');
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const { lake } = await ingestWith([file], {});
  const plan = await (await lake.table('silver', 'certificates')).scan();
  const rows = await queryJson(lake.conn, `SELECT cert_id, subject, key_alg, der IS NOT NULL AS der, epoch(first_seen) AS first, epoch(last_seen) AS last FROM (${plan.sql}) ORDER BY cert_id`);
  const byId = new Map(rows.map((row) => [row.cert_id, row]));
  const ra = byId.get(a);
  assert.ok(ra, 'certificate A in silver');
  assert.equal(ra.der, true, 'A is the sighting with the DER');
  assert.equal(ra.subject, withDer['certificate.subject'], 'A has the subject its DER gives');
  assert.deepEqual([ra.first, ra.last], [t0, t0 + 500], 'A was seen from its first to its last sighting');
  const rb = byId.get(b);
  assert.ok(rb, 'certificate B in silver');
  assert.equal(rb.key_alg, 'id-ecPublicKey', 'B is its latest sighting with a subject');
  assert.deepEqual([rb.first, rb.last], [t0 + 10, t0 + 900], 'B was seen from its first to its last sighting, the one without a subject included');
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { queryJson } from '../../src/lake/parquet.js';
import { ingest, type IngestOptions } from '../../src/pipeline/ingest.js';
import { Lake } from '../../src/pipeline/lake.js';
import { silverSteps } from '../../src/pipeline/silver.js';
import { sourceReader } from '../../src/sources/index.js';
import { listLocations } from '../../src/sources/input.js';
import { run } from '../helpers/cli.js';


type Added = Parameters<typeof silverSteps>[0];

/** Commits of `rows` rows in `bytes` of Parquet each, as addedSince gives them. */
function added(commits: { rows: number; bytes: number }[]): Added {
  return {
    files: [],
    version: commits.length,
    snapshot: {} as Added['snapshot'],
    commits: commits.map((c, i) => ({
      version: i + 1,
      files: [{ path: `f${i}.parquet`, size: c.bytes, partitionValues: {}, modificationTime: 0, dataChange: true, stats: JSON.stringify({ numRecords: c.rows }) }],
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

let dir: string;
let engine: Engine;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certhunt-silver-'));
  engine = await openEngine();
});
after(() => {
  engine.close();
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;

async function ingestWith(files: string[], options: IngestOptions): Promise<{ lake: Lake; report: Awaited<ReturnType<typeof ingest>> }> {
  const lake = new Lake(join(dir, `lake${n++}`), engine.conn);
  const inputs = await listLocations(files);
  const report = await ingest(lake, (async function* () { yield* inputs; })(), sourceReader(), { clock: () => 1_700_000_000_000, readers: { threads: 0 }, ...options });
  return { lake, report };
}

async function silverRows(lake: Lake, name: string): Promise<unknown[]> {
  const plan = await (await lake.table('silver', name)).scan();
  return queryJson(lake.conn, `SELECT * ${name === 'observations' ? 'EXCLUDE (_ingest_id)' : ''} FROM (${plan.sql}) ORDER BY ALL`);
}

test('silver in many small steps (merges between them, hidden rows purged) equals silver in one', async () => {
  // A generated log relogs certificates on later days, so later steps see them again, later.
  const out = join(dir, 'generated');
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
  assert.ok(history.some((h) => Number(h.commitInfo.operationMetrics?.numTargetDeletionVectorsAdded) > 0), 'steps hid rows with deletion vectors');
  assert.ok(history.some((h) => h.commitInfo.operation === 'OPTIMIZE'), 'hidden rows were purged between steps');
  assert.deepEqual(await silverRows(many.lake, 'certificates'), await silverRows(one.lake, 'certificates'), 'the same certificates, first and last seen included');
  assert.deepEqual(await silverRows(many.lake, 'observations'), await silverRows(one.lake, 'observations'), 'the same observations');
});

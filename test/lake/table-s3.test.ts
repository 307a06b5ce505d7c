import assert from 'node:assert/strict';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { S3Storage } from '../../src/lake/storage-s3.js';
import { DeltaTable } from '../../src/lake/table.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

// The whole Delta stack on a real S3-compatible server (moto): commits through
// PutObject If-None-Match, checkpoints, merges, concurrent writers.
const server: S3Server | undefined = await startS3Server();
let engine: Engine;
let cache: string;
const skip = (): string | false => (server ? false : 'no S3 server: run bash scripts/s3-server-deps.sh');

before(async () => {
  engine = await openEngine();
  cache = mkdtempSync(join(tmpdir(), 'certhunt-s3-table-'));
  if (server) await server.client.send(new CreateBucketCommand({ Bucket: 'lake' }));
});
after(async () => {
  engine.close();
  await server?.stop();
  rmSync(cache, { recursive: true, force: true });
});

function s3Table(prefix: string, conn = engine.conn): DeltaTable {
  return new DeltaTable(new S3Storage(`s3://lake/${prefix}`, { client: server!.client, cacheDir: cache }), conn, { checkpointInterval: 5 });
}

test('create, append, merge, checkpoint and time travel on S3', { skip: skip() }, async () => {
  const t = s3Table('silver/certificates');
  await t.create({ from: `SELECT 'k' || range AS sha256, range::INT AS n, (range % 2)::INT AS p FROM range(4)`, partitionColumns: ['p'] });
  for (let i = 0; i < 6; i++) await t.append(`SELECT 'x${i}' AS sha256, ${i}::INT AS n, ${i % 2}::INT AS p`, { txn: { appId: 'a', version: i } });
  assert.equal((await t.append(`SELECT 'dup' AS sha256, 0::INT AS n, 0::INT AS p`, { txn: { appId: 'a', version: 3 } })).status, 'skipped');
  await t.merge(`SELECT 'k1' AS sha256, 100::INT AS n, 1::INT AS p UNION ALL SELECT 'new', 5, 0`, { on: ['sha256'] });
  const snap = await s3Table('silver/certificates').snapshot(); // a new reader: from the checkpoint
  assert.equal(snap.version, 7);
  assert.equal(snap.segment.checkpoint?.version, 5);
  const rows = await t.rows({ orderBy: 'sha256' });
  assert.equal(rows.length, 11);
  assert.equal(rows.find((r) => r.sha256 === 'k1')!.n, 100);
  assert.equal((await t.rows({ version: 0 })).length, 4);
  // A fresh reader (empty cache) sees the same.
  const fresh = new DeltaTable(new S3Storage('s3://lake/silver/certificates', { client: server!.client, cacheDir: mkdtempSync(join(cache, 'c')) }), engine.conn);
  assert.deepEqual(await fresh.rows({ orderBy: 'sha256' }), rows);
});

test('two writers racing on S3: every commit lands once', { skip: skip() }, async () => {
  const a = await openEngine();
  const b = await openEngine();
  try {
    const ta = s3Table('race', a.conn);
    const tb = s3Table('race', b.conn);
    await ta.create({ from: 'SELECT 0 AS writer, 0 AS k WHERE false' });
    const run = async (t: DeltaTable, w: number) => {
      for (let k = 1; k <= 15; k++) await t.append(`SELECT ${w} AS writer, ${k} AS k`, { txn: { appId: `w${w}`, version: k } });
    };
    await Promise.all([run(ta, 1), run(tb, 2)]);
    const snap = await ta.snapshot();
    assert.equal(snap.version, 30);
    const rows = await ta.rows({ orderBy: 'writer, k' });
    assert.equal(rows.length, 30);
    assert.equal(new Set(rows.map((r) => `${r.writer}/${r.k}`)).size, 30);
    assert.equal(snap.txns.get('w1')?.version, 15);
    assert.equal(snap.txns.get('w2')?.version, 15);
  } finally {
    a.close();
    b.close();
  }
});

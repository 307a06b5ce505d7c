import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { queryJson } from '../../src/lake/parquet.js';
import { BronzeBatch, prepareItem } from '../../src/pipeline/bronze.js';
import { Lake } from '../../src/pipeline/lake.js';
import { PendingFiles, type FileTail } from '../../src/pipeline/pending.js';
import { emptyCertificate } from '../../src/sources/record.js';
import { testLakes } from '../helpers/lakes.js';

/**
 * Small files' last batches gather in PendingFiles and land together (src/pipeline/pending.ts):
 * one commit per table, each file under its own app transactions, registry rows after the
 * bronze rows; a failed commit leaves no staged file behind.
 */
const lakes = testLakes('pending');
const serial = <T>(fn: () => Promise<T>): Promise<T> => fn();

async function tail(lake: Lake, uri: string, rows: number): Promise<FileTail> {
  const batch = new BronzeBatch({ lake, ingestId: 'run', ingestedAt: 1_700_000_000_000, source: uri, format: 'zeek_x509' });
  for (let pos = 1; pos <= rows; pos++) {
    const cert = emptyCertificate();
    cert.sha256 = `${uri.length.toString(16)}${pos}`.padStart(64, '0');
    await batch.addPrepared(prepareItem({ kind: 'certificate', pos, cert, raw: `{"pos":${pos}}` }, { source: uri, format: 'zeek_x509' }));
  }
  const state = { uri, generation: 1, format: 'zeek_x509', size: rows, modified: null, etag: null, bytes: rows, lines: rows, prefix_sha256: '', records: rows, rejects: 0, ingest_id: 'run' };
  return { batch, txn: { appId: `src:${uri}#1`, version: 1 }, state };
}

const staged = (t: FileTail) => [t.batch!.records.file, t.batch!.rejects.file];

test('files that fit land in one bronze commit and one registry commit, each under its own transaction', async () => {
  const lake = lakes.newLake();
  const pending = new PendingFiles(lake, serial, { rows: 100, chars: 1e9, files: 256 }, () => 1_700_000_000_000);
  const tails = [await tail(lake, 'a.log', 3), await tail(lake, 'bb.log', 4), await tail(lake, 'ccc.log', 5)];
  for (const t of tails) await pending.add(t);
  assert.ok(!existsSync(join(lake.location, 'bronze', 'zeek_x509')), 'nothing lands before the files stop fitting or the run settles');
  await pending.settle();
  const bronze = await lake.table('bronze', 'zeek_x509');
  const snap = await bronze.snapshot();
  assert.equal(snap.version, 1, 'create, then one append');
  assert.deepEqual([...snap.txns.keys()].sort(), ['src:a.log#1', 'src:bb.log#1', 'src:ccc.log#1']);
  const registry = await (await lake.table('bronze', 'ingested_files')).snapshot();
  assert.equal(registry.version, 1);
  const rows = await queryJson(lake.conn, `SELECT _source, count(*)::INT AS n FROM (${(await bronze.scan()).sql}) GROUP BY 1 ORDER BY 1`);
  assert.deepEqual(rows, [{ _source: 'a.log', n: 3 }, { _source: 'bb.log', n: 4 }, { _source: 'ccc.log', n: 5 }]);
  assert.ok(tails.flatMap(staged).every((f) => !existsSync(f)), 'staged files removed');
});

test('a commit that fails surfaces at the next one, and leaves no staged file behind', async () => {
  // A lake under a regular file: no table can be made there.
  const blocker = join(lakes.dir, 'not-a-folder');
  writeFileSync(blocker, '');
  const lake = new Lake(join(blocker, 'lake'), lakes.newLake().conn);
  const pending = new PendingFiles(lake, serial, { rows: 10, chars: 1e9, files: 256 }, () => 0);
  const tails = [await tail(lake, 'a.log', 8), await tail(lake, 'bb.log', 8), await tail(lake, 'ccc.log', 8)];
  await pending.add(tails[0]!);
  await pending.add(tails[1]!); // does not fit: a.log's commit starts, and fails
  await assert.rejects(pending.add(tails[2]!), /not-a-folder|ENOTDIR|directory/i);
  await pending.discard();
  assert.deepEqual(tails.flatMap(staged).filter((f) => existsSync(f)), [], 'every staged file removed');
});

test('a pending file holds no open descriptor while it waits', { skip: existsSync('/proc/self/fd') ? false : 'no /proc/self/fd here' }, async () => {
  const lake = lakes.newLake();
  const pending = new PendingFiles(lake, serial, { rows: 1e6, chars: 1e9, files: 256 }, () => 0);
  const fds = () => readdirSync('/proc/self/fd').length;
  const base = fds();
  const tails: FileTail[] = [];
  for (let i = 0; i < 60; i++) tails.push(await tail(lake, `f${i}.log`, 2));
  // Staged files open on the thread pool: wait until they are.
  for (const deadline = Date.now() + 10_000; fds() < base + 120 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
  const before = fds();
  for (const t of tails) await pending.add(t);
  // Each tail's batch opened two staged files (records, rejects) when it was made.
  assert.ok(before - fds() >= 100, `descriptors before ${before}, after ${fds()}`);
  await pending.settle();
  const [r] = await queryJson(lake.conn, `SELECT count(*)::INT AS n FROM (${(await (await lake.table('bronze', 'zeek_x509')).scan()).sql})`);
  assert.equal(r!.n, 120);
});

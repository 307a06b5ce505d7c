import assert from 'node:assert/strict';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { openEngine } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { Lake } from '../../src/pipeline/lake.js';
import { sourceReader } from '../../src/sources/index.js';
import { locate } from '../../src/sources/input.js';
import { s3RecordingClient, startS3Server } from '../helpers/s3-server.js';

// `certhunt ingest s3://...` end to end against a real S3-compatible server (moto): listing
// with a glob, streaming, gunzip, and the lake itself on S3.
const root = fileURLToPath(new URL('../../', import.meta.url));
const brim = join(root, '..', 'shared', 'fixtures', 'zeek-logs', 'brimdata');
const server = existsSync(brim) ? await startS3Server() : undefined;
const dir = mkdtempSync(join(tmpdir(), 'certhunt-ingest-s3-'));
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('ingest from an S3 prefix with a glob into a lake on S3', { skip: server ? false : 'needs ../shared and the S3 test server (bash scripts/s3-server-deps.sh)' }, async () => {
  const s3 = server!;
  await s3.client.send(new CreateBucketCommand({ Bucket: 'sec-logs' }));
  await s3.client.send(new CreateBucketCommand({ Bucket: 'lake' }));
  for (const name of ['zeek-default_x509.log.gz', 'zeek-default_ssl.log.gz']) {
    await s3.client.send(new PutObjectCommand({ Bucket: 'sec-logs', Key: `zeek/2018-03-24/${name}`, Body: readFileSync(join(brim, name)) }));
  }
  await s3.client.send(new PutObjectCommand({ Bucket: 'sec-logs', Key: 'zeek/2018-03-24/notes.txt', Body: 'not a log' }));
  const env = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    let out = '';
    let err = '';
    const code = await main(['ingest', 's3://sec-logs/zeek/2018-03-*/*.log.gz', '--lake', 's3://lake/certhunt', '--format', 'json'], {
      stdout: (s) => (out += s), stderr: (s) => (err += s), env, isTTY: false,
    });
    assert.equal(code, 0, err);
    const report = JSON.parse(out);
    assert.deepEqual(report.files.map((f: any) => f.uri).sort(), ['s3://sec-logs/zeek/2018-03-24/zeek-default_ssl.log.gz', 's3://sec-logs/zeek/2018-03-24/zeek-default_x509.log.gz']);
    assert.equal(report.silver.certificates.inserted, 348);
    let q = '';
    const c2 = await main(['sql', 'SELECT count(*)::INT AS n FROM silver.observations', '--lake', 's3://lake/certhunt', '--format', 'json'], {
      stdout: (s) => (q += s), stderr: (s) => (err += s), env, isTTY: false,
    });
    assert.equal(c2, 0, err);
    assert.deepEqual(JSON.parse(q), [{ n: 49474 }]);
    // Again: nothing new.
    out = '';
    await main(['ingest', 's3://sec-logs/zeek/2018-03-*/*.log.gz', '--lake', 's3://lake/certhunt', '--format', 'json'], { stdout: (s) => (out += s), stderr: () => {}, env, isTTY: false });
    assert.deepEqual(JSON.parse(out).files.map((f: any) => f.status), ['unchanged', 'unchanged']);
  } finally {
    process.env = saved;
  }
});

test('a re-run over an S3 prefix fetches only the objects it reads', { skip: server ? false : 'needs ../shared and the S3 test server (bash scripts/s3-server-deps.sh)' }, async () => {
  const s3 = server!;
  const bucket = 'rerun';
  await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
  const body = (name: string) => readFileSync(join(brim, name));
  const put = (key: string, name: string) => s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body(name) }));
  await put('zeek/ssl.log.gz', 'zeek-default_ssl.log.gz');
  await put('zeek/x509.log.gz', 'zeek-default_x509.log.gz');
  const size = (name: string) => body(name).length;
  assert.ok(size('zeek-default_ssl.log.gz') > 65_536 && size('zeek-default_ssl.log.gz') < 2 ** 21, 'ssl.log is fetched whole by its probe when read');
  const { client, gets } = s3RecordingClient(s3.endpoint);
  const engine = await openEngine();
  try {
    const lake = new Lake(join(dir, 'rerun-lake'), engine.conn);
    const run = async () => {
      gets.length = 0;
      const report = await ingest(lake, await locate([`s3://${bucket}/zeek/`], { s3Client: client }), sourceReader());
      return Object.fromEntries(report.files.map((f) => [f.uri.replace(`s3://${bucket}/`, ''), f.status]));
    };
    assert.deepEqual(await run(), { 'zeek/ssl.log.gz': 'ingested', 'zeek/x509.log.gz': 'ingested' });
    const whole = (key: string, name: string) => `${key} bytes=0-${size(name) - 1}`;
    assert.deepEqual(gets, [whole('zeek/ssl.log.gz', 'zeek-default_ssl.log.gz'), whole('zeek/x509.log.gz', 'zeek-default_x509.log.gz')], 'one GET each: its probe');
    await put('zeek/known_certs.log.gz', 'zeek-default_known_certs.log.gz');
    assert.deepEqual(await run(), { 'zeek/known_certs.log.gz': 'ingested', 'zeek/ssl.log.gz': 'unchanged', 'zeek/x509.log.gz': 'unchanged' });
    // Read before and unchanged: listed, not fetched at all (a whole 1.4 MB, or 64 KiB of it, to
    // skip it, as a daily re-run over a year's prefix would do for every object).
    assert.deepEqual(gets, [whole('zeek/known_certs.log.gz', 'zeek-default_known_certs.log.gz')], 'only the new object is fetched');
  } finally {
    engine.close();
  }
});

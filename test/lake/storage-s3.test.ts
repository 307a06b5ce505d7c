import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeltaError } from '../../src/lake/error.js';
import { S3Storage, parseS3Url, s3ClientFromEnv } from '../../src/lake/storage-s3.js';
import { s3TestClient, startS3Server, type S3Server } from '../helpers/s3-server.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b ? new TextDecoder().decode(b) : undefined);

describe('parseS3Url', () => {
  test('splits bucket and prefix', () => {
    assert.deepEqual(parseS3Url('s3://bucket/a/b'), { bucket: 'bucket', prefix: 'a/b' });
    assert.deepEqual(parseS3Url('s3://bucket/a/b/'), { bucket: 'bucket', prefix: 'a/b' });
    assert.deepEqual(parseS3Url('s3://bucket'), { bucket: 'bucket', prefix: '' });
    assert.deepEqual(parseS3Url('s3://bucket/'), { bucket: 'bucket', prefix: '' });
  });

  test('rejects what is not an s3 URL', () => {
    for (const bad of ['/tmp/x', 'http://bucket/x', 's3://', 's3:///x', 's3://b/a/../c', 's3://b/a//c']) {
      assert.throws(() => parseS3Url(bad), (e: unknown) => e instanceof DeltaError && e.kind === 'invalid', bad);
    }
  });

  test('root and writesInPlace', () => {
    const client = new S3Client({ region: 'us-east-1' });
    assert.equal(new S3Storage('s3://bucket/a/b/', { client }).root, 's3://bucket/a/b');
    assert.equal(new S3Storage('s3://bucket', { client }).root, 's3://bucket');
    assert.equal(new S3Storage('s3://bucket', { client }).writesInPlace, false);
    client.destroy();
  });
});

describe('s3ClientFromEnv', () => {
  const KEYS = [
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'AWS_PROFILE',
    'AWS_CONFIG_FILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_S3',
  ];
  let saved: Record<string, string | undefined> = {};
  let dir = '';
  before(async () => {
    saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 's3env-'));
  });
  after(async () => {
    for (const k of KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await fs.rm(dir, { recursive: true, force: true });
  });
  const clear = async (): Promise<void> => {
    for (const k of KEYS) delete process.env[k];
    // An empty config file so that the machine's ~/.aws does not leak in.
    const empty = path.join(dir, `empty-${Math.random()}`);
    await fs.writeFile(empty, '');
    process.env.AWS_CONFIG_FILE = empty;
    process.env.AWS_SHARED_CREDENTIALS_FILE = empty;
  };
  const regionOf = async (c: S3Client): Promise<string> => {
    const r = await c.config.region();
    c.destroy();
    return r;
  };

  test('region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile, then us-east-1', async () => {
    await clear();
    assert.equal(await regionOf(s3ClientFromEnv()), 'us-east-1');
    const config = path.join(dir, `config-${Math.random()}`);
    await fs.writeFile(config, '[default]\nregion = ap-south-1\n[profile other]\nregion = sa-east-1\n');
    process.env.AWS_CONFIG_FILE = config;
    assert.equal(await regionOf(s3ClientFromEnv()), 'ap-south-1');
    process.env.AWS_PROFILE = 'other';
    assert.equal(await regionOf(s3ClientFromEnv()), 'sa-east-1');
    process.env.AWS_DEFAULT_REGION = 'eu-west-3';
    assert.equal(await regionOf(s3ClientFromEnv()), 'eu-west-3');
    process.env.AWS_REGION = 'eu-central-1';
    assert.equal(await regionOf(s3ClientFromEnv()), 'eu-central-1');
  });

  test('endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, path-style then', async () => {
    await clear();
    let c = s3ClientFromEnv();
    assert.equal(c.config.forcePathStyle ?? false, false);
    c.destroy();
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';
    c = s3ClientFromEnv();
    assert.equal(c.config.forcePathStyle, true);
    assert.equal((await c.config.endpoint?.())?.port, 1);
    c.destroy();
    process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:2';
    c = s3ClientFromEnv();
    assert.equal(c.config.forcePathStyle, true);
    assert.equal((await c.config.endpoint?.())?.port, 2);
    c.destroy();
  });
});

describe('S3Storage against a real S3-compatible server (moto)', async () => {
  const server: S3Server | undefined = await startS3Server();
  if (!server) {
    test('S3 tests', { skip: 'moto_server not installed: run `bash scripts/s3-server-deps.sh`' }, () => {});
    return;
  }
  const srv = server;
  const client = srv.client;
  const bucket = 'certhunt-test';
  let cacheDir = '';
  let n = 0;
  /** A fresh table root under the bucket for each test. */
  const storage = (opts: { pageSize?: number; client?: S3Client } = {}): S3Storage =>
    new S3Storage(`s3://${bucket}/lake/t${++n}`, { client, cacheDir, ...opts });

  before(async () => {
    cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 's3cache-'));
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => {
    await srv.stop();
    await fs.rm(cacheDir, { recursive: true, force: true });
  });

  test('putIfAbsent: the second write loses and the first content stays', async () => {
    const s = storage();
    assert.equal(await s.putIfAbsent('_delta_log/00000000000000000000.json', enc('first')), true);
    assert.equal(await s.putIfAbsent('_delta_log/00000000000000000000.json', enc('second')), false);
    assert.equal(dec(await s.read('_delta_log/00000000000000000000.json')), 'first');
  });

  test('putIfAbsent: concurrent writers of one key, exactly one wins, round after round', async () => {
    const s = storage();
    for (let round = 0; round < 30; round++) {
      const p = `_delta_log/${String(round).padStart(20, '0')}.json`;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => s.putIfAbsent(p, enc(`writer ${i}`))),
      );
      assert.equal(results.filter((r) => r).length, 1, `round ${round}: ${results.join(',')}`);
      assert.equal(dec(await s.read(p)), `writer ${results.indexOf(true)}`);
    }
  });

  test('put replaces; read and readIfExists', async () => {
    const s = storage();
    await s.put('a.json', enc('one'));
    await s.put('a.json', enc('two'));
    assert.equal(dec(await s.read('a.json')), 'two');
    await s.put('empty', new Uint8Array(0));
    assert.equal((await s.read('empty')).length, 0);
    assert.equal(await s.readIfExists('nope.json'), undefined);
    await assert.rejects(s.read('nope.json'), (e: unknown) => {
      assert.ok(e instanceof DeltaError);
      assert.equal(e.kind, 'missing-file');
      assert.equal(e.file, `${s.root}/nope.json`);
      assert.match(e.message, /s3:\/\/certhunt-test\/lake\/t\d+\/nope\.json/);
      return true;
    });
  });

  test('list: prefix, startAfter, sorted, relative paths, nothing outside the root', async () => {
    const s = storage();
    // Neighbours that share the root's key prefix as a string must not show up.
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${s.prefix}x/_delta_log/0.json`, Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${s.prefix}-other/a`, Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${s.prefix}/_delta_log/`, Body: new Uint8Array(0), ContentLength: 0 })); // folder marker
    const t0 = Date.now();
    for (const name of ['_delta_log/00000000000000000002.json', '_delta_log/00000000000000000000.json',
      '_delta_log/00000000000000000001.checkpoint.parquet', '_delta_log/00000000000000000001.json',
      '_delta_log/_last_checkpoint', 'part-0001.parquet', 'sub/dir/part-2.parquet']) {
      await s.put(name, enc(name));
    }
    const all = await s.list('');
    assert.deepEqual(all.map((f) => f.path), [
      '_delta_log/00000000000000000000.json',
      '_delta_log/00000000000000000001.checkpoint.parquet',
      '_delta_log/00000000000000000001.json',
      '_delta_log/00000000000000000002.json',
      '_delta_log/_last_checkpoint',
      'part-0001.parquet',
      'sub/dir/part-2.parquet',
    ]);
    for (const f of all) {
      assert.equal(f.size, enc(f.path).length);
      assert.ok(Math.abs(f.modified - t0) < 60_000, `modified ${f.modified} vs now ${t0}`);
    }
    assert.deepEqual((await s.list('_delta_log/0000')).map((f) => f.path), all.slice(0, 4).map((f) => f.path));
    assert.deepEqual(
      (await s.list('_delta_log/', { startAfter: '_delta_log/00000000000000000001.checkpoint.parquet' })).map((f) => f.path),
      ['_delta_log/00000000000000000001.json', '_delta_log/00000000000000000002.json', '_delta_log/_last_checkpoint'],
    );
    // startAfter before the prefix, and after everything
    assert.equal((await s.list('_delta_log/', { startAfter: '_z' })).length, 0);
    assert.equal((await s.list('_delta_log/', { startAfter: '_a' })).length, 5);
    assert.equal((await s.list('_delta_log/', { startAfter: '' })).length, 5);
    assert.deepEqual((await s.list('sub/')).map((f) => f.path), ['sub/dir/part-2.parquet']);
    assert.deepEqual(await s.list('missing/'), []);
  });

  test('list: pagination with a small page size', async () => {
    const s = storage({ pageSize: 10 });
    const names = Array.from({ length: 25 }, (_, i) => `_delta_log/${String(i).padStart(20, '0')}.json`);
    await Promise.all(names.map((p) => s.put(p, enc(p))));
    let pages = 0;
    const counting = s3TestClient(srv.endpoint);
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListObjectsV2Command') pages++;
        return next(args);
      },
      { step: 'initialize' },
    );
    const paged = new S3Storage(s.root, { client: counting, cacheDir, pageSize: 10 });
    assert.deepEqual((await paged.list('_delta_log/')).map((f) => f.path), names);
    assert.equal(pages, 3);
    pages = 0;
    assert.deepEqual(
      (await paged.list('_delta_log/', { startAfter: names[4] })).map((f) => f.path),
      names.slice(5),
    );
    assert.equal(pages, 2);
    counting.destroy();
  });

  test('localPath downloads once into the cache, atomically, and re-downloads a bad copy', async () => {
    const s = storage();
    const data = randomBytes(300_000);
    await s.put('part-00000.parquet', data);
    let gets = 0;
    const counting = s3TestClient(srv.endpoint);
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') gets++;
        return next(args);
      },
      { step: 'initialize' },
    );
    const c = new S3Storage(s.root, { client: counting, cacheDir });
    const [p1, p2] = await Promise.all([c.localPath('part-00000.parquet'), c.localPath('part-00000.parquet')]);
    assert.equal(p1, path.join(cacheDir, bucket, ...s.prefix.split('/'), 'part-00000.parquet'));
    assert.equal(p1, p2);
    assert.equal(gets, 1, 'concurrent calls share one download');
    assert.ok((await fs.readFile(p1)).equals(data));
    // Another storage object (another process, say) finds the file in the shared cache.
    const other = new S3Storage(s.root, { client: counting, cacheDir });
    assert.equal(await other.localPath('part-00000.parquet'), p1);
    const before = gets;
    assert.equal(before, 1);
    assert.equal(await c.localPath('part-00000.parquet'), p1);
    assert.equal(gets, before, 'a cached file of the right size is not downloaded again');
    // A truncated cache file (wrong size) is replaced.
    await fs.writeFile(p1, data.subarray(0, 10));
    assert.equal(await c.localPath('part-00000.parquet'), p1);
    assert.equal(gets, before + 1);
    assert.ok((await fs.readFile(p1)).equals(data));
    // No temp files left behind.
    assert.deepEqual(await fs.readdir(path.dirname(p1)), ['part-00000.parquet']);
    await assert.rejects(c.localPath('absent.parquet'), (e: unknown) =>
      e instanceof DeltaError && e.kind === 'missing-file' && e.file === `${s.root}/absent.parquet`);
    counting.destroy();
  });

  test('localPath with the default cache folder', async () => {
    const s = new S3Storage(`s3://${bucket}/lake/default-cache-${process.pid}`, { client });
    assert.equal(s.cacheDir, path.join(os.tmpdir(), 'certhunt-s3-cache'));
    await s.put('x.bin', enc('x'));
    const p = await s.localPath('x.bin');
    assert.equal(p, path.join(os.tmpdir(), 'certhunt-s3-cache', bucket, 'lake', `default-cache-${process.pid}`, 'x.bin'));
    assert.equal(await fs.readFile(p, 'utf8'), 'x');
    await fs.rm(path.join(os.tmpdir(), 'certhunt-s3-cache', bucket, 'lake', `default-cache-${process.pid}`), {
      recursive: true,
      force: true,
    });
  });

  test('stagingPath + putFile of a few MB', async () => {
    const s = storage();
    const a = await s.stagingPath('data/part-1.parquet');
    const b = await s.stagingPath('data/part-1.parquet');
    assert.notEqual(a, b);
    assert.ok(a.startsWith(cacheDir + path.sep));
    assert.ok(a.endsWith('part-1.parquet'));
    const data = randomBytes(6 * 1024 * 1024 + 123);
    await fs.writeFile(a, data);
    await s.putFile('data/part-1.parquet', a);
    assert.ok((await fs.readFile(a)).equals(data), 'the local file is left in place');
    const back = await s.read('data/part-1.parquet');
    assert.equal(back.length, data.length);
    assert.ok(Buffer.from(back).equals(data));
    assert.deepEqual(await s.list('data/'), [
      { path: 'data/part-1.parquet', size: data.length, modified: (await s.list('data/'))[0]!.modified },
    ]);
    await assert.rejects(s.putFile('data/x.parquet', path.join(cacheDir, 'does-not-exist')), (e: unknown) =>
      e instanceof DeltaError && e.kind === 'storage' && e.file === `${s.root}/data/x.parquet`);
  });

  test('delete', async () => {
    const s = storage();
    await s.put('gone.json', enc('x'));
    await s.delete('gone.json');
    assert.equal(await s.readIfExists('gone.json'), undefined);
    assert.deepEqual(await s.list(''), []);
    await s.delete('gone.json'); // deleting what is absent is fine
    await s.delete('never-was.json');
  });

  test('a storage at the bucket root', async () => {
    const other = 'certhunt-root';
    await client.send(new CreateBucketCommand({ Bucket: other }));
    const s = new S3Storage(`s3://${other}`, { client, cacheDir });
    assert.equal(await s.putIfAbsent('_delta_log/0.json', enc('a')), true);
    await s.put('b/c', enc('bc'));
    assert.deepEqual((await s.list('')).map((f) => f.path), ['_delta_log/0.json', 'b/c']);
    assert.equal(s.url('b/c'), 's3://certhunt-root/b/c');
    assert.equal(await fs.readFile(await s.localPath('b/c'), 'utf8'), 'bc');
  });

  test('without a client, the environment decides (s3ClientFromEnv)', async () => {
    const keys = ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'] as const;
    const saved = keys.map((k) => process.env[k]);
    process.env.AWS_ENDPOINT_URL_S3 = srv.endpoint;
    process.env.AWS_ACCESS_KEY_ID = 'env-key';
    process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
    process.env.AWS_REGION = 'us-east-1';
    try {
      const s = new S3Storage(`s3://${bucket}/lake/from-env`, { cacheDir });
      assert.equal(await s.putIfAbsent('a', enc('env')), true);
      assert.equal(dec(await s.read('a')), 'env');
      s.client.destroy();
    } finally {
      keys.forEach((k, i) => {
        const v = saved[i];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      });
    }
  });

  test('errors are DeltaErrors naming the s3:// URL, never raw SDK exceptions', async () => {
    const s = new S3Storage('s3://no-such-bucket-here/t', { client, cacheDir });
    const isStorageError = (file: string) => (e: unknown): boolean => {
      assert.ok(e instanceof DeltaError, `not a DeltaError: ${String(e)}`);
      assert.equal(e.kind, 'storage');
      assert.equal(e.file, file);
      assert.ok(e.message.includes(file), e.message);
      assert.ok(e.cause, 'the SDK error is kept as the cause');
      return true;
    };
    await assert.rejects(s.read('x.json'), isStorageError('s3://no-such-bucket-here/t/x.json'));
    await assert.rejects(s.readIfExists('x.json'), isStorageError('s3://no-such-bucket-here/t/x.json'));
    await assert.rejects(s.put('y.json', enc('y')), isStorageError('s3://no-such-bucket-here/t/y.json'));
    await assert.rejects(s.putIfAbsent('z.json', enc('z')), isStorageError('s3://no-such-bucket-here/t/z.json'));
    await assert.rejects(s.list('_delta_log/'), isStorageError('s3://no-such-bucket-here/t/_delta_log/'));
    await assert.rejects(s.localPath('d.parquet'), isStorageError('s3://no-such-bucket-here/t/d.parquet'));
    const f = path.join(cacheDir, 'upload-me');
    await fs.writeFile(f, 'u');
    await assert.rejects(s.putFile('u.bin', f), isStorageError('s3://no-such-bucket-here/t/u.bin'));

    // A server that is not there at all.
    const dead = s3TestClient('http://127.0.0.1:9', { maxAttempts: 1 });
    const d = new S3Storage(`s3://${bucket}/t`, { client: dead, cacheDir });
    await assert.rejects(d.read('x.json'), isStorageError(`s3://${bucket}/t/x.json`));
    await assert.rejects(d.putIfAbsent('x.json', enc('x')), isStorageError(`s3://${bucket}/t/x.json`));
    dead.destroy();

    // A key that would climb out of the cache folder is refused.
    const t = storage();
    await assert.rejects(t.localPath('../../../../etc/passwd'), (e: unknown) =>
      e instanceof DeltaError && e.kind === 'invalid');
  });
});

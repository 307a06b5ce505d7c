import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, promises as fs, rmSync, symlinkSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { hasZstd, sniffCompression } from '../../src/sources/decompress.js';
import { InputError, listLocations, locate, openLocations, type InputFile, type OpenLocationsOptions } from '../../src/sources/input.js';
import { splitLines } from '../../src/sources/lines.js';
import type { LineItem } from '../../src/sources/format.js';
import { s3RecordingClient, startS3Server, type S3Server } from '../helpers/s3-server.js';

// ---------------------------------------------------------------------------------------------
// helpers

async function readAll(file: InputFile, opts: Parameters<InputFile['open']>[0] = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of file.open(opts)) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function contents(files: InputFile[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of files) out[f.uri] = (await readAll(f)).toString('utf8');
  return out;
}

/** Lines until the source fails; the error, if any. */
async function linesOf(file: InputFile): Promise<{ lines: LineItem[]; error?: unknown }> {
  const lines: LineItem[] = [];
  try {
    for await (const l of splitLines(file.open())) lines.push(l);
  } catch (error) {
    return { lines, error };
  }
  return { lines };
}

function logLines(n: number, tag = 'r'): string {
  let s = '';
  // Some variety so that deflate does not shrink it to nothing.
  for (let i = 0; i < n; i++) s += `${tag}${i}\t${((i * 2654435761) >>> 0).toString(36)}\tCN=host${i % 977}.example\n`;
  return s;
}

const crc32 = (zlib as unknown as { crc32: (d: Uint8Array) => number }).crc32;

interface ZipItem {
  name: string;
  data: Buffer;
  method?: 0 | 8;
  /** Write this CRC instead of the right one. */
  crc?: number;
}

/** A minimal zip writer (local headers, central directory, end record), enough for tests. */
function makeZip(items: ZipItem[], opts: { repeatCentral?: number } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const dosTime = (12 << 11) | (30 << 5); // 12:30:00
  const dosDate = ((2026 - 1980) << 9) | (11 << 5) | 1; // 2026-11-01
  for (const it of items) {
    const method = it.method ?? 8;
    const body = method === 8 ? zlib.deflateRawSync(it.data) : it.data;
    const name = Buffer.from(it.name, 'utf8');
    const crc = it.crc ?? crc32(it.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x0800, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(dosTime, 10);
    lh.writeUInt16LE(dosDate, 12);
    lh.writeUInt32LE(crc >>> 0, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(it.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x0800, 8);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt16LE(dosTime, 12);
    ch.writeUInt16LE(dosDate, 14);
    ch.writeUInt32LE(crc >>> 0, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(it.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, body);
    for (let k = 0; k < (opts.repeatCentral ?? 1); k++) centrals.push(ch, name);
    offset += lh.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** gzip of `total` zero bytes, made by streaming (never holding the zeros). */
async function gzipZeros(total: number): Promise<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024);
  async function* zeros(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < total; sent += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, total - sent));
  }
  const out: Buffer[] = [];
  for await (const c of Readable.from(zeros()).pipe(zlib.createGzip({ level: 9 }))) out.push(c as Buffer);
  return Buffer.concat(out);
}

async function expectInputError(p: Promise<unknown>, code: string, re: RegExp): Promise<InputError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof InputError, `expected an InputError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, re);
  return caught;
}

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'certhunt-input-'));
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

async function write(rel: string, data: string | Buffer): Promise<string> {
  const p = path.join(tmp, rel);
  await fs.mkdir(path.dirname(p), { recursive: true });
  await fs.writeFile(p, data);
  return p;
}

// ---------------------------------------------------------------------------------------------

describe('local paths, folders and globs', () => {
  it('walks folders recursively in name order, skipping hidden names and linked folders', async () => {
    const root = path.join(tmp, 'walk');
    await write('walk/b/z.log', 'z\n');
    await write('walk/b/a/y.log', 'y\n');
    await write('walk/a.log', 'a\n');
    await write('walk/.state', 'hidden\n');
    await write('walk/.git/config', 'hidden\n');
    await write('other/linked.log', 'linked\n');
    symlinkSync(path.join(tmp, 'other'), path.join(root, 'dirlink'));
    symlinkSync(path.join(tmp, 'other', 'linked.log'), path.join(root, 'filelink.log'));
    const files = await listLocations([root]);
    assert.deepEqual(
      files.map((f) => f.uri),
      ['a.log', 'b/a/y.log', 'b/z.log', 'filelink.log'].map((r) => path.join(root, r)),
    );
    const a = files[0]!;
    assert.equal(a.size, 2);
    assert.equal(a.compression, 'none');
    assert.ok(a.modified && Math.abs(a.modified - Date.now()) < 60_000);
    assert.equal(await (await readAll(files[3]!)).toString(), 'linked\n');
    // hidden ones on request
    const all = await listLocations([root], { includeHidden: true });
    assert.ok(all.some((f) => f.uri.endsWith('.state')));
  });

  it('expands globs (relative to cwd), walks matched folders, dedupes, and takes file:// URLs', async () => {
    for (const day of ['2026-10-31', '2026-11-01', '2026-11-02']) {
      await write(`zeek/${day}/x509.00:00:00-01:00:00.log.gz`, zlib.gzipSync(`x509 ${day}\n`));
      await write(`zeek/${day}/ssl.00:00:00-01:00:00.log.gz`, zlib.gzipSync(`ssl ${day}\n`));
    }
    const cwd = tmp;
    const files = await listLocations(['zeek/2026-11-*/x509*.log.gz'], { cwd });
    assert.deepEqual(
      files.map((f) => path.relative(tmp, f.uri)),
      ['zeek/2026-11-01/x509.00:00:00-01:00:00.log.gz', 'zeek/2026-11-02/x509.00:00:00-01:00:00.log.gz'],
    );
    assert.equal(files[0]!.compression, 'gzip');
    assert.equal((await readAll(files[1]!)).toString(), 'x509 2026-11-02\n');

    const dirs = await listLocations(['zeek/2026-11-0{1,2}', path.join(tmp, 'zeek/2026-11-01/ssl.00:00:00-01:00:00.log.gz')], { cwd });
    assert.equal(dirs.length, 4, dirs.map((f) => f.uri).join('\n')); // the ssl file is not listed twice

    const url = pathToFileURL(path.join(tmp, 'zeek/2026-10-31/ssl.00:00:00-01:00:00.log.gz')).href;
    const [viaUrl] = await listLocations([url]);
    assert.equal((await readAll(viaUrl!)).toString(), 'ssl 2026-10-31\n');
  });

  it('names missing paths and empty globs', async () => {
    await expectInputError(listLocations(['nope/x509.log'], { cwd: tmp }), 'missing', /no such file or folder: nope\/x509\.log/);
    await expectInputError(listLocations(['zeek/1999-*/*.log'], { cwd: tmp }), 'missing', /no files match zeek\/1999-\*\/\*\.log/);
    await expectInputError(listLocations(['ftp://example.org/x']), 'invalid', /unsupported location/);
  });

  it('a lazy listing yields the files of earlier specs before failing on a missing one', async () => {
    const p = await write('lazy/one.log', '1\n');
    const got: string[] = [];
    await assert.rejects(async () => {
      for await (const f of openLocations([p, path.join(tmp, 'lazy/none.log')])) got.push(f.uri);
    }, /no such file or folder/);
    assert.deepEqual(got, [p]);
  });
});

describe('memory per file', () => {
  it('a file keeps only the head asked for, and lets it go once opened: 720 hourly logs kept 490 MB', async () => {
    const file = path.join(tmp, 'hour.log');
    await fs.writeFile(file, Buffer.alloc(700_000, 0x61));
    const [f] = await listLocations([file]);
    const kept = () => (f as unknown as { headBytes?: Buffer }).headBytes;
    assert.equal((await f!.head(64 * 1024)).length, 64 * 1024, 'the head asked for');
    assert.equal(kept()?.length, 64 * 1024, 'kept: no more than asked, though the first read was the whole file');
    assert.equal(kept()?.buffer.byteLength, 64 * 1024, 'in a buffer of its own, not a view of the read');
    let bytes = 0;
    for await (const c of f!.open()) bytes += c.length;
    assert.equal(bytes, 700_000, 'the whole file read');
    assert.equal(kept(), undefined, 'the head let go once the file is read');
    assert.equal((await f!.head(10)).length, 10, 'and read again when asked');
  });
});

describe('compression', () => {
  it('reads multi-member gzip (concatenated rotated logs) as one stream', async () => {
    const parts = [logLines(1000, 'a'), logLines(1000, 'b'), logLines(10, 'c')];
    const p = await write('mm/conn.log.gz', Buffer.concat(parts.map((s) => zlib.gzipSync(s))));
    const [file] = await listLocations([p]);
    const { lines, error } = await linesOf(file!);
    assert.equal(error, undefined);
    assert.equal(lines.length, 2010);
    assert.deepEqual(lines.map((l) => ('text' in l ? l.text : '')).join('\n') + '\n', parts.join(''));
  });

  it('a truncated gzip: lines before are delivered, then an error naming the file and position', async () => {
    const text = logLines(100_000);
    const gz = zlib.gzipSync(text);
    const cut = Math.floor(gz.length * 0.6);
    const p = await write('trunc/x509.log.gz', gz.subarray(0, cut));
    const [file] = await listLocations([p]);
    const { lines, error } = await linesOf(file!);
    assert.ok(error instanceof InputError, String(error));
    assert.equal(error.code, 'truncated');
    assert.equal(error.uri, p);
    assert.equal(error.position, cut);
    assert.ok(error.message.includes(p) && error.message.includes(`stored byte ${cut}`), error.message);
    // Everything zlib could decode came out: check against a sync-flush decode of the prefix.
    const decodable = zlib.gunzipSync(gz.subarray(0, cut), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();
    const complete = decodable.slice(0, decodable.lastIndexOf('\n') + 1).split('\n').slice(0, -1);
    const texts = lines.filter((l) => 'text' in l).map((l) => (l as { text: string }).text);
    assert.ok(complete.length > 50_000);
    assert.deepEqual(texts, complete);
    const last = lines[lines.length - 1]!;
    assert.ok('error' in last && /incomplete/.test(last.error), JSON.stringify(last));
  });

  it('refuses a nested gzip bomb by ratio with the default limits, after bounded output', async () => {
    const inner = await gzipZeros(300 * 1024 * 1024);
    const bomb = zlib.gzipSync(inner, { level: 9 });
    assert.ok(bomb.length < 64 * 1024, `bomb is ${bomb.length} bytes`);
    const p = await write('bomb/nested.log.gz', bomb);
    const [file] = await listLocations([p]);
    let delivered = 0;
    const err = await expectInputError(
      (async () => {
        for await (const c of file!.open()) delivered += c.byteLength;
      })(),
      'too-large',
      /decompresses more than 1000:1 .*possible decompression bomb/,
    );
    assert.equal(err.uri, p);
    assert.ok(err.message.includes(p), err.message);
    assert.ok(delivered >= 100 * 1024 * 1024 && delivered < 110 * 1024 * 1024, `delivered ${delivered}`);
  });

  it('caps absolute output and ratio as configured', async () => {
    const p = await write('bomb/zeros.gz', await gzipZeros(40 * 1024 * 1024));
    const [capped] = await listLocations([p], { maxOutputBytes: 10 * 1024 * 1024 });
    await expectInputError(readAll(capped!), 'too-large', /more than 10 MiB after decompression \(at stored byte \d+\)/);
    const [ratio] = await listLocations([p], { maxRatio: 100, ratioGraceBytes: 1024 * 1024 });
    await expectInputError(readAll(ratio!), 'too-large', /more than 100:1/);
    const [fine] = await listLocations([p]);
    assert.equal((await readAll(fine!)).length, 40 * 1024 * 1024);
  });

  it('recognises bzip2, xz, tar and zstd by magic bytes and refuses what it cannot read', async () => {
    const bz = await write('magic/logs.bz2', Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(40)]));
    const xz = await write('magic/plain-name.log', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]));
    const tarHead = Buffer.alloc(1024);
    tarHead.write('x509.log', 0);
    tarHead.write('ustar', 257);
    const tar = await write('magic/logs.tar', tarHead);
    const files = await listLocations([bz, xz, tar]);
    assert.deepEqual(files.map((f) => [f.compression, f.error?.code]), [['bzip2', 'unsupported'], ['xz', 'unsupported'], ['tar', 'unsupported']]);
    assert.match(files[0]!.error!.message, /logs\.bz2: bzip2 compression is not supported/);
    await expectInputError(readAll(files[1]!), 'unsupported', /plain-name\.log: xz compression/);
    await expectInputError(files[2]!.head(10), 'unsupported', /tar archive/);

    const zstdData = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x03, 0x19, 0x00, 0x00, 0x61, 0x62, 0x0a]); // "ab\n", one raw block
    assert.equal(sniffCompression(zstdData), 'zstd');
    const zp = await write('magic/eve.json.zst', zstdData);
    const [z] = await listLocations([zp]);
    if (hasZstd()) {
      assert.equal((await readAll(z!)).toString(), 'ab\n');
    } else {
      assert.equal(z!.error?.code, 'unsupported');
      assert.match(z!.error!.message, /zstd compression needs Node\.js 22\.15/);
    }
  });

  it('gzip with trailing garbage: the data first (up to zlib\'s last 64 KiB buffer), then a corrupt-data error', async () => {
    const text = logLines(50_000);
    const p = await write('garbage/x.gz', Buffer.concat([zlib.gzipSync(text), Buffer.from('not gzip at all')]));
    const [file] = await listLocations([p]);
    const { lines, error } = await linesOf(file!);
    assert.ok(error instanceof InputError && error.code === 'corrupt', String(error));
    assert.ok(error.message.startsWith(`${p}: corrupt gzip data`), error.message);
    const got = lines.filter((l) => 'text' in l).map((l) => (l as { text: string }).text + '\n').join('');
    assert.ok(text.startsWith(got));
    assert.ok(got.length > text.length - 64 * 1024, `${got.length} of ${text.length}`);
  });
});

describe('zip archives', () => {
  it('lists every entry as its own source, reads stored, deflated and gzip-inside entries', async () => {
    const zip = makeZip([
      { name: 'x509.log', data: Buffer.from(logLines(500, 'x')) },
      { name: 'logs/', data: Buffer.alloc(0), method: 0 },
      { name: 'logs/ssl.log', data: Buffer.from('ssl\n'), method: 0 },
      { name: 'logs/conn.log.gz', data: zlib.gzipSync('conn\n'), method: 0 },
      { name: '.DS_Store', data: Buffer.from('junk') },
      { name: '__MACOSX/._x509.log', data: Buffer.from('junk') },
      { name: 'eve.json', data: Buffer.from('{"a":1}\n') },
    ]);
    const p = await write('zip/tranco.zip', zip);
    const files = await listLocations([p]);
    assert.deepEqual(files.map((f) => f.uri), [`${p}!/x509.log`, `${p}!/logs/ssl.log`, `${p}!/logs/conn.log.gz`, `${p}!/eve.json`]);
    const got = await contents(files);
    assert.equal(got[`${p}!/x509.log`], logLines(500, 'x'));
    assert.equal(got[`${p}!/logs/ssl.log`], 'ssl\n');
    assert.equal(got[`${p}!/logs/conn.log.gz`], 'conn\n');
    const f = files[0]!;
    assert.equal(f.archive, p);
    assert.equal(f.compression, 'zip');
    assert.equal(f.size, zlib.deflateRawSync(Buffer.from(logLines(500, 'x'))).length);
    assert.equal(f.etag, `crc32:${crc32(Buffer.from(logLines(500, 'x'))).toString(16).padStart(8, '0')}:${logLines(500, 'x').length}`);
    assert.equal(f.modified, Date.UTC(2026, 10, 1, 12, 30));
    assert.equal((await f.head(3)).toString(), 'x0\t');
    // Progress: stored bytes of the entry.
    let n = 0;
    await readAll(f, { onRaw: (c) => (n += c.byteLength) });
    assert.equal(n, f.size);
  });

  it('reports a bad CRC after the data, and refuses damaged and overlapping archives', async () => {
    const bad = await write('zip/badcrc.zip', makeZip([{ name: 'a.log', data: Buffer.from('abc\n'), crc: 1234 }]));
    const [entry] = await listLocations([bad]);
    await expectInputError(readAll(entry!), 'corrupt', /badcrc\.zip!\/a\.log: CRC-32 mismatch/);

    const broken = await write('zip/broken.zip', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100, 7)]));
    const [b] = await listLocations([broken]);
    assert.ok(b!.error, 'an error file');
    assert.match(b!.error!.message, /broken\.zip: not a readable zip archive/);
    await expectInputError(readAll(b!), b!.error!.code, /broken\.zip/);

    // Central directory entries that all point at the same data: the non-recursive zip bomb.
    const overlap = await write('zip/overlap.zip', makeZip([{ name: 'z.log', data: Buffer.alloc(200_000) }], { repeatCentral: 50 }));
    const [o] = await listLocations([overlap]);
    assert.equal(o!.error?.code, 'too-large');
    assert.match(o!.error!.message, /overlap/);
  });

  it('a zip entry bomb is capped like a gzip one', async () => {
    const big = Buffer.alloc(30 * 1024 * 1024);
    const p = await write('zip/bomb.zip', makeZip([{ name: 'zeros.log', data: big }]));
    const [f] = await listLocations([p], { maxOutputBytes: 5 * 1024 * 1024 });
    await expectInputError(readAll(f!), 'too-large', /bomb\.zip!\/zeros\.log: more than 5 MiB/);
  });
});

describe('reading', () => {
  it('head() gives decompressed first bytes without counting progress; onBytes counts stored bytes', async () => {
    const text = logLines(200_000);
    const gz = zlib.gzipSync(text);
    const p = await write('head/big.log.gz', gz);
    const progress: number[] = [];
    const [f] = await listLocations([p], { onBytes: (_f, n) => progress.push(n) });
    assert.equal((await f!.head(20)).toString(), text.slice(0, 20));
    const big = await f!.head(2_000_000); // beyond the probed bytes: read for real
    assert.equal(big.toString(), text.slice(0, 2_000_000));
    assert.deepEqual(progress, []);
    const hash = createHash('sha256');
    const all = await readAll(f!, { onRaw: (c) => hash.update(c) });
    assert.equal(all.toString(), text);
    assert.equal(progress.reduce((a, b) => a + b, 0), gz.length);
    assert.equal(f!.size, gz.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(gz).digest('hex'));
    // Short file: head() asks for more than there is.
    const small = await write('head/small.log', 'tiny\n');
    const [s] = await listLocations([small]);
    assert.equal((await s!.head(1000)).toString(), 'tiny\n');
    const empty = await write('head/empty.log', '');
    const [e] = await listLocations([empty]);
    assert.equal((await e!.head(10)).length, 0);
    assert.equal((await readAll(e!)).length, 0);
  });

  it("reads '-' from standard input once, with head() before open()", async () => {
    const text = logLines(20_000);
    const gz = zlib.gzipSync(text);
    async function* stdin(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < gz.length; i += 1000) yield gz.subarray(i, i + 1000);
    }
    const [f] = await listLocations(['-'], { stdin: stdin() });
    assert.equal(f!.uri, 'stdin:');
    assert.equal(f!.compression, 'gzip');
    assert.equal((await f!.head(10)).toString(), text.slice(0, 10));
    assert.equal((await f!.head(300_000)).toString(), text.slice(0, 300_000)); // reads on into the replay buffer
    assert.equal((await readAll(f!)).toString(), text);
    await expectInputError(readAll(f!), 'invalid', /only once/);
  });
});

// ---------------------------------------------------------------------------------------------
// S3, against the project's moto server

describe('S3', () => {
  let server: S3Server | undefined;
  const bucket = 'sec-logs';
  const zip = makeZip([
    { name: 'a.log', data: Buffer.from('zip a\n') },
    // Stored and > 2 MiB: the archive is read by ranged GETs (with If-Match), not from the probe.
    { name: 'b/c.log', data: Buffer.from(logLines(70_000, 'c')), method: 0 },
    { name: 'secret.log', data: Buffer.from('x'), method: 12 as 0 },
  ]);
  const objects: Record<string, Buffer> = {
    'zeek/2026-11-01/x509.log.gz': zlib.gzipSync('x509 01\n'),
    'zeek/2026-11-01/ssl.log.gz': zlib.gzipSync('ssl 01\n'),
    'zeek/2026-11-02/x509.log.gz': Buffer.concat([zlib.gzipSync('x509 02 a\n'), zlib.gzipSync('x509 02 b\n')]),
    'zeek/2026-11-02/.hidden.log': Buffer.from('hidden\n'),
    'zeek/2026-11-020/x509.log.gz': zlib.gzipSync('not under 2026-11-02/\n'),
    'zeek/archive.zip': zip,
    'zeek/big.log': Buffer.from(logLines(20_000, 'big')),
    'other/x.log': Buffer.from('other\n'),
  };

  before(async () => {
    server = await startS3Server();
    if (!server) return;
    await server.client.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const [Key, Body] of Object.entries(objects)) {
      await server.client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    }
  });
  after(async () => {
    await server?.stop();
  });

  const skip = (t: { skip: (m: string) => void }): boolean => {
    if (server) return false;
    t.skip('moto_server is not installed: run bash scripts/s3-server-deps.sh');
    return true;
  };
  const opts = (): OpenLocationsOptions => ({ s3Client: server!.client });

  it('lists a prefix as a folder (hidden keys skipped), expands zip objects, and streams everything', async (t) => {
    if (skip(t)) return;
    const files = await listLocations([`s3://${bucket}/zeek/2026-11-02`, `s3://${bucket}/zeek/archive.zip`], opts());
    assert.ok(zip.length > 2 * 1024 * 1024, 'over what is probed whole');
    assert.deepEqual(files.map((f) => f.uri), [
      `s3://${bucket}/zeek/2026-11-02/x509.log.gz`,
      `s3://${bucket}/zeek/archive.zip!/a.log`,
      `s3://${bucket}/zeek/archive.zip!/b/c.log`,
      `s3://${bucket}/zeek/archive.zip!/secret.log`,
    ]);
    const bz = files.pop()!;
    assert.equal(bz.error?.code, 'unsupported');
    assert.match(bz.error!.message, /archive\.zip!\/secret\.log: zip entry compressed with bzip2 is not supported/);
    const got = await contents(files);
    assert.equal(got[`s3://${bucket}/zeek/2026-11-02/x509.log.gz`], 'x509 02 a\nx509 02 b\n');
    assert.equal(got[`s3://${bucket}/zeek/archive.zip!/b/c.log`], logLines(70_000, 'c'));
    const first = files[0]!;
    assert.equal(first.size, objects['zeek/2026-11-02/x509.log.gz']!.length);
    assert.match(first.etag ?? '', /^[0-9a-f]{32}$/);
    assert.ok(first.modified && Math.abs(first.modified - Date.now()) < 600_000);
    assert.equal(first.compression, 'gzip');
  });

  it('expands globs on keys, reads by bucket, and names what is missing', async (t) => {
    if (skip(t)) return;
    const files = await listLocations([`s3://${bucket}/zeek/2026-11-*/x509*.log.gz`], opts());
    assert.deepEqual(files.map((f) => f.uri), [
      `s3://${bucket}/zeek/2026-11-01/x509.log.gz`,
      `s3://${bucket}/zeek/2026-11-02/x509.log.gz`,
      `s3://${bucket}/zeek/2026-11-020/x509.log.gz`,
    ]);
    const deep = await listLocations([`s3://${bucket}/**/*.log`], opts());
    assert.deepEqual(deep.map((f) => f.uri), [`s3://${bucket}/other/x.log`, `s3://${bucket}/zeek/big.log`]);
    const whole = await listLocations([`s3://${bucket}`], opts());
    assert.equal(whole.length, 9); // 7 visible objects, the zip as its 3 entries
    await expectInputError(listLocations([`s3://${bucket}/zeek/2027-*/x509.log.gz`], opts()), 'missing', /no objects match s3:\/\/sec-logs\/zeek\/2027-\*/);
    await expectInputError(listLocations([`s3://${bucket}/nothing/here`], opts()), 'missing', /no objects at s3:\/\/sec-logs\/nothing\/here/);
    await expectInputError(listLocations(['s3://no-such-bucket-here/x'], opts()), 'missing', /no-such-bucket-here.*no such bucket/);
  });

  it('locate() lists a prefix without reading it; each file is one GET, made a few ahead of the reader', async (t) => {
    if (skip(t)) return;
    // Twelve hours of a log, over 64 KiB each (listLocations held every file's 64 KiB probe until
    // it was read: 66 MiB for 1,000 objects, growing with the prefix), and a day's, over 2 MiB.
    const logs = Array.from({ length: 13 }, (_, h) => ({ Key: `hourly/${String(h).padStart(2, '0')}.log`, text: logLines(h < 12 ? 5000 : 70_000, `h${h}`) }));
    assert.ok(logs.every((l, h) => (h < 12) === Buffer.byteLength(l.text) < 2 ** 21 && Buffer.byteLength(l.text) > 65_536), 'sizes on either side of 2 MiB');
    for (const { Key, text } of logs) await server!.client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: text }));
    const { client, gets } = s3RecordingClient(server!.endpoint);
    const located = await locate([`s3://${bucket}/hourly/`], { s3Client: client, concurrency: 2 });
    assert.equal(located.count, 13, 'every object listed');
    assert.equal(located.bytes, logs.reduce((n, l) => n + Buffer.byteLength(l.text), 0), 'their sizes, for progress');
    assert.equal(gets.length, 0, `nothing read at listing: ${gets.join(', ')}`);
    let taken = 0;
    for await (const f of located.files()) {
      taken++;
      assert.ok(gets.length <= taken + 2, `file ${taken}: ${gets.length} GETs, at most one a file taken and 2 ahead`);
      assert.equal((await readAll(f)).toString(), logs[taken - 1]!.text, `${f.uri} read whole`);
    }
    assert.equal(taken, 13);
    const size = (h: number) => Buffer.byteLength(logs[h]!.text);
    assert.deepEqual(gets, [
      ...logs.slice(0, 12).map((l, h) => `${l.Key} bytes=0-${size(h) - 1}`),
      `hourly/12.log bytes=0-65535`,
      'hourly/12.log whole',
    ], 'an hour is one GET, its probe; the day is probed, then read');
    assert.throws(() => located.files(), /once/, 'the files are taken once');

    // Those the consumer says it knows (read before, unchanged) are not probed; read anyway, they read whole.
    gets.length = 0;
    const again = await locate([`s3://${bucket}/hourly/`], { s3Client: client, concurrency: 2 });
    const files: InputFile[] = [];
    for await (const f of again.files({ known: (l) => l.uri.endsWith('/00.log') || l.uri.endsWith('/12.log') })) files.push(f);
    assert.equal(files.length, 13);
    assert.ok(!gets.some((g) => g.startsWith('hourly/00.log') || g.startsWith('hourly/12.log')), `known files not fetched: ${gets.join(', ')}`);
    assert.equal(files[0]!.compression, undefined, 'nor sniffed');
    assert.equal((await readAll(files[0]!)).toString(), logs[0]!.text, 'read when asked');
    assert.equal((await readAll(files[12]!)).toString(), logs[12]!.text);
    assert.deepEqual(gets.filter((g) => /hourly\/(00|12)\.log/.test(g)), ['hourly/00.log whole', 'hourly/12.log whole'], 'one GET each, when read');
  });

  it('head() comes from the probe; open() streams with progress; a changed object is noticed', async (t) => {
    if (skip(t)) return;
    let counted = 0;
    const [big] = await listLocations([`s3://${bucket}/zeek/big.log`], { ...opts(), onBytes: (_f, n) => (counted += n) });
    const text = logLines(20_000, 'big');
    assert.equal((await big!.head(100)).toString(), text.slice(0, 100));
    assert.equal(counted, 0);
    assert.equal((await readAll(big!)).toString(), text);
    assert.equal(counted, big!.size);
    await server!.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'zeek/big.log', Body: 'rewritten\n' }));
    await expectInputError(readAll(big!), 'changed', /s3:\/\/sec-logs\/zeek\/big\.log: the object changed since it was listed/);
  });
});

// ---------------------------------------------------------------------------------------------
// https and http, on 127.0.0.1 only

describe('https', () => {
  let httpsServer: https.Server | undefined;
  let httpServer: http.Server | undefined;
  let ca: string | undefined;
  let base = '';
  let plainBase = '';
  // Stored, so that the archive is larger than the 64 KiB probe and has to be read by ranges.
  const zip = makeZip([{ name: 'top-1m.csv', data: Buffer.from(logLines(5000, 'site')), method: 0 }]);
  const files: Record<string, Buffer> = {
    '/x509.log.gz': zlib.gzipSync(logLines(30_000)),
    '/plain.log': Buffer.from('plain\n'),
    '/tranco.zip': zip,
  };
  const seenRanges: string[] = [];

  function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    let p = url.pathname;
    const noRange = p.startsWith('/norange/');
    if (noRange) p = p.slice('/norange'.length);
    if (p === '/redirect') {
      res.writeHead(302, { location: '/x509.log.gz' }).end();
      return;
    }
    if (p === '/loop') {
      res.writeHead(302, { location: '/loop' }).end();
      return;
    }
    if (p === '/to-public-http') {
      res.writeHead(302, { location: 'http://192.0.2.1/x.log' }).end(); // never contacted: refused first
      return;
    }
    if (p === '/short') {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only a little\n');
      setTimeout(() => res.destroy(), 20);
      return;
    }
    const body = files[p];
    if (!body) {
      res.writeHead(404).end('not here');
      return;
    }
    const headers = { etag: `"${createHash('md5').update(body).digest('hex')}"`, 'last-modified': new Date(Date.UTC(2026, 10, 1)).toUTCString() };
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    if (range && !noRange) {
      seenRanges.push(`${p} ${req.headers.range}`);
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : body.length - 1, body.length - 1);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
      res.end(body.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': body.length });
    res.end(body);
  }

  before(async () => {
    httpServer = http.createServer(handler);
    await new Promise<void>((r) => httpServer!.listen(0, '127.0.0.1', r));
    plainBase = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    if (!existsSync('/usr/bin/openssl') && !commandExists('openssl')) return;
    const dir = path.join(tmp, 'tls');
    await fs.mkdir(dir, { recursive: true });
    // A self-signed certificate for 127.0.0.1, trusted by passing it as `ca`.
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    ca = await fs.readFile(path.join(dir, 'cert.pem'), 'utf8');
    const key = await fs.readFile(path.join(dir, 'key.pem'), 'utf8');
    httpsServer = https.createServer({ key, cert: ca }, handler);
    await new Promise<void>((r) => httpsServer!.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(httpsServer.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => httpServer?.close(r) ?? r(undefined));
    await new Promise((r) => httpsServer?.close(r) ?? r(undefined));
  });

  const skip = (t: { skip: (m: string) => void }): boolean => {
    if (httpsServer) return false;
    t.skip('openssl is not installed: cannot make a test certificate');
    return true;
  };

  it('streams a gzip over https with a custom CA, following a redirect; metadata from headers', async (t) => {
    if (skip(t)) return;
    const [f] = await listLocations([`${base}/redirect`], { ca: ca! });
    assert.equal(f!.uri, `${base}/redirect`);
    assert.equal(f!.compression, 'gzip');
    assert.equal(f!.size, files['/x509.log.gz']!.length);
    assert.equal(f!.modified, Date.UTC(2026, 10, 1));
    assert.match(f!.etag ?? '', /^[0-9a-f]{32}$/);
    assert.equal((await f!.head(12)).toString(), logLines(1).slice(0, 12));
    assert.equal((await readAll(f!)).toString(), logLines(30_000));
  });

  it('refuses an untrusted certificate, names 404s, caps redirects', async (t) => {
    if (skip(t)) return;
    await expectInputError(listLocations([`${base}/plain.log`]), 'io', /self[- ]signed certificate/i);
    await expectInputError(listLocations([`${base}/nothing.log`], { ca: ca! }), 'missing', /nothing\.log: not found: HTTP 404/);
    await expectInputError(listLocations([`${base}/loop`], { ca: ca! }), 'io', /more than 5 redirects/);
    await expectInputError(listLocations([`${base}/to-public-http`], { ca: ca! }), 'refused', /plain http:\/\/ to 192\.0\.2\.1 is refused/);
  });

  it('reads zip archives by Range requests, or buffered when the server ignores Range', async (t) => {
    if (skip(t)) return;
    seenRanges.length = 0;
    const [ranged] = await listLocations([`${base}/tranco.zip`], { ca: ca! });
    assert.equal(ranged!.uri, `${base}/tranco.zip!/top-1m.csv`);
    assert.equal((await readAll(ranged!)).toString(), logLines(5000, 'site'));
    assert.ok(seenRanges.length >= 2, seenRanges.join(', '));
    const [buffered] = await listLocations([`${base}/norange/tranco.zip`], { ca: ca! });
    assert.equal((await readAll(buffered!)).toString(), logLines(5000, 'site'));
  });

  it('http:// only to loopback; a connection cut short is an error', async () => {
    const [f] = await listLocations([`${plainBase}/plain.log`]);
    assert.equal((await readAll(f!)).toString(), 'plain\n');
    // Refused before any connection is attempted (192.0.2.0/24 is TEST-NET-1).
    await expectInputError(listLocations(['http://192.0.2.1/x.log']), 'refused', /plain http:\/\/ to 192\.0\.2\.1 is refused/);
    await expectInputError(
      (async () => {
        const [s] = await listLocations([`${plainBase}/short`]);
        await readAll(s!);
      })(),
      'io',
      /short/,
    );
  });
});

function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  decodeZ85,
  deletionVectorFile,
  dvFilePath,
  encodeZ85 as encodeZ85Ours,
  dvUniqueId,
  parseRoaringBitmapArray,
  readDeletionVector,
  serializeRoaringBitmapArray,
  type DeletionVectorDescriptor,
} from '../../src/lake/deletion-vector.js';
import { DeltaError } from '../../src/lake/error.js';
import { FsStorage } from '../../src/lake/storage-fs.js';
import type { Storage } from '../../src/lake/storage.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/delta/', import.meta.url));
const skipNoFixtures = existsSync(FIXTURES) ? false : '../shared not found';

// ---- Encoders written from the specs, independently of the decoder under test ----

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
/** ZeroMQ RFC 32, with Delta's zero padding to a multiple of 4 bytes. */
function encodeZ85(bytes: Uint8Array): string {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  let s = '';
  for (let i = 0; i < padded.length; i += 4) {
    let v = ((padded[i]! << 24) | (padded[i + 1]! << 16) | (padded[i + 2]! << 8) | padded[i + 3]!) >>> 0;
    let group = '';
    for (let j = 0; j < 5; j++, v = Math.floor(v / 85)) group = Z85[v % 85] + group;
    s += group;
  }
  return s;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}
const cat = (...parts: Uint8Array[]) => concat(parts);
const le16 = (n: number) => Uint8Array.of(n & 0xff, n >>> 8);
const le32 = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
const be32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const le64 = (n: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
};

type Container = { key: number; kind: 'array' | 'bitmap' | 'run'; values: number[] };

/** A portable 32-bit Roaring bitmap per RoaringFormatSpec. */
function roaring32(containers: Container[]): Uint8Array {
  const hasRuns = containers.some((c) => c.kind === 'run');
  const n = containers.length;
  const bodies = containers.map((c) => {
    if (c.kind === 'array') return cat(...c.values.map(le16));
    if (c.kind === 'bitmap') {
      const words = new Uint8Array(8192);
      for (const v of c.values) words[v >>> 3]! |= 1 << (v & 7);
      return words;
    }
    const runs: [number, number][] = [];
    for (const v of c.values) {
      const last = runs[runs.length - 1];
      if (last && last[0] + last[1] + 1 === v) last[1]++;
      else runs.push([v, 0]);
    }
    return cat(le16(runs.length), ...runs.flatMap(([s, l]) => [le16(s), le16(l)]));
  });
  const header: Uint8Array[] = [];
  if (hasRuns) {
    header.push(le16(12347), le16(n - 1));
    const bits = new Uint8Array(Math.ceil(n / 8));
    containers.forEach((c, i) => c.kind === 'run' && (bits[i >>> 3]! |= 1 << (i & 7)));
    header.push(bits);
  } else header.push(le32(12346), le32(n));
  for (const c of containers) header.push(le16(c.key), le16(c.values.length - 1));
  if (!hasRuns || n >= 4) {
    let offset = header.reduce((s, h) => s + h.length, 0) + 4 * n;
    for (const body of bodies) {
      header.push(le32(offset));
      offset += body.length;
    }
  }
  return cat(...header, ...bodies);
}

/** Delta's RoaringBitmapArray: magic, bucket count, then (key, 32-bit bitmap) pairs. */
function bitmapArray(buckets: [number, Uint8Array][]): Uint8Array {
  return cat(le32(1681511377), le64(BigInt(buckets.length)), ...buckets.flatMap(([k, b]) => [le32(k), b]));
}

/** A DV file: version 1, then per DV big-endian size, data, CRC-32. Returns the offsets too. */
function dvFile(dvs: Uint8Array[]): { bytes: Uint8Array; offsets: number[] } {
  const parts: Uint8Array[] = [Uint8Array.of(1)];
  const offsets: number[] = [];
  let at = 1;
  for (const d of dvs) {
    offsets.push(at);
    parts.push(be32(d.length), d, be32(crc32(d)));
    at += d.length + 8;
  }
  return { bytes: cat(...parts), offsets };
}

const range = (from: number, to: number, step = 1) => Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => from + i * step);

// Bucket 0 exercises all three container kinds; bucket 7 sits at high keys of both levels.
const BUCKET0: Container[] = [
  { key: 0, kind: 'array', values: [3, 4, 7, 11, 18, 29] },
  { key: 1, kind: 'bitmap', values: range(0, 65536, 7) },
  { key: 2, kind: 'run', values: [...range(100, 200), 1000, ...range(65500, 65536)] },
  { key: 0xffff, kind: 'array', values: [0, 65535] },
];
const BUCKET7: Container[] = [{ key: 0xfffe, kind: 'run', values: range(10, 20) }];
const SAMPLE = bitmapArray([
  [0, roaring32(BUCKET0)],
  [3, roaring32([])], // Delta's writer emits every bucket up to the last, empty ones too
  [7, roaring32(BUCKET7)],
]);
const expectedOf = (bucket: bigint, cs: Container[]) =>
  cs.flatMap((c) => c.values.map((v) => (bucket << 32n) + BigInt(c.key * 65536 + v)));
const SAMPLE_ROWS = [...expectedOf(0n, BUCKET0), ...expectedOf(7n, BUCKET7)];

// Every assert.ok carries a message: without one, Node re-parses the (tsx-compiled) source to
// build it, which can stall a failing run for minutes.
function assertCorrupt(fn: () => unknown, what: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DeltaError && e.kind === 'corrupt', what);
}
async function assertRejects(p: Promise<unknown>, kind: string, file?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DeltaError, String(e));
    assert.equal(e.kind, kind, e.message);
    if (file !== undefined) assert.ok(e.file?.includes(file), `error names ${file}: ${e.message}`);
    return true;
  });
}

/** Just enough Storage for reads, so that thousands of hostile files cost no disk I/O. */
function memStorage(files: Map<string, Uint8Array>): Storage {
  const unused = () => {
    throw new Error('not used by deletion vectors');
  };
  return {
    root: '/mem',
    writesInPlace: true,
    read: async (p) => files.get(p) ?? Promise.reject(new DeltaError('missing-file', 'absent', { file: p })),
    readIfExists: async (p) => files.get(p),
    list: unused,
    putIfAbsent: unused,
    put: unused,
    putFile: unused,
    delete: unused,
    localPath: unused,
    stagingPath: unused,
    sync: unused,
  };
}

function tempTable(): string {
  return mkdtempSync(join(tmpdir(), 'dv-test-'));
}

// ---- Z85 ----

test('Z85: the ZeroMQ spec vector and round trips', () => {
  const hello = Uint8Array.of(0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b);
  assert.equal(encodeZ85(hello), 'HelloWorld');
  assert.deepEqual(decodeZ85('HelloWorld'), hello);
  assert.deepEqual(decodeZ85(''), new Uint8Array(0));
  const all = Uint8Array.from(range(0, 256));
  assert.deepEqual(decodeZ85(encodeZ85(all)), all);
  assert.deepEqual(decodeZ85(encodeZ85(Uint8Array.of(255, 255, 255, 255))), Uint8Array.of(255, 255, 255, 255));
});

test('Z85: bad length, characters outside the alphabet and 32-bit overflow are corrupt', () => {
  for (const bad of ['Hell', 'HelloWorld!', 'Hello Worl', 'Hell"', 'Hell~', 'Hellé', '%%%%%', '#####'])
    assertCorrupt(() => decodeZ85(bad), bad);
});

// ---- descriptors ----

test('dvUniqueId follows the protocol derived field', () => {
  const dv = { storageType: 'u', pathOrInlineDv: 'ab^-aqEH.-t@S}K{vb[*k^', sizeInBytes: 40, cardinality: 6 };
  assert.equal(dvUniqueId(dv), 'uab^-aqEH.-t@S}K{vb[*k^');
  assert.equal(dvUniqueId({ ...dv, offset: 4 }), 'uab^-aqEH.-t@S}K{vb[*k^@4');
  assert.equal(dvUniqueId({ ...dv, offset: 0 }), 'uab^-aqEH.-t@S}K{vb[*k^@0');
  // A checkpoint read through parquet gives null, not absent, for a missing offset.
  assert.equal(dvUniqueId({ ...dv, offset: null as unknown as undefined }), 'uab^-aqEH.-t@S}K{vb[*k^');
});

test('dvFilePath: the protocol examples, inline, absolute paths and bad descriptors', () => {
  const base = { sizeInBytes: 40, cardinality: 6, offset: 4 };
  // JSON Example 1: random prefix "ab" + Z85 UUID.
  assert.equal(
    dvFilePath({ ...base, storageType: 'u', pathOrInlineDv: 'ab^-aqEH.-t@S}K{vb[*k^' }),
    'ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin',
  );
  assert.equal(dvFilePath({ ...base, storageType: 'u', pathOrInlineDv: '^-aqEH.-t@S}K{vb[*k^' }), 'deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin');
  assert.equal(dvFilePath({ ...base, storageType: 'i', pathOrInlineDv: 'HelloWorld' }), undefined);
  // JSON Example 2, relative to the table root it lies in.
  const p = { ...base, storageType: 'p', pathOrInlineDv: 's3://mytable/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin' };
  assert.equal(dvFilePath(p, 's3://mytable'), 'deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin');
  assert.equal(dvFilePath({ ...p, pathOrInlineDv: 's3a://bucket/t/x/dv.bin' }, 's3://bucket/t/'), 'x/dv.bin');
  assert.equal(dvFilePath({ ...p, pathOrInlineDv: 'file:///data/t/a%20b/dv.bin' }, '/data/t'), 'a b/dv.bin');
  assert.equal(dvFilePath({ ...p, pathOrInlineDv: '/data/t/dv.bin' }, '/data/t'), 'dv.bin');
  for (const [path, root] of [
    ['s3://mytable/dv.bin', undefined],
    ['s3://other/dv.bin', 's3://mytable'],
    ['s3://mytable2/dv.bin', 's3://mytable'],
    ['file:///data/other/dv.bin', '/data/t'],
    ['file:///data/t/../u/dv.bin', '/data/t'],
    ['s3://mytable/dv.bin', '/data/t'],
  ] as const)
    assert.throws(() => dvFilePath({ ...p, pathOrInlineDv: path }, root), (e: unknown) => e instanceof DeltaError && e.kind === 'unsupported', path);
  assertCorrupt(() => dvFilePath({ ...p, pathOrInlineDv: 'relative/dv.bin' }, '/data/t'), 'relative p path');
  assertCorrupt(() => dvFilePath({ ...base, storageType: 'u', pathOrInlineDv: 'short' }), 'short u path');
  assertCorrupt(() => dvFilePath({ ...base, storageType: 'u', pathOrInlineDv: '../^-aqEH.-t@S}K{vb[*k^' }), 'traversing prefix');
  assert.throws(
    () => dvFilePath({ ...base, storageType: 'x', pathOrInlineDv: '' }),
    (e: unknown) => e instanceof DeltaError && e.kind === 'unsupported',
  );
});

// ---- RoaringBitmapArray ----

test('parseRoaringBitmapArray: hand-built array, bitmap and run containers across buckets', () => {
  const rows = parseRoaringBitmapArray(SAMPLE);
  assert.deepEqual([...rows], SAMPLE_ROWS);
  // The no-run cookie (12346) with offsets, and the run cookie with fewer than 4 containers (no offsets).
  assert.deepEqual([...parseRoaringBitmapArray(bitmapArray([[0, roaring32(BUCKET0.slice(0, 2))]]))], expectedOf(0n, BUCKET0.slice(0, 2)));
  assert.deepEqual([...parseRoaringBitmapArray(bitmapArray([[1, roaring32(BUCKET0.slice(2, 3))]]))], expectedOf(1n, BUCKET0.slice(2, 3)));
  assert.deepEqual([...parseRoaringBitmapArray(bitmapArray([]))], []);
  const top = parseRoaringBitmapArray(bitmapArray([[2 ** 31 - 1, roaring32([{ key: 0xffff, kind: 'array', values: [65535] }])]]));
  assert.deepEqual([...top], [2n ** 63n - 1n]);
});

test('the protocol\'s inline example: its bitmap decodes to the stated rows, its framing is refused', () => {
  // PROTOCOL.md "JSON Example 3" writes the magic big-endian (delta-io/delta#3063, unmerged), which
  // contradicts the little-endian layout the same document specifies; Delta's reader refuses it too.
  const bytes = decodeZ85('wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L');
  assertCorrupt(() => parseRoaringBitmapArray(bytes), 'big-endian magic');
  // Past its 12-byte header is a standard 32-bit Roaring bitmap: reframed, it gives 3, 4, 7, 11, 18, 29.
  const inner = bytes.subarray(12, 12 + new DataView(bytes.buffer).getUint32(8));
  assert.deepEqual([...parseRoaringBitmapArray(bitmapArray([[0, inner]]))], [3n, 4n, 7n, 11n, 18n, 29n]);
});

test('hostile bitmaps: every truncation and every malformed field is corrupt, quickly', () => {
  const started = performance.now();
  for (let n = 0; n < SAMPLE.length; n++) assertCorrupt(() => parseRoaringBitmapArray(SAMPLE.subarray(0, n)), `truncated to ${n}`);
  assertCorrupt(() => parseRoaringBitmapArray(cat(SAMPLE, Uint8Array.of(0))), 'trailing byte');
  const magic = le32(1681511377);
  const cases: [string, Uint8Array][] = [
    ['native magic', cat(le32(1681511376), le64(0n))],
    ['2^62 buckets', cat(magic, le64(2n ** 62n), le32(0), le32(12346), le32(0))],
    ['negative bucket count', cat(magic, le64(2n ** 64n - 1n), le32(0), le32(12346), le32(0))],
    ['2^32-1 containers', bitmapArray([[0, cat(le32(12346), le32(0xffffffff))]])],
    ['65536 containers, no bytes', bitmapArray([[0, cat(le32(12346), le32(65536))]])],
    ['65536 run containers, no bytes', bitmapArray([[0, cat(le16(12347), le16(65535))]])],
    ['bad cookie', bitmapArray([[0, cat(le32(12348), le32(0))]])],
    ['65535 runs in 4 bytes', bitmapArray([[0, cat(le16(12347), le16(0), Uint8Array.of(1), le16(0), le16(65535), le16(65535))]])],
    ['4096-entry array in 2 bytes', bitmapArray([[0, cat(le32(12346), le32(1), le16(0), le16(4095), le32(16), le16(1))]])],
    ['buckets out of order', bitmapArray([[1, roaring32([])], [1, roaring32([])]])],
    ['bucket key with the top bit set', bitmapArray([[2 ** 31, roaring32([])]])],
    ['containers out of order', bitmapArray([[0, roaring32([BUCKET0[2]!, BUCKET0[0]!])]])],
    ['unsorted array', bitmapArray([[0, roaring32([{ key: 0, kind: 'array', values: [5, 3] }])]])],
    ['duplicate in array', bitmapArray([[0, roaring32([{ key: 0, kind: 'array', values: [3, 3] }])]])],
    ['overlapping runs', bitmapArray([[0, cat(le16(12347), le16(0), Uint8Array.of(1), le16(0), le16(3), le16(2), le16(10), le16(1), le16(11), le16(1))]])],
    ['run past 65535', bitmapArray([[0, cat(le16(12347), le16(0), Uint8Array.of(1), le16(0), le16(1), le16(1), le16(65535), le16(1))]])],
    ['run sum differs from header', bitmapArray([[0, cat(le16(12347), le16(0), Uint8Array.of(1), le16(0), le16(4), le16(1), le16(0), le16(2))]])],
  ];
  // A bitmap container whose set bits disagree with its header cardinality.
  const bm = roaring32([{ key: 0, kind: 'bitmap', values: range(0, 5000) }]);
  bm[bm.length - 1] = 0xff;
  cases.push(['bitmap popcount differs from header', bitmapArray([[0, bm]])]);
  for (const [what, bytes] of cases) assertCorrupt(() => parseRoaringBitmapArray(bytes, 'x.bin'), what);
  assert.ok(performance.now() - started < 2000, 'hostile inputs are rejected quickly');
});

/** One bucket of 65536 full run containers: 2^32 rows in under 1 MB (roaring32 would list them). */
function fullRuns(): Uint8Array {
  const n = 65536;
  const header = [le16(12347), le16(n - 1), new Uint8Array(n / 8).fill(0xff)];
  for (let key = 0; key < n; key++) header.push(le16(key), le16(65535));
  const headerLength = header.reduce((s, h) => s + h.length, 0) + 4 * n;
  for (let i = 0; i < n; i++) header.push(le32(headerLength + 6 * i));
  const body = cat(le16(1), le16(0), le16(65535));
  return bitmapArray([[0, concat([...header, ...Array.from({ length: n }, () => body)])]]);
}

test('a bitmap of 2^32 rows in under 1 MB is refused before allocating', () => {
  const bytes = fullRuns();
  assert.ok(bytes.length < 1_000_000, `${bytes.length} bytes`);
  assert.throws(() => parseRoaringBitmapArray(bytes), (e: unknown) => e instanceof DeltaError && e.kind === 'unsupported');
});

// ---- readDeletionVector over storage ----

test('readDeletionVector: a multi-DV file, inline with padding, and an absolute path', async () => {
  const dir = tempTable();
  try {
    const small = bitmapArray([[0, roaring32([{ key: 0, kind: 'array', values: [1, 3, 5] }])]]); // 38 bytes: Z85 pads it
    const { bytes, offsets } = dvFile([small, SAMPLE]);
    writeFileSync(join(dir, 'deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin'), bytes);
    const storage = new FsStorage(dir);
    const u = { storageType: 'u', pathOrInlineDv: '^-aqEH.-t@S}K{vb[*k^', sizeInBytes: SAMPLE.length, cardinality: SAMPLE_ROWS.length };
    assert.deepEqual([...(await readDeletionVector(storage, { ...u, offset: offsets[1]! }))], SAMPLE_ROWS);
    const first = { ...u, offset: offsets[0]!, sizeInBytes: small.length, cardinality: 3 };
    assert.deepEqual([...(await readDeletionVector(storage, first))], [1n, 3n, 5n]);
    const url = pathToFileURL(join(dir, 'deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin')).href;
    assert.deepEqual([...(await readDeletionVector(storage, { ...first, storageType: 'p', pathOrInlineDv: url }))], [1n, 3n, 5n]);
    assert.equal(small.length % 4, 2);
    const inline = { storageType: 'i', pathOrInlineDv: encodeZ85(small), sizeInBytes: small.length, cardinality: 3 };
    assert.deepEqual([...(await readDeletionVector(storage, inline))], [1n, 3n, 5n]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readDeletionVector: hostile files and descriptors give corrupt errors naming the file', async () => {
  const name = 'deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin';
  const files = new Map<string, Uint8Array>();
  const storage = memStorage(files);
  const { bytes, offsets } = dvFile([SAMPLE]);
  const dv = { storageType: 'u', pathOrInlineDv: '^-aqEH.-t@S}K{vb[*k^', offset: offsets[0]!, sizeInBytes: SAMPLE.length, cardinality: SAMPLE_ROWS.length };
  const withFile = async (data: Uint8Array, d: DeletionVectorDescriptor = dv) => {
    files.set(name, data);
    await assertRejects(readDeletionVector(storage, d), 'corrupt', `/mem/${name}`);
  };
  const started = performance.now();
  for (let n = 0; n < bytes.length; n++) await withFile(bytes.subarray(0, n));
  const flipped = bytes.slice();
  flipped[20]! ^= 0x10; // inside the bitmap: only the CRC can tell
  await withFile(flipped);
  const badCrc = bytes.slice();
  badCrc[badCrc.length - 1]! ^= 1;
  await withFile(badCrc);
  await withFile(cat(Uint8Array.of(2), bytes.subarray(1)));
  await withFile(bytes, { ...dv, cardinality: dv.cardinality - 1 });
  await withFile(bytes, { ...dv, sizeInBytes: dv.sizeInBytes + 1 });
  await withFile(bytes, { ...dv, offset: bytes.length });
  await withFile(bytes, { ...dv, offset: undefined }); // read at 0: the version byte is no size
  // Runs claiming 2^32 rows are refused by the log's cardinality before anything is allocated.
  const huge = fullRuns();
  await withFile(dvFile([huge]).bytes, { ...dv, sizeInBytes: huge.length, cardinality: 5 });
  assert.ok(performance.now() - started < 5000, 'hostile files are rejected quickly');
  files.set(name, bytes);
  await assertRejects(readDeletionVector(storage, { ...dv, cardinality: -1 }), 'corrupt');
  await assertRejects(readDeletionVector(storage, { ...dv, offset: 1.5 }), 'corrupt');
  await assertRejects(readDeletionVector(storage, { ...dv, offset: -1 }), 'corrupt');
  const inline = { ...dv, storageType: 'i', offset: undefined };
  await assertRejects(readDeletionVector(storage, { ...inline, pathOrInlineDv: encodeZ85(huge), sizeInBytes: huge.length, cardinality: 5 }), 'corrupt');
  await assertRejects(readDeletionVector(storage, { ...inline, pathOrInlineDv: encodeZ85(SAMPLE).slice(0, -5) }), 'corrupt');
  await assertRejects(readDeletionVector(storage, { ...inline, pathOrInlineDv: 'Hell"' }), 'corrupt');
  await assertRejects(readDeletionVector(storage, { ...dv, pathOrInlineDv: 'zzzzzzzzzzzzzzzzzzzz' }), 'missing-file');
});

// ---- real tables ----

type Add = { path: string; stats?: string; deletionVector?: DeletionVectorDescriptor };

function commits(table: string): { version: number; actions: Record<string, any>[] }[] {
  const log = join(table, '_delta_log');
  return readdirSync(log)
    .filter((f) => /^\d{20}\.json$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 20)),
      actions: readFileSync(join(log, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    }));
}

async function rowsOf(file: string, column: string): Promise<Map<bigint, number>> {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    const sql = `select ${column} as v, file_row_number as r from read_parquet('${file.replaceAll("'", "''")}', file_row_number=true)`;
    const rows = (await c.runAndReadAll(sql)).getRowObjects();
    return new Map(rows.map((r) => [r.r as bigint, Number(r.v)]));
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

test('deltars table-with-dv-small: the DV marks exactly the rows the DELETE matched', { skip: skipNoFixtures }, async () => {
  const table = join(FIXTURES, 'deltars__table-with-dv-small');
  const log = commits(table);
  const del = log.flatMap((c) => c.actions).find((a) => a.commitInfo?.operation === 'DELETE')!.commitInfo;
  // "(... .value IN (0, 9))": the deleted values come from the log, not from this test.
  const values = new Set(/IN \(([^)]*)\)/.exec(del.operationParameters.predicate)![1]!.split(',').map(Number));
  const add = log.flatMap((c) => c.actions).map((a) => a.add as Add | undefined).find((a) => a?.deletionVector)!;
  const dv = add.deletionVector!;
  const dvPath = join(table, dvFilePath(dv)!);
  assert.ok(existsSync(dvPath), `${dvPath} exists`);
  const deleted = await readDeletionVector(new FsStorage(table), dv);
  assert.equal(deleted.length, Number(del.operationMetrics.numDeletedRows));
  const rows = await rowsOf(join(table, add.path), 'value');
  const expected = [...rows].filter(([, v]) => values.has(v)).map(([r]) => r).sort((a, b) => (a < b ? -1 : 1));
  assert.equal(expected.length, values.size);
  assert.deepEqual([...deleted], expected);
});

test('golden dv-partitioned-with-checkpoint: every DV matches its file and the DELETEs so far', { skip: skipNoFixtures }, async () => {
  const table = join(FIXTURES, 'golden__dv-partitioned-with-checkpoint');
  const storage = new FsStorage(table);
  const check = async (file: Add, deletedValues: Set<number>) => {
    const dv = file.deletionVector!;
    const deleted = await readDeletionVector(storage, dv);
    assert.equal(deleted.length, dv.cardinality);
    const rows = await rowsOf(join(table, decodeURIComponent(file.path)), 'col1');
    // Writers must keep numRecords on files with a DV ("Writer Requirement for Deletion Vectors").
    const numRecords = file.stats === undefined ? BigInt(rows.size) : BigInt(JSON.parse(file.stats).numRecords);
    assert.equal(BigInt(rows.size), numRecords);
    for (let i = 0; i < deleted.length; i++) {
      assert.ok(deleted[i]! >= 0n && deleted[i]! < numRecords, `${deleted[i]} within ${numRecords} rows of ${file.path}`);
      if (i > 0) assert.ok(deleted[i - 1]! < deleted[i]!, 'ascending and unique');
    }
    const expected = [...rows].filter(([, v]) => deletedValues.has(v)).map(([r]) => r).sort((x, y) => (x < y ? -1 : 1));
    assert.deepEqual([...deleted], expected, file.path);
  };
  const deletedValues = new Set<number>();
  let adds = 0;
  let removes = 0;
  for (const { actions } of commits(table)) {
    // Each commit is "DELETE ... WHERE col1 = V": an add's DV covers every delete so far that hit
    // its file, a remove's DV (the logical file being replaced) all but this commit's.
    const before = new Set(deletedValues);
    for (const a of actions) {
      const m = /\(col1#\d+ = (-?\d+)\)/.exec(a.commitInfo?.operationParameters?.predicate ?? '');
      if (m) deletedValues.add(Number(m[1]));
    }
    for (const a of actions) {
      if (a.add?.deletionVector) await check(a.add, deletedValues), adds++;
      if (a.remove?.deletionVector) await check(a.remove, before), removes++;
    }
  }
  assert.ok(adds > 0 && removes > 0, `decoded ${adds} add and ${removes} remove deletion vectors`);

  // The v10 checkpoint holds the same descriptors with cardinality as a parquet BIGINT.
  const ids = new Set(commits(table).filter((c) => c.version <= 10).flatMap((c) => c.actions)
    .filter((a) => a.add?.deletionVector).map((a) => dvUniqueId(a.add.deletionVector)));
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    const checkpoint = join(table, '_delta_log', '00000000000000000010.checkpoint.parquet');
    const sql = `select add.deletionVector as dv, add.stats as stats from read_parquet('${checkpoint}') where add.deletionVector is not null`;
    const rows = (await c.runAndReadAll(sql)).getRowObjectsJS() as unknown as { dv: DeletionVectorDescriptor; stats: string }[];
    assert.ok(rows.length > 0, 'checkpoint has deletion vectors');
    for (const { dv, stats } of rows) {
      assert.ok(ids.has(dvUniqueId(dv)), `${dvUniqueId(dv)} was added by a commit up to v10`);
      const deleted = await readDeletionVector(storage, dv);
      assert.equal(BigInt(deleted.length), BigInt(dv.cardinality));
      assert.ok(deleted.every((r) => r < BigInt(JSON.parse(stats).numRecords)), 'within numRecords');
    }
  } finally {
    c.closeSync();
    inst.closeSync();
  }
});

// ---- The writer: its output must be what the reader (checked above against the spec and the
// fixtures of delta-rs and Delta's golden tables) reads back ----

test('serializeRoaringBitmapArray: array and bitmap containers across buckets read back exactly', () => {
  const dense = Array.from({ length: 5000 }, (_, i) => 70_000 + i * 3); // > 4,096 in one container: a bitmap
  const rows = [0, 1, 65_535, 65_536, ...dense, 2 ** 32 - 1, 2 ** 32, 2 ** 33 + 7];
  const bytes = serializeRoaringBitmapArray(rows);
  assert.deepEqual(Array.from(parseRoaringBitmapArray(bytes), Number), rows);
  assert.deepEqual(Array.from(parseRoaringBitmapArray(serializeRoaringBitmapArray([])), Number), [], 'an empty DV');
  assert.throws(() => serializeRoaringBitmapArray([3, 2]), /ascending/, 'unsorted input is refused');
  assert.throws(() => serializeRoaringBitmapArray([1, 1]), /ascending/, 'duplicates are refused');
});

test('encodeZ85 is the inverse of decodeZ85 and matches the spec encoder', () => {
  for (let n = 0; n < 50; n++) {
    const b = new Uint8Array(16).map(() => Math.floor(Math.random() * 256));
    assert.deepEqual(decodeZ85(encodeZ85Ours(b)), b);
    assert.equal(encodeZ85Ours(b), encodeZ85(b), 'the same text as the spec encoder above');
  }
});

test('deletionVectorFile: several DVs in one file, each read back through its descriptor (offset, size, CRC)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certhunt-dvw-'));
  try {
    const storage = new FsStorage(dir);
    const entries = [[0, 5, 9], Array.from({ length: 6000 }, (_, i) => i * 2), [123_456_789]];
    const uuid = new Uint8Array(16).map((_, i) => i * 17);
    const file = deletionVectorFile(entries, uuid);
    assert.equal(file.path, 'deletion_vector_00112233-4455-6677-8899-aabbccddeeff.bin', 'named by the UUID as the protocol says');
    await storage.put(file.path, file.bytes);
    assert.equal(file.descriptors.length, 3);
    for (const [i, d] of file.descriptors.entries()) {
      assert.equal(d.cardinality, entries[i]!.length);
      assert.deepEqual(Array.from(await readDeletionVector(storage, d), Number), entries[i], `DV ${i}`);
    }
    // The CRC is over the bitmap alone; flipping one of its bytes must be caught.
    const broken = Uint8Array.from(file.bytes);
    broken[file.descriptors[1]!.offset! + 4 + 20]! ^= 0xff;
    await storage.put(file.path, broken);
    await assert.rejects(readDeletionVector(storage, file.descriptors[1]!), /CRC-32/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

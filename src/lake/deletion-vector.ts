/**
 * Delta deletion vectors (PROTOCOL.md "Deletion Vectors", appendix "Deletion Vector Format").
 * Input is hostile: failures are DeltaError; allocations are bounded by the bytes present or
 * by the cardinality the log declares.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeltaError, type DeltaErrorKind } from './error.js';
import type { Storage } from './storage.js';

export interface DeletionVectorDescriptor {
  storageType: string;
  pathOrInlineDv: string;
  offset?: number;
  sizeInBytes: number;
  cardinality: number;
}

// "Deletion Vector Format": the only magic the protocol defines (the portable 64-bit layout).
const PORTABLE_MAGIC = 1681511377;
// RoaringFormatSpec: with run containers, the offset header is omitted below 4 containers.
const COOKIE_NO_RUNS = 12346;
const COOKIE_RUNS = 12347;
const NO_OFFSET_THRESHOLD = 4;
const ARRAY_MAX = 4096;
// A run container encodes 65536 rows in 4 bytes, so bytes cannot bound the output: refuse DVs
// of more than 2^26 rows (512 MiB as BigInt64Array) instead of exhausting memory.
const MAX_CARDINALITY = 2 ** 26;

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < Z85.length; i++) Z85_VALUE[Z85.charCodeAt(i)] = i;

const fail = (kind: DeltaErrorKind, message: string, file?: string) =>
  new DeltaError(kind, message, file === undefined ? {} : { file });
const corrupt = (message: string, file?: string) => fail('corrupt', message, file);
const tooLarge = (rows: number, file?: string) =>
  fail('unsupported', `deletion vector of ${rows} rows (limit ${MAX_CARDINALITY})`, file);

/** Unique id per the protocol: storageType + pathOrInlineDv (+ '@' + offset when present). */
export function dvUniqueId(dv: DeletionVectorDescriptor): string {
  // "Derived Fields". Checkpoints read through parquet give null for an absent offset.
  const id = `${dv.storageType}${dv.pathOrInlineDv}`;
  return dv.offset == null ? id : `${id}@${dv.offset}`;
}

/** Z85 (ZeroMQ RFC 32): each 5 characters give one big-endian 32-bit word. */
export function decodeZ85(s: string, file?: string): Uint8Array {
  // Delta's codec also demands whole 5-character groups; it drops padding by sizeInBytes.
  if (s.length % 5 !== 0) throw corrupt(`Z85 text length ${s.length} is not a multiple of 5`, file);
  const out = new Uint8Array((s.length / 5) * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < s.length; i += 5) {
    let v = 0;
    for (let j = i; j < i + 5; j++) {
      const d = Z85_VALUE[s.charCodeAt(j)] ?? -1;
      if (d < 0) throw corrupt(`invalid Z85 character ${JSON.stringify(s[j])} at ${j}`, file);
      v = v * 85 + d;
    }
    if (v > 0xffffffff) throw corrupt(`Z85 group at ${i} overflows 32 bits`, file);
    view.setUint32((i / 5) * 4, v);
  }
  return out;
}

/**
 * Relative path (to the table root) of the DV file, or undefined for inline DVs.
 * An absolute-path ('p') DV needs `tableRoot` (Storage.root) and must lie under it.
 */
export function dvFilePath(dv: DeletionVectorDescriptor, tableRoot?: string): string | undefined {
  const id = dvUniqueId(dv);
  const p = dv.pathOrInlineDv;
  if (dv.storageType === 'i') return undefined;
  if (dv.storageType === 'p') return underRoot(p, tableRoot, id);
  if (dv.storageType !== 'u') throw fail('unsupported', `DV storageType ${JSON.stringify(dv.storageType)}`, id);
  // "<random prefix - optional><base85 encoded uuid>": the UUID is the last 20 characters and
  // the prefix is a folder, so it must not be able to climb out of the table.
  if (p.length < 20) throw corrupt(`'u' deletion vector path is shorter than a Z85 UUID`, id);
  const prefix = p.slice(0, -20);
  if (/[/\\]/.test(prefix) || prefix === '.' || prefix === '..')
    throw corrupt(`bad deletion vector prefix ${JSON.stringify(prefix)}`, id);
  const h = Buffer.from(decodeZ85(p.slice(-20), id)).toString('hex');
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  return `${prefix ? prefix + '/' : ''}deletion_vector_${uuid}.bin`;
}

/** A URI (or bare absolute path) as a comparable scheme+authority and a decoded path. */
function locate(s: string): { where: string; path: string } | undefined {
  try {
    const u = new URL(s.startsWith('/') ? `file://${s}` : s);
    if (u.protocol === 'file:') return { where: 'file:', path: fileURLToPath(u) };
    // Hadoop's s3a:/s3n: name the same objects as s3:.
    const where = `${u.protocol.replace(/^s3[an]:$/, 's3:')}//${u.host}`;
    return { where, path: '/' + decodeURIComponent(u.pathname).replace(/^\/+/, '') };
  } catch {
    return undefined;
  }
}

function underRoot(p: string, root: string | undefined, id: string): string {
  // 'p' has "the same format as the path field in add/remove": an absolute, URI-encoded path.
  const target = locate(p);
  if (!target) throw corrupt(`'p' deletion vector path is not an absolute URI`, id);
  const base = root === undefined ? undefined : locate(root);
  let rel: string | undefined;
  if (base?.where === target.where)
    rel = base.where === 'file:'
      ? path.relative(base.path, target.path).split(path.sep).join('/')
      : path.posix.relative(base.path, target.path);
  if (!rel || rel === '..' || rel.startsWith('../') || path.isAbsolute(rel))
    throw fail('unsupported', `deletion vector outside the table root ${root ?? '(unknown)'}`, p);
  return rel;
}

/** Sorted ascending row indexes (0-based row positions in the data file) that are deleted. */
export async function readDeletionVector(storage: Storage, dv: DeletionVectorDescriptor): Promise<BigInt64Array> {
  const id = dvUniqueId(dv);
  // Checkpoint readers may hand over BIGINT columns as bigint.
  const count = (v: unknown) => (typeof v === 'bigint' ? Number(v) : Number.isSafeInteger(v) ? (v as number) : NaN);
  const [sizeInBytes, cardinality, offset] = [count(dv.sizeInBytes), count(dv.cardinality), count(dv.offset ?? 0)];
  if (!(sizeInBytes >= 0 && cardinality >= 0 && offset >= 0))
    throw corrupt('deletion vector descriptor has a bad offset, sizeInBytes or cardinality', id);
  if (cardinality > MAX_CARDINALITY) throw tooLarge(cardinality, id);
  if (dv.storageType === 'i') {
    // sizeInBytes is the size "before base85 encoding": what follows it is alignment padding.
    const bytes = decodeZ85(dv.pathOrInlineDv, id);
    if (bytes.length < sizeInBytes) throw corrupt(`inline DV is shorter than ${sizeInBytes} bytes`, id);
    return parse(bytes.subarray(0, sizeInBytes), id, cardinality);
  }
  const rel = dvFilePath(dv, storage.root)!;
  const file = `${storage.root.replace(/\/+$/, '')}/${rel}`;
  const data = await storage.read(rel);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // "Deletion Vector File Storage Format" (big endian): version byte 1, then at `offset` (0 when
  // absent) dataSize, bitmapData and the CRC-32 of bitmapData.
  if (data[0] !== 1) throw corrupt(`DV file version ${data[0] ?? '(empty file)'}, expected 1`, file);
  if (offset + 4 > data.length) throw corrupt(`DV offset ${offset} is past the end`, file);
  const size = view.getUint32(offset);
  if (size !== sizeInBytes) throw corrupt(`DV at ${offset} has ${size} bytes, not ${sizeInBytes}`, file);
  if (offset + 8 + size > data.length) throw corrupt(`DV at ${offset} is truncated`, file);
  const bitmap = data.subarray(offset + 4, offset + 4 + size);
  if (crc32(bitmap) !== view.getUint32(offset + 4 + size)) throw corrupt(`DV at ${offset} fails CRC-32`, file);
  return parse(bitmap, file, cardinality);
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE, as java.util.zip.CRC32); zlib.crc32 would need Node >= 20.15. */
function crc32(bytes: Uint8Array): number {
  const t = (crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    for (let k = 0; k < 8; k++) n = n & 1 ? 0xedb88320 ^ (n >>> 1) : n >>> 1;
    return n;
  }));
  let c = 0xffffffff;
  for (const b of bytes) c = t[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The RoaringBitmapArray serialization (magic + portable 64-bit Roaring) as sorted row indexes. */
export function parseRoaringBitmapArray(bytes: Uint8Array, file?: string): BigInt64Array {
  return parse(bytes, file, undefined);
}

const [ARRAY, BITMAP, RUN] = [0, 1, 2];

/** Validates everything and totals the cardinality first, so only a checked size is allocated. */
function parse(bytes: Uint8Array, file: string | undefined, expected: number | undefined): BigInt64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const take = (n: number): number => {
    if (n > bytes.length - pos) throw corrupt(`roaring bitmap truncated at byte ${pos}`, file);
    return (pos += n) - n;
  };
  const u16 = () => view.getUint16(take(2), true);
  const u32 = () => view.getUint32(take(4), true);
  const magic = u32();
  if (magic !== PORTABLE_MAGIC) throw corrupt(`unknown RoaringBitmapArray magic number ${magic}`, file);
  const buckets = u32() + u32() * 2 ** 32;
  // Each bucket takes at least a 4-byte key and an 8-byte empty bitmap.
  if (buckets > (bytes.length - pos) / 12) throw corrupt(`RoaringBitmapArray claims ${buckets} buckets`, file);
  const containers: { base: bigint; kind: number; at: number; n: number }[] = [];
  let total = 0;
  for (let b = 0, prevKey = -1; b < buckets; b++) {
    // Keys ascend (64-bit spec) and "every key has a 0 as its most significant bit" (Delta).
    const key = u32();
    if (key <= prevKey || key >= 2 ** 31) throw corrupt(`bucket key ${key} is out of order or negative`, file);
    prevKey = key;
    const cookie = u32();
    let size: number;
    let runs: Uint8Array | undefined;
    if (cookie === COOKIE_NO_RUNS) size = u32();
    else if ((cookie & 0xffff) === COOKIE_RUNS) {
      size = (cookie >>> 16) + 1;
      runs = bytes.subarray(take((size + 7) >>> 3), pos);
    } else throw corrupt(`bad roaring cookie ${cookie}`, file);
    if (size > 65536) throw corrupt(`roaring bitmap claims ${size} containers`, file);
    const header = take(size * 4);
    // Offsets repeat what sequential reading finds (the reference readers skip them too).
    if (!runs || size >= NO_OFFSET_THRESHOLD) take(size * 4);
    for (let i = 0, prev = -1; i < size; i++) {
      const hi = view.getUint16(header + 4 * i, true);
      const card = view.getUint16(header + 4 * i + 2, true) + 1;
      if (hi <= prev) throw corrupt(`roaring container key ${hi} is out of order`, file);
      prev = hi;
      const base = (BigInt(key) << 32n) | BigInt(hi * 65536);
      const where = `container ${hi} of bucket ${key}`;
      if (runs && (runs[i >>> 3]! >>> (i & 7)) & 1) {
        const n = u16();
        const at = take(4 * n);
        let sum = 0;
        for (let r = 0, next = 0; r < n; r++) {
          // Sorted, disjoint runs keep the output sorted and unique.
          const start = view.getUint16(at + 4 * r, true);
          const len = view.getUint16(at + 4 * r + 2, true) + 1;
          if (start < next || start + len > 65536) throw corrupt(`bad run in ${where}`, file);
          next = start + len;
          sum += len;
        }
        if (sum !== card) throw corrupt(`${where} holds ${sum} values, its header says ${card}`, file);
        containers.push({ base, kind: RUN, at, n });
      } else if (card <= ARRAY_MAX) {
        const at = take(2 * card);
        for (let j = 1; j < card; j++)
          if (view.getUint16(at + 2 * j, true) <= view.getUint16(at + 2 * j - 2, true))
            throw corrupt(`unsorted array in ${where}`, file);
        containers.push({ base, kind: ARRAY, at, n: card });
      } else {
        const at = take(8192);
        let bits = 0;
        for (let w = 0; w < 2048; w++) for (let x = view.getUint32(at + 4 * w, true); x; x &= x - 1) bits++;
        if (bits !== card) throw corrupt(`${where} has ${bits} bits set, its header says ${card}`, file);
        containers.push({ base, kind: BITMAP, at, n: 2048 });
      }
      total += card;
    }
  }
  if (pos !== bytes.length) throw corrupt(`${bytes.length - pos} bytes after the RoaringBitmapArray`, file);
  if (expected !== undefined && total !== expected)
    throw corrupt(`deletion vector holds ${total} row indexes, the log says ${expected}`, file);
  if (total > MAX_CARDINALITY) throw tooLarge(total, file);
  const out = new BigInt64Array(total);
  let o = 0;
  for (const { base, kind, at, n } of containers) {
    if (kind === ARRAY) for (let j = 0; j < n; j++) out[o++] = base + BigInt(view.getUint16(at + 2 * j, true));
    else if (kind === RUN)
      for (let r = 0; r < n; r++) {
        const start = view.getUint16(at + 4 * r, true);
        const end = start + view.getUint16(at + 4 * r + 2, true);
        for (let v = start; v <= end; v++) out[o++] = base + BigInt(v);
      }
    else
      for (let w = 0; w < n; w++)
        for (let word = view.getUint32(at + 4 * w, true); word !== 0; word &= word - 1)
          out[o++] = base + BigInt(w * 32 + 31 - Math.clz32(word & -word));
  }
  return out;
}

/** Z85-encode bytes (a multiple of 4 long), the inverse of decodeZ85. */
export function encodeZ85(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new DeltaError('invalid', `Z85 input of ${bytes.length} bytes is not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let v = view.getUint32(i);
    const group = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      group[j] = Z85[v % 85]!;
      v = Math.floor(v / 85);
    }
    out += group.join('');
  }
  return out;
}

/**
 * Serialize sorted, distinct row indexes as a RoaringBitmapArray (the magic and the portable
 * 64-bit Roaring layout, no run containers): what Delta's readers, and `parse` above, accept.
 */
export function serializeRoaringBitmapArray(rows: ArrayLike<number>): Uint8Array {
  // Group by the high 32 bits (bucket) and then the next 16 (container).
  const buckets = new Map<number, Map<number, number[]>>();
  let prev = -1;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!Number.isSafeInteger(r) || r <= prev) throw new DeltaError('invalid', `row indexes must be ascending safe integers (got ${r} after ${prev})`);
    prev = r;
    const key = Math.floor(r / 2 ** 32);
    const low = r - key * 2 ** 32;
    let containers = buckets.get(key);
    if (!containers) buckets.set(key, (containers = new Map()));
    const hi = low >>> 16;
    let values = containers.get(hi);
    if (!values) containers.set(hi, (values = []));
    values.push(low & 0xffff);
  }
  const parts: Uint8Array[] = [];
  const head = new DataView(new ArrayBuffer(12));
  head.setUint32(0, PORTABLE_MAGIC, true);
  head.setUint32(4, buckets.size, true); // a 64-bit count; the high word stays 0
  parts.push(new Uint8Array(head.buffer));
  for (const [key, containers] of buckets) {
    const n = containers.size;
    const meta = new DataView(new ArrayBuffer(12 + 8 * n)); // key, cookie, count, then 4+4 bytes per container
    meta.setUint32(0, key, true);
    meta.setUint32(4, COOKIE_NO_RUNS, true);
    const header = new DataView(meta.buffer, 4);
    header.setUint32(4, n, true);
    let offset = 8 + 8 * n; // offsets count from the start of this 32-bit bitmap
    const bodies: Uint8Array[] = [];
    let i = 0;
    for (const [hi, values] of containers) {
      header.setUint16(8 + 4 * i, hi, true);
      header.setUint16(8 + 4 * i + 2, values.length - 1, true);
      header.setUint32(8 + 4 * n + 4 * i, offset, true);
      let body: Uint8Array;
      if (values.length <= ARRAY_MAX) {
        const v = new DataView(new ArrayBuffer(2 * values.length));
        values.forEach((x, j) => v.setUint16(2 * j, x, true));
        body = new Uint8Array(v.buffer);
      } else {
        const words = new Uint32Array(2048); // 1024 little-endian 64-bit words, as 32-bit halves
        for (const x of values) words[x >>> 5]! |= 1 << (x & 31);
        body = new Uint8Array(8192);
        const v = new DataView(body.buffer);
        words.forEach((w, j) => v.setUint32(4 * j, w, true));
      }
      bodies.push(body);
      offset += body.length;
      i++;
    }
    parts.push(new Uint8Array(meta.buffer), ...bodies);
  }
  return Buffer.concat(parts);
}

/**
 * A deletion vector file ("Deletion Vector File Storage Format") holding one DV per entry, and
 * the descriptor of each: storage type 'u', its name a Z85-encoded random UUID.
 */
export function deletionVectorFile(entries: ArrayLike<number>[], uuid: Uint8Array): { path: string; bytes: Uint8Array; descriptors: DeletionVectorDescriptor[] } {
  if (uuid.length !== 16) throw new DeltaError('invalid', 'a deletion vector file is named by a 16-byte UUID');
  const pathOrInlineDv = encodeZ85(uuid);
  const parts: Uint8Array[] = [Uint8Array.of(1)];
  let offset = 1;
  const descriptors = entries.map((rows) => {
    const bitmap = serializeRoaringBitmapArray(rows);
    const frame = new DataView(new ArrayBuffer(4));
    frame.setUint32(0, bitmap.length);
    const crc = new DataView(new ArrayBuffer(4));
    crc.setUint32(0, crc32(bitmap));
    parts.push(new Uint8Array(frame.buffer), bitmap, new Uint8Array(crc.buffer));
    const d: DeletionVectorDescriptor = { storageType: 'u', pathOrInlineDv, offset, sizeInBytes: bitmap.length, cardinality: rows.length };
    offset += 8 + bitmap.length;
    return d;
  });
  const file = dvFilePath({ storageType: 'u', pathOrInlineDv, sizeInBytes: 0, cardinality: 0 })!;
  return { path: file, bytes: Buffer.concat(parts), descriptors };
}

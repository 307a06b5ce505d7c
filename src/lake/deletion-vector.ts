/**
 * Delta Lake deletion vectors (PROTOCOL.md "Deletion Vectors" and appendix "Deletion Vector
 * Format"): descriptor → bytes (inline Z85 or a framed, checksummed DV file) → sorted row indexes.
 * Every input is treated as hostile: failures are DeltaError, allocations are bounded by the bytes
 * present or by the cardinality the log declares.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeltaError } from './error.js';
import type { Storage } from './storage.js';

export interface DeletionVectorDescriptor {
  storageType: string;
  pathOrInlineDv: string;
  offset?: number;
  sizeInBytes: number;
  cardinality: number;
}

// "Deletion Vector Format": the only magic the protocol defines (the "portable" 64-bit layout).
const PORTABLE_MAGIC = 1681511377;
// RoaringFormatSpec cookies; offsets are omitted with run containers below 4 containers.
const COOKIE_NO_RUNS = 12346;
const COOKIE_RUNS = 12347;
const NO_OFFSET_THRESHOLD = 4;
const ARRAY_MAX = 4096;
// Run containers encode 65536 rows in 4 bytes, so bytes cannot bound the output: cap it
// (8 bytes per row index, so 512 MiB) and refuse larger DVs rather than exhaust memory.
const MAX_CARDINALITY = 2 ** 26;

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < Z85.length; i++) Z85_VALUE[Z85.charCodeAt(i)] = i;

const corrupt = (msg: string, file?: string) => new DeltaError('corrupt', msg, file === undefined ? {} : { file });

/** Unique id per the protocol: storageType + pathOrInlineDv (+ '@' + offset when present). */
export function dvUniqueId(dv: DeletionVectorDescriptor): string {
  // "Derived Fields": the '@offset' suffix only when offset is present (checkpoints give null).
  return dv.offset == null ? `${dv.storageType}${dv.pathOrInlineDv}` : `${dv.storageType}${dv.pathOrInlineDv}@${dv.offset}`;
}

/** ZeroMQ RFC 32 (Z85): 5 characters → one big-endian 32-bit word. */
export function decodeZ85(s: string): Uint8Array {
  return z85(s);
}

function z85(s: string, file?: string): Uint8Array {
  // Delta's codec requires 5-character alignment too and drops padding by sizeInBytes instead.
  if (s.length % 5 !== 0) throw corrupt(`Z85 text of length ${s.length} is not a multiple of 5`, file);
  const out = new Uint8Array((s.length / 5) * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < s.length; i += 5) {
    let v = 0;
    for (let j = i; j < i + 5; j++) {
      const c = s.charCodeAt(j);
      const d = c < 128 ? Z85_VALUE[c]! : -1;
      if (d < 0) throw corrupt(`invalid Z85 character ${JSON.stringify(s[j])} at ${j}`, file);
      v = v * 85 + d;
    }
    if (v > 0xffffffff) throw corrupt(`Z85 group at ${i} overflows 32 bits`, file);
    view.setUint32((i / 5) * 4, v, true);
  }
  return out;
}

/**
 * Relative path (to the table root) of the DV file, or undefined for inline DVs.
 * Absolute-path ('p') DVs need `tableRoot` (Storage.root) and must lie under it.
 */
export function dvFilePath(dv: DeletionVectorDescriptor, tableRoot?: string): string | undefined {
  const id = dvUniqueId(dv);
  const p = dv.pathOrInlineDv;
  switch (dv.storageType) {
    case 'i':
      return undefined;
    case 'u': {
      // "<random prefix - optional><base85 encoded uuid>": the UUID is the last 20 characters.
      if (p.length < 20) throw corrupt(`'u' deletion vector path ${JSON.stringify(p)} is shorter than a Z85 UUID`, id);
      const prefix = p.slice(0, -20);
      if (/[/\\]/.test(prefix) || prefix === '.' || prefix === '..') throw corrupt(`bad deletion vector prefix ${JSON.stringify(prefix)}`, id);
      const hex = Buffer.from(z85(p.slice(-20), id)).toString('hex');
      const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      return `${prefix ? prefix + '/' : ''}deletion_vector_${uuid}.bin`;
    }
    case 'p':
      return underRoot(p, tableRoot, id);
    default:
      throw new DeltaError('unsupported', `deletion vector storageType ${JSON.stringify(dv.storageType)}`, { file: id });
  }
}

/** Split a URI (or bare absolute path) into a comparable scheme+authority and a decoded path. */
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
  // "same format as the path field in add/remove": an absolute, URI-encoded path.
  const target = locate(p);
  if (!target) throw corrupt(`'p' deletion vector path ${JSON.stringify(p)} is not an absolute URI`, id);
  const base = root === undefined ? undefined : locate(root);
  const rel =
    base?.where !== target.where
      ? undefined
      : base.where === 'file:'
        ? path.relative(base.path, target.path).split(path.sep).join('/')
        : path.posix.relative(base.path, target.path);
  if (!rel || rel === '..' || rel.startsWith('../') || path.isAbsolute(rel))
    throw new DeltaError('unsupported', `deletion vector file outside the table root ${root ?? '(unknown)'}`, { file: p });
  return rel;
}

/** Sorted ascending row indexes (0-based row positions in the data file) that are deleted. */
export async function readDeletionVector(storage: Storage, dv: DeletionVectorDescriptor): Promise<BigInt64Array> {
  const id = dvUniqueId(dv);
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!count(dv.sizeInBytes) || !count(dv.cardinality) || (dv.offset != null && !count(dv.offset)))
    throw corrupt('deletion vector descriptor has a bad offset, sizeInBytes or cardinality', id);
  if (dv.cardinality > MAX_CARDINALITY)
    throw new DeltaError('unsupported', `deletion vector of ${dv.cardinality} rows (limit ${MAX_CARDINALITY})`, { file: id });
  if (dv.storageType === 'i') {
    // sizeInBytes is the size "before base85 encoding": the rest is alignment padding.
    const bytes = z85(dv.pathOrInlineDv, id);
    if (bytes.length < dv.sizeInBytes) throw corrupt(`inline deletion vector has ${bytes.length} bytes, not ${dv.sizeInBytes}`, id);
    return parse(bytes.subarray(0, dv.sizeInBytes), id, dv.cardinality);
  }
  const rel = dvFilePath(dv, storage.root)!;
  const file = `${storage.root.replace(/\/+$/, '')}/${rel}`;
  const data = await storage.read(rel);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // "Deletion Vector File Storage Format" (big endian): version 1, then at `offset` each DV as
  // dataSize, bitmapData, CRC-32(bitmapData). An absent offset means 0.
  if (data[0] !== 1) throw corrupt(`deletion vector file format version ${data[0] ?? '(empty file)'}, expected 1`, file);
  const at = dv.offset ?? 0;
  if (at + 4 > data.length) throw corrupt(`deletion vector offset ${at} is past the end (${data.length} bytes)`, file);
  const size = view.getUint32(at);
  if (size !== dv.sizeInBytes) throw corrupt(`deletion vector at ${at} has ${size} bytes, the log says ${dv.sizeInBytes}`, file);
  if (at + 8 + size > data.length) throw corrupt(`deletion vector at ${at} is truncated`, file);
  const bitmap = data.subarray(at + 4, at + 4 + size);
  if (crc32(bitmap) !== view.getUint32(at + 4 + size)) throw corrupt(`deletion vector at ${at} fails its CRC-32`, file);
  return parse(bitmap, file, dv.cardinality);
}

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array): number {
  // Table-driven CRC-32 (IEEE, as java.util.zip.CRC32): zlib.crc32 needs Node >= 20.15.
  const t = (crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    for (let k = 0; k < 8; k++) n = n & 1 ? 0xedb88320 ^ (n >>> 1) : n >>> 1;
    return n;
  }));
  let c = 0xffffffff;
  for (const b of bytes) c = t[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Parse the RoaringBitmapArray serialization (magic + portable 64-bit Roaring) to sorted row indexes. */
export function parseRoaringBitmapArray(bytes: Uint8Array, file?: string): BigInt64Array {
  return parse(bytes, file, undefined);
}

const ARRAY = 0;
const BITMAP = 1;
const RUN = 2;
interface Container { base: bigint; kind: number; pos: number; n: number }

function parse(bytes: Uint8Array, file: string | undefined, expected: number | undefined): BigInt64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const take = (n: number): number => {
    if (n > bytes.length - pos) throw corrupt(`roaring bitmap truncated at byte ${pos} (needs ${n} more of ${bytes.length})`, file);
    pos += n;
    return pos - n;
  };
  const u16 = () => view.getUint16(take(2), true);
  const u32 = () => view.getUint32(take(4), true);
  const magic = u32();
  if (magic !== PORTABLE_MAGIC) throw corrupt(`unknown RoaringBitmapArray magic number ${magic}`, file);
  const buckets = u32() + u32() * 2 ** 32;
  // Each bucket is at least a 4-byte key and an 8-byte empty bitmap.
  if (buckets > (bytes.length - pos) / 12) throw corrupt(`RoaringBitmapArray claims ${buckets} buckets in ${bytes.length} bytes`, file);
  const containers: Container[] = [];
  let total = 0;
  let prevKey = -1;
  for (let b = 0; b < buckets; b++) {
    // "every key has a 0 as its most significant bit"; the 64-bit spec orders keys ascending.
    const key = u32();
    if (key <= prevKey || key >= 2 ** 31) throw corrupt(`bucket key ${key} is out of order or negative`, file);
    prevKey = key;
    const cookie = u32();
    let size: number;
    let runs: Uint8Array | undefined;
    if (cookie === COOKIE_NO_RUNS) size = u32();
    else if ((cookie & 0xffff) === COOKIE_RUNS) {
      size = (cookie >>> 16) + 1;
      const at = take((size + 7) >>> 3);
      runs = bytes.subarray(at, at + ((size + 7) >>> 3));
    } else throw corrupt(`bad roaring cookie ${cookie}`, file);
    if (size > 65536) throw corrupt(`roaring bitmap claims ${size} containers`, file);
    const header = take(size * 4);
    // Offsets duplicate what sequential reading yields (the reference readers skip them too).
    if (!runs || size >= NO_OFFSET_THRESHOLD) take(size * 4);
    let prev = -1;
    for (let i = 0; i < size; i++) {
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
        let next = 0; // sorted, disjoint runs keep the output sorted and unique
        for (let r = 0; r < n; r++) {
          const start = view.getUint16(at + 4 * r, true);
          const len = view.getUint16(at + 4 * r + 2, true) + 1;
          if (start < next || start + len > 65536) throw corrupt(`bad run in ${where}`, file);
          next = start + len;
          sum += len;
        }
        if (sum !== card) throw corrupt(`${where} holds ${sum} values, its header says ${card}`, file);
        containers.push({ base, kind: RUN, pos: at, n });
      } else if (card <= ARRAY_MAX) {
        const at = take(2 * card);
        for (let j = 1; j < card; j++)
          if (view.getUint16(at + 2 * j, true) <= view.getUint16(at + 2 * j - 2, true)) throw corrupt(`unsorted array in ${where}`, file);
        containers.push({ base, kind: ARRAY, pos: at, n: card });
      } else {
        const at = take(8192);
        let bits = 0;
        for (let w = 0; w < 2048; w++) bits += popcount(view.getUint32(at + 4 * w, true));
        if (bits !== card) throw corrupt(`${where} has ${bits} bits set, its header says ${card}`, file);
        containers.push({ base, kind: BITMAP, pos: at, n: 2048 });
      }
      total += card;
    }
  }
  if (pos !== bytes.length) throw corrupt(`${bytes.length - pos} bytes after the RoaringBitmapArray`, file);
  if (expected !== undefined && total !== expected)
    throw corrupt(`deletion vector holds ${total} row indexes, the log says ${expected}`, file);
  if (total > MAX_CARDINALITY) throw new DeltaError('unsupported', `deletion vector of ${total} rows (limit ${MAX_CARDINALITY})`, file === undefined ? {} : { file });
  const out = new BigInt64Array(total);
  let o = 0;
  for (const c of containers) {
    if (c.kind === ARRAY) for (let j = 0; j < c.n; j++) out[o++] = c.base + BigInt(view.getUint16(c.pos + 2 * j, true));
    else if (c.kind === RUN)
      for (let r = 0; r < c.n; r++) {
        const start = view.getUint16(c.pos + 4 * r, true);
        const end = start + view.getUint16(c.pos + 4 * r + 2, true);
        for (let v = start; v <= end; v++) out[o++] = c.base + BigInt(v);
      }
    else
      for (let w = 0; w < 2048; w++)
        for (let word = view.getUint32(c.pos + 4 * w, true); word !== 0; word &= word - 1)
          out[o++] = c.base + BigInt(w * 32 + 31 - Math.clz32(word & -word));
  }
  return out;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

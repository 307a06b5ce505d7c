/**
 * Transparent decompression, chosen from magic bytes (never from names).
 *
 * - gzip, including multi-member files (concatenated rotated logs), through node:zlib.
 * - zstd through node:zlib where this Node has it (zlib.createZstdDecompress, Node >= 22.15),
 *   else an 'unsupported' error saying so.
 * - bzip2, xz, lz4, 7z, rar and tar are recognised and refused with a clear message.
 * - zip is an archive, not a stream: src/sources/zip.ts lists its entries; here a zip found
 *   inside a compressed stream is refused.
 * - Layers nest (a .gz inside a zip entry, a gzip of a gzip), up to `maxLayers`.
 *
 * Decompression bombs: the output is capped in absolute bytes (`maxOutputBytes`, default
 * 20 GiB) and in ratio to the stored bytes read (`maxRatio`, default 1000:1, checked once
 * `ratioGraceBytes`, default 100 MiB, are out). Real logs compress 5-20:1; one deflate
 * layer cannot pass about 1030:1, so the ratio cap mostly catches nested layers and
 * overlapping zip entries, and the absolute cap the rest. Both throw InputError 'too-large'
 * naming the source and the position.
 *
 * Truncated input throws InputError 'truncated' after everything decoded before it was
 * yielded (zlib flushes all it can before reporting the early end).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { InputError, errorText } from './input-error.js';

export type Compression =
  | 'none'
  | 'gzip'
  | 'zstd'
  | 'bzip2'
  | 'xz'
  | 'lz4'
  | 'zip'
  | '7z'
  | 'rar'
  | 'tar';

/** Bytes sniffCompression looks at (tar's magic is at offset 257). */
export const SNIFF_BYTES = 512;

/** The compression or archive kind of data starting with these bytes. */
export function sniffCompression(head: Uint8Array): Compression {
  const b = head;
  const at = (i: number, ...bytes: number[]): boolean => bytes.every((x, k) => b[i + k] === x);
  if (at(0, 0x1f, 0x8b)) return 'gzip';
  if (at(0, 0x50, 0x4b) && ((b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6) || (b[2] === 7 && b[3] === 8))) {
    return 'zip';
  }
  if (at(0, 0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  // zstd skippable frame (0x184D2A50..5F little-endian), as written by some tools before the data.
  if (b.length >= 4 && (b[0]! & 0xf0) === 0x50 && at(1, 0x2a, 0x4d, 0x18)) return 'zstd';
  if (at(0, 0x42, 0x5a, 0x68) && b[3] !== undefined && b[3] >= 0x31 && b[3] <= 0x39) return 'bzip2';
  if (at(0, 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (at(0, 0x04, 0x22, 0x4d, 0x18)) return 'lz4';
  if (at(0, 0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) return '7z';
  if (at(0, 0x52, 0x61, 0x72, 0x21, 0x1a, 0x07)) return 'rar';
  if (at(257, 0x75, 0x73, 0x74, 0x61, 0x72)) return 'tar'; // "ustar"
  return 'none';
}

/** True when this Node can decompress zstd (node:zlib gained it in 22.15 / 23.8). */
export function hasZstd(): boolean {
  return typeof (zlib as unknown as Record<string, unknown>).createZstdDecompress === 'function';
}

/**
 * Why data of this kind cannot be read here, or undefined when it can ('none', 'gzip', zstd
 * where this Node has it; 'zip' is read as an archive by src/sources/zip.ts).
 */
export function unsupportedReason(kind: Compression): string | undefined {
  switch (kind) {
    case 'none':
    case 'gzip':
    case 'zip':
      return undefined;
    case 'zstd':
      return hasZstd() ? undefined : `zstd compression needs Node.js 22.15 or later (this is ${process.version}); decompress it first`;
    case 'tar':
      return 'a tar archive is not supported (extract it first)';
    default:
      return `${kind} compression is not supported (decompress it first)`;
  }
}

export interface DecompressLimits {
  /** Most decompressed bytes from one source; default 20 GiB. */
  maxOutputBytes?: number;
  /** Most decompressed bytes per stored byte read; default 1000. */
  maxRatio?: number;
  /** Output allowed before the ratio is checked; default 100 MiB. */
  ratioGraceBytes?: number;
  /** Most compression layers undone in one source; default 3. */
  maxLayers?: number;
}

export const DEFAULT_LIMITS: Required<DecompressLimits> = {
  maxOutputBytes: 20 * 1024 ** 3,
  maxRatio: 1000,
  ratioGraceBytes: 100 * 1024 ** 2,
  maxLayers: 3,
};

export interface DecompressOptions extends DecompressLimits {
  /** The source, for messages. */
  uri: string;
  /** Sees every stored (compressed) chunk as it is read: for progress and content hashes. */
  onRaw?: (chunk: Uint8Array) => void;
  /** The stored bytes are a raw deflate stream (a zip entry with method 8). */
  rawDeflate?: boolean;
  /** Exact size of the first layer's output (a zip entry's uncompressed size): checked. */
  expectedSize?: number;
  /** CRC-32 of the first layer's output (a zip entry's): checked where zlib.crc32 exists. */
  expectedCrc32?: number;
  /**
   * The stored bytes are only a prefix of the source (for peeking at its start): stop
   * quietly where they end instead of reporting a truncation.
   */
  prefix?: boolean;
}

interface Ctx {
  uri: string;
  limits: Required<DecompressLimits>;
  prefix: boolean;
  /** Stored bytes read so far. */
  raw: number;
  /** Layers being undone (0: the data was not compressed). */
  layers: number;
}

/**
 * The decompressed bytes of a stored byte stream. Uncompressed data passes through
 * unchanged (and uncapped). Errors: InputError 'truncated' | 'corrupt' | 'unsupported' |
 * 'too-large', and whatever the byte source throws, unchanged.
 */
export async function* decompress(raw: AsyncIterable<Uint8Array>, opts: DecompressOptions): AsyncGenerator<Buffer> {
  const limits: Required<DecompressLimits> = {
    maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_LIMITS.maxOutputBytes,
    maxRatio: opts.maxRatio ?? DEFAULT_LIMITS.maxRatio,
    ratioGraceBytes: opts.ratioGraceBytes ?? DEFAULT_LIMITS.ratioGraceBytes,
    maxLayers: opts.maxLayers ?? DEFAULT_LIMITS.maxLayers,
  };
  const ctx: Ctx = { uri: opts.uri, limits, prefix: opts.prefix ?? false, raw: 0, layers: 0 };
  const counted = countRaw(raw, ctx, opts.onRaw);
  let first: AsyncIterable<Buffer> = counted;
  if (opts.rawDeflate) {
    ctx.layers = 1;
    first = inflate(counted, zlib.createInflateRaw({ chunkSize: CHUNK }), 'deflate', ctx);
  }
  if (!ctx.prefix && (opts.expectedSize !== undefined || opts.expectedCrc32 !== undefined)) {
    first = checked(first, ctx, opts.expectedSize, opts.expectedCrc32);
  }
  const layers = opts.rawDeflate ? decode(first, ctx, 1) : decode(first, ctx, 0);
  let out = 0;
  for await (const chunk of layers) {
    out += chunk.length;
    if (ctx.layers > 0) {
      if (out > limits.maxOutputBytes) {
        throw new InputError(
          'too-large',
          `${ctx.uri}: more than ${bytes(limits.maxOutputBytes)} after decompression ` +
            `(at stored byte ${ctx.raw}): refusing a possible decompression bomb; raise maxOutputBytes if the data is real`,
          { uri: ctx.uri, position: ctx.raw, delivered: out - chunk.length },
        );
      }
      if (out > limits.ratioGraceBytes && out > limits.maxRatio * ctx.raw) {
        throw new InputError(
          'too-large',
          `${ctx.uri}: decompresses more than ${limits.maxRatio}:1 (${bytes(out)} from ${bytes(ctx.raw)}, ` +
            `at stored byte ${ctx.raw}): refusing a possible decompression bomb; raise maxRatio if the data is real`,
          { uri: ctx.uri, position: ctx.raw, delivered: out - chunk.length },
        );
      }
    }
    yield chunk;
  }
}

/**
 * zlib output buffer size. On corrupt data (not truncation) zlib drops the part of its current
 * output buffer that was not handed over yet, so this also bounds what such an error loses.
 */
const CHUNK = 64 * 1024;

async function* countRaw(
  raw: AsyncIterable<Uint8Array>,
  ctx: Ctx,
  onRaw: ((chunk: Uint8Array) => void) | undefined,
): AsyncGenerator<Buffer> {
  for await (const chunk of raw) {
    ctx.raw += chunk.byteLength;
    onRaw?.(chunk);
    yield asBuffer(chunk);
  }
}

/** Sniff, undo one layer, and sniff again, until plain data (or maxLayers). */
async function* decode(src: AsyncIterable<Buffer>, ctx: Ctx, depth: number): AsyncGenerator<Buffer> {
  const { head, rest, close } = await peek(src, SNIFF_BYTES);
  const kind = sniffCompression(head);
  if (kind === 'none') {
    yield* rest;
    return;
  }
  const where = depth > 0 ? ' (inside compressed data)' : '';
  const refuse = (what: string): never => {
    close();
    throw new InputError('unsupported', `${ctx.uri}: ${what}${where}`, { uri: ctx.uri, position: 0 });
  };
  if (depth >= ctx.limits.maxLayers) refuse(`more than ${ctx.limits.maxLayers} layers of compression (${kind} again) are not supported`);
  if (kind === 'zip') refuse('a zip archive cannot be read as a stream (give its path, S3 or https location instead)');
  const reason = unsupportedReason(kind);
  if (reason) refuse(reason);
  const engine =
    kind === 'gzip'
      ? zlib.createGunzip({ chunkSize: CHUNK })
      : (zlib as unknown as { createZstdDecompress: (o?: object) => zlib.Gunzip }).createZstdDecompress({ chunkSize: CHUNK });
  ctx.layers = Math.max(ctx.layers, depth + 1);
  yield* decode(inflate(rest, engine, kind, ctx), ctx, depth + 1);
}

/** Runs a zlib engine over a byte stream; zlib errors become InputErrors naming the position. */
async function* inflate(src: AsyncIterable<Buffer>, engine: zlib.Gunzip | zlib.InflateRaw, kind: string, ctx: Ctx): AsyncGenerator<Buffer> {
  const input = Readable.from(src, { objectMode: false, highWaterMark: CHUNK });
  pipeline(input, engine, () => {
    // errors surface through the iteration below
  });
  let produced = 0;
  try {
    for await (const chunk of engine as AsyncIterable<Buffer>) {
      produced += chunk.length;
      yield chunk;
    }
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('Z_') && !code.startsWith('ERR_ZSTD')) throw e;
    const consumed = engine.bytesWritten;
    if (code === 'Z_BUF_ERROR') {
      if (ctx.prefix) return;
      throw new InputError(
        'truncated',
        `${ctx.uri}: ${kind} data is truncated: it ends at stored byte ${ctx.raw} in the middle of a compressed stream ` +
          `(${produced} bytes were decoded before it)`,
        { uri: ctx.uri, position: ctx.raw, delivered: produced, cause: e },
      );
    }
    if (ctx.prefix) return;
    throw new InputError(
      'corrupt',
      `${ctx.uri}: corrupt ${kind} data near ${ctx.layers > 1 ? 'decompressed' : 'stored'} byte ${consumed}: ${errorText(e)} ` +
        `(${produced} bytes were decoded before it)`,
      { uri: ctx.uri, position: ctx.raw, delivered: produced, cause: e },
    );
  } finally {
    engine.destroy();
  }
}

/** Checks a zip entry's size (and CRC-32 where zlib has it) as its bytes go by. */
async function* checked(
  src: AsyncIterable<Buffer>,
  ctx: Ctx,
  size: number | undefined,
  crc: number | undefined,
): AsyncGenerator<Buffer> {
  const crc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  let n = 0;
  let sum = 0;
  for await (const chunk of src) {
    n += chunk.length;
    if (size !== undefined && n > size) {
      throw new InputError('corrupt', `${ctx.uri}: more data than the archive says (${size} bytes)`, {
        uri: ctx.uri,
        position: ctx.raw,
        delivered: n - chunk.length,
      });
    }
    if (crc !== undefined && crc32) sum = crc32(chunk, sum);
    yield chunk;
  }
  if (size !== undefined && n < size) {
    throw new InputError('truncated', `${ctx.uri}: ${n} bytes where the archive says ${size}`, {
      uri: ctx.uri,
      position: ctx.raw,
      delivered: n,
    });
  }
  if (crc !== undefined && crc32 && sum >>> 0 !== crc >>> 0) {
    throw new InputError('corrupt', `${ctx.uri}: CRC-32 mismatch (archive says ${hex8(crc)}, data is ${hex8(sum)})`, {
      uri: ctx.uri,
      position: ctx.raw,
      delivered: n,
    });
  }
}

/** The first `n` bytes (fewer at the end of the data) and the whole stream again. */
async function peek(
  src: AsyncIterable<Buffer>,
  n: number,
): Promise<{ head: Buffer; rest: AsyncGenerator<Buffer>; close: () => void }> {
  const it = src[Symbol.asyncIterator]();
  const got: Buffer[] = [];
  let len = 0;
  let ended = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    if (r.value.length === 0) continue;
    got.push(r.value);
    len += r.value.length;
  }
  const head = got.length === 1 ? got[0]!.subarray(0, n) : Buffer.concat(got).subarray(0, n);
  async function* rest(): AsyncGenerator<Buffer> {
    let finished = ended;
    try {
      yield* got;
      got.length = 0;
      while (!finished) {
        const r = await it.next();
        if (r.done) {
          finished = true;
          break;
        }
        yield r.value;
      }
    } catch (e) {
      finished = true; // the source threw: it is done
      throw e;
    } finally {
      if (!finished) await it.return?.();
    }
  }
  const close = (): void => {
    if (!ended) it.return?.().catch(() => undefined);
  };
  return { head, rest: rest(), close };
}

export function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** 21474836480 → "20 GiB", 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

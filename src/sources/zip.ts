/**
 * Zip archives, read through yauzl from any byte-range source (a local file, an S3 object
 * with ranged GETs, an https URL with Range requests, or a buffer), so that an archive's
 * entries can be listed and streamed without downloading or unpacking the archive.
 *
 * Only the stored bytes of an entry come from here; inflating them (with the caps against
 * decompression bombs, and the size and CRC checks) is decompress()'s job.
 */
import { Readable } from 'node:stream';
import * as yauzl from 'yauzl';
import { InputError, errorText } from './input-error.js';

/** Stored bytes that can be read by range. */
export interface RangeSource {
  readonly uri: string;
  readonly size: number;
  /** Bytes [start, end). */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
}

export interface ZipEntry {
  /** Name inside the archive, '/'-separated. */
  readonly name: string;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly crc32: number;
  /** 0 stored, 8 deflate; anything else cannot be read. */
  readonly method: number;
  readonly encrypted: boolean;
  /** Last modification time (epoch ms), from the extended timestamp field or DOS time as UTC. */
  readonly modified: number;
}

export interface ZipArchive {
  readonly entries: ZipEntry[];
  /** Stored bytes of an entry (still deflated for method 8). */
  openRaw(entry: ZipEntry): AsyncIterable<Uint8Array>;
}

/** Names of methods other than stored/deflate, for messages. */
const METHODS: Record<number, string> = {
  1: 'shrink', 6: 'implode', 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz', 98: 'ppmd', 99: 'AES encryption',
};

class SourceReader extends yauzl.RandomAccessReader {
  constructor(private readonly src: RangeSource) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return Readable.from(this.src.read(start, end), { objectMode: false });
  }
}

export interface OpenZipOptions {
  /** Refuse archives whose entries claim more than this many bytes per stored byte. */
  maxRatio?: number;
  /** ... once their claimed total is above this. */
  ratioGraceBytes?: number;
}

/**
 * Lists an archive's entries (files only: folders, hidden names and __MACOSX/ are left out).
 * Throws InputError 'corrupt' for an unreadable archive and 'too-large' for one whose
 * entries claim an impossible total (overlapping entries: a zip bomb).
 */
export async function openZip(src: RangeSource | { uri: string; buffer: Buffer }, opts: OpenZipOptions = {}): Promise<ZipArchive> {
  const uri = src.uri;
  const options: yauzl.Options = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true };
  let zip: yauzl.ZipFile;
  let archiveSize: number;
  try {
    if ('buffer' in src) {
      archiveSize = src.buffer.length;
      zip = await yauzl.fromBufferPromise(src.buffer, options);
    } else {
      archiveSize = src.size;
      zip = await yauzl.fromRandomAccessReaderPromise(new SourceReader(src), src.size, options);
    }
  } catch (e) {
    throw asInputError(e, uri, 'not a readable zip archive');
  }
  const entries: ZipEntry[] = [];
  const raw = new Map<ZipEntry, yauzl.Entry>();
  let claimedOut = 0;
  let claimedIn = 0;
  try {
    for await (const e of zip.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(e.generalPurposeBitFlag, e.fileNameRaw, e.extraFields, false);
      claimedOut += e.uncompressedSize;
      claimedIn += e.compressedSize;
      if (name.endsWith('/') || name.split('/').some((seg) => seg.startsWith('.') || seg === '__MACOSX')) continue;
      let modified = 0;
      try {
        modified = e.getLastModDate({ timezone: 'UTC' }).getTime();
      } catch {
        // a nonsense DOS date
      }
      const entry: ZipEntry = {
        name,
        compressedSize: e.compressedSize,
        uncompressedSize: e.uncompressedSize,
        crc32: e.crc32,
        method: e.compressionMethod,
        encrypted: e.isEncrypted(),
        modified,
      };
      entries.push(entry);
      raw.set(entry, e);
    }
  } catch (e) {
    zip.close();
    throw asInputError(e, uri, 'damaged zip archive');
  }
  // Entries whose data overlap (the "non-recursive zip bomb") claim more stored bytes than the
  // archive has; in any case claimed sizes far beyond the ratio cap are refused up front.
  const maxRatio = opts.maxRatio ?? 1000;
  const grace = opts.ratioGraceBytes ?? 100 * 1024 * 1024;
  if (claimedIn > archiveSize) {
    zip.close();
    throw new InputError('too-large', `${uri}: zip entries overlap (they claim ${claimedIn} stored bytes in a ${archiveSize}-byte archive): refusing a zip bomb`, { uri });
  }
  if (claimedOut > grace && claimedOut > maxRatio * archiveSize) {
    zip.close();
    throw new InputError(
      'too-large',
      `${uri}: entries claim ${claimedOut} bytes from a ${archiveSize}-byte archive (more than ${maxRatio}:1): refusing a possible zip bomb; raise maxRatio if the data is real`,
      { uri },
    );
  }
  return {
    entries,
    openRaw(entry: ZipEntry): AsyncIterable<Uint8Array> {
      const e = raw.get(entry);
      const entryUri = `${uri}!/${entry.name}`;
      if (!e) throw new InputError('invalid', `${entryUri}: not an entry of this archive`, { uri: entryUri });
      const problem = zipEntryProblem(entry);
      if (problem) throw new InputError('unsupported', `${entryUri}: ${problem}`, { uri: entryUri });
      return (async function* () {
        let stream: Readable;
        try {
          stream = await zip.openReadStreamPromise(e, { decodeFileData: false });
        } catch (err) {
          throw asInputError(err, entryUri, 'cannot read zip entry');
        }
        try {
          for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
        } catch (err) {
          throw asInputError(err, entryUri, 'cannot read zip entry');
        } finally {
          stream.destroy();
        }
      })();
    },
  };
}

/** Why an entry cannot be read (encrypted, or a method other than stored/deflate), if it cannot. */
export function zipEntryProblem(entry: ZipEntry): string | undefined {
  if (entry.encrypted) return 'encrypted zip entries are not supported';
  if (entry.method !== 0 && entry.method !== 8) {
    return `zip entry compressed with ${METHODS[entry.method] ?? `method ${entry.method}`} is not supported (only stored and deflate)`;
  }
  return undefined;
}

function asInputError(e: unknown, uri: string, what: string): InputError {
  if (e instanceof InputError) return e;
  const msg = errorText(e);
  const truncated = /unexpected EOF|not enough bytes|End of central directory record signature not found/.test(msg);
  return new InputError(truncated ? 'truncated' : 'corrupt', `${uri}: ${what}: ${msg}`, { uri, cause: e });
}

/**
 * Where source files come from: local paths, folders, globs, S3, https and standard input,
 * with compression undone (src/sources/decompress.ts) and zip archives listed as their
 * entries (src/sources/zip.ts).
 *
 *   for await (const file of openLocations(['zeek/2026-11-*', 's3://sec-logs/zeek/'], opts)) {
 *     if (file.error) { report(file.error); continue; }
 *     const head = await file.head(64 * 1024);       // format detection
 *     for await (const line of splitLines(file.open())) ...
 *   }
 *
 * locate() lists first (a total for progress, a spec that names nothing failing before any
 * file is read) and reads the files as they are taken, like openLocations.
 *
 * Specs:
 * - a file path; a folder (walked recursively in name order; names starting with '.' are
 *   skipped, and symbolic links to folders are not followed, like `find`; links to files are);
 * - a glob (`zeek/2026-11-*\/x509*.log.gz`, `**` for any depth, `{a,b}`, `[0-9]`), through
 *   tinyglobby; a folder it matches is walked; `*` does not match a leading '.';
 * - `file:///path`;
 * - `s3://bucket`, `s3://bucket/prefix` (the object of that key, or every object under
 *   `prefix/`), `s3://bucket/prefix/*.log.gz` (a glob on the key: listed from the literal part
 *   before the first wildcard, matched with picomatch);
 * - `https://...` (redirects followed, at most 5, each hop checked against the same policy);
 *   `http://` only to loopback hosts (localhost, 127.0.0.0/8, ::1) unless `allowHttp`;
 * - `-` for standard input (readable once).
 *
 * A spec that names nothing (missing path, bucket or URL, a pattern matching nothing) throws
 * InputError 'missing' naming it; other listing failures throw too. A file found but unreadable
 * (unsupported compression, damaged archive, permission denied inside a walked folder) is
 * yielded with `error` set, and its open() and head() throw that error, so that one bad file
 * does not stop the others.
 */
import { createReadStream, promises as fs, type Dirent } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import picomatch from 'picomatch';
import { glob } from 'tinyglobby';
import { parseS3Url, s3ClientFromEnv } from '../lake/storage-s3.js';
import {
  DEFAULT_LIMITS,
  asBuffer,
  decompress,
  sniffCompression,
  unsupportedReason,
  type Compression,
  type DecompressLimits,
} from './decompress.js';
import { InputError, errorText } from './input-error.js';
import { openZip, zipEntryProblem, type RangeSource, type ZipArchive, type ZipEntry } from './zip.js';

export { InputError } from './input-error.js';
export type { InputErrorCode } from './input-error.js';

/** One source file: a file, an object, a URL, stdin, or one entry of a zip archive. */
export interface InputFile {
  /**
   * Where it is, for lineage and messages: an absolute path, `s3://bucket/key`, the URL as
   * given (not where redirects led), `stdin:`, or `ARCHIVE!/entry/name` for a zip entry.
   */
  readonly uri: string;
  /** Stored bytes (compressed, as on disk or S3; a zip entry's compressed size), when known. */
  readonly size?: number;
  /** Last modification, epoch ms, when known. */
  readonly modified?: number;
  /**
   * Content version tag, when known: S3's or the web server's ETag (without quotes); for a
   * zip entry `crc32:XXXXXXXX:SIZE` from the archive's directory.
   */
  readonly etag?: string;
  /** What its first bytes say; 'zip' for an entry of a zip archive. */
  readonly compression?: Compression;
  /** For a zip entry: the archive's uri. */
  readonly archive?: string;
  /** Set when the file was found but cannot be read; open() and head() throw it. */
  readonly error?: InputError;
  /**
   * Standard input: read once, and nothing says one run's from another's (its size is that of
   * whatever was piped), so it is new content every time.
   */
  readonly once?: boolean;
  /**
   * The decompressed bytes, streamed. Each call reads the source again (stdin: once only).
   * Throws InputError ('truncated', 'corrupt', 'too-large', 'io', ...) after delivering the
   * bytes decoded before the problem.
   */
  open(opts?: OpenOptions): AsyncGenerator<Uint8Array>;
  /**
   * The first `n` decompressed bytes (fewer when the data is shorter), for format detection.
   * Served from the bytes read at listing where they suffice; never counted as progress.
   */
  head(n: number): Promise<Uint8Array>;
}

export interface OpenOptions {
  /** Sees every stored (compressed) chunk as it is read: content hashing, progress. */
  onRaw?: (chunk: Uint8Array) => void;
  signal?: AbortSignal;
}

export interface OpenLocationsOptions extends DecompressLimits {
  /** Base for relative paths and globs; default process.cwd(). */
  cwd?: string;
  /** S3 client; default s3ClientFromEnv() (AWS environment, AWS_ENDPOINT_URL_S3), made on first use. */
  s3Client?: S3Client;
  /** Extra trusted CA certificates (PEM) for https, added to Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Allow http:// to any host (default: loopback only). */
  allowHttp?: boolean;
  /** Redirects followed per request; default 5. */
  maxRedirects?: number;
  /** Socket idle timeout for http(s), ms; default 60 000. */
  timeoutMs?: number;
  /** Walk into hidden files and folders ('.name') too; default false. */
  includeHidden?: boolean;
  /** Progress: called with the stored bytes read by open(), file by file. Compare to `size`. */
  onBytes?: (file: InputFile, bytes: number) => void;
  /** Standard input for `-`; default process.stdin. */
  stdin?: AsyncIterable<Uint8Array>;
  /** How many files are probed (first bytes read) ahead of the consumer; default 8. */
  concurrency?: number;
  /** A zip archive that cannot be read by ranges (stdin, a server without Range) is buffered up to this; default 256 MiB. */
  maxBufferedArchiveBytes?: number;
}

/** Stored bytes read at listing to recognise compression and answer head() without a second request. */
const PROBE_LOCAL = 4096;
const PROBE_REMOTE = 64 * 1024;
/**
 * An S3 object up to this size is probed whole, and open() takes it from the probe: the object
 * is then one GET, made ahead of the reader (OpenLocationsOptions.concurrency, at most 16 MiB
 * held at the default 8), where it was a probe ahead and a GET on the reader's path, one round
 * trip per file (an hour's Zeek log is ~100 KB of gzip).
 */
const WHOLE_REMOTE = 2 * 1024 * 1024;
const LOCAL_CHUNK = 1024 * 1024;

/** Source files named by specs, in spec order, each once. See the module comment. */
export async function* openLocations(specs: string[], opts: OpenLocationsOptions = {}): AsyncGenerator<InputFile> {
  const ctx = new Ctx(opts);
  yield* resolveAll(listAll(specs, ctx), ctx);
}

/** Each location specs name, once, in spec order: listed, not read (https excepted, see httpBlob). */
async function* listAll(specs: string[], ctx: Ctx): AsyncGenerator<Blob | InputFile> {
  const seen = new Set<string>();
  for (const spec of specs) {
    for await (const b of listSpec(spec, ctx)) {
      if (seen.has(b.uri)) continue;
      seen.add(b.uri);
      yield b;
    }
  }
}

/** Blobs as input files, their first bytes read `concurrency` ahead of the consumer. */
async function* resolveAll(blobs: AsyncIterable<Blob | InputFile> | Iterable<Blob | InputFile>, ctx: Ctx): AsyncGenerator<InputFile> {
  for await (const files of mapOrdered(blobs, ctx.opts.concurrency ?? 8, (b) => ('open' in b ? Promise.resolve([b]) : resolveBlob(b, ctx)))) {
    yield* files;
  }
}

/** What a listing tells of a location before any of it is read. */
export type Listed = Pick<InputFile, 'uri' | 'size' | 'modified' | 'etag' | 'once'>;

/** What specs name, listed up front; its files are read (and their first bytes probed) as they are taken. */
export interface Located {
  /** Locations listed: files, objects, URLs (a zip archive is one). */
  readonly count: number;
  /** Their stored bytes, where the listing tells (progress's total). */
  readonly bytes: number;
  /**
   * The input files, in spec order, probed `concurrency` ahead of the consumer; once. `known`
   * names those the consumer will not read (unchanged since it read them): they are not probed
   * at all (their `compression` is unknown), so that a re-run over a prefix of a year of logs
   * lists them rather than fetching 64 KiB, or a whole object (WHOLE_REMOTE), of each.
   */
  files(opts?: { known?: (listed: Listed) => boolean }): AsyncGenerator<InputFile>;
}

/**
 * The listing of specs, failing before any file is read when a spec names nothing, with the
 * total size for progress. Files are probed only as they are taken: listLocations probes every
 * file first and holds each one's first bytes until it is read (64 KiB an S3 object or URL),
 * which for an S3 prefix of 1,000 logs was 66 MiB and 6 s before the first file was read, and
 * grows with the prefix.
 */
export async function locate(specs: string[], opts: OpenLocationsOptions = {}): Promise<Located> {
  const ctx = new Ctx(opts);
  const listed: (Blob | InputFile)[] = [];
  for await (const b of listAll(specs, ctx)) listed.push(b);
  let taken = false;
  return {
    count: listed.length,
    bytes: listed.reduce((n, b) => n + (b.size ?? 0), 0),
    files({ known } = {}) {
      if (taken) throw new Error('locate(): files() can be taken once');
      taken = true;
      const blobs = listed.splice(0);
      if (known) for (const b of blobs) if (!('open' in b) && !b.prefetched && known(b)) b.probeBytes = 0;
      return resolveAll(blobs, ctx);
    },
  };
}

/**
 * All of openLocations at once: fails before any reading when a spec names nothing. Holds the
 * first bytes of every file until it is read (an S3 object up to 2 MiB whole): for many files,
 * locate().
 */
export async function listLocations(specs: string[], opts: OpenLocationsOptions = {}): Promise<InputFile[]> {
  const out: InputFile[] = [];
  for await (const f of openLocations(specs, opts)) out.push(f);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shared state

class Ctx {
  readonly cwd: string;
  readonly limits: Required<DecompressLimits>;
  private s3: S3Client | undefined;
  readonly ca: Array<string | Buffer> | undefined;
  stdinUsed = false;

  constructor(readonly opts: OpenLocationsOptions) {
    this.cwd = path.resolve(opts.cwd ?? process.cwd());
    this.limits = {
      maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_LIMITS.maxOutputBytes,
      maxRatio: opts.maxRatio ?? DEFAULT_LIMITS.maxRatio,
      ratioGraceBytes: opts.ratioGraceBytes ?? DEFAULT_LIMITS.ratioGraceBytes,
      maxLayers: opts.maxLayers ?? DEFAULT_LIMITS.maxLayers,
    };
    this.s3 = opts.s3Client;
    const extra = opts.ca === undefined ? undefined : Array.isArray(opts.ca) ? opts.ca : [opts.ca];
    this.ca = extra ? [...rootCertificates, ...extra] : undefined;
  }

  get stdinSource(): AsyncIterable<Uint8Array> {
    return this.opts.stdin ?? process.stdin;
  }

  get s3Client(): S3Client {
    this.s3 ??= s3ClientFromEnv();
    return this.s3;
  }

  get timeoutMs(): number {
    return this.opts.timeoutMs ?? 60_000;
  }
}

/** Stored bytes of one location, before decompression. */
interface Blob {
  readonly uri: string;
  size?: number;
  modified?: number;
  etag?: string;
  /** True when read(start, end) fetches only that range. */
  ranged: boolean;
  /** Bytes read ahead (at listing), reused by the probe. */
  prefetched?: Buffer;
  /**
   * Every read asks for the version listed (If-Match on its ETag), so a probe that holds the
   * whole of it is the file, and open() serves it without reading again.
   */
  pinned?: boolean;
  /** Standard input (InputFile.once). */
  once?: boolean;
  /** Stored bytes [start, end); end undefined: to the end. */
  read(start?: number, end?: number, signal?: AbortSignal): AsyncIterable<Buffer>;
  probeBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Specs → blobs

const GLOB_CHARS = /[*?[\]{}]/;

async function* listSpec(spec: string, ctx: Ctx): AsyncGenerator<Blob | InputFile> {
  if (spec === '-') {
    yield stdinBlob(ctx);
    return;
  }
  if (/^s3:\/\//i.test(spec)) {
    yield* listS3(spec, ctx);
    return;
  }
  if (/^https?:\/\//i.test(spec)) {
    yield await httpBlob(spec, ctx);
    return;
  }
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(spec) && !/^file:/i.test(spec)) {
    throw new InputError('invalid', `${spec}: unsupported location (use a path, s3://, https:// or -)`, { uri: spec });
  }
  const p = /^file:/i.test(spec) ? fileURLToPath(spec) : path.resolve(ctx.cwd, spec);
  const st = await statOrUndefined(p);
  if (st) {
    if (st.isDirectory()) yield* walk(p, ctx);
    else yield localBlob(p, st);
    return;
  }
  if (GLOB_CHARS.test(spec) && !/^file:/i.test(spec)) {
    const matches = await glob(p.split(path.sep).join('/'), {
      absolute: true,
      onlyFiles: false,
      dot: ctx.opts.includeHidden ?? false,
      expandDirectories: false,
      followSymbolicLinks: true,
    });
    if (matches.length === 0) throw new InputError('missing', `no files match ${spec}`, { uri: spec });
    matches.sort();
    for (const m of matches) {
      const mp = path.resolve(m);
      const mst = await statOrUndefined(mp);
      if (!mst) continue;
      if (mst.isDirectory()) yield* walk(mp, ctx);
      else if (mst.isFile()) yield localBlob(mp, mst);
    }
    return;
  }
  // Tell "no such file" from "cannot look" (permissions on a parent folder).
  try {
    await fs.stat(p);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InputError('missing', `no such file or folder: ${spec}${spec === p ? '' : ` (${p})`}`, { uri: p, cause: e });
    }
    throw new InputError('io', `cannot access ${p}: ${errorText(e)}`, { uri: p, cause: e });
  }
}

async function statOrUndefined(p: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await fs.stat(p);
  } catch {
    return undefined;
  }
}

async function* walk(dir: string, ctx: Ctx): AsyncGenerator<Blob | InputFile> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    yield failedFile(ctx, dir, new InputError('io', `cannot list folder ${dir}: ${errorText(e)}`, { uri: dir, cause: e }));
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of entries) {
    if (!ctx.opts.includeHidden && d.name.startsWith('.')) continue;
    const p = path.join(dir, d.name);
    if (d.isDirectory()) {
      yield* walk(p, ctx);
    } else if (d.isFile() || d.isSymbolicLink()) {
      let st;
      try {
        st = await fs.stat(p);
      } catch (e) {
        if (d.isSymbolicLink()) continue; // a dangling link
        yield failedFile(ctx, p, new InputError('io', `cannot read ${p}: ${errorText(e)}`, { uri: p, cause: e }));
        continue;
      }
      if (st.isFile()) yield localBlob(p, st); // links to folders are not followed
    }
  }
}

function localBlob(p: string, st: import('node:fs').Stats): Blob {
  return {
    uri: p,
    size: st.size,
    modified: st.mtimeMs,
    ranged: true,
    probeBytes: PROBE_LOCAL,
    read(start = 0, end?: number): AsyncIterable<Buffer> {
      return readLocal(p, start, end);
    },
  };
}

async function* readLocal(p: string, start: number, end: number | undefined): AsyncGenerator<Buffer> {
  if (end !== undefined && end <= start) return;
  const stream = createReadStream(p, { start, ...(end !== undefined ? { end: end - 1 } : {}), highWaterMark: LOCAL_CHUNK });
  let at = start;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      at += chunk.length;
      yield chunk;
    }
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT') throw new InputError('missing', `${p}: no such file (removed since it was listed?)`, { uri: p, cause: e });
    throw new InputError('io', `${p}: read failed at byte ${at}: ${errorText(e)}`, { uri: p, position: at, cause: e });
  } finally {
    stream.destroy();
  }
}

// --- S3

async function* listS3(spec: string, ctx: Ctx): AsyncGenerator<Blob> {
  let bucket: string;
  let prefix: string;
  try {
    ({ bucket, prefix } = parseS3Url(spec));
  } catch (e) {
    throw new InputError('invalid', errorText(e), { uri: spec, cause: e });
  }
  const client = ctx.s3Client;
  const pattern = GLOB_CHARS.test(prefix);
  const literal = pattern ? prefix.slice(0, prefix.search(GLOB_CHARS)) : prefix;
  const match = pattern ? picomatch(prefix, { dot: ctx.opts.includeHidden ?? false }) : undefined;
  const hidden = (rel: string): boolean => !ctx.opts.includeHidden && rel.split('/').some((seg) => seg.startsWith('.'));
  let token: string | undefined;
  let found = 0;
  do {
    let page;
    try {
      page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, ...(literal ? { Prefix: literal } : {}), ...(token ? { ContinuationToken: token } : {}) }),
      );
    } catch (e) {
      throw s3Error(e, `s3://${bucket}/${literal}`, 'list');
    }
    for (const obj of page.Contents ?? []) {
      const key = obj.Key;
      if (key === undefined || key.endsWith('/')) continue;
      if (match) {
        if (!match(key)) continue;
      } else if (prefix) {
        if (key !== prefix && !key.startsWith(prefix + '/')) continue;
        if (key !== prefix && hidden(key.slice(prefix.length + 1))) continue;
      } else if (hidden(key)) {
        continue;
      }
      found++;
      yield s3Blob(ctx, bucket, key, obj.Size, obj.LastModified?.getTime(), obj.ETag);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (found === 0) {
    throw new InputError('missing', pattern ? `no objects match ${spec}` : `no objects at ${spec}`, { uri: spec });
  }
}

function s3Blob(ctx: Ctx, bucket: string, key: string, size: number | undefined, modified: number | undefined, etag: string | undefined): Blob {
  const uri = `s3://${bucket}/${key}`;
  const blob: Blob = {
    uri,
    ...(size !== undefined ? { size } : {}),
    ...(modified !== undefined ? { modified } : {}),
    ...(etag ? { etag: etag.replace(/^"|"$/g, '') } : {}),
    ranged: true,
    pinned: !!etag,
    probeBytes: etag && size !== undefined && size <= WHOLE_REMOTE ? size : PROBE_REMOTE,
    read(start = 0, end?: number, signal?: AbortSignal): AsyncIterable<Buffer> {
      return readS3(ctx.s3Client, bucket, key, uri, etag, size, start, end, signal);
    },
  };
  return blob;
}

async function* readS3(
  client: S3Client,
  bucket: string,
  key: string,
  uri: string,
  etag: string | undefined,
  size: number | undefined,
  start: number,
  end: number | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const last = end === undefined ? (size ?? Infinity) : Math.min(end, size ?? end);
  if (last <= start || size === 0) return;
  const range = start > 0 || end !== undefined ? `bytes=${start}-${last === Infinity ? '' : last - 1}` : undefined;
  let at = start;
  let body: AsyncIterable<Uint8Array> & { destroy?: () => void };
  try {
    const out = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: range } : {}), ...(etag ? { IfMatch: etag } : {}) }),
      signal ? { abortSignal: signal } : {},
    );
    if (!out.Body) return;
    body = out.Body as unknown as AsyncIterable<Uint8Array> & { destroy?: () => void };
  } catch (e) {
    throw s3Error(e, uri, 'read');
  }
  try {
    for await (const chunk of body) {
      at += chunk.byteLength;
      yield asBuffer(chunk);
    }
  } catch (e) {
    throw new InputError('io', `${uri}: read failed at byte ${at}: ${errorText(e)}`, { uri, position: at, cause: e });
  } finally {
    body.destroy?.();
  }
  if (last !== Infinity && at < last) {
    throw new InputError('io', `${uri}: connection ended at byte ${at} of ${last}`, { uri, position: at });
  }
}

function s3Error(e: unknown, uri: string, what: 'list' | 'read'): InputError {
  if (e instanceof InputError) return e;
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  const detail = `${err.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}${e instanceof Error && e.message && e.message !== err.name ? `: ${e.message}` : ''}`;
  if (err.name === 'NoSuchBucket') return new InputError('missing', `${uri}: no such bucket`, { uri, cause: e });
  if (what === 'read' && (err.name === 'NoSuchKey' || status === 404)) {
    return new InputError('missing', `${uri}: no such object (deleted since it was listed?)`, { uri, cause: e });
  }
  if (status === 412 || err.name === 'PreconditionFailed') {
    return new InputError('changed', `${uri}: the object changed since it was listed (ETag differs); list it again`, { uri, cause: e });
  }
  return new InputError('io', `${uri}: S3 ${what === 'list' ? 'listing' : 'read'} failed: ${detail}`, { uri, cause: e });
}

// --- http(s)

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1';
}

function checkUrl(url: URL, ctx: Ctx, original: string): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (ctx.opts.allowHttp || isLoopback(url.hostname))) return;
  throw new InputError(
    'refused',
    url.protocol === 'http:'
      ? `${original}: plain http:// to ${url.host} is refused (${url.href}); use https:// or allowHttp`
      : `${original}: unsupported protocol ${url.protocol} (${url.href})`,
    { uri: original },
  );
}

interface HttpAnswer {
  res: http.IncomingMessage;
  /** When the request had a Range and the server honoured it. */
  partial: boolean;
}

/** GET with redirects; resolves on the final response headers (status 200, 206 or 416). */
async function httpGet(uri: string, ctx: Ctx, range: string | undefined, signal: AbortSignal | undefined): Promise<HttpAnswer> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (e) {
    throw new InputError('invalid', `${uri}: not a valid URL`, { uri, cause: e });
  }
  const maxRedirects = ctx.opts.maxRedirects ?? 5;
  for (let hop = 0; ; hop++) {
    checkUrl(url, ctx, uri);
    const res = await requestOnce(url, uri, ctx, range, signal);
    const status = res.statusCode ?? 0;
    if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
      res.resume();
      if (hop >= maxRedirects) throw new InputError('io', `${uri}: more than ${maxRedirects} redirects`, { uri });
      url = new URL(res.headers.location, url);
      continue;
    }
    if (status === 200 || status === 206 || (status === 416 && range)) return { res, partial: status === 206 || status === 416 };
    res.resume();
    const what = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${url.href !== uri ? ` (from ${url.href})` : ''}`;
    if (status === 404 || status === 410) throw new InputError('missing', `${uri}: not found: ${what}`, { uri });
    throw new InputError('io', `${uri}: ${what}`, { uri });
  }
}

function requestOnce(url: URL, uri: string, ctx: Ctx, range: string | undefined, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'accept-encoding': 'identity', 'user-agent': 'certhunt' };
    if (range) headers.range = range;
    const options: https.RequestOptions = { headers, ...(signal ? { signal } : {}) };
    if (url.protocol === 'https:' && ctx.ca) options.ca = ctx.ca;
    const req = (url.protocol === 'https:' ? https : http).request(url, options, resolve);
    req.setTimeout(ctx.timeoutMs, () => req.destroy(new Error(`no answer for ${ctx.timeoutMs} ms`)));
    req.on('error', (e) => reject(new InputError('io', `${uri}: ${errorText(e)}${url.href !== uri ? ` (at ${url.href})` : ''}`, { uri, cause: e })));
    req.end();
  });
}

/** Probes the URL with a ranged GET: learns size, date and ETag, keeps the first bytes. */
async function httpBlob(uri: string, ctx: Ctx): Promise<Blob> {
  const blob: Blob = {
    uri,
    ranged: false,
    probeBytes: PROBE_REMOTE,
    read(start = 0, end?: number, signal?: AbortSignal): AsyncIterable<Buffer> {
      return readHttp(blob, ctx, start, end, signal);
    },
  };
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of readHttp(blob, ctx, 0, PROBE_REMOTE, undefined)) {
    chunks.push(c);
    n += c.length;
  }
  blob.prefetched = Buffer.concat(chunks, n);
  return blob;
}

function headerDate(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

async function* readHttp(blob: Blob, ctx: Ctx, start: number, end: number | undefined, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  if (end !== undefined && end <= start) return;
  if (blob.size !== undefined && start >= blob.size) return;
  const ranged = start > 0 || end !== undefined;
  const { res, partial } = await httpGet(blob.uri, ctx, ranged ? `bytes=${start}-${end === undefined ? '' : end - 1}` : undefined, signal);
  const uri = blob.uri;
  // What the answer says about the whole file.
  let total: number | undefined;
  if (res.statusCode === 206 || res.statusCode === 416) {
    const m = /\/(\d+)\s*$/.exec(String(res.headers['content-range'] ?? ''));
    if (m) total = Number(m[1]);
  } else if (res.headers['content-length'] !== undefined) {
    total = Number(res.headers['content-length']);
  }
  const etag = typeof res.headers.etag === 'string' ? res.headers.etag.replace(/^W\//, '').replace(/^"|"$/g, '') : undefined;
  if (blob.etag !== undefined && etag !== undefined && etag !== blob.etag) {
    res.destroy();
    throw new InputError('changed', `${uri}: the resource changed since it was first read (ETag ${blob.etag} → ${etag})`, { uri });
  }
  if (total !== undefined && Number.isFinite(total)) blob.size = total;
  blob.etag ??= etag;
  blob.modified ??= headerDate(res.headers['last-modified']);
  if (res.statusCode === 206) blob.ranged = true;
  if (res.statusCode === 416) {
    res.resume();
    return;
  }
  // A server that ignored the Range sends everything: skip to `start`, stop at `end`.
  let skip = partial ? 0 : start;
  let left = end === undefined ? Infinity : end - start;
  let at = partial ? start : 0;
  const expected = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
  let got = 0;
  try {
    for await (const raw of res as AsyncIterable<Buffer>) {
      got += raw.length;
      at += raw.length;
      let chunk = raw;
      if (skip > 0) {
        const drop = Math.min(skip, chunk.length);
        skip -= drop;
        chunk = chunk.subarray(drop);
      }
      if (chunk.length === 0) continue;
      if (chunk.length >= left) {
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
      yield chunk;
    }
  } catch (e) {
    throw new InputError('io', `${uri}: read failed at byte ${at}: ${errorText(e)}`, { uri, position: at, cause: e });
  } finally {
    res.destroy();
  }
  if (expected !== undefined && got < expected) {
    throw new InputError('io', `${uri}: connection closed at byte ${at}, ${expected - got} bytes short`, { uri, position: at });
  }
}

// --- stdin

/** Standard input, readable once; the bytes read by probes and head() are replayed by open(). */
function stdinBlob(ctx: Ctx): Blob {
  if (ctx.stdinUsed) throw new InputError('invalid', `'-' (standard input) can be given only once`, { uri: 'stdin:' });
  ctx.stdinUsed = true;
  const it = ctx.stdinSource[Symbol.asyncIterator]();
  const kept: Buffer[] = [];
  let keptLen = 0;
  let done = false;
  let opened = false;
  const fill = async (n: number): Promise<Buffer> => {
    while (keptLen < n && !done) {
      let r;
      try {
        r = await it.next();
      } catch (e) {
        done = true;
        throw new InputError('io', `stdin: read failed at byte ${keptLen}: ${errorText(e)}`, { uri: 'stdin:', position: keptLen, cause: e });
      }
      if (r.done) done = true;
      else {
        const b = Buffer.from(r.value); // a copy: stdin chunks are not ours to keep
        kept.push(b);
        keptLen += b.length;
      }
    }
    return Buffer.concat(kept, keptLen).subarray(0, n);
  };
  const blob: Blob & { fill: typeof fill; complete: () => boolean } = {
    uri: 'stdin:',
    ranged: false,
    once: true,
    probeBytes: PROBE_REMOTE,
    fill,
    complete: () => done,
    read(start = 0, end?: number): AsyncIterable<Buffer> {
      if (end !== undefined && !opened && start === 0) {
        return (async function* () {
          yield await fill(end);
        })();
      }
      if (opened || start !== 0) {
        throw new InputError('invalid', 'stdin: standard input can be read only once', { uri: 'stdin:' });
      }
      opened = true;
      return (async function* () {
        let at = 0;
        while (kept.length > 0) {
          const b = kept.shift()!;
          at += b.length;
          yield b;
        }
        keptLen = 0;
        while (!done) {
          let r;
          try {
            r = await it.next();
          } catch (e) {
            throw new InputError('io', `stdin: read failed at byte ${at}: ${errorText(e)}`, { uri: 'stdin:', position: at, cause: e });
          }
          if (r.done) break;
          at += r.value.byteLength;
          yield asBuffer(r.value);
        }
        done = true;
      })();
    },
  };
  return blob;
}

// ---------------------------------------------------------------------------------------------
// Blobs → input files

async function resolveBlob(blob: Blob, ctx: Ctx): Promise<InputFile[]> {
  let probe: Buffer;
  try {
    if (blob.prefetched) {
      probe = blob.prefetched;
      delete blob.prefetched;
    } else {
      probe = await collect(blob.read(0, blob.probeBytes));
    }
  } catch (e) {
    return [failedFile(ctx, blob.uri, toInputError(e, blob.uri), blob)];
  }
  const complete = blob.size !== undefined ? probe.length >= blob.size : probe.length < blob.probeBytes || isCompleteStdin(blob);
  // Not probed (Located.files, `known`): what it holds is found if it is ever read.
  if (blob.probeBytes === 0 && !complete) return [new BlobFile(blob, ctx, undefined, probe, false)];
  const kind = sniffCompression(probe);
  const unsupported = unsupportedReason(kind);
  if (unsupported) {
    return [failedFile(ctx, blob.uri, new InputError('unsupported', `${blob.uri}: ${unsupported}`, { uri: blob.uri, position: 0 }), blob, kind)];
  }
  if (kind !== 'zip') return [new BlobFile(blob, ctx, kind, probe, complete)];
  let archive: ZipArchive;
  try {
    archive = await openArchive(blob, ctx, probe, complete);
  } catch (e) {
    return [failedFile(ctx, blob.uri, toInputError(e, blob.uri), blob, 'zip')];
  }
  return archive.entries.map((entry) => new ZipEntryFile(blob, archive, entry, ctx));
}

function isCompleteStdin(blob: Blob): boolean {
  return 'complete' in blob && (blob as { complete: () => boolean }).complete();
}

async function openArchive(blob: Blob, ctx: Ctx, probe: Buffer, complete: boolean): Promise<ZipArchive> {
  const zipOpts = { maxRatio: ctx.limits.maxRatio, ratioGraceBytes: ctx.limits.ratioGraceBytes };
  if (complete) return openZip({ uri: blob.uri, buffer: probe }, zipOpts);
  if (blob.ranged && blob.size !== undefined) {
    const src: RangeSource = { uri: blob.uri, size: blob.size, read: (s, e) => blob.read(s, e) };
    return openZip(src, zipOpts);
  }
  // stdin, or a server that ignores Range: hold the archive in memory, within a cap.
  const cap = ctx.opts.maxBufferedArchiveBytes ?? 256 * 1024 * 1024;
  if (blob.size !== undefined && blob.size > cap) {
    throw new InputError('unsupported', `${blob.uri}: a ${blob.size}-byte zip archive that cannot be read by ranges (over the ${cap}-byte buffer cap); download it first`, { uri: blob.uri });
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of blob.read(0)) {
    n += c.length;
    if (n > cap) {
      throw new InputError('unsupported', `${blob.uri}: a zip archive that cannot be read by ranges, over the ${cap}-byte buffer cap; download it first`, { uri: blob.uri });
    }
    chunks.push(c);
  }
  return openZip({ uri: blob.uri, buffer: Buffer.concat(chunks, n) }, zipOpts);
}

abstract class BaseFile implements InputFile {
  abstract readonly uri: string;
  error?: InputError;
  private headBytes: Buffer | undefined;
  private headComplete = false;

  constructor(protected readonly ctx: Ctx) {}

  /** Decompressed bytes; `hooks` false for head(), which is not progress. */
  protected abstract stream(opts: OpenOptions, hooks: boolean): AsyncGenerator<Buffer>;

  /** The head from bytes already at hand, when they suffice. */
  protected async headFromProbe(_n: number): Promise<{ bytes: Buffer; complete: boolean } | undefined> {
    return undefined;
  }

  open(opts: OpenOptions = {}): AsyncGenerator<Uint8Array> {
    // Read for real now: the head is not needed again. A run lists every file first and keeps
    // them; their heads kept ~0.7 MB each (a read's first chunk), 490 MB over 720 hourly logs.
    this.headBytes = undefined;
    this.headComplete = false;
    return this.stream(opts, true);
  }

  async head(n: number): Promise<Uint8Array> {
    if (this.error) throw this.error;
    if (this.headBytes && (this.headBytes.length >= n || this.headComplete)) return this.headBytes.subarray(0, n);
    let got = await this.headFromProbe(n);
    if (!got || (got.bytes.length < n && !got.complete)) got = await collectHead(this.stream({}, false), n);
    // Only the n bytes asked for are kept: the chunks read hold more.
    this.headBytes = got.bytes.length > n ? Buffer.from(got.bytes.subarray(0, n)) : got.bytes;
    this.headComplete = got.complete && got.bytes.length <= n;
    return this.headBytes;
  }

  protected counted(raw: AsyncIterable<Buffer>, opts: OpenOptions, hooks: boolean): AsyncIterable<Buffer> {
    const onBytes = hooks ? this.ctx.opts.onBytes : undefined;
    const onRaw = hooks ? opts.onRaw : undefined;
    if (!onBytes && !onRaw) return raw;
    const self = this;
    return (async function* () {
      for await (const chunk of raw) {
        onRaw?.(chunk);
        onBytes?.(self, chunk.length);
        yield chunk;
      }
    })();
  }
}

class BlobFile extends BaseFile {
  readonly uri: string;
  readonly size?: number;
  readonly modified?: number;
  readonly etag?: string;
  readonly compression?: Compression;
  readonly once?: boolean;
  private probe: Buffer | undefined;

  constructor(
    private readonly blob: Blob,
    ctx: Ctx,
    compression: Compression | undefined,
    probe: Buffer,
    private readonly probeComplete: boolean,
  ) {
    super(ctx);
    this.uri = blob.uri;
    if (blob.size !== undefined) this.size = blob.size;
    else if (probeComplete) this.size = probe.length;
    if (blob.modified !== undefined) this.modified = blob.modified;
    if (blob.etag !== undefined) this.etag = blob.etag;
    if (blob.once) this.once = true;
    if (compression) this.compression = compression;
    this.probe = probe;
  }

  protected override async headFromProbe(n: number): Promise<{ bytes: Buffer; complete: boolean } | undefined> {
    let probe = this.probe;
    let complete = this.probeComplete;
    const stdin = this.blob as Blob & { fill?: (n: number) => Promise<Buffer>; complete?: () => boolean };
    for (let want = Math.max(n, PROBE_REMOTE); ; want *= 4) {
      if (!probe) return undefined;
      let got: { bytes: Buffer; complete: boolean };
      try {
        got = await collectHead(decompress(one(probe), { ...this.ctx.limits, uri: this.uri, prefix: !complete }), n);
      } catch (e) {
        if (complete) throw e;
        return undefined;
      }
      if (got.bytes.length >= n) return { bytes: got.bytes, complete: got.complete && complete };
      if (complete) return { bytes: got.bytes, complete: true };
      // Standard input cannot be read twice: read more of it into the replay buffer instead.
      if (!stdin.fill || want > 64 * 1024 * 1024) return undefined;
      probe = await stdin.fill(want);
      complete = stdin.complete?.() ?? false;
      this.probe = probe;
    }
  }

  protected override async *stream(opts: OpenOptions, hooks: boolean): AsyncGenerator<Buffer> {
    if (this.error) throw this.error;
    if (!hooks && 'fill' in this.blob) {
      throw new InputError('invalid', 'stdin: cannot peek further into standard input', { uri: this.uri });
    }
    const whole = this.blob.pinned && this.probeComplete ? this.probe : undefined;
    this.probe = undefined; // reading for real now: let the probe go
    const raw = this.counted(whole ? one(whole) : this.blob.read(0, undefined, opts.signal), opts, hooks);
    yield* decompress(raw, { ...this.ctx.limits, uri: this.uri });
  }
}

class ZipEntryFile extends BaseFile {
  readonly uri: string;
  readonly size: number;
  readonly modified?: number;
  readonly etag: string;
  readonly compression: Compression = 'zip';
  readonly archive: string;

  constructor(
    blob: Blob,
    private readonly zip: ZipArchive,
    private readonly entry: ZipEntry,
    ctx: Ctx,
  ) {
    super(ctx);
    this.archive = blob.uri;
    this.uri = `${blob.uri}!/${entry.name}`;
    this.size = entry.compressedSize;
    if (entry.modified) this.modified = entry.modified;
    this.etag = `crc32:${(entry.crc32 >>> 0).toString(16).padStart(8, '0')}:${entry.uncompressedSize}`;
    const problem = zipEntryProblem(entry);
    if (problem) this.error = new InputError('unsupported', `${this.uri}: ${problem}`, { uri: this.uri });
  }

  protected override async *stream(opts: OpenOptions, hooks: boolean): AsyncGenerator<Buffer> {
    if (this.error) throw this.error;
    const raw = this.counted(this.zip.openRaw(this.entry) as AsyncIterable<Buffer>, opts, hooks);
    yield* decompress(raw, {
      ...this.ctx.limits,
      uri: this.uri,
      rawDeflate: this.entry.method === 8,
      expectedSize: this.entry.uncompressedSize,
      expectedCrc32: this.entry.crc32,
    });
  }
}

class FailedFile extends BaseFile {
  readonly size?: number;
  readonly modified?: number;
  readonly etag?: string;
  readonly compression?: Compression;

  constructor(
    readonly uri: string,
    override readonly error: InputError,
    ctx: Ctx,
    blob?: Blob,
    compression?: Compression,
  ) {
    super(ctx);
    if (blob?.size !== undefined) this.size = blob.size;
    if (blob?.modified !== undefined) this.modified = blob.modified;
    if (blob?.etag !== undefined) this.etag = blob.etag;
    if (compression) this.compression = compression;
  }

  // eslint-disable-next-line require-yield
  protected override async *stream(): AsyncGenerator<Buffer> {
    throw this.error;
  }
}

function failedFile(ctx: Ctx, uri: string, error: InputError, blob?: Blob, compression?: Compression): InputFile {
  return new FailedFile(uri, error, ctx, blob, compression);
}

function toInputError(e: unknown, uri: string): InputError {
  return e instanceof InputError ? e : new InputError('io', `${uri}: ${errorText(e)}`, { uri, cause: e });
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function* one(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    chunks.push(c);
    n += c.length;
  }
  return Buffer.concat(chunks, n);
}

/** At least `n` bytes of a stream (or all of it), then stops reading it. */
async function collectHead(src: AsyncIterable<Uint8Array>, n: number): Promise<{ bytes: Buffer; complete: boolean }> {
  const chunks: Buffer[] = [];
  let len = 0;
  let complete = true;
  try {
    for await (const c of src) {
      chunks.push(asBuffer(c));
      len += c.byteLength;
      if (len >= n) {
        complete = false;
        break;
      }
    }
  } catch (e) {
    // Bytes before a problem still tell the format; open() will report the problem.
    if (len === 0) throw e;
  }
  return { bytes: Buffer.concat(chunks, len), complete };
}

/**
 * fn over a stream, up to `n` calls in flight, results in input order. When the stream itself
 * fails, the results of what came before it are yielded first, then its error is thrown.
 */
async function* mapOrdered<T, R>(src: AsyncIterable<T> | Iterable<T>, n: number, fn: (t: T) => Promise<R>): AsyncGenerator<R> {
  const it: AsyncIterator<T> | Iterator<T> = Symbol.asyncIterator in src ? src[Symbol.asyncIterator]() : src[Symbol.iterator]();
  const queue: Promise<R>[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  try {
    for (;;) {
      while (!done && queue.length < Math.max(1, n)) {
        let r: IteratorResult<T>;
        try {
          r = await it.next();
        } catch (error) {
          failure = { error };
          done = true;
          break;
        }
        if (r.done) {
          done = true;
          break;
        }
        const p = fn(r.value);
        p.catch(() => undefined); // handled when its turn comes
        queue.push(p);
      }
      const next = queue.shift();
      if (!next) break;
      yield await next;
    }
  } finally {
    if (!done) await it.return?.(undefined);
  }
  if (failure) throw failure.error;
}

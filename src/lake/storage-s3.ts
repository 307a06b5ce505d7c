import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { DeltaError } from './error.js';
import type { FileInfo, Storage } from './storage.js';

/** `s3://bucket/some/prefix` → { bucket: 'bucket', prefix: 'some/prefix' } (no leading or trailing '/'). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url.trim());
  const bucket = m?.[1];
  if (!m || !bucket) throw new DeltaError('invalid', `not an s3:// URL: ${JSON.stringify(url)}`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((seg) => seg === '..' || seg === '.' || (prefix !== '' && seg === ''))) {
    throw new DeltaError('invalid', `bad S3 prefix in ${JSON.stringify(url)}`);
  }
  return { bucket, prefix };
}

/**
 * An S3 client configured from the usual AWS environment: credentials from the SDK's default
 * provider chain (env, profiles, SSO, web identity, instance metadata...), region from
 * AWS_REGION, AWS_DEFAULT_REGION or the profile, else us-east-1; endpoint from
 * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, with path-style addressing for such custom
 * (S3-compatible) endpoints.
 */
export function s3ClientFromEnv(): S3Client {
  const env = process.env;
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  // A client built without a region resolves it the SDK's way (AWS_REGION, then the profile's
  // config file) and throws when there is none; borrow that provider and add the fallbacks.
  const probe = new S3Client({});
  const sdkRegion = probe.config.region;
  const region = async (): Promise<string> => {
    if (env.AWS_REGION) return env.AWS_REGION;
    if (env.AWS_DEFAULT_REGION) return env.AWS_DEFAULT_REGION;
    try {
      const r = await sdkRegion();
      if (r) return r;
    } catch {
      // no region configured anywhere
    }
    return 'us-east-1';
  };
  return new S3Client({
    region,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
}

export interface S3StorageOptions {
  /** Defaults to s3ClientFromEnv(). */
  client?: S3Client;
  /** Where localPath downloads and stagingPath scratch files go; default os.tmpdir()/certhunt-s3-cache. */
  cacheDir?: string;
  /** MaxKeys of each ListObjectsV2 page (S3's default, 1000, when unset); small values for tests. */
  pageSize?: number;
}

/** How many times putIfAbsent retries a 409 ConditionalRequestConflict before giving up. */
const CONFLICT_RETRIES = 4;

/** How many times putFile sends a file when the failures look transient. */
const UPLOAD_ATTEMPTS = 3;

/** A table (or lake) under an S3 prefix. */
export class S3Storage implements Storage {
  readonly root: string;
  readonly writesInPlace = false;

  /** Objects are durable once PutObject returns; nothing is written in place. */
  async sync(): Promise<void> {}
  readonly bucket: string;
  /** Key prefix of the root, without trailing '/'; '' for the bucket's root. */
  readonly prefix: string;
  readonly client: S3Client;
  readonly cacheDir: string;
  private readonly pageSize: number | undefined;
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(url: string, options: S3StorageOptions = {}) {
    const { bucket, prefix } = parseS3Url(url);
    this.bucket = bucket;
    this.prefix = prefix;
    this.root = prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`;
    this.client = options.client ?? s3ClientFromEnv();
    this.cacheDir = path.resolve(options.cacheDir ?? path.join(os.tmpdir(), 'certhunt-s3-cache'));
    this.pageSize = options.pageSize;
  }

  private key(p: string): string {
    return this.prefix ? `${this.prefix}/${p}` : p;
  }

  /** The s3:// URL of an object, for messages. */
  url(p: string): string {
    return `s3://${this.bucket}/${this.key(p)}`;
  }

  async read(p: string): Promise<Uint8Array> {
    const data = await this.readIfExists(p);
    if (!data) throw new DeltaError('missing-file', 'file not found', { file: this.url(p) });
    return data;
  }

  async readIfExists(p: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(p) }));
      if (!out.Body) return new Uint8Array(0);
      return await out.Body.transformToByteArray();
    } catch (e) {
      if (isNoSuchKey(e)) return undefined;
      throw this.fail('read', p, e);
    }
  }

  async list(prefix: string, options: { startAfter?: string } = {}): Promise<FileInfo[]> {
    const keyPrefix = this.key(prefix);
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    const after = options.startAfter;
    const out: FileInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page: ListObjectsV2CommandOutput = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: keyPrefix,
            ...(token ? { ContinuationToken: token } : after !== undefined ? { StartAfter: this.key(after) } : {}),
            ...(this.pageSize ? { MaxKeys: this.pageSize } : {}),
          }),
        );
        for (const obj of page.Contents ?? []) {
          const key = obj.Key;
          // Keys ending in '/' are "folder" markers made by consoles and tools, not files.
          if (key === undefined || key.endsWith('/') || !key.startsWith(keyPrefix)) continue;
          out.push({ path: key.slice(strip), size: obj.Size ?? 0, modified: obj.LastModified?.getTime() ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.fail('list', prefix, e);
    }
    // S3 orders keys by UTF-8 bytes; sort and filter as FsStorage does (UTF-16 order) so that
    // both backends agree even on exotic names.
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return after === undefined ? out : out.filter((f) => f.path > after);
  }

  async putIfAbsent(p: string, data: Uint8Array): Promise<boolean> {
    const Key = this.key(p);
    let retried = false;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key, Body: data, ContentLength: data.byteLength, IfNoneMatch: '*' }),
        );
        return true;
      } catch (e) {
        if (attempts(e) > 1) retried = true;
        if (isStatus(e, 412, 'PreconditionFailed')) {
          // When a request was sent more than once (the SDK retries timeouts and 5xx), the 412
          // may answer our own earlier attempt that did land: then the object holds our bytes.
          if (retried) {
            const there = await this.readIfExists(p);
            if (there && sameBytes(there, data)) return true;
          }
          return false;
        }
        if (isStatus(e, 409, 'ConditionalRequestConflict')) {
          // A concurrent conditional write on the same key is in flight: retry, then decide
          // from what is there.
          retried = true;
          if (attempt < CONFLICT_RETRIES) {
            await sleep(50 * 2 ** attempt + Math.random() * 50);
            continue;
          }
          const there = await this.readIfExists(p);
          if (there) return sameBytes(there, data);
          throw this.fail('commit', p, e);
        }
        throw this.fail('commit', p, e);
      }
    }
  }

  async put(p: string, data: Uint8Array): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.key(p), Body: data, ContentLength: data.byteLength }),
      );
    } catch (e) {
      throw this.fail('write', p, e);
    }
  }

  async putFile(p: string, localFile: string): Promise<void> {
    let size: number;
    try {
      size = (await fs.stat(localFile)).size;
    } catch (e) {
      throw new DeltaError('storage', `cannot upload ${localFile}: ${String(e)}`, { file: this.url(p), cause: e });
    }
    // The SDK never retries a request whose body is a stream (it cannot rewind it), so
    // transient failures are retried here, each time with a fresh stream.
    for (let attempt = 1; ; attempt++) {
      const body = createReadStream(localFile);
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.key(p), Body: body, ContentLength: size }),
        );
        return;
      } catch (e) {
        if (attempt < UPLOAD_ATTEMPTS && isTransient(e)) {
          await sleep(100 * 2 ** attempt + Math.random() * 100);
          continue;
        }
        throw this.fail(`upload ${localFile}`, p, e);
      } finally {
        body.destroy();
      }
    }
  }

  async delete(p: string): Promise<void> {
    try {
      // S3 answers 204 for a missing key too, like FsStorage's rm --force.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(p) }));
    } catch (e) {
      if (isNoSuchKey(e)) return;
      throw this.fail('delete', p, e);
    }
  }

  async localPath(p: string): Promise<string> {
    const target = this.cachePath(p);
    // Concurrent calls for one file (within this object) share one download.
    let pending = this.inflight.get(target);
    if (!pending) {
      pending = this.toCache(p, target).finally(() => this.inflight.delete(target));
      this.inflight.set(target, pending);
    }
    return pending;
  }

  private async toCache(p: string, target: string): Promise<string> {
    const cached = await statSize(target);
    if (cached !== undefined) {
      let remote: number | undefined;
      try {
        const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(p) }));
        remote = head.ContentLength;
      } catch (e) {
        if (isNoSuchKey(e)) throw new DeltaError('missing-file', 'file not found', { file: this.url(p), cause: e });
        throw this.fail('stat', p, e);
      }
      if (remote === cached) return target;
    }
    await this.download(p, target);
    return target;
  }

  async stagingPath(p: string): Promise<string> {
    const dir = path.join(this.cacheDir, '.staging');
    await mkdirs(dir, this.url(p));
    // Keep the file name (DuckDB picks a format from the extension) behind a unique tag.
    const base = p.slice(p.lastIndexOf('/') + 1) || 'file';
    return path.join(dir, `${randomUUID()}-${base}`);
  }

  /** cacheDir/bucket/key, refusing keys that would climb out of the cache. */
  private cachePath(p: string): string {
    const base = path.join(this.cacheDir, this.bucket);
    const target = path.join(base, ...this.key(p).split('/'));
    if (!target.startsWith(base + path.sep)) {
      throw new DeltaError('invalid', 'object path escapes the cache folder', { file: this.url(p) });
    }
    return target;
  }

  /** Downloads to a private temp file beside `target`, then renames it into place. */
  private async download(p: string, target: string): Promise<void> {
    await mkdirs(path.dirname(target), this.url(p));
    const tmp = `${target}.tmp-${randomUUID()}`;
    try {
      let out;
      try {
        out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(p) }));
      } catch (e) {
        if (isNoSuchKey(e)) throw new DeltaError('missing-file', 'file not found', { file: this.url(p), cause: e });
        throw e;
      }
      if (out.Body) await pipeline(out.Body as Readable, createWriteStream(tmp, { flags: 'wx' }));
      else await fs.writeFile(tmp, new Uint8Array(0), { flag: 'wx' });
      const got = await statSize(tmp);
      if (out.ContentLength !== undefined && got !== out.ContentLength) {
        throw new Error(`short download: ${got} of ${out.ContentLength} bytes`);
      }
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw this.fail('download', p, e);
    }
  }

  private fail(what: string, p: string, e: unknown): DeltaError {
    if (e instanceof DeltaError) return e;
    return new DeltaError('storage', `cannot ${what}: ${describe(e)}`, { file: this.url(p), cause: e });
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const msg = e.message && e.message !== e.name && e.message !== 'UnknownError' ? `: ${e.message}` : '';
    return `${e.name}${status ? ` (HTTP ${status})` : ''}${msg}`;
  }
  return String(e);
}

function isStatus(e: unknown, status: number, name: string): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } };
  return err.$metadata?.httpStatusCode === status || err.name === name || err.Code === name;
}

function isNoSuchKey(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  // HeadObject has no body, so a missing key there is a bare 404 'NotFound'. NoSuchBucket is a
  // 404 too, but it is a storage error, not a missing file.
  if (err.name === 'NoSuchKey' || err.name === 'NotFound') return true;
  return err.$metadata?.httpStatusCode === 404 && err.name !== 'NoSuchBucket';
}

/** Network failures, throttling and server-side errors: worth sending again. */
function isTransient(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { name?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  if (err.$retryable) return true;
  if (status === undefined) return !(e instanceof DeltaError); // no HTTP answer: a network error
  return status >= 500 || status === 429 || err.name === 'RequestTimeout' || err.name === 'SlowDown';
}

function attempts(e: unknown): number {
  if (typeof e !== 'object' || e === null) return 1;
  return (e as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function statSize(file: string): Promise<number | undefined> {
  try {
    const st = await fs.stat(file);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

async function mkdirs(dir: string, url: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new DeltaError('storage', `cannot create cache folder ${dir}: ${String(e)}`, { file: url, cause: e });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { createHash, randomUUID } from 'node:crypto';
import { listLakeTables } from '../engine/catalog.js';
import { queryJson } from '../lake/parquet.js';
import { sqlString } from '../lake/schema.js';
import { CUT_LIST } from '../sources/certfile.js';

import type { SourceItem } from '../sources/record.js';
import { BronzeBatch, countReason, KINDS, prepareItem, prepareItems, type PreparedBlock, type PreparedItem } from './bronze.js';
import { defaultReaderThreads, PARALLEL_MIN_BYTES, ReaderPool, ReaderThreadError, readParallel, type ParallelLines } from './parallel.js';
import type { Lake } from './lake.js';
import { loadRegistry, type FileState } from './registry.js';
import { MAX_PENDING_FILES, PendingFiles, type FileTail, type Serial } from './pending.js';
import { refreshSilver, type SilverResult, type StepLimits } from './silver.js';
import { LARGE_ROW, largeRowFits } from './stage.js';

/**
 * `certhunt ingest`: every input file → its format → bronze (in committed batches) → silver.
 * Idempotent by file: a file read before and unchanged is skipped; one that grew is read from
 * where the last run stopped, if the bytes read then are unchanged (their SHA-256 is kept);
 * otherwise it is new content and read whole. Effects (progress) are injected.
 */
export interface InputFile {
  readonly uri: string;
  readonly size?: number;
  readonly modified?: number;
  readonly etag?: string;
  /** Set when the file was found but cannot be read. */
  readonly error?: Error;
  /** Standard input: new content every run, never unchanged or grown (sources/input.ts). */
  readonly once?: boolean;
  /** Decompressed bytes. */
  open(): AsyncIterable<Uint8Array>;
  head?(n: number): Promise<Uint8Array>;
}

/** What a listing tells of a file before it is read. */
export type Listed = Pick<InputFile, 'uri' | 'size' | 'modified' | 'etag' | 'once'>;

/**
 * Files listed before they are read (sources/input.ts, locate()): told which the registry has
 * read unchanged, the listing does not fetch those ahead.
 */
export interface ListedFiles {
  files(opts: { known: (listed: Listed) => boolean }): AsyncIterable<InputFile>;
}

export interface SourceReader {
  /** Format name and reader for a file, from its first bytes; undefined when unknown. */
  detect(file: InputFile, forced?: string): Promise<{
    name: string;
    read(chunks: AsyncIterable<Uint8Array>): AsyncIterable<SourceItem>;
    /** Last position read, when positions are not line numbers (packet numbers of a capture). */
    lastPosition?(): number;
    /** A line format whose lines may be read on reader threads (parallel.ts). */
    lines?: ParallelLines;
  } | undefined>;
}

export interface IngestOptions {
  batchSize?: number;
  /** Commit a batch once its staged text reaches this many UTF-16 units (DEFAULT_BATCH_CHARS). */
  batchChars?: number;
  clock?: () => number;
  onProgress?: (p: Progress) => void;
  forcedFormat?: string;
  /**
   * Reader threads for line formats (parallel.ts; default defaultReaderThreads(), 0 reads on the
   * main thread), the bytes per block, and the size below which a file is read on the main thread.
   */
  readers?: { threads?: number; blockBytes?: number; minBytes?: number; onBlock?: (lines: number) => void };
  /** How much bronze one silver step takes (silver.ts, SILVER_STEP_ROWS). */
  silverSteps?: Partial<StepLimits>;
}

export interface Progress {
  file: string;
  bytes: number;
  records: number;
}

export interface FileReport {
  uri: string;
  format: string | null;
  status: 'ingested' | 'unchanged' | 'grown' | 'changed' | 'unknown-format' | 'failed';
  certificates: number;
  observations: number;
  rejects: number;
  error?: string;
}

export interface IngestReport {
  ingestId: string;
  files: FileReport[];
  rejectReasons: Record<string, number>;
  silver: SilverResult;
  coverage: Coverage;
}

export interface Coverage {
  certificates: number;
  withoutSha1: number;
  /** Certificates with a list (SANs, extensions) cut to MAX_LIST_ENTRIES. */
  listsCut: number;
}

const DEFAULT_BATCH = 250_000;
const REJECT = KINDS.indexOf('reject');
/**
 * A batch is also committed once its staged text reaches this size. Records that carry the DER
 * (Zeek's log-certs-base64, eve's `certificate`) stage ~5 kB each: 250k of them made a silver
 * step of ~200k certificates that left no room in 1 GiB (bench/ingest.ts, ingest-memory).
 */
const DEFAULT_BATCH_CHARS = 256 * 1024 * 1024;

export async function ingest(lake: Lake, inputs: AsyncIterable<InputFile> | ListedFiles, reader: SourceReader, options: IngestOptions = {}): Promise<IngestReport> {
  const clock = options.clock ?? Date.now;
  const ingestId = `${new Date(clock()).toISOString()}-${randomUUID().slice(0, 8)}`;
  const registry = await loadRegistry(lake);
  const stream = 'files' in inputs ? inputs.files({ known: (f) => unchanged(registry.get(f.uri), f) }) : inputs;
  const files: FileReport[] = [];
  const reasons = new Map<string, number>();
  const touched = new Set<string>();
  const threads = options.readers?.threads ?? defaultReaderThreads();
  const pool = threads > 0 ? new ReaderPool(threads) : undefined;
  // Every commit of the run, one at a time and in order (one DuckDB connection), while files are
  // read: a file's full batches and the pending files' shared commits.
  let queue: Promise<unknown> = Promise.resolve();
  const serial: Serial = (fn) => {
    const next = queue.catch(() => undefined).then(fn);
    queue = next;
    return next;
  };
  const pending = new PendingFiles(
    lake,
    serial,
    // A quarter of a batch's text: the pending files' staged rows sit on disk beside the batch
    // being read and the one committing.
    { rows: options.batchSize ?? DEFAULT_BATCH, chars: (options.batchChars ?? DEFAULT_BATCH_CHARS) / 4, files: MAX_PENDING_FILES },
    clock,
    (batch) => {
      for (const [k, n] of batch.reasons) countReason(reasons, k, n);
    },
  );
  // Decompressed bytes read by the run so far: past PARALLEL_MIN_BYTES, small files go to the
  // reader threads too (their start is paid by then).
  let bytesBefore = 0;
  try {
    for await (const file of stream) {
      let read;
      try {
        read = await ingestFile(lake, file, reader, registry.get(file.uri), { ...options, ingestId, clock, pool, bytesBefore, serial }, reasons);
      } catch (e) {
        // The files read before this one are whole: they land, and a re-run starts here.
        await pending.settle().catch(() => undefined);
        throw e;
      }
      files.push(read.report);
      bytesBefore += read.tail?.state.bytes ?? 0;
      if (read.tail) {
        // A file named twice in one run (the API does not dedupe) is unchanged the second time.
        registry.set(file.uri, read.tail.state);
        await pending.add(read.tail);
      }
      if (read.report.format && read.report.certificates + read.report.observations > 0) touched.add(read.report.format);
    }
    await pending.settle();
  } finally {
    await pending.discard();
    await pool?.close();
  }
  // Every bronze table, not just those this run touched: a run killed between bronze and
  // silver left bronze commits that silver has not consumed, and this run must finish them.
  const bronze = (await listLakeTables(lake.location)).filter((t) => t.layer === 'bronze').map((t) => t.name);
  const silver = await refreshSilver(lake, [...new Set([...bronze, ...touched])].sort(), options.silverSteps);
  return { ingestId, files, rejectReasons: Object.fromEntries(reasons), silver, coverage: await coverage(lake) };
}

/** A file read before whose listing says the same (size, time, ETag): skipped, not read. */
function unchanged(previous: FileState | undefined, file: Listed): boolean {
  return !!previous && !file.once && previous.size === (file.size ?? null) && previous.modified === (file.modified ?? null) && previous.etag === (file.etag ?? null);
}

async function ingestFile(
  lake: Lake,
  file: InputFile,
  reader: SourceReader,
  previous: FileState | undefined,
  options: IngestOptions & { ingestId: string; clock: () => number; pool: ReaderPool | undefined; bytesBefore: number; serial: Serial },
  reasons: Map<string, number>,
): Promise<{ report: FileReport; tail?: FileTail }> {
  const base: FileReport = { uri: file.uri, format: null, status: 'ingested', certificates: 0, observations: 0, rejects: 0 };
  if (file.error) return { report: { ...base, status: 'failed', error: file.error.message } };
  if (previous && unchanged(previous, file)) {
    return { report: { ...base, format: previous.format, status: 'unchanged' } };
  }
  let source;
  try {
    source = await reader.detect(file, options.forcedFormat);
  } catch (e) {
    return { report: { ...base, status: 'failed', error: e instanceof Error ? e.message : String(e) } };
  }
  if (!source) return { report: { ...base, status: 'unknown-format', error: 'format not recognised from its content' } };
  const generation = (previous?.generation ?? 0) + 1;
  const report: FileReport = { ...base, format: source.name };
  // Items at or before this line were ingested by the previous generation of the file.
  // Standard input is new content, read whole: its generation still counts on, so that its
  // batches' app transactions are not taken for those of an earlier run's input.
  let skipBefore = 0;
  if (previous && !file.once) {
    const same = (await prefixDigest(file.open(), previous.bytes)) === previous.prefix_sha256;
    report.status = same ? 'grown' : 'changed';
    if (same) skipBefore = previous.lines;
  }
  const counter = new CountingHash();
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const batchChars = options.batchChars ?? DEFAULT_BATCH_CHARS;
  let batch: BronzeBatch | undefined;
  let chunk = 0;
  let records = 0;
  let rejects = 0;
  const newBatch = () => new BronzeBatch({ lake, ingestId: options.ingestId, ingestedAt: options.clock(), source: file.uri, format: source.name });
  // A batch commits (DuckDB reading the staged rows, writing Parquet, on its own threads) while
  // the next one is read and staged here; commits stay one at a time and in order, so the
  // app-transaction versions that make a re-run skip what landed are as before.
  let committing: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    if (!batch || batch.size === 0) return;
    // The previous commit's failure surfaces here, while this batch is still ours to discard.
    await committing;
    const full = batch;
    batch = undefined;
    const version = ++chunk;
    committing = options.serial(async () => {
      try {
        await full.commit({ appId: `src:${file.uri}#${generation}`, version });
        for (const [k, n] of full.reasons) countReason(reasons, k, n);
      } finally {
        await full.discard();
      }
    });
    // Settled here or at the next flush; marked handled so a failure waiting for either is not
    // reported as unhandled in between.
    committing.catch(() => undefined);
  };
  const ctx = { source: file.uri, format: source.name };
  // After `n` items of one kind went into the batch: counts, a commit once it is full, progress.
  const added = async (kind: PreparedItem['kind'], n: number): Promise<void> => {
    if (kind === 'certificate') report.certificates += n;
    else if (kind === 'observation') report.observations += n;
    else {
      report.rejects += n;
      rejects += n;
    }
    const before = records;
    records += n;
    if (batch && (batch.size >= batchSize || batch.chars >= batchChars)) await flush();
    if (Math.floor(records / 10_000) > Math.floor(before / 10_000)) options.onProgress?.({ file: file.uri, bytes: counter.bytes, records });
  };
  const take = async (item: PreparedItem): Promise<void> => {
    if (item.pos <= skipBefore) return;
    if (batch && !largeRowFits(batch.large, item.text.length)) await flush();
    batch ??= newBatch();
    await batch.addPrepared(item);
    await added(item.kind, 1);
  };
  // A reader thread's block, as take() would have had it item by item: runs of one kind, each
  // ending where take() would have committed the batch.
  const takeBlock = async (b: PreparedBlock): Promise<void> => {
    let offset = 0;
    let reject = 0;
    for (let i = 0; i < b.kinds.length; ) {
      if (b.pos[i]! <= skipBefore) {
        if (b.kinds[i] === REJECT) reject++;
        offset += b.sizes[i++]!;
        continue;
      }
      if (batch && !largeRowFits(batch.large, b.chars[i]!)) await flush();
      batch ??= newBatch();
      const kind = b.kinds[i]!;
      let rows = batch.size;
      let chars = batch.chars;
      let large = batch.large;
      let j = i;
      do {
        rows++;
        const c = b.chars[j++]!;
        chars += c;
        if (c > LARGE_ROW) large += c;
      } while (
        j < b.kinds.length && b.kinds[j] === kind && b.pos[j]! > skipBefore && rows < batchSize && chars < batchChars && largeRowFits(large, b.chars[j]!)
      );
      const keys = kind === REJECT ? b.reasonKeys.slice(reject, reject + j - i) : [];
      offset += await batch.addRun(b, i, j, offset, keys);
      if (kind === REJECT) reject += j - i;
      await added(KINDS[kind]!, j - i);
      i = j;
    }
  };
  const minBytes = options.readers?.minBytes ?? PARALLEL_MIN_BYTES;
  const items = (
    // A month of hourly 1,000-line logs: 50.0 s on the main thread, 43.3 s and 166 MiB less at
    // peak on the threads (the main thread then makes no row strings for its heap to collect).
    options.pool && source.lines && (file.size === undefined || file.size >= minBytes || options.bytesBefore >= minBytes)
      ? readParallel(counter.wrap(file.open()), source.lines, ctx, options.pool, options.readers)
      : prepareItems(source.read(counter.wrap(file.open())), ctx)
  )[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<PreparedItem | PreparedBlock>;
      try {
        next = await items.next();
      } catch (e) {
        if (e instanceof ReaderThreadError) throw e;
        // The input broke (truncated gzip, decompression bomb, I/O): what came before is kept,
        // the break itself is a reject naming where it happened, and the run goes on.
        const message = e instanceof Error ? e.message : String(e);
        await take(prepareItem({ kind: 'reject', reject: { position: counter.lines + 1, reason: message, excerpt: '' } }, ctx));
        report.error = message;
        break;
      }
      if (next.done) break;
      if ('kinds' in next.value) await takeBlock(next.value);
      else await take(next.value);
    }
    await committing;
  } catch (e) {
    await batch?.discard();
    await committing.catch(() => undefined);
    throw e;
  }
  // The last batch and the registry row land with other files' (pending.ts).
  const state: FileState = {
    uri: file.uri, generation, format: source.name, size: file.size ?? null, modified: file.modified ?? null,
    etag: file.etag ?? null, bytes: counter.bytes, lines: source.lastPosition?.() ?? counter.lines, prefix_sha256: counter.digest(),
    records, rejects, ingest_id: options.ingestId,
  };
  const last: BronzeBatch | undefined = batch;
  return { report, tail: { ...(last ? { batch: last } : {}), txn: { appId: `src:${file.uri}#${generation}`, version: chunk + 1 }, state } };
}

/** SHA-256 of the first `bytes` decompressed bytes of a file (fewer if it is now shorter). */
async function prefixDigest(chunks: AsyncIterable<Uint8Array>, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  let seen = 0;
  for await (const chunk of chunks) {
    const take = Math.min(chunk.length, bytes - seen);
    hash.update(chunk.subarray(0, take));
    seen += take;
    if (seen >= bytes) break;
  }
  return hash.digest('hex');
}

/** Counts and hashes the decompressed bytes as they stream past, and newlines. */
class CountingHash {
  bytes = 0;
  lines = 0;
  private readonly hash = createHash('sha256');

  async *wrap(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      this.hash.update(chunk);
      this.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.lines++;
      yield chunk;
    }
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Over the whole of silver.certificates: how many have no SHA-1 (blind to SHA-1 blacklists), and
 * how many had a list cut to MAX_LIST_ENTRIES (made to break tools: worth a hunter's look).
 */
async function coverage(lake: Lake): Promise<Coverage> {
  const certs = await lake.table('silver', 'certificates');
  if (!(await certs.exists())) return { certificates: 0, withoutSha1: 0, listsCut: 0 };
  const plan = await certs.scan({ columns: ['sha1', 'parse_warnings'] });
  const [r] = await queryJson(
    lake.conn,
    `SELECT count(*)::BIGINT::VARCHAR AS n, count(*) FILTER (WHERE sha1 IS NULL)::BIGINT::VARCHAR AS missing,
            count(*) FILTER (WHERE len(list_filter(parse_warnings, w -> contains(w, ${sqlString(CUT_LIST)}))) > 0)::BIGINT::VARCHAR AS cut
     FROM (${plan.sql})`,
  );
  return { certificates: Number(r?.n ?? 0), withoutSha1: Number(r?.missing ?? 0), listsCut: Number(r?.cut ?? 0) };
}




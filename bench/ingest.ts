/**
 * Ingest benchmarks (run through scripts/bench.mjs, one child process per scenario):
 *
 * - ingest:        `certhunt ingest` of a 1,000,000-record Zeek x509 JSON log (100,000 with
 *                  --quick) to bronze + silver.certificates + silver.observations, vs DuckDB's own
 *                  `CREATE TABLE t AS SELECT * FROM read_json('<file>')` of the same file (the
 *                  floor). Both run as child processes, alternated; ratio of medians, target ≤ 2×.
 *                  Then, untimed: a breakdown of our time (an instrumented in-process ingest), a
 *                  ladder of the JS read path stage by stage, and a `node --cpu-prof` of the CLI.
 * - ingest-many:   the first 720,000 records of that log (100,000 with --quick) as hourly logs of
 *                  1,000 lines in one folder (a month of them), `certhunt ingest FOLDER` vs DuckDB's
 *                  `CREATE TABLE AS SELECT * FROM read_json('FOLDER/*.log')`; also our ingest of
 *                  the same lines in one file, for the cost of the files themselves.
 * - ingest-s3:     200,000 records of that log (50,000 with --quick) as gzipped hourly logs of
 *                  1,000 lines under an S3 prefix (moto, which the tests install; a proxy adds
 *                  40 ms to every request, as a bucket in a region away adds to each round trip),
 *                  `certhunt ingest s3://bucket/prefix/` vs our ingest of the same files from
 *                  disk: what S3 costs (target ≤ 1.25×).
 * - ingest-memory: `certhunt ingest` of a ~5 GB generated log with DER (~500 MB with --quick) in
 *                  a child process; its peak RSS against the 1 GiB budget (target ≤ 1×).
 * - ingest-memory-plain: the same on ~5 GB of Zeek's default x509.log (no DER): the `ingest` log
 *                  repeated, days apart, so silver merges ~7M rows of certificates it mostly has.
 *
 * The logs are the head of the x509.log `certhunt generate --format zeek-json` writes (its mix of
 * certificates, Zeek's JSON field set and relog rule: a certificate is logged again on a later
 * day); the memory scenario's also carries each certificate's DER (log-certs-base64), which
 * ingest parses in full, so that 5 GB is ~2M certificates rather than ~7M lines of text.
 *
 * Runtime code comes from dist/ (`npm run bench` builds first); types come from src/. src/ is
 * not modified: the breakdown comes from wrapping methods on the compiled classes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, promises as fs, readFileSync, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { BenchOptions, BenchResult } from './lake.js';
import type * as EngineMod from '../src/engine/duckdb.js';
import type * as IngestMod from '../src/pipeline/ingest.js';
import type * as LakeMod from '../src/pipeline/lake.js';
import type * as BronzeMod from '../src/pipeline/bronze.js';
import type * as StageMod from '../src/pipeline/stage.js';
import type * as TableMod from '../src/lake/table.js';
import type * as SchemaMod from '../src/lake/schema.js';
import type * as InputMod from '../src/sources/input.js';
import type * as SourcesMod from '../src/sources/index.js';
import type * as LinesMod from '../src/sources/lines.js';
import type * as ZeekLogMod from '../src/sources/zeek-log.js';
import type * as ZeekMod from '../src/sources/zeek.js';
import type { SourceItem } from '../src/sources/record.js';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createServer as createTcpServer, connect as tcpConnect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startS3Server } from '../test/helpers/s3-server.js';
import { generated } from './lib/generated.js';
import { median } from './lib/measure.js';

// The compiled code is loaded from a private copy of dist/ made when a scenario starts (see
// prepare()): dist/ is shared with whoever else builds or tests in this tree meanwhile, and a
// CLI child spawned half an hour into a run must run the same code as the first one.
let openEngine!: typeof EngineMod.openEngine;
let INGEST_MEMORY_LIMIT = '';
let ingest!: typeof IngestMod.ingest;
let Lake!: typeof LakeMod.Lake;
let BronzeBatch!: typeof BronzeMod.BronzeBatch;
let prepareItem!: typeof BronzeMod.prepareItem;
let Stage!: typeof StageMod.Stage;
let DeltaTable!: typeof TableMod.DeltaTable;
let sqlString!: typeof SchemaMod.sqlString;
let listLocations!: typeof InputMod.listLocations;
let sourceReader!: typeof SourcesMod.sourceReader;
let splitLines!: typeof LinesMod.splitLines;
let zeekRows!: typeof ZeekLogMod.zeekRows;
let zeekX509!: typeof ZeekMod.zeekX509;
let CLI = '';
let DIST = '';

/**
 * Copy dist/ and bin/ to WORKDIR/app (node_modules linked, ESM package.json) and load it from
 * there; the CLI runs through the copy of bin/certhunt, as a user's does.
 */
async function prepare(o: BenchOptions): Promise<void> {
  const app = path.join(o.workDir, 'app');
  DIST = path.join(app, 'dist');
  await fs.cp(path.join(ROOT, 'dist'), DIST, { recursive: true });
  await fs.cp(path.join(ROOT, 'bin'), path.join(app, 'bin'), { recursive: true });
  await fs.symlink(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  await fs.writeFile(path.join(app, 'package.json'), JSON.stringify({ type: 'module' }));
  CLI = path.join(app, 'bin', 'certhunt');
  const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(path.join(DIST, rel)).href)) as T;
  ({ openEngine, INGEST_MEMORY_LIMIT } = await load<typeof EngineMod>('engine/duckdb.js'));
  ({ ingest } = await load<typeof IngestMod>('pipeline/ingest.js'));
  ({ Lake } = await load<typeof LakeMod>('pipeline/lake.js'));
  ({ BronzeBatch, prepareItem } = await load<typeof BronzeMod>('pipeline/bronze.js'));
  ({ Stage } = await load<typeof StageMod>('pipeline/stage.js'));
  ({ DeltaTable } = await load<typeof TableMod>('lake/table.js'));
  ({ sqlString } = await load<typeof SchemaMod>('lake/schema.js'));
  ({ listLocations } = await load<typeof InputMod>('sources/input.js'));
  ({ sourceReader } = await load<typeof SourcesMod>('sources/index.js'));
  ({ splitLines } = await load<typeof LinesMod>('sources/lines.js'));
  ({ zeekRows } = await load<typeof ZeekLogMod>('sources/zeek-log.js'));
  ({ zeekX509 } = await load<typeof ZeekMod>('sources/zeek.js'));
}

export const scenarios: Record<string, (o: BenchOptions) => Promise<BenchResult>> = {
  ingest: ingestBench,
  'ingest-many': ingestMany,
  'ingest-s3': ingestS3,
  'ingest-memory': ingestMemory,
  'ingest-memory-plain': ingestMemoryPlain,
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1048576;

// ---------------------------------------------------------------------------------------------
// The log: the head of a generated x509.log

/**
 * A file's lines a chunk at a time; `fn` returning false stops the read. Chunks, not readline:
 * its async iterator queues lines while the loop waits on the output, which held most of a
 * 5 GB log in memory.
 */
async function eachChunkOfLines(file: string, fn: (lines: string[]) => Promise<boolean>): Promise<void> {
  let rest = '';
  const input = createReadStream(file, { highWaterMark: 4 * MiB, encoding: 'utf8' });
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      if (!(await fn(lines))) return;
    }
    if (rest !== '') await fn([rest]);
  } finally {
    input.destroy();
  }
}

/**
 * The log cut into files of `per` lines (hourly logs), each handed to `write` with its number
 * and text, newline-ended; returns how many.
 */
async function eachHour(file: string, per: number, write: (n: number, text: string) => Promise<void>): Promise<number> {
  let n = 0;
  let pending: string[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await write(n++, pending.join('\n') + '\n');
    pending = [];
  };
  await eachChunkOfLines(file, async (lines) => {
    for (const line of lines) {
      if (!line) continue;
      pending.push(line);
      if (pending.length === per) await flush();
    }
    return true;
  });
  await flush();
  return n;
}

/** Lines to `out`, each ended by a newline, waiting while its buffer is full. */
async function writeLines(out: WriteStream, lines: string[]): Promise<void> {
  if (lines.length > 0 && !out.write(lines.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', r));
}

/** Close `out`, resolving once everything is on disk (or rejecting with its error). */
function closeStream(out: WriteStream): Promise<void> {
  return new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/** x509.log lines per session in generate's mix (certificates sent in clear, relogged daily: ~0.30), with a margin. */
const X509_PER_SESSION = 0.27;

/**
 * A Zeek x509 JSON log of `records` records (or the first `bytes` of them): the head of the
 * x509.log of a `certhunt generate --format zeek-json` data set sized to hold enough (cached
 * under CERTHUNT_BENCH_CACHE, see lib/generated.ts). `certs` logs each certificate's DER
 * (log-certs-base64): ~2.4 kB a line instead of ~0.7 kB. Records of one certificate relogged on
 * another day count once in `distinct`, as silver keeps them.
 */
async function generatedLog(
  o: BenchOptions,
  limit: { records?: number; bytes?: number },
  certs = false,
): Promise<{ file: string; records: number; bytes: number; distinct: number }> {
  const want = limit.records ?? Math.ceil(limit.bytes! / (certs ? 2300 : 650));
  const sessions = Math.ceil(want / X509_PER_SESSION);
  const g = await generated(o, `zeek-json-${sessions}${certs ? '-certs' : ''}`, [
    '--certificates', String(Math.ceil(sessions / 3)), '--observations', String(sessions), '--format', 'zeek-json', ...(certs ? ['--zeek-certs'] : []),
  ]);
  const file = path.join(o.workDir, `x509-${limit.records ?? `${limit.bytes! / 1e6}MB`}.json`);
  const out = createWriteStream(file, { highWaterMark: 4 * MiB });
  const seen = new Set<number>();
  let records = 0;
  let bytes = 0;
  const maxRecords = limit.records ?? Infinity;
  const maxBytes = limit.bytes ?? Infinity;
  await eachChunkOfLines(path.join(g.dir, 'x509.log'), async (lines) => {
    const keep: string[] = [];
    for (const line of lines) {
      if (records >= maxRecords || bytes >= maxBytes) break;
      const fp = /"fingerprint":"([0-9a-f]{64})"/.exec(line)?.[1];
      if (!fp) throw new Error(`${g.dir}/x509.log: a line without a fingerprint: ${line.slice(0, 200)}`);
      // 52 bits of the SHA-256 as a number: a substring of the line would keep the whole line
      // (and its chunk) alive, ~5 GB for the memory scenario's log; collisions among a few
      // million are ~1 in 2,000 likely, and only the expected silver count would be off.
      seen.add(parseInt(fp.slice(0, 13), 16));
      records++;
      bytes += Buffer.byteLength(line) + 1;
      keep.push(line);
    }
    await writeLines(out, keep);
    return records < maxRecords && bytes < maxBytes;
  });
  await closeStream(out);
  if (limit.records !== undefined ? records < limit.records : bytes < limit.bytes!) {
    throw new Error(`${g.dir}/x509.log ends at ${records} lines (${bytes} bytes), short of ${JSON.stringify(limit)}: lower X509_PER_SESSION`);
  }
  o.log(`input: the first ${records.toLocaleString('en')} lines of the generated x509.log (${(bytes / 1e9).toFixed(2)} GB, ${seen.size.toLocaleString('en')} distinct certificates)`);
  return { file, records, bytes, distinct: seen.size };
}

/** Said in the notes when set: the CLI children inherit it and the breakdown uses it too. */
const memoryNote = (): string => (process.env.CERTHUNT_MEMORY ? `CERTHUNT_MEMORY=${process.env.CERTHUNT_MEMORY}; ` : '');

// ---------------------------------------------------------------------------------------------
// Child processes: wall time, peak RSS (getrusage in the child, written at exit), RSS timeline

/** Preloaded into every measured child: its own peak RSS, written to a file when it exits. */
const RSS_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    `import { writeFileSync } from 'node:fs';
     process.on('exit', () => { try { writeFileSync(process.env.CERTHUNT_BENCH_RSS_OUT, String(process.resourceUsage().maxRSS)); } catch {} });`,
  );

interface ChildRun {
  ms: number;
  /** getrusage maxRSS of the child, MiB. */
  maxRssMiB: number;
  stdout: string;
  stderr: string;
  /** (ms since start, RSS MiB, phase) every `sampleMs`, from /proc (Linux). */
  timeline: { t: number; rss: number; phase: string }[];
  /** Killed at the time cap: ms is the cap, maxRssMiB the largest sampled RSS (lower bounds). */
  killed: boolean;
}

/** Minutes a measured child may run before it is killed (CERTHUNT_BENCH_CAP_MIN overrides). */
function capMs(o: BenchOptions, fullMin: number, quickMin: number): number {
  const env = Number(process.env.CERTHUNT_BENCH_CAP_MIN);
  return (Number.isFinite(env) && env > 0 ? env : o.quick ? quickMin : fullMin) * 60_000;
}

let childSeq = 0;

async function runNode(
  o: BenchOptions,
  args: string[],
  opts: { phase?: () => string; sampleMs?: number; env?: Record<string, string>; capMs?: number; script?: string; node?: string[] } = {},
): Promise<ChildRun> {
  const rssOut = path.join(o.workDir, `rss-${process.pid}-${childSeq++}.txt`);
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, CERTHUNT_BENCH_RSS_OUT: rssOut };
  delete env.NODE_OPTIONS;
  const nodeFlags = ['--import', RSS_HOOK, ...(opts.node ?? [])];
  // A script (bin/certhunt) execs node itself, in the same process: node's flags go through
  // NODE_OPTIONS (none has a space) and PATH finds this node first.
  if (opts.script) {
    env.NODE_OPTIONS = nodeFlags.join(' ');
    env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}`;
  }
  const t0 = performance.now();
  const child = opts.script
    ? spawn('/bin/sh', [opts.script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [...nodeFlags, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const timeline: ChildRun['timeline'] = [];
  const sample = async () => {
    try {
      const status = await fs.readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      if (Number.isFinite(kb)) timeline.push({ t: performance.now() - t0, rss: kb / 1024, phase: opts.phase?.() ?? '' });
    } catch {
      /* exited, or no /proc */
    }
  };
  const timer = setInterval(() => void sample(), opts.sampleMs ?? 250);
  let killed = false;
  let signal: NodeJS.Signals | null = null;
  const cap = opts.capMs
    ? setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, opts.capMs)
    : undefined;
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, sig) => {
      signal = sig;
      resolve(c);
    });
  });
  const ms = performance.now() - t0;
  clearInterval(timer);
  clearTimeout(cap);
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  const sampledMax = timeline.reduce((m, s) => Math.max(m, s.rss), 0);
  if (killed) {
    o.log(`  killed after ${fmtS(ms)} (cap ${fmtS(opts.capMs!)}); sampled RSS so far ${sampledMax.toFixed(0)} MiB`);
    return { ms, maxRssMiB: sampledMax, stdout, stderr, timeline, killed };
  }
  if (code !== 0) {
    const how = signal ? `was killed by ${signal} (not by the bench) after ${fmtS(ms)}, last sampled RSS ${timeline[timeline.length - 1]?.rss.toFixed(0) ?? '?'} MiB` : `exited with ${code}`;
    throw new Error(`${opts.script ? `${opts.script} ` : 'node '}${args.join(' ')} ${how}:\n${stderr.slice(-4000)}`);
  }
  const maxRssMiB = existsSync(rssOut) ? Number(readFileSync(rssOut, 'utf8')) / 1024 : sampledMax;
  await fs.rm(rssOut, { force: true });
  return { ms, maxRssMiB, stdout, stderr, timeline, killed };
}

interface CliReport {
  files: { status: string; certificates: number; observations: number; rejects: number }[];
  silver: { certificates: { inserted: number; updated: number }; observations: number };
}

/** `certhunt ingest FILE --lake DIR --format json` in a child; checks the report. */
async function runOurs(
  o: BenchOptions,
  file: string,
  records: number,
  distinct: number,
  opts: { node?: string[]; sampleMs?: number; capMs?: number; env?: Record<string, string> } = {},
): Promise<ChildRun & { lake: string; bronzeMs: number }> {
  const lake = path.join(o.workDir, `lake-${childSeq}`);
  const stageDir = path.join(o.workDir, `tmp-${childSeq}`);
  await fs.mkdir(stageDir, { recursive: true });
  const silverMark = path.join(lake, 'silver', 'certificates', '_delta_log');
  // Staging files go to os.tmpdir(): point it into the scratch folder.
  // Node flags that NODE_OPTIONS refuses (--cpu-prof) need node itself: such a run (the cpu
  // profile, untimed) starts dist/cli.js directly, without bin/certhunt's malloc setting.
  const args = ['ingest', file, '--lake', lake, '--format', 'json'];
  const run = await runNode(o, opts.node ? [...opts.node, path.join(DIST, 'cli.js'), ...args] : args, {
    ...(opts.node ? {} : { script: CLI }),
    env: { TMPDIR: stageDir, ...opts.env },
    phase: () => (existsSync(silverMark) ? 'silver' : 'bronze'),
    ...(opts.sampleMs ? { sampleMs: opts.sampleMs } : {}),
    ...(opts.capMs ? { capMs: opts.capMs } : {}),
  });
  // End of the bronze phase: the last sample before silver.certificates appeared.
  const bronzeMs = run.timeline.filter((s) => s.phase === 'bronze').reduce((m, s) => Math.max(m, s.t), 0);
  await fs.rm(stageDir, { recursive: true, force: true });
  if (run.killed) return { ...run, lake, bronzeMs };
  const report = JSON.parse(run.stdout) as CliReport;
  // A file, or a folder of them (ingest-many): every one ingested, the records all there.
  const certificates = report.files.reduce((n, f) => n + f.certificates, 0);
  const clean = report.files.length > 0 && report.files.every((f) => f.status === 'ingested' && f.rejects === 0);
  if (!clean || certificates !== records || report.silver.certificates.inserted !== distinct) {
    throw new Error(`unexpected ingest report: ${run.stdout.slice(0, 2000)}`);
  }
  return { ...run, lake, bronzeMs };
}

/** The floor: a fresh DuckDB (same defaults as ours) in a child, `CREATE TABLE t AS SELECT * FROM read_json(file)`. */
async function runFloor(o: BenchOptions, file: string, records: number): Promise<ChildRun & { queryMs: number }> {
  const code = `
    import { DuckDBInstance } from '@duckdb/node-api';
    const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    const conn = await inst.connect();
    const t = performance.now();
    await conn.run(${JSON.stringify(`CREATE TABLE t AS SELECT * FROM read_json(${sqlString(file)})`)});
    const queryMs = performance.now() - t;
    const rows = Number((await conn.runAndReadAll('SELECT count(*)::BIGINT FROM t')).getRows()[0][0]);
    process.stdout.write(JSON.stringify({ queryMs, rows }));
    conn.closeSync();
    inst.closeSync();`;
  const run = await runNode(o, ['--input-type=module', '-e', code]);
  const r = JSON.parse(run.stdout) as { queryMs: number; rows: number };
  if (r.rows !== records) throw new Error(`floor read ${r.rows} rows, expected ${records}`);
  return { ...run, queryMs: r.queryMs };
}

/** Zeek's x509.log fields (4.1+) with DuckDB types, for the parsed bound. */
const ZEEK_X509_TYPES: Record<string, string> = {
  ts: 'DOUBLE', fingerprint: 'VARCHAR', 'certificate.version': 'INTEGER', 'certificate.serial': 'VARCHAR',
  'certificate.subject': 'VARCHAR', 'certificate.issuer': 'VARCHAR', 'certificate.not_valid_before': 'DOUBLE',
  'certificate.not_valid_after': 'DOUBLE', 'certificate.key_alg': 'VARCHAR', 'certificate.sig_alg': 'VARCHAR',
  'certificate.key_type': 'VARCHAR', 'certificate.key_length': 'INTEGER', 'certificate.exponent': 'VARCHAR',
  'certificate.curve': 'VARCHAR', 'san.dns': 'VARCHAR[]', 'san.uri': 'VARCHAR[]', 'san.email': 'VARCHAR[]',
  'san.ip': 'VARCHAR[]', 'basic_constraints.ca': 'BOOLEAN', 'basic_constraints.path_len': 'INTEGER',
  host_cert: 'BOOLEAN', client_cert: 'BOOLEAN',
};

/**
 * What bronze must do at the least, in DuckDB alone: keep each line's text with its line number,
 * durably, in Parquet (`read_json_objects ... WITH ORDINALITY` → COPY). No parsing into fields,
 * no silver. Its ratio to the floor bounds from below what any ingest that keeps lineage can
 * reach against the floor on this machine. `parsed` adds what bronze holds besides: each
 * record's Zeek fields, parsed (json_transform), beside its text; still no derived column
 * (names' parts, registered domains), no lineage columns and no silver.
 */
async function runBound(o: BenchOptions, file: string, records: number, parsed = false): Promise<ChildRun & { queryMs: number }> {
  const out = path.join(o.workDir, `bound-${process.pid}.parquet`);
  const fields = parsed ? `, json_transform(json, ${sqlString(JSON.stringify(ZEEK_X509_TYPES))}) AS record` : '';
  const code = `
    import { DuckDBInstance } from '@duckdb/node-api';
    const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false', preserve_insertion_order: 'false' });
    const conn = await inst.connect();
    const t = performance.now();
    await conn.run(${JSON.stringify(`COPY (SELECT ordinality AS _source_pos, json AS raw${fields} FROM read_json_objects(${sqlString(file)}, format = 'newline_delimited') WITH ORDINALITY) TO '${out}' (FORMAT parquet)`)});
    const queryMs = performance.now() - t;
    const rows = Number((await conn.runAndReadAll(${JSON.stringify(`SELECT count(*)::BIGINT FROM '${out}'`)})).getRows()[0][0]);
    process.stdout.write(JSON.stringify({ queryMs, rows }));
    conn.closeSync();
    inst.closeSync();`;
  const run = await runNode(o, ['--input-type=module', '-e', code]);
  await fs.rm(out, { force: true });
  const r = JSON.parse(run.stdout) as { queryMs: number; rows: number };
  if (r.rows !== records) throw new Error(`lower bound wrote ${r.rows} rows, expected ${records}`);
  return { ...run, queryMs: r.queryMs };
}

// ---------------------------------------------------------------------------------------------
// Instrumentation of an in-process ingest: exclusive time per (phase, category)

class Profiler {
  /** key "phase › category" → exclusive ms, calls. */
  readonly excl = new Map<string, { ms: number; calls: number }>();
  private stack: { key: string; phase: string; start: number; child: number }[] = [];

  get phase(): string {
    return this.stack[this.stack.length - 1]?.phase ?? 'other';
  }

  /** Time that is known not to overlap anything else measured (hot paths: no stack). */
  add(key: string, ms: number, calls = 1): void {
    const e = this.excl.get(key) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += calls;
    this.excl.set(key, e);
  }

  async time<T>(phase: string | undefined, cat: string, fn: () => Promise<T>): Promise<T> {
    const ph = phase ?? this.phase;
    const key = `${ph} › ${cat}`;
    const frame = { key, phase: ph, start: performance.now(), child: 0 };
    this.stack.push(frame);
    try {
      return await fn();
    } finally {
      const total = performance.now() - frame.start;
      this.stack.pop();
      const parent = this.stack[this.stack.length - 1];
      if (parent) parent.child += total;
      const e = this.excl.get(key) ?? { ms: 0, calls: 0 };
      if (!(parent && parent.key === key)) e.calls++;
      e.ms += total - frame.child;
      this.excl.set(key, e);
    }
  }

  /** Phases (sum of their categories), then categories, largest first. */
  report(totalMs: number): string[] {
    const tracked = [...this.excl.values()].reduce((s, e) => s + e.ms, 0);
    const byPhase = new Map<string, number>();
    for (const [k, v] of this.excl) {
      const ph = k.split(' › ')[0]!;
      byPhase.set(ph, (byPhase.get(ph) ?? 0) + v.ms);
    }
    byPhase.set('untracked (gaps, awaits, GC between calls)', Math.max(0, totalMs - tracked));
    const pct = (ms: number) => `${((100 * ms) / totalMs).toFixed(1).padStart(5)}%`;
    const lines = ['phases (wall, sum of exclusive times):'];
    for (const [k, ms] of [...byPhase].sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(58)} ${fmtS(ms).padStart(9)} ${pct(ms)}`);
    lines.push('categories (exclusive), ≥ 0.2%:');
    for (const [k, v] of [...this.excl].sort((a, b) => b[1].ms - a[1].ms)) {
      if (v.ms / totalMs < 0.002) continue;
      lines.push(`  ${k.padEnd(84)} ${fmtS(v.ms).padStart(9)} ${pct(v.ms)}  ${v.calls} calls`);
    }
    return lines;
  }

  top(totalMs: number, n: number): string {
    return [...this.excl]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, n)
      .map(([k, v]) => `${k.replace(/ \(.*$/, '')} ${((100 * v.ms) / totalMs).toFixed(0)}%`)
      .join(', ');
  }
}

function classifySql(sql: string): string {
  const s = sql.trim();
  if (/^COPY\b/i.test(s)) {
    if (/read_json\(.*certhunt-stage-/s.test(s)) return 'sql: COPY staged NDJSON (read_json) → Parquet';
    if (/__certhunt_src_/.test(s)) return 'sql: COPY merged rows → Parquet';
    if (/read_json\(/.test(s)) return 'sql: checkpoint write';
    return 'sql: COPY → Parquet';
  }
  if (/^CREATE TEMP TABLE __certhunt_winners_/i.test(s)) return 'sql: silver pass 1, each certificate\'s best sighting (GROUP BY cert_id) → temp table';
  if (/^CREATE TEMP TABLE __certhunt_src_/i.test(s)) return 'sql: merge source → temp table (silver pass 2: the winners\' rows, derived columns)';
  if (/^CREATE TEMP TABLE __certhunt_tgt_/i.test(s)) return 'sql: merge target files → temp table';
  if (/^CREATE OR REPLACE TEMP MACRO/i.test(s)) return 'sql: macro';
  if (/^DROP TABLE/i.test(s)) return 'sql: drop temp';
  if (/parquet_metadata\(/.test(s)) return 'sql: parquet_metadata';
  if (/to_json\(COLUMNS/.test(s)) return 'sql: checkpoint read';
  if (/LIMIT 0\s*\)?\s*$/.test(s)) return 'sql: describe (LIMIT 0)';
  if (/HAVING count\(\*\) > 1/.test(s)) return 'sql: merge duplicate-key check';
  if (/min\(.*max\(/s.test(s) && /__certhunt_src_/.test(s)) return 'sql: merge key range';
  if (/SELECT DISTINCT __certhunt_file/.test(s)) return 'sql: merge file hits';
  if (/^SELECT count\(\*\)/i.test(s)) return 'sql: count';
  return 'sql: other';
}

const tableName = (t: { location: string }): string => {
  const parts = t.location.split(path.sep);
  return parts.slice(-2).join('/');
};

/** Wrap, once per process, the compiled classes' methods so that every call reports to `current`. */
let current: Profiler | undefined;
let instrumented = false;

function instrumentClasses(): void {
  if (instrumented) return;
  instrumented = true;
  const proto = DeltaTable.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const m of ['append', 'merge', 'create', 'snapshot', 'exists', 'addedSince', 'history', 'scan', 'commit']) {
    const orig = proto[m]!;
    proto[m] = function (this: { location: string }, ...args: unknown[]) {
      const p = current;
      if (!p) return orig.apply(this, args);
      return p.time(tableName(this), `table.${m} (JS, fs, log; excl.)`, () => orig.apply(this, args));
    };
  }
  const bb = BronzeBatch.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const add = bb.addPrepared!;
  bb.addPrepared = function (this: unknown, ...args: unknown[]) {
    const p = current;
    if (!p) return add.apply(this, args);
    const t = performance.now();
    return (add.apply(this, args) as Promise<unknown>).finally(() => p.add('js staging › BronzeBatch.addPrepared (write NDJSON)', performance.now() - t));
  };
  for (const m of ['commit', 'discard']) {
    const orig = bb[m]!;
    bb[m] = function (this: unknown, ...args: unknown[]) {
      const p = current;
      if (!p) return orig.apply(this, args);
      return p.time('bronze commit', `BronzeBatch.${m} (close/rm stage; excl.)`, () => orig.apply(this, args));
    };
  }
}

function instrumentConn(prof: Profiler, conn: DuckDBConnection): void {
  for (const m of ['run', 'runAndReadAll'] as const) {
    const orig = (conn[m] as (...a: unknown[]) => Promise<unknown>).bind(conn);
    (conn as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => prof.time(undefined, classifySql(String(args[0])), () => orig(...args));
  }
}

/** One in-process ingest of `file` into a fresh lake, every phase timed. */
async function instrumentedIngest(o: BenchOptions, file: string, records: number): Promise<{ ms: number; prof: Profiler }> {
  instrumentClasses();
  const prof = new Profiler();
  // As `certhunt ingest` does (src/cli/ingest.ts): its own limit, CERTHUNT_MEMORY overrides it.
  const engine = await openEngine({ memoryLimit: process.env.CERTHUNT_MEMORY ?? INGEST_MEMORY_LIMIT });
  instrumentConn(prof, engine.conn);
  const lake = new Lake(path.join(o.workDir, 'lake-instrumented'), engine.conn);
  const files = await listLocations([file]);
  const inner = sourceReader();
  // The source's iterator: file read, gunzip, counting hash, line splitting, JSON.parse, mapping.
  // Without `lines`, ingest reads on the main thread (no reader threads): every step is timed
  // here but the row's serialisation (prepareItem, JSON.stringify), which is in "untracked".
  const reader = {
    async detect(f: Parameters<typeof inner.detect>[0], forced?: string) {
      const s = await inner.detect(f, forced);
      if (!s) return s;
      return {
        name: s.name,
        read: (chunks: AsyncIterable<Uint8Array>): AsyncIterable<SourceItem> => ({
          [Symbol.asyncIterator]() {
            const it = s.read(chunks)[Symbol.asyncIterator]();
            return {
              next: () => {
                const t = performance.now();
                return it.next().finally(() => prof.add('js source › read + hash + split lines + JSON.parse + map (next())', performance.now() - t));
              },
              return: (v?: unknown) => it.return?.(v) ?? Promise.resolve({ done: true as const, value: undefined }),
            } as AsyncIterator<SourceItem>;
          },
        }),
      };
    },
  };
  current = prof;
  const t = performance.now();
  try {
    const report = await ingest(lake, (async function* () { yield* files; })(), reader);
    if (report.files[0]?.certificates !== records) throw new Error(`instrumented ingest read ${report.files[0]?.certificates} certificates`);
  } finally {
    current = undefined;
  }
  const ms = performance.now() - t;
  engine.close();
  return { ms, prof };
}

// ---------------------------------------------------------------------------------------------
// The JS read path, stage by stage (each pass adds one stage to the previous one)

async function ladder(o: BenchOptions, file: string, records: number): Promise<string[]> {
  const [input] = await listLocations([file]);
  if (!input) throw new Error('no input');
  // What ingest reads through: the format's records, then completeCertificate (name parts, DER).
  const source = await sourceReader().detect(input);
  if (!source) throw new Error('format not detected');
  const ctx = { source: file, format: source.name };
  const hashed = async function* (chunks: AsyncIterable<Uint8Array>) {
    // What ingest's CountingHash does to every chunk.
    const h = createHash('sha256');
    let lines = 0;
    for await (const c of chunks) {
      h.update(c);
      for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
      yield c;
    }
    h.digest('hex');
    if (lines < 0) throw new Error('unreachable');
  };
  const steps: { name: string; run: () => Promise<number> }[] = [
    {
      name: 'read file (1 MiB chunks)',
      run: async () => {
        let n = 0;
        for await (const c of input.open()) n += c.length;
        return n > 0 ? records : 0;
      },
    },
    {
      name: '+ SHA-256 + newline count (CountingHash)',
      run: async () => {
        let n = 0;
        for await (const c of hashed(input.open())) n += c.length;
        return n > 0 ? records : 0;
      },
    },
    {
      name: '+ splitLines (one await per line)',
      run: async () => {
        let n = 0;
        for await (const l of splitLines(hashed(input.open()))) if ('text' in l) n++;
        return n;
      },
    },
    {
      name: '+ zeekRows (JSON.parse, accessors)',
      run: async () => {
        let n = 0;
        for await (const r of zeekRows(splitLines(hashed(input.open())))) if (r.kind === 'row') n++;
        return n;
      },
    },
    {
      name: '+ zeekX509 mapping (CertificateRecord)',
      run: async () => {
        let n = 0;
        for await (const r of zeekX509.read(splitLines(hashed(input.open())))) if (r.kind === 'certificate') n++;
        return n;
      },
    },
    {
      name: '+ completeCertificate (sourceReader: name parts, DER when logged)',
      run: async () => {
        let n = 0;
        for await (const r of source.read(hashed(input.open()))) if (r.kind === 'certificate') n++;
        return n;
      },
    },
    {
      name: '+ bronze row text (prepareItem, as the reader threads make it)',
      run: async () => {
        let n = 0;
        let bytes = 0;
        for await (const r of source.read(hashed(input.open()))) {
          if (r.kind !== 'certificate') continue;
          bytes += prepareItem(r, ctx).text.length + 1;
          n++;
        }
        stagedChars = bytes;
        return n;
      },
    },
    {
      name: '+ Stage.writeText (NDJSON to disk, backpressure)',
      run: async () => {
        let n = 0;
        const stage = new Stage(o.workDir);
        try {
          for await (const r of source.read(hashed(input.open()))) {
            if (r.kind !== 'certificate') continue;
            await stage.writeText(prepareItem(r, ctx).text);
            n++;
          }
          await stage.close();
          stagedBytes = (await fs.stat(stage.file)).size;
        } finally {
          await stage.remove();
        }
        return n;
      },
    },
  ];
  let stagedChars = 0;
  let stagedBytes = 0;
  const lines: string[] = [];
  let prev = 0;
  for (const s of steps) {
    const t = performance.now();
    const n = await s.run();
    const ms = performance.now() - t;
    if (n !== records) throw new Error(`ladder step "${s.name}" saw ${n} records, expected ${records}`);
    lines.push(`  ${s.name.padEnd(70)} ${fmtS(ms).padStart(9)}  (+${fmtS(Math.max(0, ms - prev))}, ${(records / ms).toFixed(0)}k rec/s)`);
    prev = ms;
  }
  // The rows' text without mapping or completion (raw is the line itself, as in bronze).
  {
    const t = performance.now();
    let n = 0;
    for await (const r of zeekRows(splitLines(hashed(input.open())))) {
      if (r.kind !== 'row') continue;
      JSON.stringify({ _source: file, _source_pos: r.pos, kind: 'certificate', raw: r.text, cert: null, obs: null });
      n++;
    }
    const ms = performance.now() - t;
    if (n !== records) throw new Error('ladder alt saw the wrong count');
    lines.push(`  alt: zeekRows + row JSON.stringify with raw = line text, no mapping   ${fmtS(ms).padStart(9)}`);
  }
  lines.push(`  staged NDJSON: ${(stagedBytes / 1e9).toFixed(2)} GB for ${((await fs.stat(file)).size / 1e9).toFixed(2)} GB of input (${(stagedBytes / (await fs.stat(file)).size).toFixed(2)}×; ${(stagedChars / records).toFixed(0)} chars/record)`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// CPU profile of the CLI (main thread: JS, GC; DuckDB's own threads are not sampled)

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

async function cpuProfile(o: BenchOptions, file: string, records: number, distinct: number): Promise<{ lines: string[]; top: string }> {
  const dir = path.join(o.workDir, 'cpu-prof');
  await fs.mkdir(dir, { recursive: true });
  const run = await runOurs(o, file, records, distinct, { node: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  await fs.rm(run.lake, { recursive: true, force: true });
  // One profile per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>): the main thread's is 0.
  const names = (await fs.readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => Number(a.split('.')[4]) - Number(b.split('.')[4]));
  const name = names[0];
  if (!name) return { lines: ['  (no .cpuprofile written)'], top: '' };
  const prof = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')) as CpuProfile;
  const readerLines: string[] = [];
  for (const other of names.slice(1)) {
    const p = JSON.parse(await fs.readFile(path.join(dir, other), 'utf8')) as CpuProfile;
    const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    const idleMs = p.samples.reduce((t, id, i) => t + (idleIds.has(id) ? (p.timeDeltas[i] ?? 0) / 1000 : 0), 0);
    readerLines.push(`  reader thread ${other.split('.')[4]}: ${fmtS((p.endTime - p.startTime) / 1000)} profiled, ${fmtS(idleMs)} idle`);
  }
  if (!process.env.CERTHUNT_BENCH_KEEP_PROFILE) await fs.rm(dir, { recursive: true, force: true });
  else o.log(`  profiles kept: ${dir}`);
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i]!, (self.get(prof.samples[i]!) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000);
  const totalMs = (prof.endTime - prof.startTime) / 1000;
  const fnKey = (id: number): string => {
    const cf = byId.get(id)!.callFrame;
    const file = cf.url ? cf.url.replace(/^file:\/\//, '').replace(DIST, 'dist').replace(ROOT, '').replace(/^.*node_modules\//, 'node_modules/') : '';
    return `${cf.functionName || '(anonymous)'}${file ? ` ${file}:${cf.lineNumber + 1}` : ''}`;
  };
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, ms] of self) {
    const k = fnKey(id);
    byFn.set(k, (byFn.get(k) ?? 0) + ms);
    const cf = byId.get(id)!.callFrame;
    const f = cf.url ? cf.url.replace(/^file:\/\//, '').replace(DIST, 'dist').replace(ROOT, '').replace(/^.*node_modules\/(@[^/]+\/[^/]+|[^/]+).*/, 'node_modules/$1') : cf.functionName.startsWith('(') ? cf.functionName : '(native: JSON, Buffer, crypto, …)';
    byFile.set(f, (byFile.get(f) ?? 0) + ms);
  }
  const idle = byFn.get('(idle)') ?? 0;
  const busy = totalMs - idle;
  const lines = [
    `cpu profile of the CLI main thread: ${fmtS(totalMs)} profiled (${fmtS(run.ms)} wall with profiling), ${fmtS(idle)} idle (waiting on DuckDB / I/O), ${fmtS(busy)} busy`,
    ...readerLines,
    '  top self time (% of busy):',
  ];
  const sorted = [...byFn].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
  for (const [k, ms] of sorted.slice(0, 18)) lines.push(`    ${fmtS(ms).padStart(8)} ${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${k}`);
  lines.push('  self time by file (% of busy):');
  for (const [k, ms] of [...byFile].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    lines.push(`    ${fmtS(ms).padStart(8)} ${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${k}`);
  }
  const top = sorted
    .slice(0, 3)
    .map(([k, ms]) => `${k.split(' ')[0]} ${((100 * ms) / busy).toFixed(0)}%`)
    .join(', ');
  return { lines, top };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function fmtS(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? await dirBytes(p) : (await fs.stat(p)).size;
  }
  return n;
}

function peakBy(timeline: ChildRun['timeline']): Record<string, { rss: number; from: number; to: number }> {
  const out: Record<string, { rss: number; from: number; to: number }> = {};
  for (const s of timeline) {
    const e = (out[s.phase] ??= { rss: 0, from: s.t, to: s.t });
    e.rss = Math.max(e.rss, s.rss);
    e.to = s.t;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ingest

async function ingestBench(o: BenchOptions): Promise<BenchResult> {
  await prepare(o);
  const records = o.quick ? 100_000 : 1_000_000;
  const maxPairs = o.quick ? 5 : 3;
  // One ingest past this is stopped and counted at the cap (a lower bound; the ratio is then ≥).
  const cap = capMs(o, 120, 20);
  // Past this per ingest, one pair is enough (and the profile uses a 100,000-record prefix).
  const slow = 10 * 60_000;
  const log = await generatedLog(o, { records });
  const inputBytes = log.bytes;

  // The log was just written (page cache warm); one floor run loads DuckDB's library.
  o.log('warm-up (floor) …');
  await runFloor(o, log.file, records);

  const ours: (ChildRun & { bronzeMs: number })[] = [];
  const floor: (ChildRun & { queryMs: number })[] = [];
  const bound: (ChildRun & { queryMs: number })[] = [];
  const parsedBound: (ChildRun & { queryMs: number })[] = [];
  let lakeBytes = 0;
  for (let i = 0; i < maxPairs; i++) {
    const doOurs = async () => {
      const r = await runOurs(o, log.file, records, log.distinct, { capMs: cap });
      if (!r.killed) lakeBytes = await dirBytes(r.lake);
      await fs.rm(r.lake, { recursive: true, force: true });
      ours.push(r);
      o.log(`  ours  ${r.killed ? '≥ ' : ''}${fmtS(r.ms)}  (bronze phase ${fmtS(r.bronzeMs)})  peak RSS ${r.maxRssMiB.toFixed(0)} MiB`);
    };
    const doFloor = async () => {
      const r = await runFloor(o, log.file, records);
      floor.push(r);
      o.log(`  floor ${fmtS(r.ms)}  (query ${fmtS(r.queryMs)})  peak RSS ${r.maxRssMiB.toFixed(0)} MiB`);
    };
    if (i % 2 === 0) {
      await doOurs();
      await doFloor();
    } else {
      await doFloor();
      await doOurs();
    }
    const b = await runBound(o, log.file, records);
    bound.push(b);
    const p = await runBound(o, log.file, records, true);
    parsedBound.push(p);
    o.log(`  lower bounds: lines + numbers → Parquet ${fmtS(b.ms)}; with the fields parsed ${fmtS(p.ms)}`);
    if (ours.some((r) => r.killed || r.ms > slow)) break;
  }
  const killed = ours.some((r) => r.killed);
  const oursMed = median(ours.map((r) => r.ms));
  const floorMed = median(floor.map((r) => r.ms));
  const bronzeMed = median(ours.map((r) => r.bronzeMs));
  const boundMed = median(bound.map((r) => r.ms));
  const parsedMed = median(parsedBound.map((r) => r.ms));
  const phasePeaks = ours.map((r) => peakBy(r.timeline));

  // The breakdown needs a whole in-process ingest: at full size unless ours could not finish.
  const breakdownRecords = killed ? Math.min(records, 100_000) : records;
  const breakdownLog = breakdownRecords === records ? log : await generatedLog(o, { records: breakdownRecords });
  o.log(`instrumented in-process ingest of ${breakdownRecords.toLocaleString('en')} records (breakdown) …`);
  const inst = await instrumentedIngest(o, breakdownLog.file, breakdownRecords);
  o.log('JS read path, stage by stage …');
  const lad = await ladder(o, log.file, records);
  // The main thread's JS work per record does not depend on the size; DuckDB's threads are not
  // sampled. So a slow ingest is profiled on a prefix.
  const profRecords = killed || oursMed > slow ? Math.min(records, 100_000) : records;
  const profLog = profRecords === records ? log : await generatedLog(o, { records: profRecords });
  o.log(`cpu profile of the CLI on ${profRecords.toLocaleString('en')} records …`);
  const cpu = await cpuProfile(o, profLog.file, profRecords, profLog.distinct);

  const rssMed = median(ours.map((r) => r.maxRssMiB));
  const details = [
    `input: ${records.toLocaleString('en')} Zeek x509 JSON records, ${(inputBytes / 1e9).toFixed(2)} GB${lakeBytes ? `; lake after ingest ${(lakeBytes / 1e6).toFixed(0)} MB` : ''}`,
    `ours : certhunt ingest (CLI child), ${ours.length} run(s): ${killed ? `killed at the ${fmtS(cap)} cap (lower bound)` : `min ${fmtS(Math.min(...ours.map((r) => r.ms)))} median ${fmtS(oursMed)}`}  ` +
      `(${(records / oursMed).toFixed(1)}k rec/s, ${(inputBytes / 1e6 / (oursMed / 1000)).toFixed(1)} MB/s)`,
    `       bronze phase (until silver.certificates appears) median ${fmtS(bronzeMed)}, silver + rest ${fmtS(oursMed - bronzeMed)}; ` +
      `peak RSS median ${rssMed.toFixed(0)} MiB (sampled: bronze phase ${median(phasePeaks.map((p) => p.bronze?.rss ?? 0)).toFixed(0)}, silver phase ${median(phasePeaks.map((p) => p.silver?.rss ?? 0)).toFixed(0)})`,
    `floor: DuckDB CREATE TABLE AS read_json (child), ${floor.length} run(s): min ${fmtS(Math.min(...floor.map((r) => r.ms)))} median ${fmtS(floorMed)} ` +
      `(query alone ${fmtS(median(floor.map((r) => r.queryMs)))}); peak RSS median ${median(floor.map((r) => r.maxRssMiB)).toFixed(0)} MiB`,
    `lower bound: DuckDB alone keeping each line and its number in Parquet (child), median ${fmtS(boundMed)} = ${(boundMed / floorMed).toFixed(2)}× the floor, before any parsing or silver`,
    `             with each record's fields parsed beside its text (json_transform), median ${fmtS(parsedMed)} = ${(parsedMed / floorMed).toFixed(2)}× the floor, still without derived columns, lineage or silver`,
    `breakdown: one instrumented in-process ingest of ${breakdownRecords.toLocaleString('en')} records, ${fmtS(inst.ms)} (exclusive times; "phase › what"):`,
    ...inst.prof.report(inst.ms).map((l) => '  ' + l),
    `JS read path alone, cumulative passes over the ${records.toLocaleString('en')} records (no DuckDB, main thread):`,
    ...lad,
    ...cpu.lines,
  ];
  return {
    scenario: 'ingest',
    sizes: `${records.toLocaleString('en')} x509 records, ${(inputBytes / 1e9).toFixed(2)} GB`,
    measure: `median of ${ours.length}: certhunt ingest → bronze + silver (CLI) vs DuckDB CREATE TABLE AS read_json (both child processes, wall)`,
    unit: 's',
    ours: oursMed,
    floor: floorMed,
    target: 2,
    details,
    notes:
      memoryNote() +
      `${killed ? `ours killed at ${fmtS(cap)} cap (ratio is a lower bound); ` : ''}DuckDB alone: lines+numbers→Parquet ${(boundMed / floorMed).toFixed(2)}× floor, with fields parsed ${(parsedMed / floorMed).toFixed(2)}×; bronze phase ${fmtS(bronzeMed)}, silver+rest ${fmtS(oursMed - bronzeMed)}; ` +
      `ours peak RSS ${rssMed.toFixed(0)} MiB, floor ${median(floor.map((r) => r.maxRssMiB)).toFixed(0)} MiB; ` +
      `breakdown${breakdownRecords !== records ? ` (${breakdownRecords / 1000}k)` : ''}: ${inst.prof.top(inst.ms, 3)}; main-thread cpu: ${cpu.top}`,
  };
}

// ---------------------------------------------------------------------------------------------
// ingest-many

async function ingestMany(o: BenchOptions): Promise<BenchResult> {
  await prepare(o);
  const records = o.quick ? 100_000 : 720_000;
  const per = 1000;
  const log = await generatedLog(o, { records });
  const folder = path.join(o.workDir, 'hourly');
  await fs.rm(folder, { recursive: true, force: true });
  await fs.mkdir(folder);
  const n = await eachHour(log.file, per, (i, text) => fs.writeFile(path.join(folder, `x509.${String(i).padStart(4, '0')}.log`), text));
  o.log(`input: ${records.toLocaleString('en')} records in ${n} files of ${per} lines`);
  const pairs = o.quick ? 3 : 2;
  const cap = capMs(o, 60, 20);
  const ours: (ChildRun & { bronzeMs: number })[] = [];
  const floor: ChildRun[] = [];
  const one: ChildRun[] = [];
  await runFloor(o, path.join(folder, '*.log'), records); // warm-up
  for (let i = 0; i < pairs; i++) {
    const r = await runOurs(o, folder, records, log.distinct, { capMs: cap });
    await fs.rm(r.lake, { recursive: true, force: true });
    ours.push(r);
    const f = await runFloor(o, path.join(folder, '*.log'), records);
    floor.push(f);
    const w = await runOurs(o, log.file, records, log.distinct, { capMs: cap });
    await fs.rm(w.lake, { recursive: true, force: true });
    one.push(w);
    o.log(`  ours ${r.killed ? '≥ ' : ''}${fmtS(r.ms)} (peak RSS ${r.maxRssMiB.toFixed(0)} MiB)  floor ${fmtS(f.ms)}  ours on one file ${fmtS(w.ms)}`);
  }
  await fs.rm(folder, { recursive: true, force: true });
  const oursMed = median(ours.map((r) => r.ms));
  const floorMed = median(floor.map((r) => r.ms));
  const oneMed = median(one.map((r) => r.ms));
  const rss = median(ours.map((r) => r.maxRssMiB));
  return {
    scenario: 'ingest-many',
    sizes: `${records.toLocaleString('en')} x509 records in ${n} files of ${per} lines, ${(log.bytes / 1e9).toFixed(2)} GB`,
    measure: `median of ${ours.length}: certhunt ingest FOLDER → bronze + silver (CLI) vs DuckDB CREATE TABLE AS read_json('FOLDER/*.log') (both child processes, wall)`,
    unit: 's',
    ours: oursMed,
    floor: floorMed,
    target: 2,
    details: [
      `ours : certhunt ingest of the folder, ${ours.map((r) => fmtS(r.ms)).join(', ')}; peak RSS median ${rss.toFixed(0)} MiB`,
      `floor: DuckDB read_json over the folder's glob, ${floor.map((r) => fmtS(r.ms)).join(', ')}`,
      `ours on the same lines in one file: ${one.map((r) => fmtS(r.ms)).join(', ')}: the files cost ${fmtS(oursMed - oneMed)} (${((oursMed - oneMed) / n).toFixed(1)} ms a file)`,
    ],
    notes: memoryNote() + `ours on the same lines in one file ${fmtS(oneMed)}: the ${n} files cost ${((oursMed - oneMed) / n).toFixed(1)} ms each; ours peak RSS ${rss.toFixed(0)} MiB`,
  };
}

// ---------------------------------------------------------------------------------------------
// ingest-s3

/** Added to every request to the S3 server: a round trip to a bucket in another region. */
const S3_LATENCY_MS = 40;

async function ingestS3(o: BenchOptions): Promise<BenchResult> {
  await prepare(o);
  const server = await startS3Server();
  if (!server) throw new Error('ingest-s3 needs moto: bash scripts/s3-server-deps.sh');
  // Every chunk from a client waits before it goes on: a request's first bytes, mostly.
  const proxy = createTcpServer((client) => {
    const up = tcpConnect(Number(new URL(server.endpoint).port), '127.0.0.1');
    client.on('data', (d: Buffer) => setTimeout(() => up.write(d), S3_LATENCY_MS));
    up.pipe(client);
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
  });
  try {
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyPort = (proxy.address() as { port: number }).port;
    const records = o.quick ? 50_000 : 200_000;
    const per = 1000;
    const log = await generatedLog(o, { records });
    const folder = path.join(o.workDir, 'hourly-gz');
    await fs.rm(folder, { recursive: true, force: true });
    await fs.mkdir(folder);
    const bucket = 'sec-logs';
    await server.client.send(new CreateBucketCommand({ Bucket: bucket }));
    let bytes = 0;
    const n = await eachHour(log.file, per, async (i, text) => {
      const name = `x509.${String(i).padStart(4, '0')}.log.gz`;
      const body = gzipSync(text);
      bytes += body.length;
      await fs.writeFile(path.join(folder, name), body);
      await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: `zeek/${name}`, Body: body }));
    });
    o.log(`input: ${records.toLocaleString('en')} records in ${n} gzipped files of ${per} lines (${(bytes / 1e6).toFixed(1)} MB), on disk and in S3 behind ${S3_LATENCY_MS} ms`);
    const s3Env = {
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${proxyPort}`, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1',
    };
    const pairs = o.quick ? 2 : 3;
    const cap = capMs(o, 30, 10);
    const ours: ChildRun[] = [];
    const disk: ChildRun[] = [];
    for (let i = 0; i < pairs; i++) {
      const r = await runOurs(o, `s3://${bucket}/zeek/`, records, log.distinct, { capMs: cap, env: s3Env });
      await fs.rm(r.lake, { recursive: true, force: true });
      ours.push(r);
      const d = await runOurs(o, folder, records, log.distinct, { capMs: cap });
      await fs.rm(d.lake, { recursive: true, force: true });
      disk.push(d);
      o.log(`  ours from S3 ${r.killed ? '≥ ' : ''}${fmtS(r.ms)} (peak RSS ${r.maxRssMiB.toFixed(0)} MiB)  from disk ${fmtS(d.ms)} (${d.maxRssMiB.toFixed(0)} MiB)`);
    }
    await fs.rm(folder, { recursive: true, force: true });
    const oursMed = median(ours.map((r) => r.ms));
    const diskMed = median(disk.map((r) => r.ms));
    return {
      scenario: 'ingest-s3',
      sizes: `${records.toLocaleString('en')} x509 records in ${n} gzipped files of ${per} lines, ${(bytes / 1e6).toFixed(1)} MB; S3 (moto) behind ${S3_LATENCY_MS} ms a request`,
      measure: `median of ${ours.length}: certhunt ingest s3://bucket/prefix/ vs certhunt ingest of the same files from disk (both CLI child processes, wall)`,
      unit: 's',
      ours: oursMed,
      floor: diskMed,
      target: 1.25,
      details: [
        `ours from S3: ${ours.map((r) => fmtS(r.ms)).join(', ')}; peak RSS median ${median(ours.map((r) => r.maxRssMiB)).toFixed(0)} MiB`,
        `ours from disk: ${disk.map((r) => fmtS(r.ms)).join(', ')}; peak RSS median ${median(disk.map((r) => r.maxRssMiB)).toFixed(0)} MiB`,
      ],
      notes: `S3 costs ${((oursMed - diskMed) / n).toFixed(1)} ms a file over disk (${S3_LATENCY_MS} ms a request added); peak RSS from S3 ${median(ours.map((r) => r.maxRssMiB)).toFixed(0)} MiB, from disk ${median(disk.map((r) => r.maxRssMiB)).toFixed(0)} MiB`,
    };
  } finally {
    proxy.close();
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// ingest-memory

async function ingestMemory(o: BenchOptions): Promise<BenchResult> {
  await prepare(o);
  const log = await generatedLog(o, { bytes: o.quick ? 500e6 : 5e9 }, true);
  return memoryRun(o, 'ingest-memory', log, `${log.records.toLocaleString('en')} x509 records, ${(log.bytes / 1e9).toFixed(2)} GB`);
}

/**
 * The same budget on Zeek's default x509.log (no DER): ~7M lines of ~700 bytes, so silver sees
 * ~3.5× the rows of the DER log for the same bytes. The log is the 1M-record one of `ingest`,
 * copied with every `ts` moved on by the log's span in whole days per copy (a sensor's weeks
 * that see the same certificates again), until it reaches the size.
 */
async function ingestMemoryPlain(o: BenchOptions): Promise<BenchResult> {
  await prepare(o);
  const day = await generatedLog(o, { records: o.quick ? 100_000 : 1_000_000 });
  const log = await repeatedLog(o, day, o.quick ? 500e6 : 5e9);
  return memoryRun(o, 'ingest-memory-plain', log, `${log.records.toLocaleString('en')} plain x509 records (${log.copies} time-shifted copies of ${day.records.toLocaleString('en')}), ${(log.bytes / 1e9).toFixed(2)} GB`);
}

/** `log` again and again, each copy's `ts` later by the log's span in whole days, up to `bytes` (whole lines). */
async function repeatedLog(o: BenchOptions, log: { file: string; records: number; distinct: number }, bytes: number): Promise<{ file: string; records: number; bytes: number; distinct: number; copies: string }> {
  const TS = /"ts":(\d+)/;
  let lo = Infinity;
  let hi = -Infinity;
  await eachChunkOfLines(log.file, async (lines) => {
    for (const line of lines) {
      const t = Number(TS.exec(line)?.[1]);
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    return true;
  });
  const shift = Math.ceil((hi - lo + 1) / 86400) * 86400;
  const file = path.join(o.workDir, `x509-plain-${bytes / 1e6}MB.json`);
  const out = createWriteStream(file, { highWaterMark: 4 * MiB });
  let records = 0;
  let written = 0;
  let copy = 0;
  for (; written < bytes; copy++) {
    await eachChunkOfLines(log.file, async (lines) => {
      const keep: string[] = [];
      for (const line of lines) {
        if (written >= bytes) break;
        const shifted = line.replace(TS, (_, s: string) => `"ts":${Number(s) + copy * shift}`);
        keep.push(shifted);
        written += Buffer.byteLength(shifted) + 1;
        records++;
      }
      await writeLines(out, keep);
      return written < bytes;
    });
  }
  await closeStream(out);
  const copies = `${copy - 1} + ${((records - (copy - 1) * log.records) / log.records).toFixed(2)}`;
  o.log(`input: ${records.toLocaleString('en')} lines (${(written / 1e9).toFixed(2)} GB), ${copies} copies of ${log.records.toLocaleString('en')} lines ${shift / 86400} days apart`);
  return { file, records, bytes: written, distinct: log.distinct, copies };
}

/** `certhunt ingest` of a large log in a child: its peak RSS against the 1 GiB budget. */
async function memoryRun(o: BenchOptions, scenario: string, log: { file: string; records: number; bytes: number; distinct: number }, sizes: string): Promise<BenchResult> {
  const budget = 1024;
  const cap = capMs(o, 60, 30);
  o.log(`certhunt ingest of ${(log.bytes / 1e9).toFixed(2)} GB (cap ${fmtS(cap)}) …`);
  const r = await runOurs(o, log.file, log.records, log.distinct, { sampleMs: 200, capMs: cap });
  const lakeBytes = r.killed ? 0 : await dirBytes(r.lake);
  await fs.rm(r.lake, { recursive: true, force: true });
  await fs.rm(log.file, { force: true });
  if (r.killed && r.maxRssMiB <= budget) {
    throw new Error(`killed at the ${fmtS(cap)} cap with ${r.maxRssMiB.toFixed(0)} MiB sampled so far: the peak is unknown (raise CERTHUNT_BENCH_CAP_MIN)`);
  }
  const phases = peakBy(r.timeline);
  // RSS over time, in tenths of the run.
  const tenths: string[] = [];
  for (let k = 1; k <= 10; k++) {
    const lo = ((k - 1) * r.ms) / 10;
    const hi = (k * r.ms) / 10;
    const xs = r.timeline.filter((s) => s.t >= lo && s.t < hi);
    if (xs.length) tenths.push(`${Math.max(...xs.map((s) => s.rss)).toFixed(0)}${xs.some((s) => s.phase === 'silver') ? 's' : ''}`);
  }
  const peakText = `${r.killed ? '≥ ' : ''}${r.maxRssMiB.toFixed(0)} MiB`;
  const details = [
    `input: ${log.records.toLocaleString('en')} Zeek x509 JSON records, ${(log.bytes / 1e9).toFixed(2)} GB${lakeBytes ? `; lake after ingest ${(lakeBytes / 1e6).toFixed(0)} MB` : ''}`,
    `ours: certhunt ingest (CLI child) ${r.killed ? `killed at the cap after ${fmtS(r.ms)}` : `${fmtS(r.ms)} (${(log.records / r.ms).toFixed(1)}k rec/s, ${(log.bytes / 1e6 / (r.ms / 1000)).toFixed(1)} MB/s)`}`,
    `peak RSS ${r.killed ? '(largest sample before the kill)' : '(getrusage maxRSS of the child)'}: ${peakText} vs budget ${budget} MiB`,
    ...Object.entries(phases).map(([ph, e]) => `  ${ph.padEnd(7)} ${fmtS(e.from)} … ${fmtS(e.to)}: sampled peak RSS ${e.rss.toFixed(0)} MiB`),
    `  max sampled RSS per tenth of the run, MiB ('s' = silver phase): ${tenths.join(' ')}`,
    `(ours/floor are MiB, peak RSS / the 1 GiB budget; the runner labels them "ms")`,
  ];
  return {
    scenario,
    sizes,
    measure: 'peak RSS of certhunt ingest (CLI child), MiB, vs the 1 GiB budget',
    unit: 'ms',
    ours: r.maxRssMiB,
    floor: budget,
    target: 1,
    details,
    notes:
      memoryNote() +
      `values are MiB, not ms: peak RSS ${peakText} / ${budget} MiB; bronze phase peak ${phases.bronze?.rss.toFixed(0) ?? '?'} MiB (0–${fmtS(phases.bronze?.to ?? 0)}), ` +
      `silver phase peak ${phases.silver?.rss.toFixed(0) ?? '?'} MiB; ` +
      (r.killed ? `killed at the ${fmtS(cap)} cap in the ${r.timeline[r.timeline.length - 1]?.phase ?? '?'} phase` : `${fmtS(r.ms)} (${(log.bytes / 1e6 / (r.ms / 1000)).toFixed(1)} MB/s)`),
  };
}

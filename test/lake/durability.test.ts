/**
 * Durability of the Delta writer on a local folder (acceptance criteria):
 *  1. a writer SIGKILLed at random moments (mid-append, mid-commit, mid-checkpoint) always leaves
 *     a readable table holding a prefix of its batches, each whole and once; re-running it with
 *     the same app-transaction versions completes the table exactly once;
 *  2. two processes appending at the same time lose and double nothing, and the checkpoints
 *     written in between agree with a replay of the JSON log;
 *  3. the same app-transaction version committed twice in one process lands once.
 * Writers are real child processes (test/helpers/writer.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { DeltaError } from '../../src/lake/error.js';
import type { Snapshot } from '../../src/lake/snapshot.js';
import { FsStorage } from '../../src/lake/storage-fs.js';
import { DeltaTable } from '../../src/lake/table.js';
import { WRITER_SCHEMA } from '../helpers/writer.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = 'test/helpers/writer.ts';
const INTERVAL = 10;

let root: string;
let engine: Engine;
/** Writers still running; a failing test must not leave them behind. */
const live = new Set<ChildProcess>();

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'certhunt-durability-'));
  engine = await openEngine();
});

after(() => {
  for (const child of live) child.kill('SIGKILL');
  engine?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------- writer processes

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  times: number[];
  stderr: string;
  /** ms since spawn at which `ready` / `done` were read, and at which the process was gone. */
  readyAt?: number;
  doneAt?: number;
  exitAt: number;
  killed: boolean;
}

interface Running {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<RunResult>;
}

/**
 * When to SIGKILL: `ms` after spawn, after the `ready` line, or after the report of append `k`
 * (committed or skipped), the last aiming a kill into the next append.
 */
type Kill = { from: 'spawn' | 'ready'; ms: number } | { from: 'report'; k: number; ms: number };

function startWriter(args: (string | number)[], options: { waitGo?: boolean; kill?: Kill } = {}): Running {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args.map(String), ...(options.waitGo ? ['--wait-go'] : [])], {
    cwd: PROJECT,
    stdio: [options.waitGo ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: string[] = [];
  const times: number[] = []; // ms since spawn at which each line was read
  let stderr = '';
  let partial = '';
  let readyAt: number | undefined;
  let doneAt: number | undefined;
  let killed = false;
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    // child.kill is a no-op once the child has exited (no stray signal to a reused pid).
    if (child.exitCode === null && child.signalCode === null) killed = child.kill('SIGKILL') || killed;
  };
  if (options.kill?.from === 'spawn') killTimer = setTimeout(kill, options.kill.ms);
  // A hung writer must fail the test, not hang it.
  const watchdog = setTimeout(kill, 90_000);
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  ready.catch(() => undefined); // callers that never await `ready` must not see an unhandled rejection
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (line === 'ready') {
        readyAt = performance.now() - t0;
        if (options.kill?.from === 'ready') killTimer = setTimeout(kill, options.kill.ms);
        readyResolve();
      } else if (line === 'done') doneAt = performance.now() - t0;
      else if (options.kill?.from === 'report' && / (\d+) /.exec(line)?.[1] === String(options.kill.k)) {
        killTimer = setTimeout(kill, options.kill.ms);
      }
      times.push(performance.now() - t0);
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<RunResult>((resolve, reject) => {
    child.once('error', reject);
    // 'close': the process is gone and its pipes are drained, so every line it wrote is in `lines`.
    child.once('close', (code, signal) => {
      live.delete(child);
      clearTimeout(killTimer);
      clearTimeout(watchdog);
      if (partial) {
        lines.push(partial);
        times.push(performance.now() - t0);
      }
      readyReject(new Error(`writer exited before ready (code ${code}, signal ${signal}): ${stderr}`));
      resolve({
        code,
        signal,
        lines,
        times,
        stderr,
        exitAt: performance.now() - t0,
        killed,
        ...(readyAt !== undefined ? { readyAt } : {}),
        ...(doneAt !== undefined ? { doneAt } : {}),
      });
    });
  });
  return { child, ready, result };
}

/** The `committed`/`skipped` reports of a run: [status, k, version]. */
function reports(lines: string[]): { status: string; k: number; version: number }[] {
  return lines
    .filter((l) => l.startsWith('committed ') || l.startsWith('skipped '))
    .map((l) => {
      const [status, k, version] = l.split(' ');
      return { status: status!, k: Number(k), version: Number(version) };
    });
}

function assertCleanExit(r: RunResult, what: string): void {
  assert.equal(r.signal, null, `${what}: killed by ${r.signal}`);
  assert.equal(r.code, 0, `${what}: exit code ${r.code}\n${r.stderr}`);
  assert.equal(r.lines.at(-1), 'done', `${what}: did not finish: ${r.lines.join(' | ')}`);
}

// ---------------------------------------------------------------- table checks

const COMMIT_FILE = /^(\d{20})\.json$/;
const CHECKPOINT_FILE = /^(\d{20})\.checkpoint\.parquet$/;

/**
 * Every `_delta_log/*.json` parses whole: newline-terminated, each line a JSON object, one
 * commitInfo. Returns the commits' actions by version (versions must be 0..N without gaps).
 */
function readLogFiles(dir: string): Map<number, Record<string, any>[]> {
  const log = join(dir, '_delta_log');
  const commits = new Map<number, Record<string, any>[]>();
  if (!existsSync(log)) return commits;
  for (const name of readdirSync(log)) {
    if (!name.endsWith('.json')) continue;
    const m = COMMIT_FILE.exec(name);
    assert.ok(m, `unexpected .json in _delta_log: ${name}`);
    const text = readFileSync(join(log, name), 'utf8');
    assert.ok(text.length > 0 && text.endsWith('\n'), `commit ${name} is empty or not newline-terminated (torn write?)`);
    const actions = text
      .slice(0, -1)
      .split('\n')
      .map((line, i) => {
        try {
          return JSON.parse(line) as Record<string, any>;
        } catch (e) {
          assert.fail(`commit ${name} line ${i + 1} does not parse (torn write?): ${(e as Error).message}`);
        }
      });
    assert.equal(actions.filter((a) => 'commitInfo' in a).length, 1, `commit ${name} must hold one commitInfo`);
    commits.set(Number(m[1]), actions);
  }
  const versions = [...commits.keys()].sort((a, b) => a - b);
  assert.deepEqual(versions, versions.map((_, i) => i), `commit versions must be 0..N without gaps: ${versions.join(',')}`);
  return commits;
}

function checkpointVersions(dir: string): number[] {
  const log = join(dir, '_delta_log');
  if (!existsSync(log)) return [];
  return readdirSync(log)
    .map((n) => CHECKPOINT_FILE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

async function countRows(t: DeltaTable, snapshot: Snapshot): Promise<number> {
  const plan = await t.scan({ snapshot });
  const reader = await t.conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM (${plan.sql})`);
  return Number(reader.getRowObjectsJson()[0]!.n);
}

/** A JSON value without null-valued keys: a checkpoint row holds null where a commit omits a field. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNulls(x)]));
  return v;
}

function describeSnapshot(s: Snapshot) {
  return {
    version: s.version,
    protocol: dropNulls(s.protocol),
    metadata: dropNulls(s.metadata),
    files: s.files
      .map((f) => ({ path: f.path, size: f.size, numRecords: JSON.parse(f.stats ?? '{}').numRecords, partitionValues: f.partitionValues }))
      .sort((a, b) => (a.path < b.path ? -1 : 1)),
    txns: [...s.txns.values()].map((x) => [x.appId, Number(x.version)]).sort(),
  };
}

let replayCopies = 0;

/**
 * Every checkpoint in the log is readable and equals a replay of the JSON commits alone (a copy
 * of the table with its checkpoints and `_last_checkpoint` removed): same files, txns, metadata
 * and row count. `_last_checkpoint`, when present, names a checkpoint that exists. Returns the
 * checkpoint versions and their row counts.
 */
async function verifyCheckpoints(dir: string, t: DeltaTable): Promise<{ version: number; rows: number }[]> {
  const cps = checkpointVersions(dir);
  for (const v of cps) assert.equal(v % INTERVAL, 0, `checkpoint at ${v} is off the interval`);
  const hintFile = join(dir, '_delta_log', '_last_checkpoint');
  if (existsSync(hintFile)) {
    const text = readFileSync(hintFile, 'utf8');
    let hint: { version: number; numOfAddFiles: number };
    try {
      hint = JSON.parse(text);
    } catch {
      assert.fail(`_last_checkpoint does not parse: ${JSON.stringify(text)}`);
    }
    assert.ok(cps.includes(hint.version), `_last_checkpoint names version ${hint.version}, which has no checkpoint (have ${cps.join(',')})`);
    assert.equal(hint.numOfAddFiles, (await t.snapshot({ version: hint.version })).files.length, '_last_checkpoint numOfAddFiles');
  }
  if (cps.length === 0) return [];
  const copy = join(root, `replay-${replayCopies++}`);
  cpSync(dir, copy, { recursive: true, filter: (src) => !CHECKPOINT_FILE.test(basename(src)) && basename(src) !== '_last_checkpoint' });
  try {
    assert.deepEqual(checkpointVersions(copy), []);
    const replay = new DeltaTable(new FsStorage(copy), t.conn);
    const out: { version: number; rows: number }[] = [];
    for (const v of cps) {
      const fromCheckpoint = await t.snapshot({ version: v });
      assert.equal(fromCheckpoint.segment.checkpoint?.version, v, `snapshot ${v} should start from its checkpoint`);
      assert.equal(fromCheckpoint.segment.commits.length, 0);
      const fromJson = await replay.snapshot({ version: v });
      assert.equal(fromJson.segment.checkpoint, undefined);
      assert.equal(fromJson.segment.commits.length, v + 1);
      assert.deepEqual(describeSnapshot(fromCheckpoint), describeSnapshot(fromJson), `checkpoint ${v} differs from the JSON replay`);
      const rows = await countRows(t, fromCheckpoint);
      assert.equal(rows, await countRows(replay, fromJson), `row count at checkpoint ${v}`);
      out.push({ version: v, rows });
    }
    return out;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Rows grouped by batch; fails on a duplicate (batch,row) or a row of the wrong app. */
function batches(rows: Record<string, unknown>[], appOf: (batch: number) => string): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (const r of rows) {
    const b = Number(r.batch);
    const i = Number(r.row);
    assert.equal(r.app, appOf(b), `row (${b},${i}) has app ${String(r.app)}`);
    let set = out.get(b);
    if (!set) out.set(b, (set = new Set()));
    assert.ok(!set.has(i), `row (${b},${i}) appears twice`);
    set.add(i);
  }
  return out;
}

function assertWholeBatches(got: Map<number, Set<number>>, expected: number[], rowsPerBatch: number): void {
  assert.deepEqual([...got.keys()].sort((a, b) => a - b), expected, 'batches in the table');
  for (const [b, set] of got) {
    assert.equal(set.size, rowsPerBatch, `batch ${b} is partial: ${set.size} of ${rowsPerBatch} rows`);
    for (let i = 0; i < rowsPerBatch; i++) assert.ok(set.has(i), `batch ${b} lacks row ${i}`);
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

// ---------------------------------------------------------------- 1. SIGKILL

const CRASH_APP = 'crash-writer';
const CRASH_BATCHES = 50;
const CRASH_ROWS = 200;
const crashArgs = (dir: string) => [dir, CRASH_APP, 0, 1, CRASH_BATCHES, CRASH_ROWS, INTERVAL];

/**
 * The state a killed single writer left: readable, batches 1..m each whole and once, m equal to
 * the table's txn version for the writer (and, one writer, to the table version), history and
 * checkpoints readable. Returns m.
 */
async function verifyCrashTable(dir: string): Promise<{ m: number; checkpoints: number[] }> {
  const commits = readLogFiles(dir);
  const t = new DeltaTable(new FsStorage(dir), engine.conn);
  if (commits.size === 0) {
    // Killed before the create committed: no table, and saying so cleanly.
    await assert.rejects(t.snapshot(), (e) => e instanceof DeltaError && e.kind === 'not-a-table');
    assert.deepEqual(checkpointVersions(dir), []);
    return { m: 0, checkpoints: [] };
  }
  const latest = commits.size - 1;
  const snap = await t.snapshot();
  assert.equal(snap.version, latest);
  const m = snap.txns.has(CRASH_APP) ? Number(snap.txns.get(CRASH_APP)!.version) : 0;
  assert.equal(m, latest, `one writer: version k holds batch k, so the txn version (${m}) is the table version (${latest})`);
  // The log itself: commit k holds batch k's one file and txn k, nothing else.
  assert.ok(commits.get(0)!.some((a) => 'metaData' in a) && commits.get(0)!.some((a) => 'protocol' in a));
  for (let k = 1; k <= latest; k++) {
    const actions = commits.get(k)!;
    const adds = actions.filter((a) => 'add' in a);
    const txns = actions.filter((a) => 'txn' in a);
    assert.equal(adds.length, 1, `commit ${k} adds ${adds.length} files`);
    assert.equal(JSON.parse(adds[0]!.add.stats).numRecords, CRASH_ROWS);
    assert.deepEqual(txns.map((a) => [a.txn.appId, a.txn.version]), [[CRASH_APP, k]], `commit ${k} txn`);
    assert.equal(actions.length, 3, `commit ${k}: commitInfo, add, txn`);
  }
  const rows = await t.rows({ orderBy: 'batch, row' });
  assert.equal(rows.length, m * CRASH_ROWS);
  assertWholeBatches(batches(rows, () => CRASH_APP), range(1, m), CRASH_ROWS);
  const hist = await t.history();
  assert.deepEqual(hist.map((h) => h.version), range(0, latest).reverse(), 'history versions');
  assert.equal(hist.at(-1)!.operation, 'CREATE TABLE');
  for (const h of hist.slice(0, -1)) assert.equal(h.operation, 'WRITE');
  const cps = await verifyCheckpoints(dir, t);
  for (const cp of cps) assert.equal(cp.rows, cp.version * CRASH_ROWS, `rows at checkpoint ${cp.version}`);
  const checkpoints = cps.map((c) => c.version);
  // The latest snapshot starts from the newest checkpoint, wherever the hint points.
  assert.equal(snap.segment.checkpoint?.version, checkpoints.at(-1));
  return { m, checkpoints };
}

test('SIGKILL at random moments leaves whole batches only; re-runs finish the table exactly once', { timeout: 360_000 }, async () => {
  // Un-killed runs set the range the kill delays are drawn from. Two, keeping the faster: the
  // first may pay for cold caches (tsx's compile cache, the page cache).
  let fastest: RunResult | undefined;
  for (const n of [1, 2]) {
    const baselineDir = join(root, `crash-baseline-${n}`);
    const run = await startWriter(crashArgs(baselineDir)).result;
    assertCleanExit(run, 'baseline run');
    assert.deepEqual(reports(run.lines), range(1, CRASH_BATCHES).map((k) => ({ status: 'committed', k, version: k })));
    assert.deepEqual(await verifyCrashTable(baselineDir), { m: CRASH_BATCHES, checkpoints: range(1, CRASH_BATCHES / INTERVAL).map((i) => i * INTERVAL) });
    rmSync(baselineDir, { recursive: true, force: true });
    if (!fastest || run.exitAt < fastest.exitAt) fastest = run;
  }
  const baseline = fastest!;
  const total = baseline.exitAt;
  const appending = baseline.exitAt - baseline.readyAt!;
  // How long an append that also writes a checkpoint took (from the report before it to its own).
  const reportAt = (k: number): number => baseline.times[baseline.lines.findIndex((l) => l.startsWith(`committed ${k} `))]!;
  const checkpointAppend = Math.max(...range(1, CRASH_BATCHES / INTERVAL).map((j) => reportAt(j * INTERVAL) - reportAt(j * INTERVAL - 1)));

  const MAX_TRIALS = 20;
  const BUDGET_MS = 130_000; // stop starting trials after this; the counts are printed
  const started = performance.now();
  const stats = { trials: 0, kills: 0, startup: 0, midRun: 0, afterDone: 0, finished: 0, atCheckpointVersion: 0, checkpointLost: 0, reruns: 0, aimed: 0 };
  for (let trial = 0; trial < MAX_TRIALS && performance.now() - started < BUDGET_MS; trial++) {
    stats.trials++;
    const dir = join(root, `crash-${trial}`);
    const attempts = 1 + (trial % 3); // 1, 2 or 3 killed runs before the final one
    let m = 0;
    for (let a = 0; a < attempts; a++) {
      // Three kinds of kill, in turn: anywhere from spawn to the end of a whole run (startup and
      // create included); from `ready` over the span the appends took (a re-run skips what is
      // there first, so some of these miss); and aimed at an append that writes a checkpoint
      // (its data file, commit and checkpoint), which random kills alone hit rarely.
      const kind = (trial + a) % 3;
      const next = range(1, CRASH_BATCHES / INTERVAL).map((j) => j * INTERVAL).filter((c) => c > m);
      const aimAt = next[Math.floor(Math.random() * next.length)];
      const kill: Kill =
        kind === 0 ? { from: 'spawn', ms: Math.random() * total }
        : kind === 1 || aimAt === undefined ? { from: 'ready', ms: Math.random() * appending }
        : { from: 'report', k: aimAt - 1, ms: Math.random() * checkpointAppend };
      if (kill.from === 'report') stats.aimed++;
      const r = await startWriter(crashArgs(dir), { kill }).result;
      if (a > 0) stats.reruns++;
      const acked = reports(r.lines);
      // What the writer reported before dying is a fact about the table.
      acked.forEach((x, i) => {
        assert.equal(x.k, i + 1, `run reports appends in order: ${r.lines.join(' | ')}`);
        if (x.k <= m) assert.deepEqual(x, { status: 'skipped', k: x.k, version: m }, 'a batch already in the table is skipped');
        else assert.deepEqual(x, { status: 'committed', k: x.k, version: x.k }, 'a new batch commits at the next version');
      });
      const floor = Math.max(m, acked.at(-1)?.k ?? 0);
      if (r.killed && r.signal === 'SIGKILL') {
        stats.kills++;
        if (r.readyAt === undefined) stats.startup++;
        else if (r.doneAt === undefined) stats.midRun++;
        else stats.afterDone++;
      } else {
        assertCleanExit(r, `trial ${trial} run ${a} (finished before its kill)`);
        stats.finished++;
      }
      const state = await verifyCrashTable(dir).catch((e: Error) => {
        const how = r.signal === 'SIGKILL' ? `killed (${JSON.stringify(kill)})` : 'finished';
        throw new Error(`trial ${trial} run ${a}, ${how} after: ${r.lines.slice(-3).join(' | ')}: ${e.message}`, { cause: e });
      });
      assert.ok(
        state.m >= floor && state.m <= Math.min(floor + 1, CRASH_BATCHES),
        `trial ${trial} run ${a}: table holds ${state.m} batches; the writer had acknowledged ${floor}`,
      );
      if (r.signal === 'SIGKILL' && state.m > 0 && state.m % INTERVAL === 0 && state.m > m) {
        stats.atCheckpointVersion++;
        if (!state.checkpoints.includes(state.m)) stats.checkpointLost++;
      }
      m = state.m;
    }
    // Run to completion with the same txn versions: what is there is skipped, the rest lands once.
    const final = await startWriter(crashArgs(dir)).result;
    assertCleanExit(final, `trial ${trial} final run`);
    assert.deepEqual(
      reports(final.lines),
      range(1, CRASH_BATCHES).map((k) => (k <= m ? { status: 'skipped', k, version: m } : { status: 'committed', k, version: k })),
    );
    const done = await verifyCrashTable(dir);
    assert.equal(done.m, CRASH_BATCHES);
    // A checkpoint a kill prevented stays missing (the next interval writes one); when the final
    // run committed batch 50 itself, it wrote checkpoint 50.
    if (m < CRASH_BATCHES) assert.ok(done.checkpoints.includes(CRASH_BATCHES), `trial ${trial}: no checkpoint at ${CRASH_BATCHES}`);
    rmSync(dir, { recursive: true, force: true });
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `# crash: baseline run ${Math.round(total)} ms (appends ${Math.round(appending)} ms, a checkpointing append ${Math.round(checkpointAppend)} ms); ` +
      `${stats.trials} trials, ${stats.reruns} re-runs, ${stats.aimed} kills aimed at a checkpointing append; ` +
      `${stats.kills} kills: ${stats.midRun} mid-run, ${stats.startup} during startup/create, ${stats.afterDone} after the last append; ` +
      `${stats.finished} runs finished before their kill; ${stats.atCheckpointVersion} kills right after a checkpoint-version commit ` +
      `(${stats.checkpointLost} of them before the checkpoint was in place); ${secs} s`,
  );
  assert.ok(stats.trials >= 5, `only ${stats.trials} trials ran`);
  assert.ok(stats.midRun >= 3, `only ${stats.midRun} kills landed mid-run`);
});

// ---------------------------------------------------------------- 2. concurrent writers

test('two processes appending at once: 200 commits, every batch once, checkpoints agree with the log', { timeout: 240_000 }, async () => {
  const dir = join(root, 'concurrent');
  const ROWS = 100;
  const N = 100;
  const a = startWriter([dir, 'writer-A', 0, 1, N, ROWS, INTERVAL], { waitGo: true });
  const b = startWriter([dir, 'writer-B', N, 1, N, ROWS, INTERVAL], { waitGo: true });
  // Both race to create the table, then wait; one `go` starts both.
  await Promise.all([a.ready, b.ready]);
  a.child.stdin!.end('go\n');
  b.child.stdin!.end('go\n');
  const [ra, rb] = await Promise.all([a.result, b.result]);
  assertCleanExit(ra, 'writer-A');
  assertCleanExit(rb, 'writer-B');

  // Each writer committed each of its batches (nothing skipped: the app ids differ), and the
  // versions they were told are distinct and cover 1..200.
  const told = new Map<number, string>();
  for (const [app, r] of [['writer-A', ra], ['writer-B', rb]] as const) {
    const reps = reports(r.lines);
    assert.deepEqual(reps.map((x) => [x.status, x.k]), range(1, N).map((k) => ['committed', k]), `${app} reports`);
    for (const x of reps) {
      assert.ok(!told.has(x.version), `version ${x.version} reported by two commits`);
      told.set(x.version, `${app}:${x.k}`);
    }
  }
  assert.deepEqual([...told.keys()].sort((x, y) => x - y), range(1, 2 * N));

  // The log: versions 0..200 without gaps, each append commit holding one file and one txn, and
  // matching what its writer was told.
  const commits = readLogFiles(dir);
  assert.equal(commits.size, 2 * N + 1);
  const lastK = new Map<string, number>();
  for (let v = 1; v <= 2 * N; v++) {
    const actions = commits.get(v)!;
    const txns = actions.filter((x) => 'txn' in x).map((x) => x.txn);
    assert.equal(txns.length, 1, `commit ${v} txns`);
    assert.equal(actions.filter((x) => 'add' in x).length, 1, `commit ${v} adds`);
    const { appId, version: k } = txns[0];
    assert.equal(told.get(v), `${appId}:${k}`, `commit ${v} is what its writer reported`);
    assert.equal(k, (lastK.get(appId) ?? 0) + 1, `${appId}'s batches land in order`);
    lastK.set(appId, k);
  }

  const t = new DeltaTable(new FsStorage(dir), engine.conn);
  const hist = await t.history();
  assert.equal(hist.length, 2 * N + 1);
  assert.deepEqual(hist.map((h) => h.version), range(0, 2 * N).reverse());
  const snap = await t.snapshot();
  assert.equal(snap.version, 2 * N);
  assert.deepEqual(describeSnapshot(snap).txns, [['writer-A', N], ['writer-B', N]]);
  assert.equal(snap.files.length, 2 * N);
  const rows = await t.rows({ orderBy: 'batch, row' });
  assert.equal(rows.length, 2 * N * ROWS);
  assertWholeBatches(batches(rows, (bt) => (bt <= N ? 'writer-A' : 'writer-B')), range(1, 2 * N), ROWS);

  // Every 10th version has a checkpoint (written by whichever writer committed it), each equal to
  // a replay of the JSON log. `_last_checkpoint` names one of them (verifyCheckpoints): two
  // writers checkpointing at once may leave it a step behind, which the protocol allows, and
  // the latest snapshot still starts from checkpoint 200.
  const cps = await verifyCheckpoints(dir, t);
  assert.deepEqual(cps, range(1, (2 * N) / INTERVAL).map((i) => ({ version: i * INTERVAL, rows: i * INTERVAL * ROWS })));
  assert.ok(existsSync(join(dir, '_delta_log', '_last_checkpoint')));
  assert.equal(snap.segment.checkpoint?.version, 2 * N);
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- 3. idempotence in one process

test('the same app transaction committed twice lands once', async () => {
  const dir = join(root, 'idempotent');
  const t = new DeltaTable(new FsStorage(dir), engine.conn, { checkpointInterval: INTERVAL });
  await t.create({ schema: WRITER_SCHEMA });
  const batch = (b: number, app = 'app-1') => `SELECT ${b}::BIGINT AS batch, i::INTEGER AS row, '${app}' AS app FROM range(5) AS t(i)`;

  const first = await t.append(batch(1), { txn: { appId: 'app-1', version: 1 } });
  assert.equal(first.status, 'committed');
  assert.equal(first.version, 1);
  const again = await t.append(batch(1), { txn: { appId: 'app-1', version: 1 } });
  assert.equal(again.status, 'skipped');
  assert.equal(again.version, 1);
  const older = await t.append(batch(99), { txn: { appId: 'app-1', version: 0 } });
  assert.equal(older.status, 'skipped', 'a version below the recorded one is done too');
  const other = await t.append(batch(2, 'app-2'), { txn: { appId: 'app-2', version: 1 } });
  assert.deepEqual([other.status, other.version], ['committed', 2], 'another app id is independent');
  const next = await t.append(batch(3), { txn: { appId: 'app-1', version: 2 } });
  assert.deepEqual([next.status, next.version], ['committed', 3]);

  // Once the txn is only in a checkpoint (and read by a fresh table object), it still holds.
  await t.checkpoint();
  const fresh = new DeltaTable(new FsStorage(dir), engine.conn);
  const s = await fresh.snapshot();
  assert.equal(s.segment.checkpoint?.version, 3);
  assert.equal(s.segment.commits.length, 0);
  assert.equal((await fresh.append(batch(3), { txn: { appId: 'app-1', version: 2 } })).status, 'skipped');
  assert.equal((await fresh.append(batch(2, 'app-2'), { txn: { appId: 'app-2', version: 1 } })).status, 'skipped');

  // Two table objects (two engines) racing the same txn: exactly one lands.
  const e2 = await openEngine();
  try {
    const t2 = new DeltaTable(new FsStorage(dir), e2.conn);
    const raced = await Promise.all([
      fresh.append(batch(4), { txn: { appId: 'app-1', version: 3 } }),
      t2.append(batch(4), { txn: { appId: 'app-1', version: 3 } }),
    ]);
    assert.deepEqual(raced.map((o) => o.status).sort(), ['committed', 'skipped']);
    assert.equal(raced.find((o) => o.status === 'committed')!.version, 4);
  } finally {
    e2.close();
  }

  const snap = await t.snapshot();
  assert.equal(snap.version, 4);
  assert.deepEqual(describeSnapshot(snap).txns, [['app-1', 3], ['app-2', 1]]);
  const rows = await t.rows({ orderBy: 'batch, row' });
  assertWholeBatches(batches(rows, (b) => (b === 2 ? 'app-2' : 'app-1')), [1, 2, 3, 4], 5);
  assert.deepEqual((await t.history()).map((h) => h.version), [4, 3, 2, 1, 0]);
  rmSync(dir, { recursive: true, force: true });
});

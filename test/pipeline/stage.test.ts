/**
 * Staging files of a killed run: a process staging rows is SIGKILLed, its folder stays behind,
 * and a later process sweeps it once it is stale; folders of live processes and of processes
 * gone only lately are kept.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { FileSink } from '../../src/pipeline/sink.js';
import { sweepStages } from '../../src/pipeline/stage.js';

const dir = mkdtempSync(join(tmpdir(), 'certhunt-stage-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const age = (path: string, ms: number) => utimesSync(path, new Date(Date.now() - ms), new Date(Date.now() - ms));
/** A pid that was a process a moment ago. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

test('a run killed while staging leaves its folder; the next run sweeps it once stale', async () => {
  const tmp = join(dir, 'killed');
  mkdirSync(tmp);
  const stageUrl = pathToFileURL(join(import.meta.dirname, '../../src/pipeline/stage.ts')).href;
  // A child stages rows for ever, under its own TMPDIR, until killed.
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
    `const { Stage } = await import(${JSON.stringify(stageUrl)});
     const { existsSync } = await import('node:fs');
     const s = new Stage();
     let said = false;
     for (let i = 0; ; i++) {
       await s.write({ i, text: 'x'.repeat(100) });
       // An ingest's reads give the event loop turns, in which the file is opened and written.
       if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
       if (!said && i > 5000 && existsSync(s.file)) { said = true; console.log('staging'); }
     }`],
  { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('staging') && resolve());
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before staging`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const root = join(tmp, 'certhunt-stage');
  const left = join(root, String(child.pid));
  assert.ok(existsSync(left) && readdirSync(left).some((f) => f.endsWith('.ndjson')), `the killed run left its staging file (${existsSync(root) ? readdirSync(root).join(' ') : 'no root'}; pid ${child.pid})`);

  assert.deepEqual(sweepStages(root), [], 'not swept while it may still be in use (fresh)');
  age(left, 2 * HOUR);
  assert.deepEqual(sweepStages(root), [left], 'swept once stale');
  assert.ok(!existsSync(left), 'gone');
});

test('only stale folders of processes that are gone are swept', () => {
  const root = join(dir, 'mixed', 'certhunt-stage');
  const make = (name: string, ageMs: number) => {
    const p = join(root, name);
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'certhunt-stage-x.ndjson'), '{}\n');
    age(p, ageMs);
    return p;
  };
  const gone = make(String(deadPid()), 2 * HOUR);
  const goneLately = make(String(deadPid()), 60_000);
  const live = make(String(process.ppid), 2 * HOUR);
  const self = make(String(process.pid), 2 * HOUR);
  const other = make('not-a-pid', 2 * HOUR);
  assert.deepEqual(sweepStages(root), [gone], 'the stale folder of a dead process');
  for (const p of [goneLately, live, self, other]) assert.ok(existsSync(p), `${p} kept`);
  assert.deepEqual(sweepStages(join(dir, 'nowhere')), [], 'no folder yet: nothing to do');
});

test('a sink fed text lines and byte runs in turn writes them in the order given', async () => {
  const d = mkdtempSync(join(tmpdir(), 'certhunt-sink-'));
  try {
    const sink = new FileSink(join(d, 'out'));
    await sink.line('a');
    await sink.bytesOut(Buffer.from('b\nc\n'));
    await sink.line('d');
    await sink.line('e');
    await sink.bytesOut(Buffer.from('f\n'));
    await sink.close();
    assert.equal(readFileSync(join(d, 'out'), 'utf8'), 'a\nb\nc\nd\ne\nf\n');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

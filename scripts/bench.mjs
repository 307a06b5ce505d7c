#!/usr/bin/env node
// The benchmark runner. `npm run bench [-- SCENARIO...] [--quick] [--no-record] [--keep]`
//
// Each bench/<name>.ts (or .mjs/.js) exports `scenarios: { [scenario]: (opts) => Promise<BenchResult> }`
// (see bench/lake.ts for the BenchResult shape). A name on the command line selects a whole file
// (`lake`) or one scenario (`lake-append`); `FILE:SCENARIO` selects one scenario of one file, for a
// scenario named like its file (`ingest:ingest` without bench/ingest.ts's 5 GB ones); no name runs
// everything. Every scenario runs in its own
// child process (TypeScript through tsx), so its peak RSS is its own. Results are printed and
// appended to bench/RESULTS.md (unless --no-record).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import * as os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'bench');
const resultsFile = join(benchDir, 'RESULTS.md');
const argv = process.argv.slice(2);

// ---------------------------------------------------------------------------------------------

function benchFiles() {
  return readdirSync(benchDir)
    .filter((f) => /^[a-z0-9][\w-]*\.(ts|mts|mjs|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => ({ name: basename(f).replace(/\.(ts|mts|mjs|js)$/, ''), file: join(benchDir, f) }));
}

function runChild(args, opts = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...args], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    ...opts,
  });
}

async function main(args) {
  const quick = args.includes('--quick');
  const record = !args.includes('--no-record');
  const keep = args.includes('--keep');
  const unknownFlag = args.find((a) => a.startsWith('--') && !['--quick', '--no-record', '--keep'].includes(a));
  if (unknownFlag) fail(`unknown option ${unknownFlag}\nusage: npm run bench [-- SCENARIO...] [--quick] [--no-record] [--keep]`);
  const wanted = args.filter((a) => !a.startsWith('--'));

  // Which scenarios each bench file has (asked of a child, so this process never loads DuckDB).
  const plan = [];
  for (const { name, file } of benchFiles()) {
    const r = runChild(['list', file]);
    if (r.status !== 0) fail(`cannot load ${file}:\n${r.stderr}`);
    const names = JSON.parse(r.stdout.trim().split('\n').pop());
    for (const s of names) {
      if (wanted.length === 0 || wanted.includes(name) || wanted.includes(s) || wanted.includes(`${name}:${s}`)) plan.push({ file, scenario: s });
    }
  }
  const known = new Set(plan.flatMap((p) => [p.scenario, `${basename(p.file).replace(/\.\w+$/, '')}:${p.scenario}`]));
  for (const w of wanted) {
    if (!benchFiles().some((b) => b.name === w) && !known.has(w)) fail(`no benchmark named "${w}" (files in bench/: ${benchFiles().map((b) => b.name).join(', ')})`);
  }

  const machine = `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${(os.cpus()[0]?.model ?? '?').trim()}`;
  const commit = gitCommit();
  console.log(`certhunt bench — ${commit}, ${machine}${quick ? ', --quick' : ''}`);
  const results = [];
  let failed = false;
  for (const { file, scenario } of plan) {
    console.log(`\n▶ ${scenario}${quick ? ' (quick)' : ''}`);
    const workDir = mkdtempSync(join(os.tmpdir(), `certhunt-bench-${scenario}-`));
    const out = join(workDir, 'result.json');
    const load = os.loadavg()[0];
    const t = performance.now();
    const r = runChild(['run', file, scenario, workDir, out, quick ? 'quick' : 'full'], { stdio: ['ignore', 'inherit', 'inherit'] });
    const wall = (performance.now() - t) / 1000;
    if (r.status !== 0 || !existsSync(out)) {
      console.log(`✗ ${scenario} failed (exit ${r.status ?? r.signal})`);
      failed = true;
    } else {
      const res = JSON.parse(readFileSync(out, 'utf8'));
      res.wall = wall;
      res.load = load;
      results.push(res);
      printResult(res);
      // As each scenario ends, not once all have: a run stopped during a long later scenario
      // (bench/ingest.ts's 5 GB ones) keeps the rows of those that finished.
      if (record) record_([res], { commit, machine, quick });
    }
    if (!keep) rmSync(workDir, { recursive: true, force: true });
    else console.log(`  (kept ${workDir})`);
  }

  if (results.length) {
    console.log('\nsummary');
    for (const r of results) console.log(`  ${r.scenario.padEnd(16)} ${verdict(r)}  ratio ${r.ratio.toFixed(3)}× (target ≤ ${r.target}×)  ours ${show(r.ours, r.unit)}  floor ${show(r.floor, r.unit)}  peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
    if (record) console.log(`\nappended to ${resultsFile}`);
  }
  process.exit(failed ? 1 : 0);
}

function verdict(r) {
  return r.ratio <= r.target ? 'PASS' : 'MISS';
}

function show(v, unit) {
  return unit === 's' ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
}

function printResult(r) {
  console.log(`  ${r.measure}`);
  for (const d of r.details) console.log(`  ${d}`);
  console.log(`  → ours ${show(r.ours, r.unit)} / floor ${show(r.floor, r.unit)} = ${r.ratio.toFixed(3)}×  target ≤ ${r.target}×  ${verdict(r)}  peak RSS ${r.peakRssMiB.toFixed(0)} MiB  (${r.wall.toFixed(0)} s wall, load ${r.load.toFixed(1)} at start)`);
}

function gitCommit() {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' });
  return r.stdout.trim() + (dirty.stdout.trim() ? '+dirty' : '');
}

const HEADER = `# Benchmark results

Appended by \`npm run bench\` (see bench/README.md). Ratio = ours / floor; PASS when ratio ≤ target.
"load" is the 1-minute load average when the scenario started (the machine is shared: high load means noisy absolute times).
"+dirty" after the commit means src/ had uncommitted changes when the run was made.

| date | commit | machine | load | scenario | mode | sizes | ours | floor | ratio | target | result | peak RSS | notes |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
`;

function record_(results, { commit, machine, quick }) {
  if (!existsSync(resultsFile)) writeFileSync(resultsFile, HEADER);
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = results.map((r) =>
    `| ${[date, commit, machine, r.load.toFixed(1), r.scenario, quick ? 'quick' : 'full', r.sizes, show(r.ours, r.unit), show(r.floor, r.unit), `${r.ratio.toFixed(3)}×`, `≤ ${r.target}×`, verdict(r), `${r.peakRssMiB.toFixed(0)} MiB`, r.notes ?? '']
      .map(cell)
      .join(' | ')} |`,
  );
  appendFileSync(resultsFile, lines.join('\n') + '\n');
}

function fail(msg) {
  console.error(msg);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Child side: `--child list FILE` prints the scenario names; `--child run FILE SCENARIO WORKDIR OUT MODE`
// runs one and writes its result (plus this process's peak RSS) to OUT.

async function child([cmd, file, scenario, workDir, out, mode]) {
  const mod = await import(pathToFileURL(file).href);
  if (!mod.scenarios || typeof mod.scenarios !== 'object') throw new Error(`${file} exports no \`scenarios\``);
  if (cmd === 'list') {
    console.log(JSON.stringify(Object.keys(mod.scenarios)));
    return;
  }
  const fn = mod.scenarios[scenario];
  if (typeof fn !== 'function') throw new Error(`${file} has no scenario ${scenario}`);
  const res = await fn({ quick: mode === 'quick', workDir, log: (l) => console.log(`  ${l}`) });
  res.ratio = res.ours / res.floor;
  res.peakRssMiB = process.resourceUsage().maxRSS / 1024;
  writeFileSync(out, JSON.stringify(res));
  // Native handles (DuckDB threads) must not keep the child alive.
  process.exit(0);
}

// Last, so every module-level constant above is initialized.
if (argv[0] === '--child') await child(argv.slice(1));
else await main(argv);

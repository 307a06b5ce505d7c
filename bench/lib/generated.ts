/**
 * Benchmark inputs made by `certhunt generate` (the CLI, a child process): one generator for
 * every scenario's data. With CERTHUNT_BENCH_CACHE=DIR a data set is written there once and
 * reused while the same arguments and the same compiled generator (the generate command and
 * what it imports, hashed) would make it again; otherwise it goes to the scenario's scratch folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../lake.js';
import { timed } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The generate command; the output depends on it and on what it imports, transitively. */
const ENTRY = 'dist/cli/generate.js';
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/**
 * A hash of the compiled files the generator's output depends on: the command and every module
 * it imports, followed through relative imports (a change to silver or the hunts keeps the cache).
 */
export function generatorHash(): string {
  const h = createHash('sha256');
  const seen = new Set<string>();
  const queue = [path.join(ROOT, ENTRY)];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) queue.push(path.resolve(path.dirname(file), (m[1] ?? m[2])!));
  }
  for (const f of [...seen].sort()) h.update(f.slice(ROOT.length)).update(readFileSync(f));
  return h.digest('hex');
}

export interface Generated {
  dir: string;
  /** generate.json */
  meta: { files: { name: string; bytes: number; rows?: number }[]; kinds: Record<string, { certificates: number; sessions: number }> };
}

/**
 * `certhunt generate --seed 1 ARGS --out DIR`. `name` names the folder; `env` is given to the
 * child (e.g. CERTHUNT_MEMORY for a large Parquet set).
 */
export async function generated(o: BenchOptions, name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Generated> {
  const cache = process.env.CERTHUNT_BENCH_CACHE;
  const dir = path.join(cache ?? o.workDir, `generate-${name}`);
  const key = JSON.stringify({ args, dist: generatorHash() });
  const keyFile = path.join(dir, '.bench-key');
  const read = (): Generated => ({ dir, meta: JSON.parse(readFileSync(path.join(dir, 'generate.json'), 'utf8')) as Generated['meta'] });
  if (cache && existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key) {
    o.log(`using ${dir} (certhunt generate ${args.join(' ')}, cached)`);
    return read();
  }
  await fs.rm(dir, { recursive: true, force: true });
  o.log(`certhunt generate ${args.join(' ')} …`);
  const r = await timed(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'generate', '--seed', '1', ...args, '--out', dir], { cwd: ROOT, env: { ...process.env, ...env } });
  o.log(`  in ${(r.ms / 1000).toFixed(1)} s, ${r.rssMiB.toFixed(0)} MiB`);
  if (cache) await fs.writeFile(keyFile, key);
  return read();
}

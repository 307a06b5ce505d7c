/**
 * Benchmark inputs made by `certhunt generate` (the CLI, a child process): one generator for
 * every scenario's data. With CERTHUNT_BENCH_CACHE=DIR a data set is written there once and
 * reused while the same arguments and the same compiled generator (dist/demo, x509, sources,
 * pipeline, hashed) would make it again; otherwise it goes to the scenario's scratch folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../lake.js';
import { timed } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What the generator's output depends on: the compiled generator, parser and record mapping. */
const INPUTS = ['demo', 'x509', 'sources', 'pipeline'];

/** A hash of the compiled files the output depends on (a change to hunts or the lake keeps the cache). */
export function generatorHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) h.update(p.slice(ROOT.length)).update(readFileSync(p));
    }
  };
  for (const d of INPUTS) walk(path.join(ROOT, 'dist', d));
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

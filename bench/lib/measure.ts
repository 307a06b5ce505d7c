/**
 * Measuring helpers shared by the scenarios (this folder is not a scenario: scripts/bench.mjs
 * only runs bench/*.ts files).
 */
import { spawn } from 'node:child_process';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Timed {
  ms: number;
  /** Max RSS as /usr/bin/time reports it. */
  rssMiB: number;
  /** The child's stdout, or with `countLines` the number of lines it printed (as text). */
  stdout: string;
}

/**
 * A command under /usr/bin/time, so that wall clock and max RSS are measured the same way for
 * our code and for a peer in another language. `countLines` counts stdout lines instead of
 * keeping them (a peer printing gigabytes).
 */
export async function timed(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; countLines?: boolean } = {}): Promise<Timed> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '__TIME__ %M', cmd, ...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let lines = 0;
  child.stdout.on('data', (b: Buffer) => {
    if (options.countLines) {
      for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
    } else stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ms = performance.now() - t0;
  const m = /__TIME__ (\d+)/.exec(stderr);
  if (code !== 0 || !m) throw new Error(`${cmd} failed (${code}): ${stderr.slice(-3000)}`);
  return { ms, rssMiB: Number(m[1]) / 1024, stdout: options.countLines ? String(lines) : stdout };
}

/**
 * A real Apache Spark with Delta Lake for interoperability tests: pyspark + delta-spark in
 * .venv/, installed by scripts/spark-deps.sh, driven through test/helpers/spark_roundtrip.py.
 * Never a mock: when it is not installed, tests skip.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VENV = join(ROOT, '.venv');
export const SPARK_PYTHON = join(VENV, 'bin', 'python');
export const SPARK_ROUNDTRIP = join(ROOT, 'test', 'helpers', 'spark_roundtrip.py');

/** True when scripts/spark-deps.sh has run to the end (its stamp) and pyspark is in the venv. */
export function sparkAvailable(): boolean {
  if (!existsSync(SPARK_PYTHON)) return false;
  let stamp = false;
  try {
    stamp = readdirSync(VENV).some((n) => /^\.spark-[\d.]+-delta-[\d.]+$/.test(n));
  } catch {
    return false;
  }
  const sitePackages = join(VENV, 'lib');
  const hasPyspark = existsSync(sitePackages) && readdirSync(sitePackages).some((py) => existsSync(join(sitePackages, py, 'site-packages', 'pyspark')));
  return stamp && hasPyspark;
}

export interface RunSparkOptions {
  /** Kill the JVM and fail after this long (default 4 minutes). */
  timeoutMs?: number;
}

/**
 * Run spark_roundtrip.py with `args`; resolves with its stdout, rejects with the tail of its
 * stderr when it fails or runs out of time (the whole process group is killed then).
 */
export function runSpark(args: string[], options: RunSparkOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 240_000;
  return new Promise((resolve, reject) => {
    const child = spawn(SPARK_PYTHON, [SPARK_ROUNDTRIP, ...args], {
      cwd: ROOT,
      detached: true, // its own process group, so the JVM dies with the python driver on timeout
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SPARK_LOCAL_IP: '127.0.0.1', PYSPARK_PYTHON: SPARK_PYTHON, TZ: 'UTC' },
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-20_000);
    });
    let timedOut = false;
    const killGroup = (): void => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    process.once('exit', killGroup);
    child.on('error', (e) => {
      clearTimeout(timer);
      process.removeListener('exit', killGroup);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', killGroup);
      const stdout = Buffer.concat(out).toString('utf8');
      if (timedOut) reject(new Error(`spark_roundtrip.py ${args[0] ?? ''} timed out after ${timeoutMs} ms\n${err.slice(-4000)}`));
      else if (code !== 0) reject(new Error(`spark_roundtrip.py ${args[0] ?? ''} exited with ${code ?? signal}\n${err.slice(-4000)}`));
      else resolve(stdout);
    });
  });
}

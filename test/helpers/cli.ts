import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';

/** Run one certhunt command line in-process with captured, quiet effects. */
export async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return runWith({}, ...argv);
}

/** run() with environment variables (e.g. CERTHUNT_MEMORY). */
export async function runWith(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env, isTTY: false });
  return { code, out, err };
}

/** `certhunt sql` over a lake, as JSON rows; the command must succeed. */
export async function sql(lake: string, query: string): Promise<Record<string, unknown>[]> {
  const r = await run('sql', query, '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

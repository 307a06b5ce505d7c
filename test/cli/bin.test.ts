import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** bin/certhunt, the command npm installs (npm test builds the dist/ it runs). */
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'certhunt-bin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Preloaded into node by the script's exec: what node itself was started with. */
const PROBE = `data:text/javascript,${encodeURIComponent(
  'console.error(JSON.stringify({ pid: process.pid, arena: process.env.MALLOC_ARENA_MAX ?? null }))',
)}`;

function certhunt(command: string, args: string[], env: Record<string, string> = {}) {
  const base: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NODE_OPTIONS: `--import ${PROBE}`, ...env };
  if (!('MALLOC_ARENA_MAX' in env)) delete base.MALLOC_ARENA_MAX;
  const r = spawnSync('/bin/sh', [command, ...args], { encoding: 'utf8', env: base });
  const probe = JSON.parse(r.stderr.split('\n')[0] ?? '') as { pid: number; arena: string | null };
  return { code: r.status, out: r.stdout, err: r.stderr, probe, pid: r.pid };
}

test('bin/certhunt runs the CLI through the link npm makes to it, in its own process, exit code passed on', () => {
  const link = join(dir, 'certhunt');
  symlinkSync(join(root, 'bin', 'certhunt'), link);
  const help = certhunt(link, ['--help']);
  assert.equal(help.code, 0, help.err);
  assert.match(help.out, /^certhunt: hunt malicious infrastructure/, 'the CLI printed its help');
  // exec: node is the process the caller started, no shell left waiting beside it.
  assert.equal(help.probe.pid, help.pid, 'node runs in the process the caller spawned');
  const bad = certhunt(link, ['no-such-command']);
  assert.equal(bad.code, 2, 'bad usage exits 2 through the script');
  assert.match(bad.err, /unknown command "no-such-command"/);
});

test('bin/certhunt starts node with one malloc arena unless the user chose', () => {
  const bin = join(root, 'bin', 'certhunt');
  assert.equal(certhunt(bin, ['--help']).probe.arena, '1', 'default: one arena');
  assert.equal(certhunt(bin, ['--help'], { MALLOC_ARENA_MAX: '4' }).probe.arena, '4', "the user's value is kept");
});

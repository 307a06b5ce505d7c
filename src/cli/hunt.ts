import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { listLakeTables, registerLake } from '../engine/catalog.js';
import type { Engine } from '../engine/duckdb.js';
import { loadConfig } from '../hunts/config.js';
import { huntAll, topFindings } from '../hunts/findings.js';
import { HuntError, loadHunts, type Hunt } from '../hunts/hunt.js';
import { loadProfiles } from '../hunts/profile.js';
import { runHuntTests } from '../hunts/selftest.js';
import { createHuntViews } from '../hunts/views.js';
import { writeHuntRun } from '../pipeline/gold.js';
import { Lake } from '../pipeline/lake.js';
import { makeContext, parse, type Context, type Effects } from './context.js';
import { CliError, usage } from './error.js';
import { escapeTerminal } from './escape.js';

/** The library shipped with certhunt: <package>/hunts and <package>/profiles. */
export const LIBRARY_HUNTS = fileURLToPath(new URL('../../hunts/', import.meta.url));
export const LIBRARY_PROFILES = fileURLToPath(new URL('../../profiles/', import.meta.url));

export const HUNT_HELP = `certhunt hunt [ID...] [--hunts DIR]... [--profiles DIR]... [--config FILE] [--min-score N] [--limit N] [--verbose]

Runs the hunt library (and the hunts in each --hunts DIR) over the lake, applies the allowlists
of --config, writes gold.findings and gold.risk (one run id per run) and prints the findings,
highest score first. --verbose says on stderr how far the run is (rows per hunt, seconds).

certhunt hunts [--hunts DIR]... [--test]      list the hunts; --test runs every hunt's own cases`;

const OPTIONS = {
  hunts: { type: 'string', multiple: true },
  profiles: { type: 'string', multiple: true },
  config: { type: 'string' },
  'min-score': { type: 'string' },
  limit: { type: 'string' },
  test: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

async function library(values: { hunts?: string[] | undefined; profiles?: string[] | undefined }) {
  try {
    return {
      hunts: await loadHunts([LIBRARY_HUNTS, ...(values.hunts ?? [])]),
      profiles: await loadProfiles([LIBRARY_PROFILES, ...(values.profiles ?? [])]),
    };
  } catch (e) {
    if (e instanceof HuntError) throw new CliError(e.message, 2);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`no such folder: ${(e as NodeJS.ErrnoException).path}`, 2);
    throw e;
  }
}

/** The lake's silver tables under the hunt views. */
export async function huntViews(ctx: Context, profiles: Awaited<ReturnType<typeof loadProfiles>>): Promise<Engine> {
  const engine = await ctx.engine();
  const tables = await registerLake(engine.conn, ctx.lake);
  const silver = new Set(tables.filter((t) => t.layer === 'silver').map((t) => t.name));
  const rel = (n: string) => (silver.has(n) ? `silver."${n}"` : undefined);
  const relations: Record<string, string> = {};
  for (const n of ['certificates', 'observations', 'intel_sslbl', 'intel_ja3', 'intel_toplist']) {
    const r = rel(n);
    if (r) relations[n] = r;
  }
  await createHuntViews(engine.conn, relations, profiles);
  return engine;
}

function number(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw usage(`--${name} must be a number`);
  return n;
}

export async function huntCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS);
  if (values.help) {
    effects.stdout(HUNT_HELP + '\n');
    return 0;
  }
  const minScore = number(values['min-score'], 'min-score') ?? 0;
  const limit = number(values.limit, 'limit');
  const ctx = makeContext(effects, values, engines);
  const { hunts, profiles } = await library(values);
  let selected: Hunt[] = hunts;
  if (positionals.length > 0) {
    const unknown = positionals.filter((id) => !hunts.some((h) => h.id === id));
    if (unknown.length) throw usage(`unknown hunt(s): ${unknown.join(', ')} (certhunt hunts lists them)`);
    selected = hunts.filter((h) => positionals.includes(h.id));
  }
  let config;
  try {
    config = await loadConfig(values.config);
  } catch (e) {
    if (e instanceof HuntError) throw new CliError(e.message, 2);
    throw e;
  }
  if ((await listLakeTables(ctx.lake)).length === 0) throw new CliError(`no lake at ${ctx.lake}: run certhunt ingest first`);
  const engine = await huntViews(ctx, profiles);
  const t0 = Date.now();
  const verbose = values.verbose ? (msg: string) => effects.stderr(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${escapeTerminal(msg)}\n`) : undefined;
  const run = await huntAll(engine.conn, selected, config, verbose);
  const runAt = Date.now();
  const runId = `${new Date(runAt).toISOString()}-${randomUUID().slice(0, 8)}`;
  await writeHuntRun(new Lake(ctx.lake, engine.conn), { runId, runAt, findings: run.findingsTable, risk: run.riskTable });
  verbose?.('gold.findings and gold.risk written');
  const shown = await topFindings(engine.conn, run, { minScore, ...(limit !== undefined ? { limit } : {}) });
  if (ctx.format === 'table') {
    ctx.print(shown.map((f) => ({ score: f.score, severity: f.severity, hunt: f.hunt_id, entity: f.entity, why: why(f.evidence) ?? f.title })), ['score', 'severity', 'hunt', 'entity', 'why']);
    const dropped = Object.values(run.allowlisted).reduce((a, b) => a + b, 0);
    effects.stderr(`run ${runId}: ${selected.length} hunts, ${run.findings} findings${dropped ? ` (${dropped} allowlisted)` : ''}, ${run.risk} risk scores → gold.findings, gold.risk\n`);
  } else ctx.print(shown.map((f) => ({ ...f, run_id: runId, evidence: JSON.parse(f.evidence) as unknown })));
  for (const e of run.failed) effects.stderr(`certhunt: ${escapeTerminal(e.message)}\n`);
  if (run.failed.length > 0) {
    effects.stderr(`certhunt: ${run.failed.length} of ${selected.length} hunts failed; the findings of the others are in run ${runId}${/Out of Memory/.test(run.failed.map((e) => e.message).join()) ? ' (set CERTHUNT_MEMORY higher, e.g. 2GB, for the ones out of memory)' : ''}\n`);
    return 1;
  }
  return 0;
}

/** A short reason from a finding's evidence: the names an analyst recognises first. */
function why(evidence: string): string | undefined {
  try {
    const e = JSON.parse(evidence) as Record<string, unknown>;
    const parts = ['common_name', 'subject', 'listing_reason', 'profile', 'issuer', 'server_name']
      .map((k) => e[k])
      .filter((v): v is string => typeof v === 'string' && v !== '');
    return parts.slice(0, 2).join(' | ') || undefined;
  } catch {
    return undefined;
  }
}

export async function huntsCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const { values } = parse(args, OPTIONS);
  if (values.help) {
    effects.stdout(HUNT_HELP + '\n');
    return 0;
  }
  const ctx = makeContext(effects, values, engines);
  const { hunts, profiles } = await library(values);
  if (!values.test) {
    ctx.print(hunts.map((h) => ({ id: h.id, severity: h.severity, score: h.score, entity: h.entity, attack: h.attack.join(' '), title: h.title })));
    return 0;
  }
  const engine = await ctx.engine();
  const rows = [];
  let failed = 0;
  for (const h of hunts) {
    for (const r of await runHuntTests(engine.conn, h, profiles)) {
      if (!r.ok) failed++;
      rows.push({ hunt: r.hunt, case: r.case, result: r.ok ? 'pass' : 'FAIL', expected: r.expected.join(', '), got: r.got.join(', ') });
    }
  }
  ctx.print(rows);
  return failed ? 1 : 0;
}

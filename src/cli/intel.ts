import type { Engine } from '../engine/duckdb.js';
import { loadIntel, TOPLIST_NAMES } from '../pipeline/intel.js';
import { Lake } from '../pipeline/lake.js';
import { locate } from '../sources/input.js';
import type { IntelKind } from '../sources/intel.js';
import { makeContext, parse, type Effects } from './context.js';
import { usage } from './error.js';
import { escapeTerminal } from './escape.js';

export const INTEL_HELP = `certhunt intel FILE|URL [--kind sslbl|ja3|toplist] [--name ${TOPLIST_NAMES.join('|')}|NAME]

Loads the abuse.ch SSL Blacklist (sslbl), the abuse.ch JA3 list (ja3) or a top list (Umbrella,
Tranco: rank,domain; Majestic: with header), plain or zipped, into silver.intel_sslbl,
silver.intel_ja3 or silver.intel_toplist. Each load replaces that list (history keeps the old).`;

const KINDS: IntelKind[] = ['sslbl', 'ja3', 'toplist'];

export async function intelCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const { values, positionals } = parse(args, { kind: { type: 'string' }, name: { type: 'string' } });
  if (values.help) {
    effects.stdout(INTEL_HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw usage(`certhunt intel takes one FILE or URL\n${INTEL_HELP}`);
  const kind = values.kind as IntelKind | undefined;
  if (kind && !KINDS.includes(kind)) throw usage(`--kind must be one of ${KINDS.join(', ')}`);
  const ctx = makeContext(effects, values, engines);
  const engine = await ctx.engine();
  const lake = new Lake(ctx.lake, engine.conn);
  const located = await locate(positionals);
  const rows = [];
  for await (const file of located.files()) {
    if (file.error) throw file.error;
    const r = await loadIntel(lake, file, { ...(kind ? { kind } : {}), ...(values.name ? { name: values.name.toLowerCase() } : {}) });
    rows.push({ list: r.kind + (r.name ? `:${r.name}` : ''), source: r.source, entries: r.entries, rejected: r.rejected, version: r.outcome.version });
    for (const rej of r.rejects.slice(0, 5)) effects.stderr(`  rejected line ${rej.position}: ${escapeTerminal(rej.reason)}\n`);
    if (r.trailer !== null && r.trailer !== r.entries) effects.stderr(`warning: the file says ${r.trailer} entries, ${r.entries} were read\n`);
  }
  ctx.print(rows);
  return 0;
}

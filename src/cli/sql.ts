import { registerLake } from '../engine/catalog.js';
import type { Engine } from '../engine/duckdb.js';
import { queryJson } from '../lake/parquet.js';
import { makeContext, parse, type Effects } from './context.js';
import { CliError, usage } from './error.js';

export const SQL_HELP = `certhunt sql "SELECT ..." [--lake DIR] [--format table|json|ndjson|csv]

Tables are views over the current snapshot of each Delta table in the lake:
bronze.<name>, silver.<name>, gold.<name>, and <name> alone when it is unique.`;

export async function sqlCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) {
    effects.stdout(SQL_HELP + '\n');
    return 0;
  }
  const query = positionals.join(' ').trim();
  if (!query) throw usage(`certhunt sql needs a query\n${SQL_HELP}`);
  const ctx = makeContext(effects, values, engines);
  const engine = await ctx.engine();
  const tables = await registerLake(engine.conn, ctx.lake);
  let rows: Record<string, unknown>[];
  try {
    rows = await queryJson(engine.conn, query);
  } catch (e) {
    const names = tables.map((t) => `${t.layer}.${t.name}`).join(', ') || `none (no Delta tables under ${ctx.lake})`;
    throw new CliError(`query failed: ${String((e as Error).message).split('\n')[0]}\ntables: ${names}`);
  }
  ctx.print(rows);
  return 0;
}

import { DeltaError } from '../lake/error.js';
import { storageFor } from '../lake/location.js';
import { optimize, vacuum } from '../lake/maintenance.js';
import { queryJson } from '../lake/parquet.js';
import { DeltaTable } from '../lake/table.js';
import { makeContext, parse, type Effects } from './context.js';
import type { Engine } from '../engine/duckdb.js';
import { usage } from './error.js';

export const TABLE_HELP = `certhunt table scan PATH [--version N | --timestamp T] [--columns a,b] [--where SQL] [--limit N] [--format table|json|ndjson|csv]
certhunt table history PATH [--limit N] [--format ...]
certhunt table info PATH [--version N]
certhunt table checkpoint PATH
certhunt table optimize PATH [--target-mb N]
certhunt table vacuum PATH [--retention-hours H] [--dry-run] [--force]

PATH is any Delta table: a folder, file:// or s3://bucket/prefix (ours or Spark's).`;

export async function tableCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const [verb, ...rest] = args;
  const { values, positionals } = parse(rest, {
    version: { type: 'string' },
    timestamp: { type: 'string' },
    columns: { type: 'string' },
    where: { type: 'string' },
    limit: { type: 'string' },
    'retention-hours': { type: 'string' },
    'dry-run': { type: 'boolean' },
    force: { type: 'boolean' },
    'target-mb': { type: 'string' },
  });
  if (values.help || !verb) {
    effects.stdout(TABLE_HELP + '\n');
    return verb ? 0 : 2;
  }
  const ctx = makeContext(effects, values, engines);
  const path = positionals[0];
  if (!path) throw usage(`certhunt table ${verb} needs a table PATH`);
  const engine = await ctx.engine();
  const table = new DeltaTable(await storageFor(path), engine.conn);
  const at = timeTravel(values.version, values.timestamp);
  const limit = values.limit !== undefined ? positiveInt(values.limit, '--limit') : undefined;
  switch (verb) {
    case 'scan': {
      const columns = values.columns?.split(',').map((c) => c.trim()).filter(Boolean);
      const plan = await table.scan({ ...at, ...(columns ? { columns } : {}) });
      const sql = `SELECT * FROM (${plan.sql})${values.where ? ` WHERE ${values.where}` : ''}${limit !== undefined ? ` LIMIT ${limit}` : ''}`;
      let rows;
      try {
        rows = await queryJson(engine.conn, sql);
      } catch (e) {
        throw new DeltaError('invalid', `query failed: ${String((e as Error).message).split('\n')[0]}`, { file: path });
      }
      ctx.print(rows, columns ?? (await table.snapshot(at)).schema.fields.map((f) => f.name));
      return 0;
    }
    case 'history': {
      const entries = await table.history(limit);
      ctx.print(
        entries.map((h) => ({
          version: h.version,
          timestamp: new Date(h.timestamp).toISOString(),
          operation: h.operation,
          parameters: JSON.stringify(h.operationParameters),
          metrics: JSON.stringify(h.commitInfo.operationMetrics ?? {}),
        })),
      );
      return 0;
    }
    case 'info': {
      const s = await table.snapshot(at);
      const rows = s.files.reduce((n, f) => n + (f.stats ? Number(safeParse(f.stats).numRecords ?? 0) : 0), 0);
      ctx.print([
        {
          location: table.location,
          version: s.version,
          committed: new Date(s.timestamp).toISOString(),
          files: s.files.length,
          bytes: s.files.reduce((n, f) => n + f.size, 0),
          rows_from_stats: rows,
          partition_columns: s.metadata.partitionColumns.join(','),
          protocol: `${s.protocol.minReaderVersion}/${s.protocol.minWriterVersion}${s.protocol.readerFeatures ? ' ' + s.protocol.readerFeatures.join(',') : ''}`,
          schema: s.schema.fields.map((f) => `${f.name} ${typeof f.type === 'string' ? f.type : f.type.type}`).join(', '),
        },
      ]);
      return 0;
    }
    case 'checkpoint':
      ctx.print([{ checkpoint_version: await table.checkpoint() }]);
      return 0;
    case 'optimize': {
      const target = values['target-mb'] !== undefined ? positiveInt(values['target-mb'], '--target-mb') * 1024 * 1024 : undefined;
      const r = await optimize(table, target !== undefined ? { targetBytes: target } : {});
      ctx.print([{ status: r.status, version: r.version, files_removed: r.removed ?? 0, files_added: r.added ?? 0 }]);
      return 0;
    }
    case 'vacuum': {
      const hours = values['retention-hours'];
      const r = await vacuum(table, {
        ...(hours !== undefined ? { retentionHours: Number(hours) } : {}),
        dryRun: values['dry-run'] ?? false,
        force: values.force ?? false,
      });
      ctx.print(r.deleted.map((p) => ({ [r.dryRun ? 'would_delete' : 'deleted']: p })), [r.dryRun ? 'would_delete' : 'deleted']);
      effects.stderr(`${r.dryRun ? 'would delete' : 'deleted'} ${r.deleted.length} file(s), kept ${r.kept}\n`);
      return 0;
    }
    default:
      throw usage(`unknown table command "${verb}"\n${TABLE_HELP}`);
  }
}

function timeTravel(version: string | undefined, timestamp: string | undefined): { version?: number; timestamp?: number } {
  if (version !== undefined && timestamp !== undefined) throw usage('give --version or --timestamp, not both');
  if (version !== undefined) return { version: nonNegativeInt(version, '--version') };
  if (timestamp !== undefined) {
    const ms = /^\d+$/.test(timestamp) ? Number(timestamp) : Date.parse(timestamp);
    if (isNaN(ms)) throw usage(`--timestamp: cannot parse "${timestamp}" (ISO-8601 or epoch ms)`);
    return { timestamp: ms };
  }
  return {};
}

function nonNegativeInt(s: string, flag: string): number {
  if (!/^\d+$/.test(s)) throw usage(`${flag} must be a whole number`);
  return Number(s);
}

function positiveInt(s: string, flag: string): number {
  const n = nonNegativeInt(s, flag);
  if (n === 0) throw usage(`${flag} must be at least 1`);
  return n;
}

function safeParse(s: string): Record<string, unknown> {
  try {
    return JSON.parse(s);
  } catch {
    return {};
  }
}

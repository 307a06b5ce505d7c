import { parseArgs, type ParseArgsConfig } from 'node:util';
import { openEngine, type Engine } from '../engine/duckdb.js';
import { usage } from './error.js';
import { FORMATS, formatRows, type Format } from './output.js';

/** What a command may touch: its output streams and environment, injected so tests stay quiet. */
export interface Effects {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  isTTY: boolean;
}

export interface Context {
  effects: Effects;
  lake: string;
  format: Format;
  /** The run's engine; `defaults.memoryLimit` is the command's own, CERTHUNT_MEMORY overrides it. */
  engine(defaults?: { memoryLimit?: string }): Promise<Engine>;
  print(rows: Record<string, unknown>[], columns?: string[]): void;
}

export const COMMON_OPTIONS = {
  lake: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw usage((e as Error).message);
  }
}

export function makeContext(effects: Effects, values: { lake?: string | boolean | undefined; format?: string | boolean | undefined }, engines: Engine[]): Context {
  const format = (typeof values.format === 'string' ? values.format : 'table') as Format;
  if (!FORMATS.includes(format)) throw usage(`--format must be one of ${FORMATS.join(', ')}`);
  const lake = typeof values.lake === 'string' ? values.lake : (effects.env.CERTHUNT_LAKE ?? './certhunt-lake');
  let engine: Engine | undefined;
  return {
    effects,
    lake,
    format,
    async engine(defaults = {}) {
      if (!engine) {
        const memoryLimit = effects.env.CERTHUNT_MEMORY ?? defaults.memoryLimit;
        engine = await openEngine(memoryLimit ? { memoryLimit } : {});
        engines.push(engine);
      }
      return engine;
    },
    print(rows, columns) {
      effects.stdout(formatRows(rows, format, columns));
    },
  };
}

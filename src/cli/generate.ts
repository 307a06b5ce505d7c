import { resolve } from 'node:path';
import type { Engine } from '../engine/duckdb.js';
import { generate, GENERATE_FORMATS, type GenerateFormat } from '../demo/generate.js';
import { makeContext, parse, type Effects } from './context.js';
import { usage } from './error.js';
import { escapeTerminal } from './escape.js';

export const GENERATE_HELP = `certhunt generate --certificates N --observations M [--format FORMAT] [--out DIR] [--seed S] [--zeek-certs]

Writes a synthetic data set of any size in bounded memory, with the demo's mix: popular sites
under two public CAs, partner portals, internal services under a corporate CA, self-signed
appliances, and a few per cent of C2 and suspicious certificates (src/demo/mix.ts), seen in M
TLS sessions over three weeks. FORMAT: ${GENERATE_FORMATS.join(', ')} (default zeek-json);
parquet writes silver-shaped certificates.parquet and observations.parquet. --zeek-certs logs
each certificate's DER in Zeek's x509.log. DIR (default ./certhunt-generated) also gets
toplist.csv (the popular sites, Tranco's format), sslblacklist.csv and ja3_fingerprints.csv
(abuse.ch's formats: the SHA-1s of three C2 kinds' certificates, the implants' JA3s; load them
with certhunt intel) and generate.json (seed, counts, mix, how many of each planted shape).
The same seed and sizes give the same files. Certificates are valid DER shaped like real ones
(EC keys are points on the curve), but RSA moduli and signatures are random bytes: no
signature verifies.`;

function count(value: string | undefined, flag: string): number {
  if (value === undefined) throw usage(`certhunt generate needs ${flag} N\n${GENERATE_HELP}`);
  // 10_000_000 and 1e7 are how people write big numbers.
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw usage(`${flag} must be a whole number >= 0, got ${JSON.stringify(value)}`);
  return n;
}

export async function generateCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const { values, positionals } = parse(args, {
    certificates: { type: 'string' },
    observations: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    'zeek-certs': { type: 'boolean' },
  });
  if (values.help) {
    effects.stdout(GENERATE_HELP + '\n');
    return 0;
  }
  if (positionals.length > 0) throw usage(`certhunt generate takes no positional arguments (got ${JSON.stringify(positionals[0])})`);
  const certificates = count(values.certificates, '--certificates');
  const sessions = count(values.observations, '--observations');
  if (sessions > 0 && certificates === 0) throw usage('--observations needs at least one certificate to observe');
  const format = (values.format ?? 'zeek-json') as GenerateFormat;
  if (!GENERATE_FORMATS.includes(format)) throw usage(`--format must be one of ${GENERATE_FORMATS.join(', ')}`);
  if (values['zeek-certs'] && !format.startsWith('zeek-')) throw usage('--zeek-certs is for --format zeek-json or zeek-tsv');
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw usage('--seed must be a whole number');
  const dir = resolve(values.out ?? 'certhunt-generated');

  // --format names the output here, so the engine's context gets the default table format.
  const ctx = makeContext(effects, { lake: values.lake }, engines);
  const t0 = Date.now();
  let shown = false;
  let last = 0;
  const meta = await generate({
    seed, certificates, sessions, format, dir, zeekCerts: values['zeek-certs'] ?? false,
    duckdb: async () => (await ctx.engine()).conn,
    onProgress: (p) => {
      if (!effects.isTTY) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      const pct = p.total > 0 ? ` (${Math.min(100, Math.floor((100 * p.done) / p.total))}%)` : '';
      effects.stderr(`\r\x1b[2K${escapeTerminal(p.file)}: ${p.done.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')}${pct}`);
      shown = true;
    },
  });
  if (shown) effects.stderr('\r\x1b[2K');
  const threats = Object.values(meta.planted).reduce((n, p) => n + p.certificates, 0);
  const lines = [
    `${certificates.toLocaleString('en-US')} certificates (${threats.toLocaleString('en-US')} planted threats) and ${sessions.toLocaleString('en-US')} sessions, seed ${seed}, in ${escapeTerminal(dir)} (${((Date.now() - t0) / 1000).toFixed(1)} s):`,
    ...meta.files.map((f) => `  ${f.name.padEnd(22)} ${(f.bytes / 1e6).toFixed(1).padStart(10)} MB${f.rows !== undefined ? `  ${f.rows.toLocaleString('en-US')} rows` : ''}`),
    '  generate.json          the seed, the mix and how many of each planted shape',
  ];
  effects.stdout(lines.join('\n') + '\n');
  return 0;
}

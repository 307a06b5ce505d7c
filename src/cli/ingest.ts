import { INGEST_MEMORY_LIMIT, type Engine } from '../engine/duckdb.js';
import { ingest, type IngestReport } from '../pipeline/ingest.js';
import { Lake } from '../pipeline/lake.js';
import { MAX_LIST_ENTRIES } from '../sources/certfile.js';
import { locate } from '../sources/input.js';
import { inputFormatNames, sourceReader, unknownInputFormat } from '../sources/index.js';
import { makeContext, parse, type Effects } from './context.js';
import { usage } from './error.js';
import { escapeTerminal, safeJson } from './escape.js';
import { FORMATS, type Format } from './output.js';
import { ProgressLine } from './progress.js';

/** The command's help; `formats` lists what --input-format takes (the top-level help points here instead). */
export function ingestHelp(formats = inputFormatNames().join(', ')): string {
  return `certhunt ingest PATH|GLOB|DIR|s3://bucket/prefix|https://URL|- ... [--input-format auto|NAME] [--map col=field,...] [--format table|json]

Reads Zeek x509/ssl/known_certs logs (TSV or JSON), Suricata eve.json TLS events, scan exports
(CSV or JSON lines), certificate files (PEM, DER, PKCS#7) and packet captures (pcap, pcapng),
plain or .gz/.zip, found by content; - reads standard input. Lands every record in bronze
(with lineage) and refreshes silver certificates and observations. Re-ingesting a file adds
nothing; a log that grew is read from where the last run stopped. Bad records go to
bronze.rejects and the run goes on. --format json prints a machine-readable summary.
--readers N reads Zeek (TSV or JSON) and eve logs on N threads (default: the cores, at most 4; 0: one thread).
Input formats (--input-format): ${formats}`;
}

export async function ingestCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const { values, positionals } = parse(args, {
    'input-format': { type: 'string' },
    map: { type: 'string' },
    'batch-size': { type: 'string' },
    'batch-bytes': { type: 'string' },
    readers: { type: 'string' },
  });
  if (values.help) {
    effects.stdout(ingestHelp() + '\n');
    return 0;
  }
  if (positionals.length === 0) throw usage(`certhunt ingest needs at least one PATH\n${ingestHelp()}`);
  // --format is the summary's format when it names one; otherwise the input's (DESIGN's CLI).
  let inputFormat = values['input-format'];
  let outFormat: string | undefined = values.format;
  if (outFormat && !FORMATS.includes(outFormat as Format)) {
    inputFormat ??= outFormat;
    outFormat = undefined;
  }
  // A misspelt format is the user's mistake, said before any file is opened (and exit 2), not a
  // failure of every file.
  const unknown = inputFormat ? unknownInputFormat(inputFormat) : null;
  if (unknown) throw usage(unknown);
  const ctx = makeContext(effects, { lake: values.lake, format: outFormat }, engines);
  const map = parseMap(values.map);
  const located = await locate(positionals);
  const total = located.bytes;
  const progress = new ProgressLine(effects.stderr, effects.isTTY && ctx.format === 'table');
  const engine = await ctx.engine({ memoryLimit: INGEST_MEMORY_LIMIT });
  const lake = new Lake(ctx.lake, engine.conn);
  // Batch limits (records, staged bytes) are tuning knobs for tests and benchmarks.
  const batchSize = values['batch-size'] ? Number(values['batch-size']) : undefined;
  const batchChars = values['batch-bytes'] ? Number(values['batch-bytes']) : undefined;
  const readers = values.readers !== undefined ? Number(values.readers) : undefined;
  if (readers !== undefined && !(Number.isInteger(readers) && readers >= 0)) throw usage(`--readers takes a number of threads (0: read on the main thread), got "${values.readers}"`);
  let report: IngestReport;
  try {
    report = await ingest(lake, located, sourceReader(map ? { map } : {}), {
      ...(inputFormat ? { forcedFormat: inputFormat } : {}),
      ...(batchSize ? { batchSize } : {}),
      ...(batchChars ? { batchChars } : {}),
      ...(readers !== undefined ? { readers: { threads: readers } } : {}),
      onProgress: (p) => progress.update({ ...p, file: escapeTerminal(p.file), totalBytes: total }),
    });
  } finally {
    progress.done();
  }
  if (ctx.format === 'json' || ctx.format === 'ndjson') effects.stdout(safeJson(report, 2) + '\n');
  else effects.stdout(summary(report));
  // Quarantined records are not a failure; only a run where no file could be read at all is.
  return report.files.length > 0 && report.files.every((f) => f.status === 'failed') ? 1 : 0;
}

function parseMap(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const [k, v] = pair.split('=');
    if (!k || v === undefined) throw usage(`--map takes column=field pairs separated by commas, got "${pair}"`);
    out[k.trim()] = v.trim();
  }
  return out;
}

export function summary(r: IngestReport): string {
  const lines: string[] = [];
  const count = (s: string) => r.files.filter((f) => f.status === s).length;
  const sum = (k: 'certificates' | 'observations' | 'rejects') => r.files.reduce((n, f) => n + f[k], 0);
  lines.push(
    `files: ${r.files.length} (${count('ingested') + count('changed')} read, ${count('grown')} grown, ${count('unchanged')} unchanged, ${count('unknown-format')} unknown format, ${count('failed')} failed)`,
  );
  lines.push(`records: ${sum('certificates')} certificate, ${sum('observations')} observation, ${sum('rejects')} set aside in bronze.rejects`);
  lines.push(`silver: ${r.silver.certificates.inserted} new certificates, ${r.silver.certificates.updated} updated, ${r.silver.observations} observations`);
  for (const [reason, n] of Object.entries(r.rejectReasons).sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    lines.push(`  rejected ${n}× ${escapeTerminal(reason)}`);
  }
  for (const f of r.files) {
    if (f.status === 'failed' || f.status === 'unknown-format') lines.push(`  ${f.status}: ${escapeTerminal(f.uri)}${f.error ? ` (${escapeTerminal(f.error)})` : ''}`);
    else if (f.error) lines.push(`  stopped early, records before kept: ${escapeTerminal(f.uri)} (${escapeTerminal(f.error)})`);
  }
  const c = r.coverage;
  if (c.withoutSha1 > 0) {
    const pct = Math.round((100 * c.withoutSha1) / Math.max(1, c.certificates));
    lines.push(
      `warning: ${c.withoutSha1} of ${c.certificates} certificates (${pct}%) have no SHA-1: SSL Blacklist matching is blind for them; ` +
        `set X509::hash_function (redef X509::hash_function = sha1_hash) or load policy/protocols/ssl/log-certs-base64 in Zeek`,
    );
  }
  if (c.listsCut > 0) {
    lines.push(
      `warning: ${c.listsCut} certificate(s) list more than ${MAX_LIST_ENTRIES.toLocaleString('en')} SANs or extensions; the first ${MAX_LIST_ENTRIES.toLocaleString('en')} are kept ` +
        `(parse_warnings says how many there were, bronze keeps the lines). Lists that long are likely made to break tools: worth a look`,
    );
  }
  return lines.join('\n') + '\n';
}

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { registerLake } from '../engine/catalog.js';
import type { Engine } from '../engine/duckdb.js';
import { writeDemoFiles } from '../demo/files.js';
import { DEMO_DAYS, makeNetwork, SENSORS, type DemoData } from '../demo/network.js';
import { exportCommand } from './export.js';
import { huntCommand } from './hunt.js';
import { ingestCommand } from './ingest.js';
import { intelCommand } from './intel.js';
import { makeContext, parse, type Effects } from './context.js';
import { CliError, usage } from './error.js';

export const DEMO_HELP = `certhunt demo [--dir DIR] [--seed N]

Makes a realistic sample data set (a company of five offices, each behind its own sensor: Zeek
JSON and TSV logs, Suricata eve.json, pcapng and pcap captures; certificate files; an SSL
Blacklist, a JA3 list and a top list), hides C2 servers and suspicious certificates in it,
then ingests it, loads the intel, runs every hunt, prints what was found and writes the
exports. The same seed gives the same data set. DIR defaults to ./certhunt-demo; its lake is DIR/lake;
a folder the demo made before is emptied first, any other non-empty folder is refused.`;

type Command = (args: string[], effects: Effects, engines: Engine[]) => Promise<number>;

/** One step of the pipeline, as the user would type it; stdout kept only when asked. */
async function step(command: Command, args: string[], effects: Effects, show: boolean): Promise<string> {
  const engines: Engine[] = [];
  let out = '';
  try {
    const code = await command(args, { ...effects, stdout: (t) => (show ? effects.stdout(t) : void (out += t)) }, engines);
    if (code !== 0) throw new CliError(`demo step failed: certhunt ${args.join(' ')}`);
    return out;
  } finally {
    for (const e of engines) e.close();
  }
}

export async function demoCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const { values } = parse(args, { dir: { type: 'string' }, seed: { type: 'string' } });
  if (values.help) {
    effects.stdout(DEMO_HELP + '\n');
    return 0;
  }
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw usage('--seed must be a whole number');
  const dir = resolve(values.dir ?? 'certhunt-demo');
  const lake = join(dir, 'lake');
  await freshFolder(dir);
  const say = (t: string) => effects.stderr(t + '\n');
  const t0 = Date.now();

  say(`▶ making the data set (seed ${seed}) in ${dir}`);
  const data = await makeNetwork(seed);
  const files = await writeDemoFiles(data, join(dir, 'data'));
  const sessions = Object.values(data.networks).reduce((n, x) => n + x.sessions.length, 0);
  say(`  ${Object.keys(data.certificates).length} certificates, ${sessions.toLocaleString('en')} TLS sessions over ${DEMO_DAYS} days, ${Object.keys(SENSORS).length} sensors; ${data.planted.length} planted findings`);

  say('▶ certhunt ingest …');
  const sources = await ingestable(files.sources);
  await step(ingestCommand, [...sources, '--lake', lake], { ...effects, isTTY: false }, false);
  say('▶ certhunt intel … (SSL Blacklist, JA3 list, top list)');
  for (const i of files.intel) await step(intelCommand, [i.path, '--kind', i.kind, ...(i.name ? ['--name', i.name] : []), '--lake', lake], effects, false);

  say('▶ certhunt hunt — the top findings:');
  await step(huntCommand, ['--lake', lake, '--limit', '25'], effects, true);

  const report = await plantedReport(lake, data, effects, engines);
  const found = report.filter((r) => r.found).length;
  say(`\n▶ what the demo hid, and whether the hunt meant for it found it: ${found} of ${report.length}`);
  makeContext(effects, { format: 'table' }, engines).print(report.map((r) => ({ found: r.found ? 'yes' : 'NO', hunt: r.hunt, planted: r.what, why: r.why })));

  const exports = join(dir, 'exports');
  await fs.mkdir(exports, { recursive: true });
  for (const [to, file] of [['stix', 'indicators.stix.json'], ['zeek-intel', 'certhunt.intel'], ['suricata', 'certhunt.rules'], ['csv', 'findings.csv']] as const) {
    await step(exportCommand, ['--to', to, '-o', join(exports, file), '--lake', lake], { ...effects, stderr: () => {} }, false);
  }
  const rel = (p: string) => relative(process.cwd(), p) || '.';
  // A command to paste, not a placeholder: the first planted certificate the hunts found.
  const example = report.find((r) => r.found && /^[0-9a-f]{64}$/.test(r.entity))?.entity ?? '<sha256>';
  say(`\n▶ exports in ${rel(exports)}/ (STIX 2.1, Zeek Intel, Suricata rules, CSV)`);
  say(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s. Next:
  certhunt cert ${example} --lake ${rel(lake)}
      a certificate, its findings and where it was seen
  certhunt hunt default-c2-certificate --lake ${rel(lake)} --format json
  certhunt sql "SELECT * FROM findings LIMIT 5" --lake ${rel(lake)}
  (the web UI is not built yet)`);
  return found === report.length ? 0 : 1;
}

const MARKER = '.certhunt-demo';

/**
 * The demo starts from nothing each time, so a second run (or another seed) is the same as a
 * first: a folder it made before is emptied, any other non-empty folder is refused.
 */
async function freshFolder(dir: string): Promise<void> {
  const entries = await fs.readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  if (entries.length > 0 && !entries.includes(MARKER)) throw usage(`${dir} is not empty and not a folder certhunt demo made: give --dir a new or empty folder`);
  for (const sub of ['data', 'lake', 'exports']) await fs.rm(join(dir, sub), { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(join(dir, MARKER), 'made by certhunt demo: emptied and refilled by the next run\n');
}

/** The sensors' outputs certhunt reads (Zeek's dns.log is written for completeness; passive DNS is not ingested yet). */
async function ingestable(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) for (const f of (await fs.readdir(d)).sort()) if (f !== 'dns.log') out.push(join(d, f));
  return out;
}

export interface PlantedRow {
  hunt: string;
  what: string;
  why: string;
  entity: string;
  found: boolean;
}

/** Each planted item against the latest run's findings of its hunt; certificates by SHA-256 of the DER. */
export async function plantedReport(lake: string, data: DemoData, effects: Effects, engines: Engine[]): Promise<PlantedRow[]> {
  const engine = await makeContext(effects, { lake }, engines).engine();
  await registerLake(engine.conn, lake);
  const rows = (
    await engine.conn.runAndReadAll(`SELECT hunt_id, entity FROM gold.findings WHERE run_id = (SELECT max(run_id) FROM gold.findings)`)
  ).getRowObjectsJson() as { hunt_id: string; entity: string }[];
  const found = new Set(rows.map((r) => `${r.hunt_id} ${r.entity}`));
  return data.planted.map((p) => {
    const entity = p.kind === 'certificate' ? createHash('sha256').update(data.certificates[p.value]!).digest('hex') : p.value;
    return { hunt: p.hunt, what: p.kind === 'certificate' ? p.value : `${p.kind} ${p.value}`, why: p.why, entity, found: found.has(`${p.hunt} ${entity}`) };
  });
}

import type { Engine } from '../engine/duckdb.js';
import { DeltaError } from '../lake/error.js';
import { InputError } from '../sources/input-error.js';
import type { Effects } from './context.js';
import { CliError } from './error.js';
import { escapeTerminal } from './escape.js';
import { CERT_HELP, certCommand } from './cert.js';
import { DEMO_HELP, demoCommand } from './demo.js';
import { GENERATE_HELP, generateCommand } from './generate.js';
import { EXPORT_HELP, exportCommand } from './export.js';
import { HUNT_HELP, huntCommand, huntsCommand } from './hunt.js';
import { ingestCommand, ingestHelp } from './ingest.js';
import { INTEL_HELP, intelCommand } from './intel.js';
import { SQL_HELP, sqlCommand } from './sql.js';
import { TABLE_HELP, tableCommand } from './table.js';

export const HELP = `certhunt: hunt malicious infrastructure through the TLS certificates seen on a network

Commands:
  demo [--dir DIR] [--seed N]                              make a sample network with hidden C2, run everything on it
  generate --certificates N --observations M [--format F]  stream a data set of any size (Zeek, eve, pcap, Parquet)
  ingest PATH|GLOB|DIR|s3://...|https://...                 parse sources into bronze and refresh silver
  intel FILE|URL --kind sslbl|ja3|toplist                  load threat intel and popularity lists
  table scan|history|info|checkpoint|optimize|vacuum PATH   read and maintain any Delta table
  hunt [ID...]                                             run hunts, write gold findings, print them
  hunts [--test]                                           list the hunt library (or run its test cases)
  cert SHA1|SHA256                                         everything known about one certificate
  export --to stix|zeek-intel|suricata|csv|json|ndjson      indicators for other tools
  sql "SELECT ..."                                         query the lake's tables by name

Every command takes --lake DIR (default ./certhunt-lake or $CERTHUNT_LAKE) and, where it
prints rows, --format table|json|ndjson|csv. Exit codes: 0 done, 1 failed, 2 bad usage.

${DEMO_HELP}

${GENERATE_HELP}

${ingestHelp('see certhunt ingest --help')}

${INTEL_HELP}

${HUNT_HELP}

${CERT_HELP}

${EXPORT_HELP}

${TABLE_HELP}

${SQL_HELP}`;

type Command = (args: string[], effects: Effects, engines: Engine[]) => Promise<number>;
const COMMANDS: Record<string, Command> = {
  demo: demoCommand,
  generate: generateCommand,
  ingest: ingestCommand,
  intel: intelCommand,
  hunt: huntCommand,
  hunts: huntsCommand,
  cert: certCommand,
  export: exportCommand,
  table: tableCommand,
  sql: sqlCommand,
};

/** Run one command line; returns the exit code. Never exits the process itself. */
export async function main(argv: string[], effects: Effects): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    effects.stdout(HELP + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version') {
    effects.stdout('certhunt 0.1.0\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    effects.stderr(`certhunt: unknown command "${escapeTerminal(name)}" (try certhunt --help)\n`);
    return 2;
  }
  const engines: Engine[] = [];
  try {
    return await command(rest, effects, engines);
  } catch (e) {
    if (e instanceof CliError) {
      effects.stderr(`certhunt: ${e.message.split("\n").map(escapeTerminal).join("\n")}\n`);
      return e.exitCode;
    }
    if (e instanceof InputError) {
      effects.stderr(`certhunt: ${e.message.split("\n").map(escapeTerminal).join("\n")}\n`);
      return 1;
    }
    if (e instanceof DeltaError) {
      effects.stderr(`certhunt: ${e.message.split("\n").map(escapeTerminal).join("\n")}\n`);
      return e.kind === 'invalid' ? 2 : 1;
    }
    effects.stderr(`certhunt: unexpected error: ${escapeTerminal(e instanceof Error ? (e.stack ?? e.message) : String(e))}\n`);
    return 1;
  } finally {
    for (const e of engines) e.close();
  }
}

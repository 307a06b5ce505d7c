/**
 * A writer process for the durability tests (test/lake/durability.test.ts).
 *
 *   node --import tsx test/helpers/writer.ts <tableDir> <appId> <batchBase> <from> <to> <rows> <interval> [--wait-go]
 *
 * Creates the table if missing, then for k = from..to appends one batch of `rows` rows
 * (batch = batchBase + k, row = 0..rows-1, app = appId) with txn { appId, version: k }.
 *
 * Protocol on stdout, one line each, written synchronously (fd 1 is a pipe) so that a line the
 * parent reads is a fact even if the process is SIGKILLed right after:
 *   ready                     engine open, table exists
 *   committed <k> <version>   append k is durable at <version>
 *   skipped <k> <version>     append k was already in the table
 *   done
 * With --wait-go the writer waits for a line on stdin after `ready` before its first append
 * (so that several writers start at the same moment).
 */
import { realpathSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../../src/engine/duckdb.js';
import type { StructType } from '../../src/lake/schema.js';
import { FsStorage } from '../../src/lake/storage-fs.js';
import { DeltaTable } from '../../src/lake/table.js';

export const WRITER_SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'batch', type: 'long', nullable: false, metadata: {} },
    { name: 'row', type: 'integer', nullable: false, metadata: {} },
    { name: 'app', type: 'string', nullable: false, metadata: {} },
  ],
};

function say(line: string): void {
  writeSync(1, line + '\n');
}

async function waitForGo(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      if (buf.includes('\n')) {
        process.stdin.off('data', onData);
        process.stdin.pause();
        resolve();
      }
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => reject(new Error('stdin closed before go')));
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const waitGo = args.includes('--wait-go');
  const [dir, appId, base, from, to, rows, interval] = args.filter((a) => !a.startsWith('--'));
  if (!dir || !appId || !base || !from || !to || !rows || !interval) {
    throw new Error('usage: writer.ts <tableDir> <appId> <batchBase> <from> <to> <rows> <interval> [--wait-go]');
  }
  if (!/^[\w-]+$/.test(appId)) throw new Error(`appId must be a plain word: ${appId}`);
  const engine = await openEngine({ threads: 1 });
  try {
    const table = new DeltaTable(new FsStorage(dir), engine.conn, { checkpointInterval: Number(interval) });
    await table.create({ schema: WRITER_SCHEMA, ifNotExists: true });
    say('ready');
    if (waitGo) await waitForGo();
    for (let k = Number(from); k <= Number(to); k++) {
      const batch = Number(base) + k;
      const out = await table.append(
        `SELECT ${batch}::BIGINT AS batch, i::INTEGER AS row, '${appId}' AS app FROM range(${Number(rows)}) AS t(i)`,
        { txn: { appId, version: k } },
      );
      say(`${out.status} ${k} ${out.version}`);
    }
    say('done');
  } finally {
    engine.close();
  }
}

// Run only as a script: the tests import WRITER_SCHEMA from here.
const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (isMain) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`writer failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}

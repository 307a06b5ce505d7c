import { DeltaError } from '../lake/error.js';
import type { Outcome } from '../lake/commit.js';
import { headLines } from '../sources/index.js';
import { detectIntel, readJa3, readSslbl, readToplist, type IntelItem, type IntelKind } from '../sources/intel.js';
import { splitLines } from '../sources/lines.js';
import type { RejectRecord } from '../sources/record.js';
import { registeredDomain } from '../sources/domain.js';
import type { InputFile } from './ingest.js';
import type { Lake } from './lake.js';
import { Stage } from './stage.js';

/**
 * `certhunt intel`: threat-intel and popularity lists into silver intel_* tables. Each load
 * replaces its list with an overwrite commit, so history keeps every earlier version.
 */
export const TOPLIST_NAMES = ['umbrella', 'tranco', 'majestic'];

const TABLES: Record<IntelKind, { table: string; columns: [string, string][] }> = {
  sslbl: { table: 'intel_sslbl', columns: [['sha1', 'VARCHAR'], ['listing_date', 'DOUBLE'], ['listing_reason', 'VARCHAR']] },
  ja3: { table: 'intel_ja3', columns: [['ja3_md5', 'VARCHAR'], ['first_seen', 'DOUBLE'], ['last_seen', 'DOUBLE'], ['listing_reason', 'VARCHAR']] },
  toplist: { table: 'intel_toplist', columns: [['list', 'VARCHAR'], ['rank', 'BIGINT'], ['domain', 'VARCHAR'], ['registered_domain', 'VARCHAR']] },
};

const TIMES: Record<string, true> = { listing_date: true, first_seen: true, last_seen: true };

/** Rejects a load keeps to report: held in memory, unlike an ingest's, which go to bronze.rejects. */
export const MAX_REPORTED_REJECTS = 100;

export interface IntelReport {
  kind: IntelKind;
  name: string | null;
  source: string;
  entries: number;
  /** Lines refused; `rejects` holds the first MAX_REPORTED_REJECTS of them (a hostile list can be all rejects). */
  rejected: number;
  rejects: RejectRecord[];
  trailer: number | null;
  outcome: Outcome;
}

export async function loadIntel(lake: Lake, file: InputFile & { head?(n: number): Promise<Uint8Array> }, options: { kind?: IntelKind; name?: string } = {}): Promise<IntelReport> {
  let kind = options.kind;
  if (!kind && file.head) kind = detectIntel(headLines(await file.head(64 * 1024))) ?? undefined;
  if (!kind) throw new DeltaError('invalid', `cannot tell which list ${file.uri} is; give --kind sslbl|ja3|toplist`);
  const name = kind === 'toplist' ? (options.name ?? guessToplist(file.uri)) : null;
  if (kind === 'toplist' && !name) throw new DeltaError('invalid', `name the top list with --name (${TOPLIST_NAMES.join(', ')} or your own)`);
  const lines = splitLines(file.open());
  const items: AsyncGenerator<IntelItem<object>, { entries: number; rejected: number; trailer: number | null }> =
    kind === 'sslbl' ? readSslbl(lines) : kind === 'ja3' ? readJa3(lines) : readToplist(lines, name!);
  const spec = TABLES[kind];
  const stage = new Stage();
  const rejects: RejectRecord[] = [];
  let rejected = 0;
  let entries = 0;
  let trailer: number | null = null;
  try {
    for (;;) {
      const next = await items.next();
      if (next.done) {
        trailer = next.value.trailer;
        break;
      }
      const item = next.value;
      if (item.kind === 'reject') {
        rejected++;
        if (rejects.length < MAX_REPORTED_REJECTS) rejects.push(item.reject);
        continue;
      }
      entries++;
      const row: Record<string, unknown> = { ...item.entry };
      // A listed public suffix (github.io, duckdns.org) stands for itself: the platform is
      // popular, not the names under it.
      if (kind === 'toplist') row.registered_domain = registeredDomain(String(row.domain)) ?? String(row.domain).toLowerCase();
      await stage.write(row);
    }
    await stage.close();
    const cols = spec.columns.map(([n]) => (TIMES[n] ? `make_timestamptz(CAST(${n} * 1000 AS BIGINT)) AS ${n}` : n));
    const select = `SELECT ${cols.join(', ')} FROM (${stage.select(spec.columns)})`;
    const table = await lake.table('silver', spec.table);
    if (!(await table.exists())) {
      await table.create({ from: `SELECT * FROM (${select}) LIMIT 0`, partitionColumns: kind === 'toplist' ? ['list'] : [], ifNotExists: true });
    }
    const outcome = await table.overwrite(select, kind === 'toplist' ? { partition: { list: name } } : {});
    return { kind, name, source: file.uri, entries, rejected, rejects, trailer, outcome };
  } finally {
    await stage.remove();
  }
}

function guessToplist(uri: string): string | null {
  const base = uri.toLowerCase();
  return TOPLIST_NAMES.find((n) => base.includes(n)) ?? null;
}

import type { Outcome } from '../lake/commit.js';
import { sqlString } from '../lake/schema.js';
import type { TxnId } from '../lake/table.js';
import type { SourceItem } from '../sources/record.js';
import { CERT_FIELDS, OBS_FIELDS, structType } from './columns.js';
import type { Lake } from './lake.js';
import { Stage } from './stage.js';

/**
 * Bronze: one table per source format, every record as read (`raw`, JSON text) plus what the
 * format module made of it (`cert` / `obs` structs) and lineage. Rejects go to bronze.rejects.
 * A batch lands with an app transaction, so re-running a crashed ingest adds nothing twice.
 */
export const BRONZE_COLUMNS: [string, string][] = [
  ['_source', 'VARCHAR'],
  ['_source_pos', 'BIGINT'],
  ['kind', 'VARCHAR'],
  ['raw', 'VARCHAR'],
  ['cert', structType(CERT_FIELDS)],
  ['obs', structType(OBS_FIELDS)],
];

export const REJECT_COLUMNS: [string, string][] = [
  ['_source', 'VARCHAR'],
  ['_source_pos', 'BIGINT'],
  ['format', 'VARCHAR'],
  ['reason', 'VARCHAR'],
  ['excerpt', 'VARCHAR'],
];

export const REJECTS = 'rejects';

export interface BatchContext {
  lake: Lake;
  ingestId: string;
  ingestedAt: number;
  source: string;
  format: string;
}

/** Collects one batch of a source file's items on disk until it is committed. */
export class BronzeBatch {
  readonly records = new Stage();
  readonly rejects = new Stage();
  certificates = 0;
  observations = 0;
  readonly reasons = new Map<string, number>();

  constructor(private readonly ctx: BatchContext) {}

  async add(item: SourceItem): Promise<void> {
    const source = this.ctx.source;
    if (item.kind === 'reject') {
      const r = item.reject;
      const reason = r.reason.length > 500 ? r.reason.slice(0, 500) + '…' : r.reason;
      this.reasons.set(reasonKey(reason), (this.reasons.get(reasonKey(reason)) ?? 0) + 1);
      await this.rejects.write({ _source: source, _source_pos: r.position, format: this.ctx.format, reason, excerpt: r.excerpt });
      return;
    }
    const raw = safeStringify(item.raw);
    if (item.kind === 'certificate') {
      this.certificates++;
      await this.records.write({ _source: source, _source_pos: item.pos, kind: 'certificate', raw, cert: item.cert, obs: null });
    } else {
      this.observations++;
      await this.records.write({ _source: source, _source_pos: item.pos, kind: 'observation', raw, obs: item.obs, cert: null });
    }
  }

  get size(): number {
    return this.records.rows + this.rejects.rows;
  }

  /** Staged text so far (UTF-16 units). */
  get chars(): number {
    return this.records.chars + this.rejects.chars;
  }

  /** Commit the batch: records to bronze.<format>, rejects to bronze.rejects, both under `txn`. */
  async commit(txn: TxnId): Promise<{ records?: Outcome; rejects?: Outcome }> {
    await this.records.close();
    await this.rejects.close();
    const lineage = `${sqlString(this.ctx.ingestId)} AS _ingest_id, make_timestamptz(${Math.round(this.ctx.ingestedAt * 1000)}::BIGINT) AS _ingested_at`;
    const out: { records?: Outcome; rejects?: Outcome } = {};
    if (this.records.rows > 0) {
      const table = await this.ctx.lake.table('bronze', this.ctx.format);
      const q = this.records.select(BRONZE_COLUMNS, lineage);
      out.records = await table.append(q, { txn, createIfMissing: { from: `SELECT * FROM (${q}) LIMIT 0` } });
    }
    if (this.rejects.rows > 0) {
      const table = await this.ctx.lake.table('bronze', REJECTS);
      const q = this.rejects.select(REJECT_COLUMNS, lineage);
      out.rejects = await table.append(q, { txn, createIfMissing: { from: `SELECT * FROM (${q}) LIMIT 0` } });
    }
    return out;
  }

  async discard(): Promise<void> {
    await this.records.remove();
    await this.rejects.remove();
  }
}

/** Group reasons that differ only by numbers (line lengths, positions) for the summary. */
export function reasonKey(reason: string): string {
  return reason.replace(/\d+/g, 'N');
}

function safeStringify(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') return raw;
  try {
    return JSON.stringify(raw);
  } catch {
    return null;
  }
}

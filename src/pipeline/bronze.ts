import { sqlString } from '../lake/schema.js';
import type { TxnId } from '../lake/table.js';
import { excerpt, type SourceItem } from '../sources/record.js';
import { CERT_FIELDS, CERT_RANGES, OBS_FIELDS, OBS_RANGES, outOfRange, structType } from './columns.js';
import type { Lake } from './lake.js';
import { LARGE_ROW, selectStages, Stage } from './stage.js';

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

/**
 * The add-action tag on a bronze file whose batch held large rows (stage.ts, LARGE_ROW): their
 * UTF-16 units. Silver's steps take no more of them at once than bronze's batches do.
 */
export const LARGE_ROWS_TAG = 'certhunt.largeRowsChars';

export interface BatchContext {
  lake: Lake;
  ingestId: string;
  ingestedAt: number;
  source: string;
  format: string;
}

/**
 * One source item as the text of its bronze row (or bronze.rejects row), made where the item
 * was read: on the main thread, or in a reader worker (parallel.ts), which hands back text.
 */
export interface PreparedItem {
  kind: SourceItem['kind'];
  pos: number;
  text: string;
  /** Rejects: the reason, grouped (reasonKey) for the run's summary. */
  reasonKey?: string;
}

/**
 * A block's rows as UTF-8 lines in one buffer, with each row's kind, position, length in UTF-16
 * units (what batches count) and in bytes, and the reason key of each reject in order: the
 * main thread then writes runs of rows without a string or an object per row (per-row objects
 * made its garbage collection the bottleneck).
 */
export interface PreparedBlock {
  bytes: Uint8Array;
  kinds: Uint8Array;
  pos: Float64Array;
  chars: Uint32Array;
  sizes: Uint32Array;
  reasonKeys: string[];
}

export const KINDS = ['certificate', 'observation', 'reject'] as const;

export function prepareItem(item: SourceItem, ctx: { source: string; format: string }): PreparedItem {
  const source = ctx.source;
  if (item.kind === 'reject') {
    const r = item.reject;
    const reason = r.reason.length > 500 ? r.reason.slice(0, 500) + '…' : r.reason;
    const row = { _source: source, _source_pos: r.position, format: ctx.format, reason, excerpt: r.excerpt };
    let text = JSON.stringify(row);
    if (text.includes('\\ud')) text = JSON.stringify(wellFormed(row));
    return { kind: 'reject', pos: r.position, text, reasonKey: reasonKey(reason) };
  }
  const raw = safeStringify(item.raw);
  const record = item.kind === 'certificate' ? item.cert : item.obs;
  const bad = outOfRange(record, item.kind === 'certificate' ? CERT_RANGES : OBS_RANGES);
  if (bad) return refused(item.pos, bad, raw, ctx);
  // A raw text whose escaped form alone passes the limit is refused before its row is built: a
  // 16 MiB line of quotes peaked at 504 MiB RSS making a row only to refuse it, 224 MiB this way.
  const rawBytes = raw !== null && raw.length > MAX_ROW_BYTES / 2 ? escapedLength(raw) : 0;
  if (rawBytes > MAX_ROW_BYTES) return refused(item.pos, tooLarge(`at least ${rawBytes}`), raw, ctx);
  let body = JSON.stringify(record);
  // JSON.stringify writes a lone surrogate (a JSON line's \ud800 escape, a BMPString) as an
  // escape DuckDB refuses, which failed the whole batch: U+FFFD instead, as for invalid UTF-8.
  // Only the record can hold one: raw is text decoded from bytes, or made of it.
  if (body.includes('\\ud')) body = JSON.stringify(wellFormed(record));
  if (source !== lastSource) {
    lastSource = source;
    lastSourceJson = JSON.stringify(source);
  }
  // The text JSON.stringify of the row object gives, with the record's text checked on its own.
  const head = `{"_source":${lastSourceJson},"_source_pos":${item.pos},"kind":"${item.kind}","raw":${JSON.stringify(raw)},`;
  const text = item.kind === 'certificate' ? `${head}"cert":${body},"obs":null}` : `${head}"obs":${body},"cert":null}`;
  // A UTF-16 unit is at most 3 bytes: only a row that could be too large is measured.
  const bytes = text.length * 3 > MAX_ROW_BYTES ? Buffer.byteLength(text) : 0;
  if (bytes > MAX_ROW_BYTES) return refused(item.pos, tooLarge(String(bytes)), raw, ctx);
  return { kind: item.kind, pos: item.pos, text };
}

/** A record staging cannot keep, as the reject row of its line. */
function refused(pos: number, reason: string, raw: string | null, ctx: { source: string; format: string }): PreparedItem {
  return prepareItem({ kind: 'reject', reject: { position: pos, reason, excerpt: excerpt(raw ?? '') } }, ctx);
}

const tooLarge = (bytes: string) => `record too large for bronze: ${bytes} bytes as a row (at most ${MAX_ROW_BYTES})`;

/** At least the UTF-8 bytes of `text` as a JSON string: one per unit, two for `"` and `\\`. */
function escapedLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) n++;
  }
  return n;
}

/**
 * The largest staged row, in bytes. DuckDB's JSON reader needs buffers of a few times the
 * largest row: a 16 MiB line of quotes (escaped twice in its row, ~105 MB) failed the whole
 * batch at the ingest's memory limit, where a 15 MB line of 900k SANs (~31 MB) lands.
 */
export const MAX_ROW_BYTES = 32 * 1024 * 1024 - 2;

let lastSource = '';
let lastSourceJson = '""';

/** A value with every string's lone surrogates replaced by U+FFFD (String.prototype.toWellFormed). */
function wellFormed(v: unknown): unknown {
  if (typeof v === 'string') return (v as string & { toWellFormed(): string }).toWellFormed();
  if (Array.isArray(v)) return v.map(wellFormed);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wellFormed(x)]));
  return v;
}

export async function* prepareItems(items: AsyncIterable<SourceItem>, ctx: { source: string; format: string }): AsyncGenerator<PreparedItem> {
  for await (const item of items) yield prepareItem(item, ctx);
}

/** Collects one batch of a source file's items on disk until it is committed. */
export class BronzeBatch {
  readonly records = new Stage();
  readonly rejects = new Stage();
  certificates = 0;
  observations = 0;
  readonly reasons = new Map<string, number>();

  constructor(private readonly ctx: BatchContext) {}

  async addPrepared(item: PreparedItem): Promise<void> {
    if (item.kind === 'reject') {
      countReason(this.reasons, item.reasonKey ?? '');
      await this.rejects.writeText(item.text);
      return;
    }
    if (item.kind === 'certificate') this.certificates++;
    else this.observations++;
    await this.records.writeText(item.text);
  }

  /**
   * A run of rows of one kind from a reader thread's block (rows [from, to) of it, at byte
   * `offset`), counted as the same rows added one by one would be.
   */
  async addRun(block: PreparedBlock, from: number, to: number, offset: number, reasonKeys: string[]): Promise<number> {
    let bytes = 0;
    let chars = 0;
    let large = 0;
    let longest = 0;
    for (let i = from; i < to; i++) {
      bytes += block.sizes[i]!;
      chars += block.chars[i]!;
      if (block.chars[i]! > LARGE_ROW) large += block.chars[i]!;
      if (block.sizes[i]! > longest) longest = block.sizes[i]!;
    }
    const kind = KINDS[block.kinds[from]!]!;
    const rows = to - from;
    const view = block.bytes.subarray(offset, offset + bytes);
    if (kind === 'reject') {
      for (const key of reasonKeys) countReason(this.reasons, key);
      await this.rejects.writeBytes(view, rows, chars, large, longest);
    } else {
      if (kind === 'certificate') this.certificates += rows;
      else this.observations += rows;
      await this.records.writeBytes(view, rows, chars, large, longest);
    }
    return bytes;
  }

  get size(): number {
    return this.records.rows + this.rejects.rows;
  }

  /** Staged text so far (UTF-16 units). */
  get chars(): number {
    return this.records.chars + this.rejects.chars;
  }

  /** Staged text in large rows (stage.ts, LARGE_ROW): only records can be, rejects are short. */
  get large(): number {
    return this.records.large;
  }

  get format(): string {
    return this.ctx.format;
  }

  /** Commit the batch: records to bronze.<format>, rejects to bronze.rejects, both under `txn`. */
  async commit(txn: TxnId): Promise<void> {
    await commitBatches(this.ctx.lake, [{ batch: this, txn }]);
  }

  /** The batch's staged rows, closed for reading. */
  async stages(): Promise<{ records: Stage; rejects: Stage; ingestId: string; ingestedAt: number }> {
    await this.records.close();
    await this.rejects.close();
    return { records: this.records, rejects: this.rejects, ingestId: this.ctx.ingestId, ingestedAt: this.ctx.ingestedAt };
  }

  async discard(): Promise<void> {
    await this.records.remove();
    await this.rejects.remove();
  }
}

/**
 * Commit batches, each under its own app transaction, with one commit per table: the records of
 * each format to bronze.<format>, every reject to bronze.rejects. Small files share commits so
 * (a folder of hourly logs spent ~80 ms a file on two commits of its own). A batch whose
 * transaction a table already holds is left out of that table's commit: a re-run after a crash
 * regroups files, and the ones that landed must not land twice.
 */
export async function commitBatches(lake: Lake, members: { batch: BronzeBatch; txn: TxnId }[]): Promise<void> {
  const staged = await Promise.all(members.map(async (m) => ({ ...(await m.batch.stages()), txn: m.txn, format: m.batch.format })));
  const first = staged[0];
  if (!first) return;
  const lineage = `${sqlString(first.ingestId)} AS _ingest_id, make_timestamptz(${Math.round(first.ingestedAt * 1000)}::BIGINT) AS _ingested_at`;
  const append = async (name: string, parts: { stage: Stage; txn: TxnId }[], columns: [string, string][], tagLarge: boolean) => {
    const table = await lake.table('bronze', name);
    const todo = await table.uncommitted(parts, (p) => p.txn);
    if (todo.length === 0) return;
    const q = selectStages(todo.map((p) => p.stage), columns, lineage);
    const large = todo.reduce((n, p) => n + p.stage.large, 0);
    const tags = tagLarge && large > 0 ? { tags: { [LARGE_ROWS_TAG]: String(large) } } : {};
    await table.append(q, { txn: todo.map((p) => p.txn), createIfMissing: { from: `SELECT * FROM (${q}) LIMIT 0` }, ...tags });
  };
  for (const format of new Set(staged.map((s) => s.format))) {
    const parts = staged.filter((s) => s.format === format && s.records.rows > 0).map((s) => ({ stage: s.records, txn: s.txn }));
    await append(format, parts, BRONZE_COLUMNS, true);
  }
  const rejects = staged.filter((s) => s.rejects.rows > 0).map((s) => ({ stage: s.rejects, txn: s.txn }));
  await append(REJECTS, rejects, REJECT_COLUMNS, false);
}

/**
 * Group reasons for the summary: ones that differ only by numbers (line lengths, positions) or by
 * the quoted value they name (`not a time: "..."`). Each reject keeps its whole reason in bronze.
 */
export function reasonKey(reason: string): string {
  return reason.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\d+/g, 'N');
}

/** Distinct reasons a summary keeps: hostile input can make a reason of every line. */
export const MAX_REASONS = 100;
export const OTHER_REASONS = 'other reasons (see bronze.rejects)';

/** Count `n` rejects for a reason in a summary of at most MAX_REASONS distinct ones. */
export function countReason(reasons: Map<string, number>, key: string, n = 1): void {
  const have = reasons.get(key);
  if (have !== undefined) reasons.set(key, have + n);
  else if (reasons.size < MAX_REASONS) reasons.set(key, n);
  else reasons.set(OTHER_REASONS, (reasons.get(OTHER_REASONS) ?? 0) + n);
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

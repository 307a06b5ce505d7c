import type { TxnId } from '../lake/table.js';
import { commitBatches, type BronzeBatch } from './bronze.js';
import type { Lake } from './lake.js';
import { recordFiles, type FileState } from './registry.js';
import { LARGE_ROWS_CHARS } from './stage.js';

/**
 * Files read to their end whose last batch and registry row are not committed yet. They are
 * committed together, in the background while the next files are read: one commit per bronze
 * table and one registry commit for many small files. A folder of hourly logs (720 files of
 * 1,000 lines) spent ~80 ms a file on two commits of its own, and a COPY of 1,000 rows costs
 * DuckDB ~4× a row what a large one does.
 *
 * Each file keeps its own app transactions (its batches numbered within the file, and its
 * generation in the registry), so what a crash left committed is found again however a re-run
 * groups the files. A file's registry row is committed only after its bronze rows: a crash
 * between the two makes the re-run read the file again and land only what is missing.
 */
export interface FileTail {
  /** The file's last batch, when it has rows. */
  batch?: BronzeBatch;
  /** The app transaction of that batch: the file's generation, the batch's number in it. */
  txn: TxnId;
  state: FileState;
}

/** Runs `fn` after every commit queued before it has settled. */
export type Serial = <T>(fn: () => Promise<T>) => Promise<T>;

export interface PendingLimits {
  rows: number;
  chars: number;
  /** Files in one commit (one read_json over their staged files). */
  files: number;
}

/** Small files in one commit at most: DuckDB's JSON reader opens every file it is given. */
export const MAX_PENDING_FILES = 256;

export class PendingFiles {
  private tails: FileTail[] = [];
  private rows = 0;
  private chars = 0;
  private large = 0;

  /** The commit under way (in the background, while the next files are read). */
  private inflight: Promise<void> = Promise.resolve();

  constructor(
    private readonly lake: Lake,
    /** The run's commit queue: commits one at a time, in order (ingest.ts). */
    private readonly serial: Serial,
    private readonly limits: PendingLimits,
    private readonly clock: () => number,
    /** Called with each batch once it is committed (the run's reject summary). */
    private readonly onCommitted: (batch: BronzeBatch) => void = () => undefined,
  ) {}

  async add(tail: FileTail): Promise<void> {
    const batch = tail.batch && tail.batch.size > 0 ? tail.batch : undefined;
    if (tail.batch && !batch) await tail.batch.discard();
    try {
      if (batch && this.tails.length > 0 && !this.fits(batch)) await this.commit();
    } catch (e) {
      await batch?.discard();
      throw e;
    }
    this.tails.push({ txn: tail.txn, state: tail.state, ...(batch ? { batch } : {}) });
    if (batch) {
      // Its staged files are closed while it waits: 256 pending files held 512 descriptors.
      await batch.stages();
      this.rows += batch.size;
      this.chars += batch.chars;
      this.large += batch.large;
    }
    if (this.tails.length >= this.limits.files) await this.commit();
  }

  private fits(batch: BronzeBatch): boolean {
    const large = batch.large === 0 || this.large === 0 || this.large + batch.large <= LARGE_ROWS_CHARS;
    return large && this.rows + batch.size <= this.limits.rows && this.chars + batch.chars <= this.limits.chars;
  }

  /**
   * Start committing every pending file (bronze rows first, then their registry rows) behind
   * the run's other commits; it goes on while the next files are read. Resolves once the
   * previous such commit is done, and rejects with its failure.
   */
  async commit(): Promise<void> {
    const tails = this.take();
    try {
      await this.inflight;
    } catch (e) {
      await discardAll(tails);
      throw e;
    }
    if (tails.length === 0) return;
    this.inflight = this.serial(() => this.commitNow(tails));
    // Settled at the next commit() or settle(); marked handled so a failure is not reported as
    // unhandled in between.
    this.inflight.catch(() => undefined);
  }

  /** Commit what is pending and wait until every commit has landed. */
  async settle(): Promise<void> {
    await this.commit();
    await this.inflight;
  }

  private async commitNow(tails: FileTail[]): Promise<void> {
    try {
      const members = tails.flatMap((t) => (t.batch ? [{ batch: t.batch, txn: t.txn }] : []));
      await commitBatches(this.lake, members);
      for (const m of members) this.onCommitted(m.batch);
      await recordFiles(this.lake, tails.map((t) => t.state), this.clock());
    } finally {
      await discardAll(tails);
    }
  }

  private take(): FileTail[] {
    const tails = this.tails;
    this.tails = [];
    this.rows = this.chars = this.large = 0;
    return tails;
  }

  /**
   * Drop what is pending (staged files removed; a re-run reads those files again), once the
   * commit under way, which reads its own staged files, has settled.
   */
  async discard(): Promise<void> {
    await this.inflight.catch(() => undefined);
    await discardAll(this.take());
  }
}

async function discardAll(tails: FileTail[]): Promise<void> {
  await Promise.all(tails.map((t) => t.batch?.discard()));
}

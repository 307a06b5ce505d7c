/**
 * An output file written as it is produced: pieces gathered into ~1 MiB writes (one stream
 * write per line cost 18% of an ingest, bench/ingest.ts, 1M records), and each write waits
 * for 'drain' when the stream's buffer is full, so a producer faster than the disk waits
 * rather than filling memory.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

const BATCH = 1 << 20;

export class FileSink {
  readonly path: string;
  /** Bytes handed to the stream so far. */
  bytes = 0;
  private readonly out: WriteStream;
  private text: string[] = [];
  private binary: Uint8Array[] = [];
  private pending = 0;
  private failure: Error | null = null;

  constructor(path: string) {
    this.path = path;
    this.out = createWriteStream(path, { highWaterMark: 4 << 20 });
    this.out.on('error', (e) => (this.failure ??= e));
  }

  /** One line of text; the line end is added. */
  async line(text: string): Promise<void> {
    // Text and bytes are gathered apart: what came first is written first.
    if (this.binary.length > 0) await this.flush();
    this.text.push(text);
    this.pending += text.length + 1;
    if (this.pending >= BATCH) await this.flush();
  }

  async bytesOut(chunk: Uint8Array): Promise<void> {
    if (this.text.length > 0) await this.flush();
    this.binary.push(chunk);
    this.pending += chunk.length;
    if (this.pending >= BATCH) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    let chunk: Buffer | null = null;
    if (this.text.length > 0) chunk = Buffer.from(this.text.join('\n') + '\n', 'utf8');
    else if (this.binary.length > 0) chunk = Buffer.concat(this.binary);
    this.text = [];
    this.binary = [];
    this.pending = 0;
    if (!chunk) return;
    this.bytes += chunk.length;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => this.out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (this.failure) throw this.failure;
  }

  /** Close without flushing what is pending (after a failure elsewhere). */
  destroy(): void {
    this.out.destroy();
  }
}

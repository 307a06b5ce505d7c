/**
 * A one-line progress display on a TTY (bytes, records/s, ETA when the total is known);
 * nothing at all when stderr is a pipe or a file.
 */
export class ProgressLine {
  private last = 0;
  private readonly started = Date.now();
  private shown = false;

  constructor(private readonly write: (s: string) => void, private readonly enabled: boolean) {}

  update(p: { file: string; bytes: number; records: number; totalBytes?: number }): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    const secs = Math.max(0.001, (now - this.started) / 1000);
    const rate = p.records / secs;
    const eta = p.totalBytes && p.bytes > 0 ? ((p.totalBytes - p.bytes) / (p.bytes / secs)) : undefined;
    const parts = [
      mb(p.bytes) + (p.totalBytes ? `/${mb(p.totalBytes)}` : ''),
      `${p.records.toLocaleString('en-US')} records`,
      `${Math.round(rate).toLocaleString('en-US')} rec/s`,
      eta !== undefined && isFinite(eta) ? `ETA ${clock(eta)}` : '',
      p.file.length > 40 ? '…' + p.file.slice(-39) : p.file,
    ].filter(Boolean);
    this.write(`\r\x1b[2K${parts.join('  ')}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.write('\r\x1b[2K');
  }
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

function clock(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`;
}

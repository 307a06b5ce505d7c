import type { SourceItem } from './record.js';

/**
 * The contract between input plumbing and format modules. Plumbing (src/sources/input.ts,
 * src/sources/lines.ts) opens a location, undoes compression and splits lines with caps;
 * a format module turns lines (or whole files, for certificate files) into SourceItems.
 */
export type LineItem =
  | { text: string; pos: number; byteOffset: number }
  | { error: string; pos: number; byteOffset: number; excerpt: string };

/** A file's lines as streamed, or a reader thread's block in memory (sync: no promise per line). */
export type Lines = AsyncIterable<LineItem> | Iterable<LineItem>;

export interface LineFormat {
  /** Stable name: also the bronze table it lands in (e.g. zeek_x509, zeek_ssl, suricata_tls). */
  readonly name: string;
  /** True when these first lines (up to 20, comments included) are this format. */
  detect(head: string[]): boolean;
  /**
   * True when every line but context lines (below) reads the same wherever it sits in the file,
   * given the context lines before it: the lines may then be read apart, in parallel
   * (src/pipeline/parallel.ts).
   */
  readonly parallel?: boolean;
  /**
   * Lines that yield nothing and only set how the lines after them read (a Zeek TSV header's
   * `#` directives): read again ahead of every block read apart. They must start with `#`, the
   * byte the block cutter looks for. 'restart' for one that resets all that state
   * (`#separator`), so the lines before it are no longer needed.
   */
  context?(line: LineItem): false | 'add' | 'restart';
  /** Records from the lines of one source file; never throws on bad input: yields rejects. */
  read(lines: Lines, options?: FormatOptions): AsyncGenerator<SourceItem>;
}

export interface FormatOptions {
  /** Scan exports: target column ← source field, e.g. { sha1: 'sha1_fingerprint', dest_ip: 'ip' }. */
  map?: Record<string, string>;
}

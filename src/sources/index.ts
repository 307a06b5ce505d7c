import { CERTFILE, completeCertificate, looksLikeCertificateFile, readCertificateFile } from './certfile.js';
import type { FormatOptions, LineFormat, LineItem, Lines } from './format.js';
import { DEFAULT_MAX_LINE_BYTES, splitLines } from './lines.js';
import type { SourceItem } from './record.js';
import { looksLikeCapture, PCAP, readCapture } from './pcap.js';
import { scanFormats } from './scan.js';
import { suricataTls } from './suricata.js';
import { zeekFormats } from './zeek.js';

/**
 * The format registry: every line format, found from a file's first lines (never its name).
 * Order matters only where two formats could claim the same head; the specific ones go first.
 */
export const LINE_FORMATS: readonly LineFormat[] = [...zeekFormats, suricataTls, ...scanFormats];

const HEAD_LINES = 20;

/** Every name `--input-format` takes: the line formats, certificate files and captures. */
export function inputFormatNames(): string[] {
  return [...formatNames(), CERTFILE, PCAP];
}

/** Why `name` is not an input format (`auto` is one: find it from the content), or null. */
export function unknownInputFormat(name: string): string | null {
  return name === 'auto' || inputFormatNames().includes(name) ? null : `unknown input format "${name}" (known: auto, ${inputFormatNames().join(', ')})`;
}

export function formatNames(): string[] {
  return LINE_FORMATS.map((f) => f.name);
}

export function formatByName(name: string): LineFormat | undefined {
  return LINE_FORMATS.find((f) => f.name === name || f.name.replace(/_/g, '-') === name);
}

const HEAD_BYTES = 64 * 1024;

/** A head that is one line cut by the window (no newline in it). */
const isCutLine = (head: Uint8Array) => head.length >= HEAD_BYTES && !head.includes(0x0a);

/**
 * When the first 64 KiB name no format, a head holding the whole first line (within the line
 * cap), read once. Cut lines are detected from what they hold (json-head.ts), but a scan
 * export's subject comes before the fields that name the format: a long one there hid the file.
 * So did a PEM block after more than 64 KiB of text (`openssl x509 -text` of a certificate of
 * many names).
 */
const largerHead = (options: { maxLineBytes?: number }) => Math.min(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_LINE_BYTES) + HEAD_BYTES;

/**
 * Whether what names a file's format may lie past a head that named none: a cut line, or text
 * that is not a log of another kind (`#` or `{` first: a prefix of Zeek's conn, dns, ... logs
 * would otherwise cost 16 MiB more of each).
 */
function mayNameLater(head: Uint8Array): boolean {
  if (head.length < HEAD_BYTES) return false; // the whole file is in it
  return isCutLine(head) || !/^\s*[{#]/.test(Buffer.from(head.subarray(0, 64)).toString('latin1'));
}

/** The first lines of a decoded head, the last (possibly partial) one dropped unless it is all. */
export function headLines(head: Uint8Array): string[] {
  const text = Buffer.from(head).toString('utf8');
  const lines = text.split(/\r?\n/);
  if (lines.length > 1) lines.pop();
  return lines.slice(0, HEAD_LINES);
}

export function detectLineFormat(head: Uint8Array): LineFormat | undefined {
  const lines = headLines(head);
  return LINE_FORMATS.find((f) => f.detect(lines));
}

/** Records of a whole file in a line format. */
export function readLines(format: LineFormat, chunks: AsyncIterable<Uint8Array>, options: FormatOptions & { maxLineBytes?: number } = {}): AsyncIterable<SourceItem> {
  return format.read(fileLines(chunks, options), options);
}

/** A file's lines, with the line cap the reader was given; from a line and byte offset when resuming. */
export function fileLines(chunks: AsyncIterable<Uint8Array>, options: { maxLineBytes?: number; firstPos?: number; firstByteOffset?: number }): AsyncGenerator<LineItem> {
  const { maxLineBytes, firstPos, firstByteOffset } = options;
  return splitLines(chunks, {
    ...(maxLineBytes !== undefined ? { maxLineBytes } : {}),
    ...(firstPos !== undefined ? { firstPos } : {}),
    ...(firstByteOffset !== undefined ? { firstByteOffset } : {}),
  });
}

/** What `certhunt ingest` needs of the sources layer: a reader for each file, by content. */
export function sourceReader(options: FormatOptions & { maxLineBytes?: number } = {}) {
  return {
    async detect(file: { head?(n: number): Promise<Uint8Array> }, forced?: string) {
      const head = file.head ? await file.head(HEAD_BYTES) : new Uint8Array();
      if (forced === PCAP || ((!forced || forced === 'auto') && looksLikeCapture(head))) {
        // Positions are packet numbers: a capture that grew is read on from the last one.
        let packets = 0;
        return {
          name: PCAP,
          read: async function* (chunks: AsyncIterable<Uint8Array>) {
            packets = (yield* readCapture(chunks)).packets;
          },
          lastPosition: () => packets,
        };
      }
      const certfile = { name: CERTFILE, read: (chunks: AsyncIterable<Uint8Array>) => readCertificateFile(chunks) };
      if (forced === CERTFILE || ((!forced || forced === 'auto') && looksLikeCertificateFile(head))) return certfile;
      let format: LineFormat | undefined;
      if (forced && forced !== 'auto') {
        format = formatByName(forced);
        if (!format) throw new Error(unknownInputFormat(forced) ?? `no line reader for input format "${forced}"`);
      } else format = detectLineFormat(head);
      if (!format && file.head && mayNameLater(head)) {
        const more = await file.head(largerHead(options));
        if (isCutLine(head)) format = detectLineFormat(more);
        if (!format && looksLikeCertificateFile(more)) return certfile;
      }
      if (!format) return undefined;
      const f = format;
      // `lines` lets a caller read the file on reader threads where the format allows (pipeline/parallel.ts).
      return { name: f.name, read: (chunks: AsyncIterable<Uint8Array>) => readCompleted(f, fileLines(chunks, options), options), lines: { format: f, options } };
    },
  };
}

/**
 * A line format's records from lines, completed: certificates from logs get their DER parsed in
 * full (when logged) and their name parts. The same whether the lines are a whole file or a
 * reader thread's block (pipeline/read-worker.ts).
 */
export async function* readCompleted(format: LineFormat, lines: Lines, options: FormatOptions = {}): AsyncGenerator<SourceItem> {
  for await (const item of format.read(lines, options)) yield completed(item);
}

/** An item as readCompleted gives it (a reader thread completes in place, without a generator). */
export function completed(item: SourceItem): SourceItem {
  if (item.kind === 'certificate') item.cert = completeCertificate(item.cert);
  return item;
}

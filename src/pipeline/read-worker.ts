import { parentPort } from 'node:worker_threads';
import type { FormatOptions, LineItem } from '../sources/format.js';
import { completed, formatByName } from '../sources/index.js';
import { blockLines } from './blocks.js';
import { KINDS, prepareItem, type PreparedBlock } from './bronze.js';

/**
 * A reader thread (parallel.ts): a block of a file's lines in (its bytes, and the context lines
 * before it), the text of their bronze rows out, split, read by the same format module and
 * completed the same way as on the main thread, so that both give the same rows.
 */
export interface BlockRequest {
  id: number;
  format: string;
  options: FormatOptions & { maxLineBytes?: number };
  source: string;
  /** Lines read first, for the state they set (a Zeek header); they yield nothing. */
  context: LineItem[];
  /** The block: its bytes, split here (blocks.ts), or line items made on the main thread. */
  block: { bytes: Uint8Array; firstPos: number; firstByteOffset: number; abort?: string } | { items: LineItem[] };
}

export type BlockResult = { id: number; block: PreparedBlock } | { id: number; error: string };

// Sync: an async generator per level cost about a microsecond a row.
function* each<T>(...lists: Iterable<T>[]): Generator<T> {
  for (const items of lists) yield* items;
}

const encoder = new TextEncoder();

/**
 * Rows are encoded as they are made, into a buffer that grows when it must, so that each row's
 * text dies young: holding a block's texts until its end made them survive scavenges (GC was
 * the largest share of a reader thread's time). Untouched capacity costs no memory (the pages
 * are never faulted in).
 */
export async function readBlock(req: BlockRequest): Promise<PreparedBlock> {
  const format = formatByName(req.format);
  if (!format) throw new Error(`unknown format ${req.format}`);
  const ctx = { source: req.source, format: req.format };
  const kinds: number[] = [];
  const pos: number[] = [];
  const chars: number[] = [];
  const sizes: number[] = [];
  const reasonKeys: string[] = [];
  const b = req.block;
  const lines = 'items' in b ? b.items : blockLines(b.bytes, { ...b, maxLineBytes: req.options.maxLineBytes });
  let input = 0;
  if ('bytes' in b) input = b.bytes.length;
  else for (const line of b.items) input += 'text' in line ? line.text.length : line.excerpt.length;
  // A row's text is about three times its line (the line again as `raw`, and its fields).
  let bytes = new Uint8Array(input * 3 + 65_536);
  let at = 0;
  for await (const item of format.read(each(req.context, lines), req.options)) {
    const { kind, pos: p, text, reasonKey } = prepareItem(completed(item), ctx);
    const most = text.length * 3 + 1;
    if (at + most > bytes.length) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, at + most));
      grown.set(bytes.subarray(0, at));
      bytes = grown;
    }
    const { written } = encoder.encodeInto(text, bytes.subarray(at));
    bytes[at + written] = 10;
    at += written + 1;
    kinds.push(KINDS.indexOf(kind));
    pos.push(p);
    chars.push(text.length);
    sizes.push(written + 1);
    if (kind === 'reject') reasonKeys.push(reasonKey ?? '');
  }
  return {
    bytes: bytes.subarray(0, at),
    kinds: Uint8Array.from(kinds),
    pos: Float64Array.from(pos),
    chars: Uint32Array.from(chars),
    sizes: Uint32Array.from(sizes),
    reasonKeys,
  };
}

parentPort?.on('message', (req: BlockRequest) => {
  readBlock(req).then(
    (block) => parentPort!.postMessage({ id: req.id, block } satisfies BlockResult, [block.bytes, block.kinds, block.pos, block.chars, block.sizes].map((a) => a.buffer as ArrayBuffer)),
    (e: unknown) => parentPort!.postMessage({ id: req.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies BlockResult),
  );
});

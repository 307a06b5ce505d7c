import { parentPort } from 'node:worker_threads';
import type { FormatOptions, LineItem } from '../sources/format.js';
import { formatByName, readCompleted } from '../sources/index.js';
import { KINDS, prepareItem, type PreparedBlock, type PreparedItem } from './bronze.js';

/**
 * A reader thread (parallel.ts): a block of a file's independent lines in, the text of their
 * bronze rows out, read by the same format module and completed the same way as on the main
 * thread, so that both give the same rows.
 */
export interface BlockRequest {
  id: number;
  format: string;
  options: FormatOptions;
  source: string;
  lines: LineItem[];
}

export type BlockResult = { id: number; block: PreparedBlock } | { id: number; error: string };

async function* each<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

const encoder = new TextEncoder();

async function readBlock(req: BlockRequest): Promise<PreparedBlock> {
  const format = formatByName(req.format);
  if (!format) throw new Error(`unknown format ${req.format}`);
  const ctx = { source: req.source, format: req.format };
  const items: PreparedItem[] = [];
  for await (const item of readCompleted(format, each(req.lines), req.options)) items.push(prepareItem(item, ctx));
  const block: PreparedBlock = {
    bytes: new Uint8Array(0),
    kinds: new Uint8Array(items.length),
    pos: new Float64Array(items.length),
    chars: new Uint32Array(items.length),
    sizes: new Uint32Array(items.length),
    reasonKeys: [],
  };
  let total = 0;
  items.forEach((item, i) => {
    block.kinds[i] = KINDS.indexOf(item.kind);
    block.pos[i] = item.pos;
    block.chars[i] = item.text.length;
    block.sizes[i] = Buffer.byteLength(item.text) + 1;
    total += block.sizes[i]!;
    if (item.kind === 'reject') block.reasonKeys.push(item.reasonKey ?? '');
  });
  // Each row encoded into place: joining the rows first made a rope that encoding flattened
  // into a second copy, and those fresh multi-MB strings were a third of an ingest's page
  // faults (perf, minor-faults, on bench/ingest.ts's log).
  block.bytes = new Uint8Array(total);
  let at = 0;
  items.forEach((item, i) => {
    encoder.encodeInto(item.text, block.bytes.subarray(at));
    at += block.sizes[i]!;
    block.bytes[at - 1] = 10;
  });
  return block;
}

parentPort?.on('message', (req: BlockRequest) => {
  readBlock(req).then(
    (block) => parentPort!.postMessage({ id: req.id, block } satisfies BlockResult, [block.bytes, block.kinds, block.pos, block.chars, block.sizes].map((a) => a.buffer as ArrayBuffer)),
    (e: unknown) => parentPort!.postMessage({ id: req.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies BlockResult),
  );
});

import { DeltaError } from './error.js';
import type { DeletionVectorDescriptor } from './deletion-vector.js';

/**
 * Delta log actions (PROTOCOL.md "Actions"). Names are defined here once; everything else
 * refers to these types. Parsing validates the fields the reader relies on, so a corrupt
 * commit fails loudly with its file name instead of yielding wrong rows.
 */
export const ACTION = {
  add: 'add',
  remove: 'remove',
  metaData: 'metaData',
  protocol: 'protocol',
  txn: 'txn',
  commitInfo: 'commitInfo',
  domainMetadata: 'domainMetadata',
  cdc: 'cdc',
  checkpointMetadata: 'checkpointMetadata',
  sidecar: 'sidecar',
} as const;

export interface Protocol {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[];
  writerFeatures?: string[];
}

export interface Metadata {
  id: string;
  name?: string | null;
  description?: string | null;
  format: { provider: string; options: Record<string, string> };
  schemaString: string;
  partitionColumns: string[];
  configuration: Record<string, string>;
  createdTime?: number | null;
}

export interface AddFile {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  stats?: string | null;
  tags?: Record<string, string> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
}

export interface RemoveFile {
  path: string;
  deletionTimestamp?: number | null;
  dataChange: boolean;
  extendedFileMetadata?: boolean;
  partitionValues?: Record<string, string | null> | null;
  size?: number | null;
  tags?: Record<string, string> | null;
  deletionVector?: DeletionVectorDescriptor | null;
}

export interface Txn {
  appId: string;
  version: number;
  lastUpdated?: number | null;
}

export interface DomainMetadata {
  domain: string;
  configuration: string;
  removed: boolean;
}

export type CommitInfo = Record<string, unknown> & {
  timestamp?: number;
  operation?: string;
  operationParameters?: Record<string, unknown>;
};

export type Action =
  | { add: AddFile }
  | { remove: RemoveFile }
  | { metaData: Metadata }
  | { protocol: Protocol }
  | { txn: Txn }
  | { commitInfo: CommitInfo }
  | { domainMetadata: DomainMetadata };

/** Parse one newline-delimited JSON commit. Unknown action kinds are skipped, as the protocol asks. */
export function parseCommit(text: string, file: string): Action[] {
  const out: Action[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new DeltaError('corrupt', `commit line ${lineNo} is not JSON: ${(e as Error).message}`, { file });
    }
    const action = toAction(obj, `${file}:${lineNo}`);
    if (action) out.push(action);
  }
  return out;
}

/** Validate one action object (from a JSON commit or a checkpoint row converted to JSON). */
export function toAction(obj: unknown, where: string): Action | undefined {
  if (!isObject(obj)) throw new DeltaError('corrupt', 'action is not an object', { file: where });
  for (const [key, value] of Object.entries(obj)) {
    if (value === null || value === undefined) continue;
    const v = value as Record<string, unknown>;
    switch (key) {
      case ACTION.add:
        need(v, ['path', 'string'], ['size', 'number'], where, key);
        v.partitionValues ??= {};
        return { add: v as unknown as AddFile };
      case ACTION.remove:
        need(v, ['path', 'string'], undefined, where, key);
        return { remove: v as unknown as RemoveFile };
      case ACTION.metaData:
        need(v, ['id', 'string'], ['schemaString', 'string'], where, key);
        v.partitionColumns ??= [];
        v.configuration ??= {};
        v.format ??= { provider: 'parquet', options: {} };
        return { metaData: v as unknown as Metadata };
      case ACTION.protocol:
        need(v, ['minReaderVersion', 'number'], ['minWriterVersion', 'number'], where, key);
        return { protocol: v as unknown as Protocol };
      case ACTION.txn:
        need(v, ['appId', 'string'], ['version', 'number'], where, key);
        return { txn: v as unknown as Txn };
      case ACTION.commitInfo:
        return { commitInfo: v as CommitInfo };
      case ACTION.domainMetadata:
        need(v, ['domain', 'string'], ['configuration', 'string'], where, key);
        v.removed ??= false;
        return { domainMetadata: v as unknown as DomainMetadata };
      default:
        // cdc, checkpointMetadata, sidecar and future actions: not needed to compute a
        // snapshot's live files (sidecars are refused earlier, by reader feature).
        continue;
    }
  }
  return undefined;
}

function need(
  v: Record<string, unknown>,
  a: [string, string],
  b: [string, string] | undefined,
  where: string,
  kind: string,
): void {
  for (const pair of b ? [a, b] : [a]) {
    if (typeof v[pair[0]] !== pair[1]) {
      throw new DeltaError('corrupt', `${kind} action without a valid "${pair[0]}"`, { file: where });
    }
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function serializeActions(actions: Action[]): string {
  return actions.map((a) => JSON.stringify(a)).join('\n') + '\n';
}

/** Rows a data file holds on disk (its stats' numRecords; undefined without stats). */
export function physicalRows(add: AddFile): number | undefined {
  try {
    const n = (JSON.parse(add.stats ?? '{}') as { numRecords?: unknown }).numRecords;
    return typeof n === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}

import type { Metadata, Protocol } from './actions.js';
import { DeltaError } from './error.js';
import { parseSchemaString, type DeltaType } from './schema.js';

/**
 * Table features (PROTOCOL.md "Table Features"): what we can read and what we can write
 * without breaking a promise another writer made. Anything else is refused by name.
 */
export const READER_FEATURES = new Set(['timestampNtz', 'deletionVectors', 'columnMapping', 'vacuumProtocolCheck', 'domainMetadata']);

/**
 * Writer features we honour. deletionVectors: merges write them where the table asks for them
 * (dvWritable), and every rewrite reads through the existing ones. appendOnly: enforced below.
 * The rest we never write.
 */
export const WRITER_FEATURES = new Set(['appendOnly', 'invariants', 'checkConstraints', 'timestampNtz', 'domainMetadata', 'deletionVectors', 'vacuumProtocolCheck']);

export function checkReadable(protocol: Protocol, metadata: Metadata, where: string): void {
  if (protocol.minReaderVersion > 3) {
    throw new DeltaError('unsupported', `table needs reader version ${protocol.minReaderVersion}; certhunt reads up to 3`, { file: where });
  }
  if (protocol.minReaderVersion === 3) {
    const unknown = (protocol.readerFeatures ?? []).filter((f) => !READER_FEATURES.has(f));
    if (unknown.length) {
      throw new DeltaError('unsupported', `table uses reader feature(s) ${unknown.join(', ')}, which certhunt cannot read`, { file: where });
    }
  }
  const mode = metadata.configuration['delta.columnMapping.mode'];
  if (mode && mode !== 'none' && mode !== 'name') {
    throw new DeltaError('unsupported', `table uses column mapping mode "${mode}" (table feature columnMapping); certhunt reads mode "name" only`, { file: where });
  }
}

export type WriteKind = 'append' | 'rewrite';

/** Refuse to write where our commit would break a feature's rules. */
export function checkWritable(protocol: Protocol, metadata: Metadata, kind: WriteKind, where: string): void {
  const refuse = (feature: string, why: string): never => {
    throw new DeltaError('unsupported', `cannot write: table feature ${feature} ${why}`, { file: where });
  };
  if (protocol.minWriterVersion > 7) refuse(`writer version ${protocol.minWriterVersion}`, 'is newer than certhunt');
  if (protocol.minWriterVersion === 7) {
    for (const f of protocol.writerFeatures ?? []) if (!WRITER_FEATURES.has(f)) refuse(f, 'is not supported by certhunt');
  }
  const conf = metadata.configuration;
  if (kind === 'rewrite' && conf['delta.appendOnly'] === 'true') refuse('appendOnly', 'is on (delta.appendOnly=true): only appends are allowed');
  if (conf['delta.columnMapping.mode'] && conf['delta.columnMapping.mode'] !== 'none') refuse('columnMapping', 'is on; certhunt reads such tables but does not write them');
  if (conf['delta.enableChangeDataFeed'] === 'true') refuse('changeDataFeed', 'is on; certhunt does not write change data files');
  if (conf['delta.enableRowTracking'] === 'true') refuse('rowTracking', 'is on');
  if (Object.keys(conf).some((k) => k.startsWith('delta.constraints.'))) refuse('checkConstraints', 'has constraints certhunt does not evaluate');
  const schema = parseSchemaString(metadata.schemaString, where);
  const meta = collectFieldMetadataKeys(schema);
  if (meta.has('delta.invariants')) refuse('invariants', 'has column invariants certhunt does not evaluate');
  if (meta.has('delta.generationExpression')) refuse('generatedColumns', 'has generated columns');
  if ([...meta].some((k) => k.startsWith('delta.identity.'))) refuse('identityColumns', 'has identity columns');
}

function collectFieldMetadataKeys(t: DeltaType, out = new Set<string>()): Set<string> {
  if (typeof t === 'string') return out;
  if (t.type === 'struct') {
    for (const f of t.fields) {
      for (const k of Object.keys(f.metadata ?? {})) out.add(k);
      collectFieldMetadataKeys(f.type, out);
    }
  } else if (t.type === 'array') collectFieldMetadataKeys(t.elementType, out);
  else {
    collectFieldMetadataKeys(t.keyType, out);
    collectFieldMetadataKeys(t.valueType, out);
  }
  return out;
}

export const ENABLE_DV = 'delta.enableDeletionVectors';

/** The protocol a new table of ours needs: the oldest that holds its schema (and its DVs). */
export function protocolFor(schemaHasNtz: boolean, deletionVectors = false): Protocol {
  const features = [...(schemaHasNtz ? ['timestampNtz'] : []), ...(deletionVectors ? ['deletionVectors'] : [])];
  return features.length
    ? { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: features, writerFeatures: features }
    : { minReaderVersion: 1, minWriterVersion: 2 };
}

/** Whether a rewrite may mark rows deleted instead of copying their files (PROTOCOL.md "Deletion Vectors"). */
export function dvWritable(protocol: Protocol, metadata: Metadata): boolean {
  return protocol.minWriterVersion === 7 && (protocol.writerFeatures ?? []).includes('deletionVectors') && metadata.configuration[ENABLE_DV] === 'true';
}

export function hasNtz(t: DeltaType): boolean {
  if (typeof t === 'string') return t === 'timestamp_ntz';
  if (t.type === 'struct') return t.fields.some((f) => hasNtz(f.type));
  if (t.type === 'array') return hasNtz(t.elementType);
  return hasNtz(t.keyType) || hasNtz(t.valueType);
}

/**
 * Indicators for other tools (`certhunt export --to ...`): pure functions from finding records to
 * export text. The caller reads the findings and writes the text; nothing here does I/O.
 */
import type { ExportFinding, ExportOptions, ExportResult } from './record.js';
import { exportStix } from './stix.js';
import { exportSuricata, type SuricataOptions } from './suricata.js';
import { exportCsv, toJson, toNdjson } from './tabular.js';
import { isoOf } from './text.js';
import { exportZeekIntel, type ZeekIntelOptions } from './zeek-intel.js';

export type { ExportCertificate, ExportFinding, ExportOptions, ExportResult, Severity, SkippedFinding } from './record.js';
export { stixJson, toStix, type StixBundle, type StixObject } from './stix.js';
export { allocateSids, DEFAULT_SID_RANGE, suricataRules, type SidRange, type SuricataOptions } from './suricata.js';
export { COLUMNS, toCsv, toJson, toNdjson, toRow, type TabularRow } from './tabular.js';
export { ZEEK_INTEL_HEADER, zeekIntel, type ZeekIntelOptions } from './zeek-intel.js';

export const EXPORT_FORMATS = ['stix', 'zeek-intel', 'suricata', 'csv', 'json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export type ExportFindingsOptions = ExportOptions & SuricataOptions & ZeekIntelOptions;

export function isExportFormat(s: string): s is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(s);
}

export function exportFindings(findings: readonly ExportFinding[], to: ExportFormat, options: ExportFindingsOptions): string {
  return exportWithReport(findings, to, options).text;
}

/** The text plus how many indicators it holds and which findings the format could not express. */
export function exportWithReport(findings: readonly ExportFinding[], to: ExportFormat, options: ExportFindingsOptions): ExportResult {
  switch (to) {
    case 'stix':
      return exportStix(findings, options);
    case 'zeek-intel':
      return exportZeekIntel(findings, options);
    case 'suricata':
      return exportSuricata(findings, options);
    case 'csv':
      return exportCsv(findings);
    case 'json':
      return { text: toJson(findings), exported: findings.length, skipped: [] };
    case 'ndjson':
      return { text: toNdjson(findings), exported: findings.length, skipped: [] };
    default:
      throw new TypeError(`unknown export format '${String(to)}' (want ${EXPORT_FORMATS.join(', ')})`);
  }
}

export interface FindingFilter {
  /** Keep findings scoring at least this. */
  minScore?: number;
  /** Keep findings last seen (else first seen) at or after this time; findings with neither are dropped. */
  since?: Date;
  /** Keep findings of these hunt ids only (an empty list keeps none). */
  hunts?: readonly string[];
}

export function filterFindings<T extends ExportFinding>(findings: readonly T[], filter: FindingFilter): T[] {
  const { minScore, since, hunts } = filter;
  if (since !== undefined && !Number.isFinite(since.getTime())) throw new RangeError('since is not a valid date');
  const sinceIso = since?.toISOString();
  const huntSet = hunts ? new Set(hunts) : undefined;
  return findings.filter((f) => {
    if (minScore !== undefined && !(Number(f.score) >= minScore)) return false;
    if (huntSet && !huntSet.has(f.hunt_id)) return false;
    if (sinceIso !== undefined) {
      const seen = isoOf(f.last_seen) ?? isoOf(f.first_seen);
      if (seen === null || seen < sinceIso) return false;
    }
    return true;
  });
}

/**
 * Findings → flat rows for a SIEM or a spreadsheet: CSV, JSON (one array) and NDJSON, one row per
 * finding (not grouped: a spreadsheet user filters by hunt).
 *
 * CSV is RFC 4180 (comma, CRLF, fields with `"` `,` CR or LF quoted, `"` doubled). Spreadsheets run
 * a cell that starts with = + - @ (or tab / CR, which some strip first) as a formula: such cells get
 * a leading `'` (OWASP "CSV Injection"), which Excel and LibreOffice show as text. Quoting alone does
 * not help: the quotes are gone once the cell is parsed.
 *
 * JSON and NDJSON keep the same columns with their natural JSON types (attack as an array, evidence
 * as an object): a SIEM or jq reads them without parsing JSON inside JSON. CSV flattens them
 * (attack joined by ';', evidence as JSON text).
 */
import type { ExportFinding, ExportResult } from './record.js';
import { bigintAsString, hexOf, safeJson } from './text.js';

export const COLUMNS = [
  'hunt_id',
  'title',
  'severity',
  'score',
  'entity_type',
  'entity',
  'sha1',
  'sha256',
  'common_name',
  'issuer',
  'first_seen',
  'last_seen',
  'attack',
  'run_id',
  'evidence',
] as const;

export type Column = (typeof COLUMNS)[number];

export interface TabularRow {
  hunt_id: string;
  title: string;
  severity: string;
  score: number;
  entity_type: string;
  entity: string;
  sha1: string | null;
  sha256: string | null;
  common_name: string | null;
  issuer: string | null;
  first_seen: string | null;
  last_seen: string | null;
  attack: string[];
  run_id: string;
  evidence: Record<string, unknown>;
}

export function toRow(f: ExportFinding): TabularRow {
  const c = f.certificate;
  const isCert = f.entity_type === 'certificate';
  return {
    hunt_id: String(f.hunt_id),
    title: String(f.title),
    severity: String(f.severity),
    score: f.score,
    entity_type: String(f.entity_type),
    entity: String(f.entity),
    sha1: hexOf(c?.sha1, 40) ?? (isCert ? hexOf(String(f.entity).replace(/^sha1:/i, ''), 40) : null),
    sha256: hexOf(c?.sha256, 64) ?? (isCert ? hexOf(String(f.entity), 64) : null),
    common_name: c?.common_name ?? null,
    issuer: c?.issuer ?? null,
    first_seen: f.first_seen ?? null,
    last_seen: f.last_seen ?? null,
    attack: Array.isArray(f.attack) ? f.attack.map(String) : [],
    run_id: String(f.run_id),
    evidence: f.evidence ?? {},
  };
}

export function toCsv(findings: readonly ExportFinding[]): string {
  return exportCsv(findings).text;
}

export function exportCsv(findings: readonly ExportFinding[]): ExportResult {
  const lines = [COLUMNS.join(',')];
  for (const f of findings) {
    const r = toRow(f);
    lines.push(
      COLUMNS.map((c) => {
        const v = r[c];
        if (v === null) return '';
        if (typeof v === 'number') return csvField(Number.isFinite(v) ? String(v) : '');
        if (Array.isArray(v)) return csvField(neutralize(v.join(';')));
        if (typeof v === 'object') return csvField(neutralize(JSON.stringify(v, bigintAsString)));
        return csvField(neutralize(v));
      }).join(','),
    );
  }
  return { text: lines.join('\r\n') + '\r\n', exported: findings.length, skipped: [] };
}

/** A leading `'` on cells a spreadsheet would evaluate as a formula. */
export function neutralize(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

/** RFC 4180 §2: quote fields holding a double quote, comma, CR or LF; double inner quotes. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toJson(findings: readonly ExportFinding[]): string {
  return safeJson(findings.map(toRow), 2) + '\n';
}

export function toNdjson(findings: readonly ExportFinding[]): string {
  return findings.map((f) => safeJson(toRow(f))).join('\n') + (findings.length ? '\n' : '');
}

import { neutralize } from '../export/tabular.js';
import { escapeTerminal, safeJson } from './escape.js';

/** Row output in the formats every command shares: table, json (one array), ndjson, csv. */
export type Format = 'table' | 'json' | 'ndjson' | 'csv';
export const FORMATS: Format[] = ['table', 'json', 'ndjson', 'csv'];

export function formatRows(rows: Record<string, unknown>[], format: Format, columns?: string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  switch (format) {
    case 'json':
      return safeJson(rows, 2) + '\n';
    case 'ndjson':
      return rows.map((r) => safeJson(r)).join('\n') + (rows.length ? '\n' : '');
    case 'csv':
      return [cols.map(csvCell).join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
    case 'table':
      return table(rows, cols);
  }
}


function text(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : text(v);
  // Text that a spreadsheet would run as a formula gets a leading ' (quoting alone does not
  // stop it): certificate fields are attacker-controlled.
  if (typeof v === 'string') s = neutralize(s);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const MAX_WIDTH = 60;

function table(rows: Record<string, unknown>[], cols: string[]): string {
  if (cols.length === 0) return '(no rows)\n';
  const cells = rows.map((r) => cols.map((c) => clip(escapeTerminal(text(r[c])))));
  const head = cols.map((c) => clip(escapeTerminal(c)));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)];
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}

function clip(s: string): string {
  return s.length > MAX_WIDTH ? s.slice(0, MAX_WIDTH - 1) + '…' : s;
}

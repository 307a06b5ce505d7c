import type { Lines } from './format.js';
import type { SourceItem } from './record.js';
import { lineOf, reject } from './values.js';

/**
 * RFC 4180 records from split lines: `"` quotes a field, `""` is a quote inside one, and a
 * quoted field may hold line breaks, so a record can span lines (its pos is its first line).
 * A quote left open for more than MAX_RECORD characters is rejected and reading resumes after it.
 */
export type CsvRecord = { kind: 'csv'; pos: number; text: string; fields: string[] };

const MAX_RECORD = 1 << 20;

/** Fields of one complete record, or null when a quoted field is still open at the end. */
export function splitCsv(text: string): string[] | null {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') fields.push(field), (field = '');
    else field += c;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}

export async function* csvRecords(lines: Lines): AsyncGenerator<CsvRecord | SourceItem> {
  let pending: { pos: number; text: string } | null = null;
  for await (const item of lines) {
    const line = lineOf(item);
    if ('rejected' in line) {
      if (pending) yield reject(pending.pos, 'quoted field broken by an unreadable line', pending.text);
      pending = null;
      yield line.rejected;
      continue;
    }
    if (pending === null && line.text.trim() === '') continue;
    if (line.text.includes('\0')) {
      if (pending) yield reject(pending.pos, 'quoted field broken by a line with NUL bytes', pending.text);
      pending = null;
      yield reject(item.pos, 'NUL byte in line (binary or zero-filled file?)', line.text);
      continue;
    }
    const rec: { pos: number; text: string } = pending ? { pos: pending.pos, text: `${pending.text}\n${line.text}` } : { pos: item.pos, text: line.text };
    const fields = splitCsv(rec.text);
    if (fields !== null) {
      pending = null;
      yield { kind: 'csv', pos: rec.pos, text: rec.text, fields };
    } else if (rec.text.length > MAX_RECORD) {
      pending = null;
      yield reject(rec.pos, `quoted field not closed within ${MAX_RECORD} characters`, rec.text);
    } else pending = rec;
  }
  if (pending) yield reject(pending.pos, 'quoted field not closed at end of file', pending.text);
}

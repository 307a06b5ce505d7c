import { splitCsv } from './csv.js';
import type { LineItem } from './format.js';
import { excerpt, type RejectRecord } from './record.js';
import { contentLines, isoToMs, lineOf } from './values.js';

/**
 * Threat intel and popularity lists, line by line (unzipping is the plumbing's job):
 * - abuse.ch SSL Blacklist CSV: `#` banner, `# Listingdate,SHA1,Listingreason`, rows, and a
 *   `# END (N) entries` trailer that is checked against the rows read.
 * - abuse.ch JA3 fingerprint list: `# ja3_md5,Firstseen,Lastseen,Listingreason`.
 * - Top lists: Umbrella and Tranco (`rank,domain`, no header), Majestic (header row
 *   `GlobalRank,TldRank,Domain,TLD,RefSubNets,...`).
 * abuse.ch times are UTC without a zone (`2023-11-14 06:52:51`).
 */
export interface SslblEntry {
  sha1: string;
  listing_date: number;
  listing_reason: string;
}
export interface Ja3Entry {
  ja3_md5: string;
  first_seen: number | null;
  last_seen: number | null;
  listing_reason: string;
}
export interface ToplistEntry {
  list: string;
  rank: number;
  domain: string;
}
export type IntelKind = 'sslbl' | 'ja3' | 'toplist';
export type IntelItem<T> = { kind: 'entry'; pos: number; entry: T; raw: string } | { kind: 'reject'; reject: RejectRecord };
/** What a reader returns when done: rows read, and the count the file's trailer claims (null: none). */
export interface IntelSummary {
  entries: number;
  rejected: number;
  trailer: number | null;
}

const bad = (position: number, reason: string, text: string): IntelItem<never> => ({ kind: 'reject', reject: { position, reason, excerpt: excerpt(text) } });

/** Shared loop: comments skipped (the trailer read), each data line parsed or rejected. */
async function* readList<T>(
  lines: AsyncIterable<LineItem>,
  /** An entry, a reason to reject the line, or null for a header row. */
  parse: (fields: string[], text: string) => T | string | null,
): AsyncGenerator<IntelItem<T>, IntelSummary> {
  const summary: IntelSummary = { entries: 0, rejected: 0, trailer: null };
  let trailerPos = 0;
  for await (const item of lines) {
    const line = lineOf(item);
    if ('rejected' in line) {
      summary.rejected++;
      yield line.rejected as IntelItem<never>;
      continue;
    }
    const text = line.text.trim();
    if (text === '') continue;
    if (text.startsWith('#')) {
      const m = /^#\s*END\s*\((\d+)\)\s*entries/i.exec(text);
      if (m) [summary.trailer, trailerPos] = [Number(m[1]), item.pos];
      continue;
    }
    const fields = text.includes('\0') ? null : splitCsv(text);
    const entry = fields === null ? (text.includes('\0') ? 'NUL byte in line' : 'unclosed quote') : parse(fields.map((f) => f.trim()), text);
    if (entry === null) continue;
    if (typeof entry === 'string') {
      summary.rejected++;
      yield bad(item.pos, entry, text);
    } else {
      summary.entries++;
      yield { kind: 'entry', pos: item.pos, entry, raw: text };
    }
  }
  const rows = summary.entries + summary.rejected;
  if (summary.trailer !== null && summary.trailer !== rows) {
    yield bad(trailerPos, `trailer says ${summary.trailer} entries, the file has ${rows} (truncated or edited list?)`, `# END (${summary.trailer}) entries`);
  }
  return summary;
}

const utc = (field: string, v: string | undefined): number | string => {
  const t = v === undefined || v === '' ? null : isoToMs(v);
  return t === null ? `${field}: not a date: ${JSON.stringify(v ?? '')}` : t;
};

export function readSslbl(lines: AsyncIterable<LineItem>): AsyncGenerator<IntelItem<SslblEntry>, IntelSummary> {
  return readList(lines, ([date, sha1, ...reason]) => {
    if (sha1 === undefined || reason.length === 0) return 'expected 3 columns (Listingdate,SHA1,Listingreason)';
    if (!/^[0-9a-fA-F]{40}$/.test(sha1)) return `SHA1: not 40 hex digits: ${JSON.stringify(sha1.slice(0, 60))}`;
    const listing_date = utc('Listingdate', date);
    if (typeof listing_date === 'string') return listing_date;
    return { sha1: sha1.toLowerCase(), listing_date, listing_reason: reason.join(',') };
  });
}

export function readJa3(lines: AsyncIterable<LineItem>): AsyncGenerator<IntelItem<Ja3Entry>, IntelSummary> {
  return readList(lines, ([md5, first, last, ...reason]) => {
    if (last === undefined || reason.length === 0) return 'expected 4 columns (ja3_md5,Firstseen,Lastseen,Listingreason)';
    if (!/^[0-9a-fA-F]{32}$/.test(md5 ?? '')) return `ja3_md5: not 32 hex digits: ${JSON.stringify((md5 ?? '').slice(0, 60))}`;
    const first_seen = first === '' ? null : utc('Firstseen', first);
    const last_seen = last === '' ? null : utc('Lastseen', last);
    if (typeof first_seen === 'string') return first_seen;
    if (typeof last_seen === 'string') return last_seen;
    return { ja3_md5: (md5 as string).toLowerCase(), first_seen, last_seen, listing_reason: reason.join(',') };
  });
}

/** Umbrella/Tranco `rank,domain`, or a list whose header row names rank and domain columns (Majestic). */
export function readToplist(lines: AsyncIterable<LineItem>, name: string): AsyncGenerator<IntelItem<ToplistEntry>, IntelSummary> {
  let columns = { rank: 0, domain: 1, width: 2 };
  let first = true;
  return readList(lines, (fields) => {
    const isHeader = first && !/^\d+$/.test(fields[0] ?? '');
    first = false;
    if (isHeader) {
      const lower = fields.map((f) => f.toLowerCase());
      const rank = ['globalrank', 'rank'].map((n) => lower.indexOf(n)).find((i) => i >= 0);
      const domain = lower.indexOf('domain');
      if (rank === undefined || domain < 0) return `header without rank and domain columns: ${fields.slice(0, 4).join(',')}`;
      columns = { rank, domain, width: fields.length };
      return null;
    }
    if (fields.length !== columns.width) return `expected ${columns.width} columns, got ${fields.length}`;
    const rankText = fields[columns.rank] ?? '';
    const domain = (fields[columns.domain] ?? '').toLowerCase().replace(/\.$/, '');
    if (!/^\d{1,9}$/.test(rankText) || Number(rankText) < 1) return `rank: not a positive integer: ${JSON.stringify(rankText.slice(0, 60))}`;
    if (!/^[a-z0-9_*-]+(\.[a-z0-9_-]+)*$/.test(domain)) return `domain: not a domain name: ${JSON.stringify(domain.slice(0, 60))}`;
    return { list: name, rank: Number(rankText), domain };
  });
}

/** Which list a file head is: abuse.ch banners and headers first, then the shape of the first row. */
export function detectIntel(head: string[]): IntelKind | null {
  const all = head.join('\n');
  if (/^#\s*Listingdate,SHA1,Listingreason/im.test(all) || /SSL Certificate Blacklist/i.test(all)) return 'sslbl';
  if (/^#\s*ja3_md5,/im.test(all) || /JA3 Fingerprint Blacklist/i.test(all)) return 'ja3';
  const first = contentLines(head)[0]?.trim();
  if (first === undefined) return null;
  if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,[0-9a-f]{40},/i.test(first)) return 'sslbl';
  if (/^[0-9a-f]{32},\d{4}-\d\d-\d\d/i.test(first)) return 'ja3';
  if (/^\d+,[^,\s]+$/.test(first) || /^GlobalRank,TldRank,Domain/i.test(first)) return 'toplist';
  return null;
}

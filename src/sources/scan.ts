import { csvRecords } from './csv.js';
import { commonName, dnFromOneLine, isOneLineDn, sameDn } from './dn.js';
import type { FormatOptions, LineFormat, LineItem, Lines } from './format.js';
import { jsonHeadObject } from './json-head.js';
import { emptyCertificate, type CertificateRecord, type SourceItem } from './record.js';
import {
  FieldError, UNKNOWN_TS, contentLines, derDigests, emptyObservation, hexDigest, intValue, lineOf, parseObject,
  reject, serialHex, timeValue,
} from './values.js';

/**
 * Internet-scan exports.
 * - scanExport: JSON lines or CSV with a header, one row per host:port and certificate; a
 *   field map (FormatOptions.map, our column ← their field) over DEFAULT_SCAN_MAP, which fits
 *   the blog's scan JSON. A map value `=text` is a constant (`{ dest_port: '=443' }`).
 * - scanCerts / scanHosts: the certificate file (`sha1,base64 DER`) and the hosts file
 *   (`ip,sha1`) of the paired internet-scan datasets; no header, or a `sha1,cert` / `ip,sha1` one.
 * Rows carry no per-row time in the paired files: observations get UNKNOWN_TS unless the map
 * gives `ts` (a constant, e.g. the scan date from the file name).
 */

export const DEFAULT_SCAN_MAP: Readonly<Record<string, string>> = {
  sha1: 'sha1_fingerprint', sha256: 'sha256_fingerprint', subject: 'subject', issuer: 'issuer', common_name: 'common_name',
  serial: 'serial', not_valid_before: 'not_valid_before', not_valid_after: 'not_valid_after',
  subject_alternative_names: 'subject_alternative_names', der: 'certificate', ts: 'timestamp', src_ip: 'src_ip',
  dest_ip: 'dest_ip', dest_port: 'dest_port', server_name: 'server_name', rdns: 'rdns', country: 'country',
};

type Row = (column: string) => unknown;

function rowReader(map: Record<string, string>, get: (field: string) => unknown): Row {
  return (column) => {
    const field = map[column];
    if (field === undefined) return undefined;
    return field.startsWith('=') ? field.slice(1) : get(field);
  };
}

const text = (row: Row, column: string): string | null => {
  const v = row(column);
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new FieldError(column, `not text: ${JSON.stringify(v).slice(0, 60)}`);
};

const digestOf = (row: Row, column: string, length: number): string | null => {
  const v = text(row, column);
  if (v === null) return null;
  const hex = hexDigest(v);
  if (hex === null || hex.length !== length) throw new FieldError(column, `not a ${length}-digit hex digest: ${JSON.stringify(v.slice(0, 80))}`);
  return hex;
};

/** A list as JSON array, or text split on commas/semicolons/spaces (Python list reprs included). */
function list(row: Row, column: string): string[] {
  const v = row(column);
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String);
  if (typeof v !== 'string') throw new FieldError(column, 'not a list');
  return v.replace(/^\[|\]$/g, '').split(/[,;\s]+/).map((s) => s.replace(/^['"]|['"]$/g, '')).filter((s) => s !== '');
}

const dn = (v: string | null): string | null => (v !== null && isOneLineDn(v) ? dnFromOneLine(v) : v);

/** A row's certificate (when it names one and `certs`) and observation (when it has dest_ip). */
function scanRow(row: Row, pos: number, raw: unknown, src: string, certs = true): SourceItem[] {
  const items: SourceItem[] = [];
  const cert = emptyCertificate();
  cert.sha1 = digestOf(row, 'sha1', 40);
  cert.sha256 = digestOf(row, 'sha256', 64);
  const der = text(row, 'der');
  if (der !== null) addDer(cert, der);
  const ts = timeValue('ts', row('ts'));
  if (certs && (cert.sha1 !== null || cert.sha256 !== null)) {
    cert.ts = ts;
    const serial = text(row, 'serial');
    cert.serial = serial === null ? null : serialHex(serial) ?? serial.toLowerCase();
    cert.subject = dn(text(row, 'subject'));
    cert.issuer = dn(text(row, 'issuer'));
    if (cert.subject !== text(row, 'subject')) [cert.subject_original, cert.issuer_original] = [text(row, 'subject'), text(row, 'issuer')];
    cert.common_name = text(row, 'common_name') ?? commonName(cert.subject);
    cert.subject_alternative_names = list(row, 'subject_alternative_names');
    cert.not_valid_before = timeValue('not_valid_before', row('not_valid_before'));
    cert.not_valid_after = timeValue('not_valid_after', row('not_valid_after'));
    cert.self_issued = cert.subject !== null && cert.issuer !== null ? sameDn(cert.subject, cert.issuer) : null;
    items.push({ kind: 'certificate', pos, cert, raw });
  }
  const destIp = text(row, 'dest_ip');
  if (destIp !== null) {
    const obs = emptyObservation(ts ?? UNKNOWN_TS);
    obs.dest_ip = destIp;
    obs.dest_port = intValue('dest_port', row('dest_port'));
    obs.src_ip = text(row, 'src_ip');
    obs.server_name = text(row, 'server_name');
    obs.rdns = text(row, 'rdns');
    obs.country = text(row, 'country');
    obs.cert_sha1 = cert.sha1;
    obs.cert_sha256 = cert.sha256;
    obs.subject = cert.subject ?? dn(text(row, 'subject'));
    obs.issuer = cert.issuer ?? dn(text(row, 'issuer'));
    items.unshift({ kind: 'observation', pos, obs, raw });
  }
  if (items.length === 0) throw new FieldError('row', `no certificate fingerprint and no dest_ip (${src})`);
  return items;
}

function addDer(cert: CertificateRecord, b64: string): void {
  const d = derDigests(b64);
  if (d === null) throw new FieldError('der', 'not base64');
  if (cert.sha1 !== null && cert.sha1 !== d.sha1) cert.parse_warnings.push('sha1 is not the SHA-1 of the DER');
  cert.der = b64.replace(/\s+/g, '');
  [cert.sha256, cert.md5] = [d.sha256, d.md5];
  cert.sha1 ??= d.sha1;
}

function guarded(pos: number, textOf: string, fn: () => SourceItem[]): SourceItem[] {
  try {
    return fn();
  } catch (e) {
    return [reject(pos, e instanceof FieldError ? e.message : `unreadable record: ${(e as Error).message}`, textOf)];
  }
}

/** JSON lines when one of the first 20 content lines starts with `{` (bad lines aside), else CSV. */
async function* readExport(lines: Lines, options?: FormatOptions): AsyncGenerator<SourceItem> {
  const map = { ...DEFAULT_SCAN_MAP, ...options?.map };
  const it = (async function* () {
    yield* lines;
  })();
  const buffered: LineItem[] = [];
  let json = false;
  for (let seen = 0; !json && seen < 20; ) {
    const n = await it.next();
    if (n.done) break;
    buffered.push(n.value);
    if ('text' in n.value && n.value.text.trim() !== '') (json = n.value.text.trimStart().startsWith('{')), seen++;
  }
  const all = (async function* () {
    yield* buffered;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  })();
  if (json) {
    for await (const item of all) {
      const line = lineOf(item);
      if ('rejected' in line) yield line.rejected;
      else if (line.text.trim() !== '') {
        const obj = parseObject(line.text);
        if (typeof obj === 'string') yield reject(item.pos, obj, line.text);
        else yield* guarded(item.pos, line.text, () => scanRow(rowReader(map, (f) => obj[f]), item.pos, obj, 'JSON'));
      }
    }
    return;
  }
  let header: string[] | null = null;
  for await (const r of csvRecords(all)) {
    if (r.kind !== 'csv') yield r;
    else if (header === null) header = r.fields.map((f) => f.trim());
    else if (r.fields.length !== header.length) yield reject(r.pos, `expected ${header.length} columns (header), got ${r.fields.length}`, r.text);
    else {
      const raw = Object.fromEntries(header.map((h, i) => [h, r.fields[i]]));
      yield* guarded(r.pos, r.text, () => scanRow(rowReader(map, (f) => raw[f]), r.pos, raw, 'CSV'));
    }
  }
}

const CERT_LINE = /^[0-9a-f]{40},[A-Za-z0-9+/]{20,}={0,2}$/i;
const HOST_LINE = /^[0-9a-f.:]{2,45},[0-9a-f]{40}$/i;

/** The paired files: two columns, an optional header, and what one row becomes. */
function pairFormat(name: string, headerRe: RegExp, lineRe: RegExp, columns: [string, string], certs: boolean): LineFormat {
  const src = columns.join(',');
  return {
    name,
    detect: (head) => {
      const first = contentLines(head)[0];
      return first !== undefined && (headerRe.test(first) || lineRe.test(first));
    },
    async *read(lines, options) {
      let first = true;
      for await (const r of csvRecords(lines)) {
        if (r.kind !== 'csv') yield r;
        else if (first && headerRe.test(r.text)) first = false;
        else if (r.fields.length !== 2) yield reject(r.pos, `expected 2 columns (${columns.join(',')}), got ${r.fields.length}`, r.text);
        else {
          first = false;
          const raw = { [columns[0]]: r.fields[0], [columns[1]]: r.fields[1] };
          const map = { ...options?.map, ...Object.fromEntries(columns.map((c) => [c, c])) };
          yield* guarded(r.pos, r.text, () => scanRow(rowReader(map, (f) => raw[f]), r.pos, raw, src, certs));
        }
      }
    },
  };
}

export const scanCerts = pairFormat('scan_certs', /^sha1,(cert|certificate|der|base64)\s*$/i, CERT_LINE, ['sha1', 'der'], true);
export const scanHosts = pairFormat('scan_hosts', /^(ip|host|dest_ip),sha1\s*$/i, HOST_LINE, ['dest_ip', 'sha1'], false);

export const scanExport: LineFormat = {
  name: 'scan_export',
  detect(head) {
    const lines = contentLines(head);
    const first = lines[0];
    if (first === undefined) return false;
    const json = first.trimStart().startsWith('{');
    const obj = json ? jsonHeadObject(lines) : null;
    const names = new Set(!json ? first.split(',').map((s) => s.trim().replace(/^"|"$/g, '')) : obj === null ? [] : Object.keys(obj));
    if (names.has('event_type') || names.has('_path') || names.has('certificate.subject')) return false;
    return names.has('sha1_fingerprint') || (names.has('subject') && names.has('issuer') && names.has('dest_ip'));
  },
  read: readExport,
};

export const scanFormats: readonly LineFormat[] = [scanExport, scanCerts, scanHosts];

import type { LineItem, Lines } from './format.js';
import { jsonHeadObject } from './json-head.js';
import type { SourceItem } from './record.js';
import { FieldError, intValue, lineOf, parseObject, reject, timeValue } from './values.js';

/**
 * Zeek logs in either encoding, as rows with typed accessors, so each log type is mapped once
 * (activecm/rita's one-struct-per-log idea). TSV follows the ASCII writer: a header block of
 * `#` directives (a file may hold several: rotated or concatenated logs), `\xHH` and `\\`
 * escapes, `(empty)` for an empty string or container and `-` for unset, containers split on
 * the set separator. JSON is one object per line, with dotted names (`id.orig_h`) either flat,
 * as Zeek writes them, or nested, as some shippers rewrite them.
 */
export interface ZeekFields {
  /** The field is in this row's schema (TSV #fields, or present in the JSON object). */
  has(name: string): boolean;
  str(name: string): string | null;
  count(name: string): number | null;
  bool(name: string): boolean | null;
  /** Epoch ms. */
  time(name: string): number | null;
  list(name: string): string[] | null;
}

/**
 * `path` is the log's stream name (TSV `#path`, JSON `_path`) when the file says it. `raw` is
 * what bronze keeps of the record: a JSON line as it was read (its own text is the record, and
 * re-serialising the parsed object cost 4% of an ingest), a TSV line as a JSON object of its
 * fields, written as text where it can be (rawOf).
 */
export type ZeekRow = { kind: 'row'; pos: number; text: string; path: string | null; raw: Record<string, unknown> | string; fields: ZeekFields };

interface Header {
  separator: string;
  setSeparator: string;
  empty: string;
  unset: string;
  path: string | null;
  fields: string[] | null;
  /** Field name → column, built once per header block. */
  index: Map<string, number>;
  /** `"name":` per field (`,` before all but the first), when a row's raw JSON can be written as text (rawKeys). */
  rawKeys: string[] | null;
}

const freshHeader = (): Header => ({ separator: '\t', setSeparator: ',', empty: '(empty)', unset: '-', path: null, fields: null, index: new Map(), rawKeys: null });

/**
 * A TSV row's raw JSON written as text, field by field: building an object of ~20 fields and
 * stringifying it was a sixth of a reader thread's time on Zeek TSV. The text is the one
 * JSON.stringify gives for that object only when the names are unique and none is an array
 * index (those an object orders first) or `__proto__` (which it drops): other headers take the
 * object.
 */
function rawKeys(fields: string[]): string[] | null {
  if (new Set(fields).size !== fields.length) return null;
  if (fields.some((f) => f === '__proto__' || (/^(0|[1-9]\d*)$/.test(f) && Number(f) < 2 ** 32 - 1))) return null;
  return fields.map((f, i) => `${i > 0 ? ',' : ''}${JSON.stringify(f)}:`);
}

function rawOf(fields: string[], keys: string[] | null, values: string[]): Record<string, unknown> | string {
  if (keys === null) {
    const raw: Record<string, unknown> = {};
    fields.forEach((f, i) => (raw[f] = values[i]));
    return raw;
  }
  let text = '{';
  for (let i = 0; i < keys.length; i++) text += keys[i]! + JSON.stringify(values[i]);
  return text + '}';
}

/** btest baselines mask times as `XXXXXXXXXX.XXXXXX`; they read as unknown, not as errors. */
const MASKED_TIME = /^X+\.X+$/;

/** Undo the ASCII writer's escapes; runs of `\xHH` are bytes, decoded as UTF-8 together. */
export function unescapeZeek(value: string): string {
  if (!value.includes('\\')) return value;
  return value.replace(/(?:\\x[0-9a-fA-F]{2})+|\\(.)/g, (m, ch: string | undefined) => {
    if (ch !== undefined) return ch;
    const bytes = m.split('\\x').slice(1).map((h) => parseInt(h, 16));
    return Buffer.from(bytes).toString('utf8');
  });
}

function tsvFields(h: Header, values: string[]): ZeekFields {
  const get = (name: string): string | null => {
    const i = h.index.get(name);
    const v = i === undefined ? undefined : values[i];
    return v === undefined || v === h.unset ? null : v;
  };
  return {
    has: (name) => h.index.has(name),
    str: (name) => {
      const v = get(name);
      return v === null ? null : v === h.empty ? '' : unescapeZeek(v);
    },
    count: (name) => intValue(name, get(name)),
    bool: (name) => {
      const v = get(name);
      if (v === null) return null;
      if (v === 'T' || v === 'F') return v === 'T';
      throw new FieldError(name, `not a bool: ${JSON.stringify(v)}`);
    },
    time: (name) => {
      const v = get(name);
      return v !== null && MASKED_TIME.test(v) ? null : timeValue(name, v);
    },
    list: (name) => {
      const v = get(name);
      return v === null ? null : v === h.empty ? [] : v.split(h.setSeparator).map(unescapeZeek);
    },
  };
}

function jsonFields(obj: Record<string, unknown>): ZeekFields {
  const get = (name: string): unknown => {
    const flat = obj[name];
    if (flat !== undefined) return flat;
    // Nested only when the first part is an object: most absent fields are absent flat too, and
    // splitting and walking their names was half of this accessor's cost (cpu profile).
    const dot = name.indexOf('.');
    if (dot < 0 || typeof obj[name.slice(0, dot)] !== 'object') return undefined;
    let v: unknown = obj;
    for (const part of name.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    return v;
  };
  // JSON::TS_MILLIS writes integer ms; a ts past 1e11 cannot be seconds (year 5138).
  const unit = typeof obj.ts === 'number' && obj.ts > 1e11 ? 'ms' : 's';
  const typeError = (name: string, what: string, v: unknown) => new FieldError(name, `not ${what}: ${JSON.stringify(v).slice(0, 60)}`);
  return {
    has: (name) => get(name) !== undefined,
    str: (name) => {
      const v = get(name);
      if (v === undefined || v === null) return null;
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      throw typeError(name, 'a string', v);
    },
    count: (name) => intValue(name, get(name)),
    bool: (name) => {
      const v = get(name);
      if (v === undefined || v === null) return null;
      if (typeof v === 'boolean') return v;
      throw typeError(name, 'a bool', v);
    },
    time: (name) => timeValue(name, get(name), unit),
    list: (name) => {
      const v = get(name);
      if (v === undefined || v === null) return null;
      if (Array.isArray(v) && v.every((e) => typeof e === 'string' || typeof e === 'number')) return v.map(String);
      throw typeError(name, 'a list of strings', v);
    },
  };
}

/** The directive's value: `#separator \x09` uses a space, the others the current separator. */
function directive(text: string, h: Header): [string, string] {
  const cuts = (text.startsWith('#separator') ? [' '] : [h.separator, ' ']).map((s) => text.indexOf(s)).filter((i) => i > 0);
  const cut = cuts.length > 0 ? Math.min(...cuts) : -1;
  return cut < 0 ? [text.slice(1), ''] : [text.slice(1, cut), text.slice(cut + 1)];
}

/** Rows of a Zeek log in TSV or JSON (decided line by line), and rejects for what cannot be read. */
export async function* zeekRows(lines: Lines): AsyncGenerator<ZeekRow | SourceItem> {
  let h = freshHeader();
  for await (const item of lines) {
    const line = lineOf(item);
    if ('rejected' in line) {
      yield line.rejected;
      continue;
    }
    const { text } = line;
    const pos = item.pos;
    if (text.trim() === '') continue;
    if (text.includes('\0')) {
      yield reject(pos, 'NUL byte in line (Zeek escapes them: corrupt or zero-filled log)', text);
      continue;
    }
    if (text.startsWith('#')) {
      const [name, value] = directive(text, h);
      // A new object per change: rows already yielded keep reading with their own header.
      if (name === 'separator') h = { ...freshHeader(), separator: unescapeZeek(value) };
      else if (name === 'set_separator') h = { ...h, setSeparator: unescapeZeek(value) };
      else if (name === 'empty_field') h = { ...h, empty: value };
      else if (name === 'unset_field') h = { ...h, unset: value };
      else if (name === 'path') h = { ...h, path: value };
      else if (name === 'fields') {
        const fields = value.split(h.separator);
        h = { ...h, fields, index: new Map(fields.map((f, i) => [f, i])), rawKeys: rawKeys(fields) };
      }
      // #types, #open, #close and comments (btest's `###`, `#file`) change nothing we read.
      continue;
    }
    if (text.trimStart().startsWith('{') || h.fields === null) {
      const obj = parseObject(text);
      if (typeof obj === 'string') {
        yield reject(pos, h.fields === null && !text.trimStart().startsWith('{') ? `not JSON and no #fields header before it (${obj})` : obj, text);
        continue;
      }
      yield { kind: 'row', pos, text, path: typeof obj._path === 'string' ? obj._path : null, raw: text, fields: jsonFields(obj) };
      continue;
    }
    const values = text.split(h.separator);
    if (values.length !== h.fields.length) {
      yield reject(pos, `expected ${h.fields.length} fields (#fields), got ${values.length}${values.length < h.fields.length ? ': truncated line?' : ''}`, text);
      continue;
    }
    yield { kind: 'row', pos, text, path: h.path, raw: rawOf(h.fields, h.rawKeys, values), fields: tsvFields(h, values) };
  }
}

/**
 * A header directive, as zeekRows takes it: a `#` line that is not a line error, blank or
 * holding a NUL (those it rejects or skips first). It yields nothing and sets how the lines
 * after it read; `#separator` starts a new header.
 */
export function zeekContextLine(item: LineItem): false | 'add' | 'restart' {
  if (!('text' in item)) return false;
  const { text } = item;
  if (!text.startsWith('#') || text.trim() === '' || text.includes('\0')) return false;
  return text.startsWith('#separator') ? 'restart' : 'add';
}

/** Zeek log type of a file head, from `#path`/`#fields` (TSV) or the keys/`_path` of the first JSON object. */
export function zeekHead(head: string[]): { path: string | null; fields: Set<string> } | null {
  let path: string | null = null;
  for (const raw of head) {
    const text = raw.replace(/\r$/, '');
    if (text.startsWith('#path')) path = text.slice(5).trim();
    else if (text.startsWith('#fields')) return { path, fields: new Set(text.slice(8).split('\t')) };
    else if (text.trimStart().startsWith('{')) {
      const obj = jsonHeadObject(head);
      if (obj === null) return null;
      const fields = new Set(Object.keys(obj));
      for (const [k, v] of Object.entries(obj)) if (v && typeof v === 'object' && !Array.isArray(v)) for (const sub of Object.keys(v)) fields.add(`${k}.${sub}`);
      return { path: typeof obj._path === 'string' ? obj._path : null, fields };
    }
  }
  return path === null ? null : { path, fields: new Set() };
}

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isMap, parseDocument } from 'yaml';

/**
 * A hunt is a data file (YAML): what it looks for, why it matters (ATT&CK), how bad a hit is,
 * the SQL that finds it, and its own test cases. The library ships in `hunts/`; users add
 * folders of their own. A bad file is refused with an error naming the file and the field.
 */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface HuntTest {
  name: string;
  /** Rows per table (certificates, observations, intel_sslbl, intel_ja3, intel_toplist); columns left out are null. */
  given: Record<string, Record<string, unknown>[]>;
  /** The entities the hunt must return, in order when `ordered`. */
  expect: string[];
  ordered: boolean;
}

export interface Hunt {
  id: string;
  title: string;
  description: string;
  attack: string[];
  severity: Severity;
  score: number;
  /** What `entity` names: certificate (SHA-256, or the silver cert_id), ip, ja3, issuer, domain... */
  entity: string;
  /**
   * SELECT over the hunt views returning `entity` and any evidence columns; `first_seen`,
   * `last_seen` and `score` columns, when present, are taken as such.
   */
  sql: string;
  false_positives: string[];
  references: string[];
  tests: HuntTest[];
  file: string;
}

export class HuntError extends Error {
  constructor(readonly file: string, readonly field: string, message: string) {
    super(`${file}: ${field}: ${message}`);
    this.name = 'HuntError';
  }
}

const ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
const ATTACK = /^T\d{4}(\.\d{3})?$/;
const TABLES = new Set(['certificates', 'observations', 'intel_sslbl', 'intel_ja3', 'intel_toplist']);

function str(file: string, v: Record<string, unknown>, field: string, required = true): string {
  const x = v[field];
  if (x === undefined || x === null) {
    if (required) throw new HuntError(file, field, 'is required');
    return '';
  }
  if (typeof x !== 'string' || (required && x.trim() === '')) throw new HuntError(file, field, 'must be a non-empty string');
  return x;
}

function strings(file: string, v: Record<string, unknown>, field: string): string[] {
  const x = v[field];
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x) || x.some((s) => typeof s !== 'string')) throw new HuntError(file, field, 'must be a list of strings');
  return x as string[];
}

function tests(file: string, v: Record<string, unknown>): HuntTest[] {
  const x = v.tests;
  if (!Array.isArray(x) || x.length === 0) throw new HuntError(file, 'tests', 'at least one test case is required');
  return x.map((t, i) => {
    const at = `tests[${i}]`;
    if (!t || typeof t !== 'object') throw new HuntError(file, at, 'must be a mapping');
    const c = t as Record<string, unknown>;
    const given = c.given;
    if (!given || typeof given !== 'object' || Array.isArray(given)) throw new HuntError(file, `${at}.given`, 'must map table names to rows');
    for (const [table, rows] of Object.entries(given)) {
      if (!TABLES.has(table)) throw new HuntError(file, `${at}.given.${table}`, `unknown table (known: ${[...TABLES].join(', ')})`);
      if (!Array.isArray(rows) || rows.some((r) => !r || typeof r !== 'object' || Array.isArray(r))) throw new HuntError(file, `${at}.given.${table}`, 'must be a list of rows');
    }
    const expect = c.expect;
    if (!Array.isArray(expect) || expect.some((e) => typeof e !== 'string')) throw new HuntError(file, `${at}.expect`, 'must be a list of entities (strings)');
    if (c.ordered !== undefined && typeof c.ordered !== 'boolean') throw new HuntError(file, `${at}.ordered`, 'must be true or false');
    return { name: typeof c.name === 'string' ? c.name : `case ${i + 1}`, given: given as HuntTest['given'], expect: expect as string[], ordered: c.ordered === true };
  });
}

/** Validate one parsed hunt document. */
export function huntFrom(file: string, doc: unknown): Hunt {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new HuntError(file, '(document)', 'must be a mapping');
  const v = doc as Record<string, unknown>;
  const id = str(file, v, 'id');
  if (!ID.test(id)) throw new HuntError(file, 'id', `"${id}" must be lowercase letters, digits and dashes`);
  const severity = str(file, v, 'severity') as Severity;
  if (!SEVERITIES.includes(severity)) throw new HuntError(file, 'severity', `"${severity}" is not one of ${SEVERITIES.join(', ')}`);
  const score = v.score;
  if (typeof score !== 'number' || !(score >= 0 && score <= 100)) throw new HuntError(file, 'score', 'must be a number from 0 to 100');
  const attack = strings(file, v, 'attack');
  if (attack.length === 0) throw new HuntError(file, 'attack', 'at least one ATT&CK technique id is required');
  for (const a of attack) if (!ATTACK.test(a)) throw new HuntError(file, 'attack', `"${a}" is not an ATT&CK technique id (T1234 or T1234.001)`);
  const sql = str(file, v, 'sql');
  if (!/^\s*(WITH|SELECT)\b/i.test(sql)) throw new HuntError(file, 'sql', 'must be one SELECT (or WITH ... SELECT) statement');
  // Strings and comments may hold a `;`; only one outside them makes a second statement.
  const code = sql.replace(/'(?:[^']|'')*'/g, "''").replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  if (/;\s*\S/.test(code)) throw new HuntError(file, 'sql', 'must be a single statement');
  const known = new Set(['id', 'title', 'description', 'attack', 'severity', 'score', 'entity', 'sql', 'false_positives', 'references', 'tests']);
  for (const k of Object.keys(v)) if (!known.has(k)) throw new HuntError(file, k, `unknown field (known: ${[...known].join(', ')})`);
  return {
    id, title: str(file, v, 'title'), description: str(file, v, 'description'), attack, severity, score,
    entity: str(file, v, 'entity'), sql, false_positives: strings(file, v, 'false_positives'), references: strings(file, v, 'references'),
    tests: tests(file, v), file,
  };
}

export function parseHunt(file: string, text: string): Hunt {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new HuntError(file, `line ${e.linePos?.[0]?.line ?? '?'}`, e.message.split('\n')[0] ?? 'not YAML');
  }
  if (!isMap(doc.contents)) throw new HuntError(file, '(document)', 'must be a mapping');
  return huntFrom(file, doc.toJS());
}

/** Every *.yaml / *.yml hunt in the folders, in order; ids must be unique across them. */
export async function loadHunts(dirs: string[]): Promise<Hunt[]> {
  const out: Hunt[] = [];
  const seen = new Map<string, string>();
  for (const dir of dirs) {
    const names = (await fs.readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
    for (const name of names) {
      const file = join(dir, name);
      const hunt = parseHunt(file, await fs.readFile(file, 'utf8'));
      const other = seen.get(hunt.id);
      if (other) throw new HuntError(file, 'id', `"${hunt.id}" is also the id of ${other}`);
      seen.set(hunt.id, file);
      out.push(hunt);
    }
  }
  return out;
}

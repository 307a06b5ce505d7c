import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { HuntError } from './hunt.js';
import { sqlString } from '../lake/schema.js';

/**
 * Known C2 and red-team default certificates as data (`profiles/*.yaml`): matched by exact DN,
 * serial, fingerprint, or a regular expression over the subject for frameworks that randomise
 * it. A certificate takes the first profile that matches (files in name order).
 */
export interface Profile {
  id: string;
  name: string;
  description: string;
  /** Alternatives: a certificate matches when every condition of one of them holds. */
  match: Match[];
  file: string;
}

export interface Match {
    subject?: string;
    issuer?: string;
    serial?: string;
    sha1?: string;
    sha256?: string;
    subject_regex?: string;
    issuer_regex?: string;
    self_issued?: boolean;
}

const MATCH_KEYS = ['subject', 'issuer', 'serial', 'sha1', 'sha256', 'subject_regex', 'issuer_regex', 'self_issued'] as const;

export function profileFrom(file: string, v: Record<string, unknown>): Profile {
  for (const f of ['id', 'name', 'description'] as const) {
    if (typeof v[f] !== 'string' || (v[f] as string).trim() === '') throw new HuntError(file, f, 'must be a non-empty string');
  }
  const alts = Array.isArray(v.match) ? v.match : [v.match];
  if (alts.length === 0) throw new HuntError(file, 'match', 'at least one alternative is required');
  const match = alts.map((m, i) => matchFrom(file, Array.isArray(v.match) ? `match[${i}]` : 'match', m));
  for (const k of Object.keys(v)) if (!['id', 'name', 'description', 'match', 'references'].includes(k)) throw new HuntError(file, k, 'unknown field');
  return { id: v.id as string, name: v.name as string, description: v.description as string, match, file };
}

function matchFrom(file: string, at: string, m: unknown): Match {
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new HuntError(file, at, 'must be a mapping of conditions');
  const match: Match = {};
  for (const [k, x] of Object.entries(m)) {
    if (!(MATCH_KEYS as readonly string[]).includes(k)) throw new HuntError(file, `${at}.${k}`, `unknown condition (known: ${MATCH_KEYS.join(', ')})`);
    if (k === 'self_issued') {
      if (typeof x !== 'boolean') throw new HuntError(file, `${at}.${k}`, 'must be true or false');
      match.self_issued = x;
      continue;
    }
    if (typeof x !== 'string' || x === '') throw new HuntError(file, `${at}.${k}`, 'must be a non-empty string');
    if (k.endsWith('_regex')) {
      try {
        new RegExp(x);
      } catch (e) {
        throw new HuntError(file, `${at}.${k}`, `not a regular expression: ${(e as Error).message}`);
      }
    }
    const hex = k === 'serial' || k === 'sha1' || k === 'sha256';
    if (hex && !/^[0-9a-fA-F:]+$/.test(x)) throw new HuntError(file, `${at}.${k}`, 'must be hex');
    (match as Record<string, string>)[k] = hex ? x.replace(/:/g, '').toLowerCase() : x;
  }
  if (Object.keys(match).length === 0) throw new HuntError(file, at, 'at least one condition is required');
  return match;
}

export async function loadProfiles(dirs: string[]): Promise<Profile[]> {
  const out: Profile[] = [];
  for (const dir of dirs) {
    for (const name of (await fs.readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const file = join(dir, name);
      const doc = parseDocument(await fs.readFile(file, 'utf8'), { uniqueKeys: true });
      if (doc.errors.length > 0) throw new HuntError(file, `line ${doc.errors[0]!.linePos?.[0]?.line ?? '?'}`, doc.errors[0]!.message.split('\n')[0]!);
      if (!isMap(doc.contents)) throw new HuntError(file, '(document)', 'must be a mapping');
      out.push(profileFrom(file, doc.toJS() as Record<string, unknown>));
    }
  }
  return out;
}


/** SQL: the id of the first profile a certificate row (alias `c`) matches, else NULL. */
export function profileCase(profiles: Profile[], alias = 'c'): string {
  if (profiles.length === 0) return 'CAST(NULL AS VARCHAR)';
  const arms = profiles.map((p) => `WHEN ${p.match.map((m) => `(${conditions(m, alias).join(' AND ')})`).join(' OR ')} THEN ${sqlString(p.id)}`);
  return `CASE ${arms.join(' ')} END`;
}

function conditions(m: Match, alias: string): string[] {
  const conds: string[] = [];
  if (m.subject !== undefined) conds.push(`${alias}.subject = ${sqlString(m.subject)}`);
  if (m.issuer !== undefined) conds.push(`${alias}.issuer = ${sqlString(m.issuer)}`);
  if (m.serial !== undefined) conds.push(`lower(${alias}.serial) = ${sqlString(m.serial)}`);
  if (m.sha1 !== undefined) conds.push(`lower(${alias}.sha1) = ${sqlString(m.sha1)}`);
  if (m.sha256 !== undefined) conds.push(`lower(${alias}.sha256) = ${sqlString(m.sha256)}`);
  if (m.subject_regex !== undefined) conds.push(`regexp_full_match(coalesce(${alias}.subject, ''), ${sqlString(m.subject_regex)})`);
  if (m.issuer_regex !== undefined) conds.push(`regexp_full_match(coalesce(${alias}.issuer, ''), ${sqlString(m.issuer_regex)})`);
  if (m.self_issued !== undefined) conds.push(`coalesce(${alias}.self_issued, ${alias}.subject = ${alias}.issuer, false) = ${m.self_issued}`);
  return conds;
}

import { promises as fs } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { isMap, parseDocument } from 'yaml';
import { HuntError, type Severity } from './hunt.js';

/**
 * Scoring weights, severity thresholds and allowlists: a YAML file the analyst owns
 * (`--config FILE`; certhunt.example.yaml documents every key). Weights and thresholds are
 * data, not code; the allowlists apply to every hunt.
 */
export interface HuntConfig {
  /** Per hunt id, multiplies its scores before they are combined (default 1). */
  weights: Record<string, number>;
  /** Lowest combined score of each severity. */
  thresholds: Record<Exclude<Severity, 'info'>, number>;
  allowlist: {
    fingerprints: string[];
    /** A domain covers itself and its subdomains; `*.x.com` covers x.com too. */
    domains: string[];
    /** Addresses and CIDR blocks, IPv4 or IPv6. */
    ips: string[];
    issuers: string[];
  };
}

export const DEFAULT_CONFIG: HuntConfig = {
  weights: {},
  thresholds: { critical: 90, high: 70, medium: 40, low: 15 },
  allowlist: { fingerprints: [], domains: [], ips: [], issuers: [] },
};

function list(file: string, v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new HuntError(file, field, 'must be a list of strings');
  return v as string[];
}

export function configFrom(file: string, doc: unknown): HuntConfig {
  if (doc === null || doc === undefined) return DEFAULT_CONFIG;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new HuntError(file, '(document)', 'must be a mapping');
  const v = doc as Record<string, unknown>;
  for (const k of Object.keys(v)) if (!['weights', 'thresholds', 'allowlist'].includes(k)) throw new HuntError(file, k, 'unknown field (known: weights, thresholds, allowlist)');
  const weights: Record<string, number> = {};
  if (v.weights !== undefined) {
    if (!v.weights || typeof v.weights !== 'object' || Array.isArray(v.weights)) throw new HuntError(file, 'weights', 'must map hunt ids to numbers');
    for (const [id, w] of Object.entries(v.weights)) {
      if (typeof w !== 'number' || !(w >= 0 && w <= 10)) throw new HuntError(file, `weights.${id}`, 'must be a number from 0 to 10');
      weights[id] = w;
    }
  }
  const thresholds = { ...DEFAULT_CONFIG.thresholds };
  if (v.thresholds !== undefined) {
    if (!v.thresholds || typeof v.thresholds !== 'object' || Array.isArray(v.thresholds)) throw new HuntError(file, 'thresholds', 'must map severities to scores');
    for (const [s, t] of Object.entries(v.thresholds)) {
      if (!(s in thresholds)) throw new HuntError(file, `thresholds.${s}`, `unknown severity (known: ${Object.keys(thresholds).join(', ')})`);
      if (typeof t !== 'number' || !(t >= 0 && t <= 100)) throw new HuntError(file, `thresholds.${s}`, 'must be a number from 0 to 100');
      thresholds[s as keyof typeof thresholds] = t;
    }
    if (!(thresholds.low <= thresholds.medium && thresholds.medium <= thresholds.high && thresholds.high <= thresholds.critical)) {
      throw new HuntError(file, 'thresholds', 'must rise from low to critical');
    }
  }
  const a = (v.allowlist ?? {}) as Record<string, unknown>;
  if (typeof a !== 'object' || Array.isArray(a)) throw new HuntError(file, 'allowlist', 'must be a mapping');
  for (const k of Object.keys(a)) if (!['fingerprints', 'domains', 'ips', 'issuers'].includes(k)) throw new HuntError(file, `allowlist.${k}`, 'unknown list (known: fingerprints, domains, ips, issuers)');
  const fingerprints = list(file, a.fingerprints, 'allowlist.fingerprints').map((f) => f.replace(/:/g, '').toLowerCase());
  for (const f of fingerprints) if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(f)) throw new HuntError(file, 'allowlist.fingerprints', `"${f}" is not a SHA-1 or SHA-256`);
  const ips = list(file, a.ips, 'allowlist.ips');
  for (const ip of ips) if (!parseCidr(ip)) throw new HuntError(file, 'allowlist.ips', `"${ip}" is not an address or CIDR block`);
  return {
    weights, thresholds,
    allowlist: { fingerprints, domains: list(file, a.domains, 'allowlist.domains').map((d) => d.toLowerCase()), ips, issuers: list(file, a.issuers, 'allowlist.issuers') },
  };
}

export async function loadConfig(file: string | undefined): Promise<HuntConfig> {
  if (!file) return DEFAULT_CONFIG;
  const doc = parseDocument(await fs.readFile(file, 'utf8'), { uniqueKeys: true });
  if (doc.errors.length > 0) throw new HuntError(file, `line ${doc.errors[0]!.linePos?.[0]?.line ?? '?'}`, doc.errors[0]!.message.split('\n')[0]!);
  if (doc.contents !== null && !isMap(doc.contents)) throw new HuntError(file, '(document)', 'must be a mapping');
  return configFrom(file, doc.toJS());
}

function parseCidr(s: string): { ip: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [ip = '', p] = s.split('/');
  const v = isIP(ip);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  const prefix = p === undefined ? max : Number(p);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (p !== undefined && !/^\d+$/.test(p))) return null;
  return { ip, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * What of the allowlist SQL cannot do by itself (src/hunts/findings.ts applies the rest): CIDR
 * matching, by node:net's BlockList, and the domains as they are compared.
 */
export class Allowlist {
  private readonly blocks = new BlockList();
  /** No `*.`, no trailing dot: `x.com` covers x.com and its subdomains. */
  readonly domains: string[];

  constructor(list: HuntConfig['allowlist']) {
    for (const s of list.ips) {
      const c = parseCidr(s)!;
      this.blocks.addSubnet(c.ip, c.prefix, c.family);
    }
    this.domains = list.domains.map((d) => d.replace(/^\*\./, '').replace(/\.$/, ''));
  }

  ip(ip: string | null | undefined): boolean {
    if (!ip) return false;
    const v = isIP(ip);
    return v !== 0 && this.blocks.check(ip, v === 4 ? 'ipv4' : 'ipv6');
  }
}

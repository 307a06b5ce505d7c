import { Allowlist, type HuntConfig } from '../../src/hunts/config.js';
import type { Severity } from '../../src/hunts/hunt.js';

/**
 * The scoring and allowlist rules as certhunt.example.yaml states them, written plainly: the
 * oracle the tests hold src/hunts/findings.ts's SQL to. Addresses go through the product's
 * Allowlist.ip (node:net's BlockList), which the SQL path calls too.
 */

/** Noisy-OR of weighted scores: independent signals add up without passing 100. */
export function combine(scores: { hunt: string; score: number }[], weights: Record<string, number>): number {
  let keep = 1;
  for (const s of scores) keep *= 1 - Math.min(1, ((weights[s.hunt] ?? 1) * s.score) / 100);
  return Math.round((1 - keep) * 1000) / 10;
}

export function severityOf(score: number, thresholds: HuntConfig['thresholds']): Severity {
  if (score >= thresholds.critical) return 'critical';
  if (score >= thresholds.high) return 'high';
  if (score >= thresholds.medium) return 'medium';
  if (score >= thresholds.low) return 'low';
  return 'info';
}

export class AllowRules {
  private readonly net: Allowlist;
  private readonly fingerprints: Set<string>;
  private readonly issuers: Set<string>;
  private readonly domains: string[];

  constructor(list: HuntConfig['allowlist']) {
    this.net = new Allowlist(list);
    this.fingerprints = new Set(list.fingerprints.map((f) => f.toLowerCase()));
    this.issuers = new Set(list.issuers);
    this.domains = list.domains.map((d) => d.toLowerCase().replace(/^\*\./, '').replace(/\.$/, ''));
  }

  ip(ip: string | null | undefined): boolean {
    return this.net.ip(ip);
  }

  fingerprint(hex: string | null | undefined): boolean {
    return !!hex && this.fingerprints.has(hex.toLowerCase());
  }

  issuer(dn: string | null | undefined): boolean {
    return !!dn && this.issuers.has(dn);
  }

  /** `a.b.x.com`, `x.com` and `*.x.com` are covered by `x.com` (or `*.x.com`) in the list. */
  domain(name: string | null | undefined): boolean {
    if (!name) return false;
    const n = name.toLowerCase().replace(/^\*\./, '').replace(/\.$/, '');
    return this.domains.some((d) => n === d || n.endsWith('.' + d));
  }
}

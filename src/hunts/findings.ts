import type { DuckDBConnection } from '@duckdb/node-api';
import { Allowlist, combine, severityOf, type HuntConfig } from './config.js';
import type { Hunt, Severity } from './hunt.js';
import { runHunt, type HuntRow } from './runner.js';

/**
 * A hunt run: every hunt over the `hunt.*` views, the allowlists applied to every finding,
 * and a combined risk score per certificate and per destination IP (noisy-OR of the weighted
 * scores of the hunts that flagged it; an IP inherits the findings of the certificates it served).
 */
export interface Finding extends HuntRow {
  attack: string[];
}

export interface Risk {
  entity_type: 'certificate' | 'ip';
  entity: string;
  score: number;
  severity: Severity;
  hunts: string[];
  findings: number;
}

export interface HuntResult {
  findings: Finding[];
  risk: Risk[];
  /** Findings dropped by the allowlists, per hunt. */
  allowlisted: Record<string, number>;
}

/** Addresses kept per flagged certificate for allowlists and IP scores. */
const MAX_IPS = 1000;

interface CertFacts {
  /** More than MAX_IPS addresses served it: dest_ips holds the first MAX_IPS. */
  truncated: boolean;
  cert_id: string;
  sha1: string | null;
  sha256: string | null;
  issuer: string | null;
  names: string[];
  dest_ips: string[];
}

async function certificateFacts(conn: DuckDBConnection, ids: string[]): Promise<Map<string, CertFacts>> {
  const out = new Map<string, CertFacts>();
  if (ids.length === 0) return out;
  await conn.run(`CREATE OR REPLACE TEMP TABLE __certhunt_ids AS SELECT unnest(CAST(json('${JSON.stringify(ids).replace(/'/g, "''")}') AS VARCHAR[])) AS cert_id`);
  // A join on the flagged certificates only, and a bounded address list: the facts serve the
  // allowlist and the IP scores, and an allowlist by address needs every address, so the list
  // is complete up to MAX_IPS; beyond, a certificate is never taken as allowlisted by address.
  const rows = (
    await conn.runAndReadAll(`WITH ips AS (
        SELECT o.cert_id, list(DISTINCT o.dest_ip) AS dest_ips, count(DISTINCT o.dest_ip) AS n
        FROM hunt.observations o SEMI JOIN __certhunt_ids i ON i.cert_id = o.cert_id
        WHERE o.dest_ip IS NOT NULL GROUP BY o.cert_id)
      SELECT c.cert_id, c.sha1, c.sha256, c.issuer,
        list_filter(list_concat([c.common_name], c.subject_alternative_names), x -> x IS NOT NULL) AS names,
        CASE WHEN ips.n <= ${MAX_IPS} THEN ips.dest_ips ELSE list_slice(ips.dest_ips, 1, ${MAX_IPS}) END AS dest_ips,
        coalesce(ips.n, 0) > ${MAX_IPS} AS truncated
      FROM hunt.certificates c SEMI JOIN __certhunt_ids i ON i.cert_id = c.cert_id LEFT JOIN ips ON ips.cert_id = c.cert_id`)
  ).getRowObjectsJson() as unknown as (CertFacts & { truncated: boolean })[];
  await conn.run('DROP TABLE IF EXISTS __certhunt_ids');
  for (const r of rows) out.set(r.cert_id, { ...r, names: r.names ?? [], dest_ips: r.dest_ips ?? [], truncated: r.truncated === true });
  return out;
}

function allowed(f: HuntRow, facts: CertFacts | undefined, allow: Allowlist): boolean {
  switch (f.entity_type) {
    case 'certificate': {
      if (!facts) return allow.fingerprint(f.entity.replace(/^sha1:/, ''));
      if (allow.fingerprint(facts.sha1) || allow.fingerprint(facts.sha256) || allow.issuer(facts.issuer)) return true;
      if (facts.names.length > 0 && facts.names.every((n) => allow.domain(n))) return true;
      // Served only from allowlisted addresses.
      return !facts.truncated && facts.dest_ips.length > 0 && facts.dest_ips.every((ip) => allow.ip(ip));
    }
    case 'ip':
      return allow.ip(f.entity.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
    case 'issuer':
      return allow.issuer(f.entity);
    case 'domain':
      return allow.domain(f.entity);
    default:
      return false;
  }
}

export async function huntAll(conn: DuckDBConnection, hunts: Hunt[], config: HuntConfig): Promise<HuntResult> {
  const allow = new Allowlist(config.allowlist);
  const raw: Finding[] = [];
  for (const hunt of hunts) for (const r of await runHunt(conn, hunt)) raw.push({ ...r, attack: hunt.attack });
  const facts = await certificateFacts(conn, [...new Set(raw.filter((f) => f.entity_type === 'certificate').map((f) => f.entity))]);
  const findings: Finding[] = [];
  const allowlisted: Record<string, number> = {};
  for (const f of raw) {
    if (allowed(f, facts.get(f.entity), allow)) allowlisted[f.hunt_id] = (allowlisted[f.hunt_id] ?? 0) + 1;
    else findings.push(f);
  }
  // Per entity, per hunt: the highest score counts once.
  const byCert = new Map<string, Map<string, number>>();
  const byIp = new Map<string, Map<string, number>>();
  const add = (m: Map<string, Map<string, number>>, entity: string, hunt: string, score: number) => {
    let h = m.get(entity);
    if (!h) m.set(entity, (h = new Map()));
    h.set(hunt, Math.max(h.get(hunt) ?? 0, score));
  };
  for (const f of findings) {
    if (f.entity_type === 'certificate') {
      add(byCert, f.entity, f.hunt_id, f.score);
      for (const ip of facts.get(f.entity)?.dest_ips ?? []) if (!allow.ip(ip)) add(byIp, ip, f.hunt_id, f.score);
    } else if (f.entity_type === 'ip') add(byIp, f.entity.replace(/:\d+$/, ''), f.hunt_id, f.score);
  }
  const risk: Risk[] = [];
  for (const [entity_type, m] of [['certificate', byCert], ['ip', byIp]] as const) {
    for (const [entity, hunts] of m) {
      const scores = [...hunts].map(([hunt, score]) => ({ hunt, score }));
      const score = combine(scores, config.weights);
      risk.push({ entity_type, entity, score, severity: severityOf(score, config.thresholds), hunts: [...hunts.keys()].sort(), findings: hunts.size });
    }
  }
  risk.sort((a, b) => b.score - a.score || a.entity_type.localeCompare(b.entity_type) || a.entity.localeCompare(b.entity));
  findings.sort((a, b) => b.score - a.score || a.hunt_id.localeCompare(b.hunt_id) || a.entity.localeCompare(b.entity));
  return { findings, risk, allowlisted };
}

/**
 * Findings → indicators. Several hunts can flag the same certificate (or IP, JA3, domain); every
 * export format wants one indicator per observable with the hunts that flagged it, so findings are
 * grouped here by a normalized key, in an order that does not depend on the input order.
 */
import type { ExportCertificate, ExportFinding, Severity, SkippedFinding } from './record.js';
import { dnsNameOf, hexOf, ipOf, isoOf, scoreOf, serialHex, severityOf, severityRank, techniqueOf } from './text.js';

/** A certificate as indicators know it: ExportCertificate normalised (serial lowercase hex, no colons); the SHA-256 may be unknown. */
export type CertificateIds = Omit<ExportCertificate, 'sha256'> & { sha256: string | null };

export type Indicator =
  | (IndicatorBase & { kind: 'certificate'; cert: CertificateIds })
  | (IndicatorBase & { kind: 'ipv4' | 'ipv6' | 'ja3' | 'domain' | 'issuer'; value: string });

export interface IndicatorBase {
  /** Normalized identity, e.g. `certificate:sha256:<hex>`, `ipv4:<ip>`, `ja3:<md5>`. */
  key: string;
  /** Highest score first, then hunt id: the first one names the indicator. */
  findings: ExportFinding[];
  score: number;
  severity: Severity;
  /** Technique ids, validated and sorted. */
  attack: string[];
  first_seen: string | null;
  last_seen: string | null;
  /** Valid IPs that served the certificate, sorted. */
  ips: string[];
}

export interface Grouped {
  indicators: Indicator[];
  skipped: SkippedFinding[];
}

type Identity =
  | { kind: 'certificate'; key: string; cert: CertificateIds }
  | { kind: 'ipv4' | 'ipv6' | 'ja3' | 'domain' | 'issuer'; key: string; value: string };

export function groupFindings(findings: readonly ExportFinding[]): Grouped {
  const groups = new Map<string, { id: Identity; findings: ExportFinding[] }>();
  const skipped: SkippedFinding[] = [];
  for (const f of findings) {
    const id = identify(f);
    if (typeof id === 'string') {
      skipped.push(skip(f, id));
      continue;
    }
    const g = groups.get(id.key);
    if (g) {
      g.findings.push(f);
      if (id.kind === 'certificate' && g.id.kind === 'certificate') g.id.cert = mergeCert(g.id.cert, id.cert);
    } else groups.set(id.key, { id, findings: [f] });
  }
  const indicators = [...groups.values()]
    .sort((a, b) => (a.id.key < b.id.key ? -1 : a.id.key > b.id.key ? 1 : 0))
    .map(({ id, findings: fs }) => summarize(id, fs));
  return { indicators, skipped: sortSkipped(skipped) };
}

export function skip(f: ExportFinding, reason: string): SkippedFinding {
  return { hunt_id: String(f.hunt_id), entity_type: String(f.entity_type), entity: String(f.entity), reason };
}

export function sortSkipped(s: SkippedFinding[]): SkippedFinding[] {
  const k = (x: SkippedFinding): string => `${x.hunt_id}\u0000${x.entity_type}\u0000${x.entity}\u0000${x.reason}`;
  return s.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

function identify(f: ExportFinding): Identity | string {
  const entity = typeof f.entity === 'string' ? f.entity : '';
  switch (f.entity_type) {
    case 'certificate': {
      const cert = certificateIds(f);
      if (cert.sha256) return { kind: 'certificate', key: `certificate:sha256:${cert.sha256}`, cert };
      if (cert.sha1) return { kind: 'certificate', key: `certificate:sha1:${cert.sha1}`, cert };
      if (cert.issuer && cert.serial) {
        return { kind: 'certificate', key: `certificate:issuer-serial:${cert.serial}:${cert.issuer}`, cert };
      }
      return 'certificate without SHA-256, SHA-1 or issuer and serial';
    }
    case 'ip': {
      const ip = ipOf(entity);
      if (!ip) return 'not an IP address';
      return { kind: ip.version === 4 ? 'ipv4' : 'ipv6', key: `ipv${ip.version}:${ip.value}`, value: ip.value };
    }
    case 'ja3': {
      const md5 = hexOf(entity, 32);
      return md5 ? { kind: 'ja3', key: `ja3:${md5}`, value: md5 } : 'not a JA3 MD5';
    }
    case 'domain': {
      const name = dnsNameOf(entity);
      return name ? { kind: 'domain', key: `domain:${name}`, value: name } : 'not a DNS name';
    }
    case 'issuer': {
      const dn = entity.trim();
      return dn ? { kind: 'issuer', key: `issuer:${dn}`, value: dn } : 'empty issuer';
    }
    default:
      return `entity type '${String(f.entity_type)}' has no indicator form`;
  }
}

/** The certificate's hashes from its record, else from the entity (sha256 hex, or silver's `sha1:<hex>`). */
function certificateIds(f: ExportFinding): CertificateIds {
  const c = f.certificate;
  const entity = typeof f.entity === 'string' ? f.entity.trim() : '';
  const issuerSerial = /^issuer-serial:/i.test(entity);
  return {
    sha256: hexOf(c?.sha256, 64) ?? (issuerSerial ? null : hexOf(entity, 64)),
    sha1: hexOf(c?.sha1, 40) ?? hexOf(entity.replace(/^sha1:/i, ''), 40),
    md5: hexOf(c?.md5, 32),
    serial: serialHex(c?.serial),
    subject: str(c?.subject),
    issuer: str(c?.issuer),
    common_name: str(c?.common_name),
    subject_alternative_names: Array.isArray(c?.subject_alternative_names)
      ? c.subject_alternative_names.filter((s): s is string => typeof s === 'string')
      : [],
    not_valid_before: isoOf(c?.not_valid_before),
    not_valid_after: isoOf(c?.not_valid_after),
  };
}

function str(s: unknown): string | null {
  return typeof s === 'string' && s.length > 0 ? s : null;
}

/** Fields one finding lacks, another may carry (e.g. SHA-1 only where DER was logged). */
function mergeCert(a: CertificateIds, b: CertificateIds): CertificateIds {
  return {
    sha256: a.sha256 ?? b.sha256,
    sha1: a.sha1 ?? b.sha1,
    md5: a.md5 ?? b.md5,
    serial: a.serial ?? b.serial,
    subject: a.subject ?? b.subject,
    issuer: a.issuer ?? b.issuer,
    common_name: a.common_name ?? b.common_name,
    subject_alternative_names: [...new Set([...a.subject_alternative_names, ...b.subject_alternative_names])],
    not_valid_before: a.not_valid_before ?? b.not_valid_before,
    not_valid_after: a.not_valid_after ?? b.not_valid_after,
  };
}

function summarize(id: Identity, fs: ExportFinding[]): Indicator {
  const findings = [...fs].sort(
    (a, b) =>
      scoreOf(b.score) - scoreOf(a.score) ||
      severityRank(b.severity) - severityRank(a.severity) ||
      cmp(String(a.hunt_id), String(b.hunt_id)) ||
      cmp(String(a.run_id), String(b.run_id)),
  );
  const firsts = findings.map((f) => isoOf(f.first_seen)).filter((t): t is string => t !== null).sort();
  const lasts = findings.map((f) => isoOf(f.last_seen)).filter((t): t is string => t !== null).sort();
  const attack = new Set<string>();
  const ips = new Set<string>();
  for (const f of findings) {
    for (const t of Array.isArray(f.attack) ? f.attack : []) {
      const tech = typeof t === 'string' ? techniqueOf(t) : null;
      if (tech) attack.add(tech);
    }
    for (const s of Array.isArray(f.ips) ? f.ips : []) {
      const ip = ipOf(s);
      if (ip) ips.add(ip.value);
    }
  }
  const base: IndicatorBase = {
    key: id.key,
    findings,
    score: Math.max(...findings.map((f) => scoreOf(f.score))),
    severity: severityOf(findings.map((f) => f.severity).sort((a, b) => severityRank(b) - severityRank(a))[0] ?? 'info'),
    attack: [...attack].sort(),
    first_seen: firsts[0] ?? null,
    last_seen: lasts[lasts.length - 1] ?? null,
    ips: [...ips].sort(),
  };
  return id.kind === 'certificate' ? { ...base, kind: 'certificate', cert: id.cert } : { ...base, kind: id.kind, value: id.value };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Unique titles of the hunts behind an indicator, best first. */
export function titlesOf(ind: IndicatorBase): string[] {
  return [...new Set(ind.findings.map((f) => String(f.title)))];
}

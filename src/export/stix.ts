/**
 * Findings → a STIX 2.1 bundle for a threat-intel platform (OASIS "STIX Version 2.1", errata 01;
 * section numbers below are that document's).
 *
 * One `indicator` per observable (several hunts flagging one certificate make one indicator that
 * names them all), the observable itself as an SCO where STIX has one (`x509-certificate`,
 * `ipv4-addr`, `ipv6-addr`, `domain-name`), a `related-to` relationship between the two, and the
 * producer's `identity` that every SDO/SRO names in `created_by_ref`.
 *
 * Ids are deterministic so that exporting the same findings again yields the same objects, which
 * a TIP then treats as the same object (or a new version of it) instead of a duplicate:
 * - SCOs: §2.9's rule, UUIDv5 in the SCO namespace over the JCS form of the ID contributing
 *   properties (§6.18.1 for x509-certificate: hashes (one, preferring MD5, SHA-1, SHA-256) and
 *   serial_number; §6.8/§6.9/§6.4: value).
 * - indicator, relationship, identity, bundle: UUIDv5 in certhunt's own namespace (§2.9 forbids the
 *   SCO namespace for them) over the indicator's normalized key (`certificate:sha256:<hex>`,
 *   `ipv4:<ip>`, ...). The key rather than the pattern text: the pattern gains a SHA-1 clause the day
 *   a source logs the DER, and the indicator should stay the same object when it does.
 *
 * Versioning (§3.6): created = earliest first_seen (else options.now), modified = latest last_seen
 * (never before created); a later export with newer sightings is a newer version of the same id.
 */
import { groupFindings, titlesOf, type CertificateIds, type Indicator } from './indicators.js';
import type { ExportFinding, ExportOptions, ExportResult } from './record.js';
import { attackUrl, cleanText, colonHex, safeJson, severityRank } from './text.js';
import { certhuntId, scoId } from './uuid.js';

export type StixObject = { type: string; id: string } & Record<string, unknown>;

export interface StixBundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

/** The identity's one version: fixed, so every export repeats it unchanged (§3.6). */
const IDENTITY_CREATED = '2025-01-01T00:00:00.000Z';

export function toStix(findings: readonly ExportFinding[], options: ExportOptions): StixBundle {
  return buildStix(findings, options).bundle;
}

export function stixJson(findings: readonly ExportFinding[], options: ExportOptions): string {
  return exportStix(findings, options).text;
}

export function exportStix(findings: readonly ExportFinding[], options: ExportOptions): ExportResult {
  const { bundle, exported, skipped } = buildStix(findings, options);
  return { text: safeJson(bundle, 2) + '\n', exported, skipped };
}

function buildStix(findings: readonly ExportFinding[], options: ExportOptions) {
  const producer = cleanText(options.producer ?? 'certhunt', 200) || 'certhunt';
  const identity: StixObject = {
    type: 'identity',
    spec_version: '2.1',
    id: certhuntId('identity', producer),
    created: IDENTITY_CREATED,
    modified: IDENTITY_CREATED,
    name: producer,
    identity_class: 'system',
    description: 'Hunts for malicious infrastructure through the TLS certificates seen on a network.',
  };
  const { indicators, skipped } = groupFindings(findings);
  const now = msTimestamp(options.now);
  const objects: StixObject[] = [identity];
  let exported = 0;
  for (const ind of indicators) {
    const created = ind.first_seen ?? now;
    const modified = ind.last_seen && ind.last_seen > created ? ind.last_seen : created;
    const observable = observableOf(ind);
    const indicator: StixObject = {
      type: 'indicator',
      spec_version: '2.1',
      id: certhuntId('indicator', ind.key),
      created_by_ref: identity.id,
      created,
      modified,
      name: nameOf(ind),
      description: descriptionOf(ind),
      indicator_types: [severityRank(ind.severity) <= severityRank('low') ? 'anomalous-activity' : 'malicious-activity'],
      pattern: observable.pattern,
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: created,
      ...nonEmpty('kill_chain_phases', killChainPhases(ind.attack)),
      ...nonEmpty('labels', labelsOf(ind)),
      confidence: ind.score,
      ...nonEmpty('external_references', externalReferences(ind)),
    };
    objects.push(indicator);
    exported++;
    if (observable.sco) {
      objects.push(observable.sco);
      objects.push({
        type: 'relationship',
        spec_version: '2.1',
        id: certhuntId('relationship', `${indicator.id} related-to ${observable.sco.id}`),
        created_by_ref: identity.id,
        created,
        modified,
        relationship_type: 'related-to',
        source_ref: indicator.id,
        target_ref: observable.sco.id,
      });
    }
  }
  // Same objects (ids and versions) → same bundle id; the bundle itself is transient (§8).
  const bundleId = certhuntId('bundle', objects.map((o) => `${o.id}@${String(o.modified ?? '')}`).join('\n'));
  return { bundle: { type: 'bundle' as const, id: bundleId, objects }, exported, skipped };
}

/** §2.16 / §3.2: UTC, 'Z', milliseconds for created/modified. */
function msTimestamp(d: Date): string {
  if (!(d instanceof Date) || !Number.isFinite(d.getTime())) throw new TypeError('options.now must be a valid Date');
  return d.toISOString();
}

function nonEmpty<K extends string>(key: K, list: unknown[]): Partial<Record<K, unknown[]>> {
  // §2.12: empty lists are prohibited; an optional property is omitted instead.
  return list.length > 0 ? ({ [key]: list } as Record<K, unknown[]>) : {};
}

/** §9.2: in a string constant only ' and \ are escaped, with a backslash. */
export function patternString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

interface Observable {
  pattern: string;
  sco?: StixObject;
}

function observableOf(ind: Indicator): Observable {
  switch (ind.kind) {
    case 'certificate':
      return certificateObservable(ind.cert);
    case 'ipv4':
    case 'ipv6': {
      const type = `${ind.kind}-addr`;
      return {
        pattern: `[${type}:value = ${patternString(ind.value)}]`,
        sco: { type, spec_version: '2.1', id: scoId(type, { value: ind.value }), value: ind.value },
      };
    }
    case 'domain': {
      if (ind.value.startsWith('*.')) {
        // A wildcard is no domain-name value (§6.4); match the names it covers instead.
        return { pattern: `[domain-name:value LIKE ${patternString(`%.${ind.value.slice(2)}`)}]` };
      }
      return {
        pattern: `[domain-name:value = ${patternString(ind.value)}]`,
        sco: { type: 'domain-name', spec_version: '2.1', id: scoId('domain-name', { value: ind.value }), value: ind.value },
      };
    }
    case 'ja3':
      // STIX 2.1 has no TLS client fingerprint: network-traffic (§6.12) has no TLS fields and no
      // predefined extension for them. The spec's ways out are a custom object named 'x-...'
      // (§11.2, deprecated but valid 2.1 and the form of §9.8's own `[x-usb-device:...]` example),
      // an extension-definition (§7.3, which every consumer would have to fetch and understand),
      // or a non-STIX pattern_type (§10.19: 'suricata'). We use the custom object `x-ja3` with a
      // `hash` property: the pattern stays pattern_type 'stix', parses with any STIX pattern
      // grammar, and a TIP that does not know x-ja3 still shows the MD5 in name and description.
      // The deployable detection for JA3 is the Suricata export (`ja3.hash`).
      return { pattern: `[x-ja3:hash = ${patternString(ind.value)}]` };
    case 'issuer':
      return { pattern: `[x509-certificate:issuer = ${patternString(ind.value)}]` };
  }
}

function certificateObservable(c: CertificateIds): Observable {
  const comparisons: string[] = [];
  if (c.sha256) comparisons.push(`x509-certificate:hashes.'SHA-256' = ${patternString(c.sha256)}`);
  if (c.sha1) comparisons.push(`x509-certificate:hashes.'SHA-1' = ${patternString(c.sha1)}`);
  // §9.3: alternatives for one object go in one observation expression, joined by OR; §9.7 quotes
  // hash names with a hyphen ('SHA-256'). Issuer and serial only when no hash is known (§9.8 example).
  const pattern =
    comparisons.length > 0
      ? `[${comparisons.join(' OR ')}]`
      : `[x509-certificate:issuer = ${patternString(c.issuer ?? '')} AND x509-certificate:serial_number = ${patternString(colonHex(c.serial ?? '00'))}]`;

  // hash-algorithm-ov (§10.7) names.
  const hashes: Record<string, string> = {};
  if (c.md5) hashes.MD5 = c.md5;
  if (c.sha1) hashes['SHA-1'] = c.sha1;
  if (c.sha256) hashes['SHA-256'] = c.sha256;
  const serial = c.serial ? colonHex(c.serial) : undefined;
  // §6.18.1: ID contributing properties are hashes (only one: MD5, else SHA-1, else SHA-256) and serial_number.
  const chosen = c.md5 ? { MD5: c.md5 } : c.sha1 ? { 'SHA-1': c.sha1 } : c.sha256 ? { 'SHA-256': c.sha256 } : undefined;
  const sans = c.subject_alternative_names.filter((s) => s.length > 0);
  const sco: StixObject = {
    type: 'x509-certificate',
    spec_version: '2.1',
    id: scoId('x509-certificate', { ...(chosen ? { hashes: chosen } : {}), ...(serial ? { serial_number: serial } : {}) }),
    ...(Object.keys(hashes).length > 0 ? { hashes } : {}),
    ...(serial ? { serial_number: serial } : {}),
    ...(c.subject ? { subject: c.subject } : {}),
    ...(c.issuer ? { issuer: c.issuer } : {}),
    ...(c.not_valid_before ? { validity_not_before: c.not_valid_before } : {}),
    ...(c.not_valid_after ? { validity_not_after: c.not_valid_after } : {}),
    ...(sans.length > 0 ? { x509_v3_extensions: { subject_alternative_name: sans.map((s) => `DNS:${s}`).join(', ') } } : {}),
  };
  return { pattern, sco };
}

function labelOf(ind: Indicator): string {
  switch (ind.kind) {
    case 'certificate': {
      const c = ind.cert;
      if (c.common_name) return cleanText(c.common_name, 120);
      if (c.subject) return cleanText(c.subject, 120);
      return c.sha1 ? `SHA-1 ${c.sha1}` : c.sha256 ? `SHA-256 ${c.sha256}` : `serial ${colonHex(c.serial ?? '00')}`;
    }
    case 'ja3':
      return `JA3 ${ind.value}`;
    default:
      return cleanText(ind.value, 200);
  }
}

function nameOf(ind: Indicator): string {
  return `${cleanText(titlesOf(ind)[0] ?? 'certhunt finding', 200)}: ${labelOf(ind)}`;
}

function descriptionOf(ind: Indicator): string {
  const lines: string[] = ['Flagged by certhunt:'];
  const seen = new Set<string>();
  for (const f of ind.findings) {
    if (seen.has(String(f.hunt_id))) continue;
    seen.add(String(f.hunt_id));
    const about = typeof f.description === 'string' && f.description.trim() ? ` ${cleanText(f.description, 600)}` : '';
    lines.push(`- ${cleanText(String(f.title), 200)} (${cleanText(String(f.hunt_id), 100)}; severity ${f.severity}, score ${f.score}).${about}`);
  }
  if (ind.kind === 'certificate') {
    const c = ind.cert;
    const facts = [
      c.subject && `subject ${cleanText(c.subject, 300)}`,
      c.issuer && `issuer ${cleanText(c.issuer, 300)}`,
      c.serial && `serial ${colonHex(c.serial)}`,
      c.sha1 && `SHA-1 ${c.sha1}`,
      c.sha256 && `SHA-256 ${c.sha256}`,
      c.not_valid_before && c.not_valid_after && `valid ${c.not_valid_before} to ${c.not_valid_after}`,
    ].filter(Boolean);
    if (facts.length) lines.push(`Certificate: ${facts.join('; ')}.`);
    if (ind.ips.length) {
      const shown = ind.ips.slice(0, 25).join(', ');
      lines.push(`Served from: ${shown}${ind.ips.length > 25 ? ` and ${ind.ips.length - 25} more` : ''}.`);
    }
  }
  if (ind.first_seen || ind.last_seen) lines.push(`Seen ${ind.first_seen ?? '?'} to ${ind.last_seen ?? '?'}.`);
  return lines.join('\n');
}

function labelsOf(ind: Indicator): string[] {
  // §3.2: labels are free terms, but not for what indicator_types already says.
  const hunts = ind.findings.map((f) => String(f.hunt_id).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, ''));
  return [...new Set([...hunts.filter((h) => h.length >= 3), `severity-${ind.severity}`])];
}

function externalReferences(ind: Indicator): Record<string, string>[] {
  // §2.5: source_name is required; 'mitre-attack' with the technique id and URL is how MITRE's
  // own ATT&CK STIX data names techniques.
  const refs: Record<string, string>[] = ind.attack.map((t) => ({
    source_name: 'mitre-attack',
    external_id: t,
    url: attackUrl(t),
  }));
  const seen = new Set<string>();
  for (const f of ind.findings) {
    const id = cleanText(String(f.hunt_id), 100);
    if (!id || seen.has(id)) continue;
    seen.add(id);
    refs.push({ source_name: 'certhunt', external_id: id, description: cleanText(String(f.title), 200) });
  }
  return refs;
}

/**
 * ATT&CK tactic (phase) for the techniques certhunt's hunts use; §2.11 kill-chain-phase with
 * ATT&CK's own kill_chain_name. A technique not in this table simply adds no phase.
 */
const TACTICS: Record<string, string> = {
  T1001: 'command-and-control', T1008: 'command-and-control', T1071: 'command-and-control',
  T1090: 'command-and-control', T1095: 'command-and-control', T1102: 'command-and-control',
  T1105: 'command-and-control', T1132: 'command-and-control', T1205: 'command-and-control',
  T1219: 'command-and-control', T1568: 'command-and-control', T1571: 'command-and-control',
  T1572: 'command-and-control', T1573: 'command-and-control',
  T1583: 'resource-development', T1584: 'resource-development', T1585: 'resource-development',
  T1586: 'resource-development', T1587: 'resource-development', T1588: 'resource-development',
  T1608: 'resource-development',
  T1566: 'initial-access', T1189: 'initial-access',
  T1041: 'exfiltration', T1048: 'exfiltration', T1567: 'exfiltration',
  T1557: 'credential-access',
};

function killChainPhases(attack: string[]): { kill_chain_name: string; phase_name: string }[] {
  const phases = new Set<string>();
  for (const t of attack) {
    const tactic = TACTICS[t.slice(0, 5)];
    if (tactic) phases.add(tactic);
  }
  return [...phases].sort().map((phase_name) => ({ kill_chain_name: 'mitre-attack', phase_name }));
}


/**
 * Findings → Suricata rules.
 *
 * - Certificate: `tls.cert_fingerprint; content:"aa:bb:...";`, the SHA-1 of the server certificate
 *   as Suricata computes it: lowercase hex pairs joined by ':' (Suricata user guide, "SSL/TLS
 *   Keywords", tls.cert_fingerprint; the legacy tls.fingerprint notes "the buffer is lower case").
 *   A certificate known only by SHA-256 gets no rule (reported as skipped).
 * - JA3: `ja3.hash; content:"<md5>";` (user guide, "JA3/JA4 Keywords"). Suricata computes JA3 only
 *   with app-layer.protocols.tls.ja3-fingerprints enabled (7.0 enables it when a loaded rule needs it).
 * - IP: `alert ip any any -> <ip> any`, traffic towards the address.
 *
 * Sids are stable: each indicator (`tls.cert_fingerprint:<sha1>`, `ja3.hash:<md5>`, `ip:<addr>`)
 * hashes to a slot in a configurable range (default 9,800,000-9,899,999, {@link DEFAULT_SID_RANGE});
 * a slot already taken moves to the next free one, with indicators placed in sorted order, so the
 * same set of indicators always gets the same sids whatever order the findings come in. Pick a
 * range no other rule source in the sensor uses (the user guide's meta keywords section points to
 * sidallocation.org for ranges taken by public rule sets).
 *
 * `msg` holds attacker-controlled text (the CN). The user guide (meta keywords, msg) says `;`, `\`
 * and `"` must be escaped there; rather than rely on every rule parser downstream (suricata-update,
 * SIEM importers) agreeing on escapes, msg is cut to printable ASCII with those three replaced.
 */
import { createHash } from 'node:crypto';
import { groupFindings, skip, sortSkipped, titlesOf, type Indicator } from './indicators.js';
import type { ExportFinding, ExportOptions, ExportResult, SkippedFinding } from './record.js';
import { severityRank } from './text.js';

export interface SidRange {
  min: number;
  max: number;
}

export const DEFAULT_SID_RANGE: Readonly<SidRange> = Object.freeze({ min: 9_800_000, max: 9_899_999 });

export interface SuricataOptions extends ExportOptions {
  /** Inclusive sid range to allocate from; default {@link DEFAULT_SID_RANGE}. */
  sidRange?: SidRange;
}

interface Rule {
  /** Sid allocation key: the detection, not the hunt, so a rule keeps its sid when hunts change. */
  key: string;
  text: (sid: number) => string;
}

export function suricataRules(findings: readonly ExportFinding[], options: SuricataOptions): string {
  return exportSuricata(findings, options).text;
}

export function exportSuricata(findings: readonly ExportFinding[], options: SuricataOptions): ExportResult {
  const range = checkRange(options.sidRange ?? DEFAULT_SID_RANGE);
  const { indicators, skipped: notIndicators } = groupFindings(findings);
  const skipped: SkippedFinding[] = [...notIndicators];
  const rules: Rule[] = [];
  for (const ind of indicators) {
    const rule = ruleFor(ind);
    if (typeof rule === 'string') for (const f of ind.findings) skipped.push(skip(f, rule));
    else rules.push(rule);
  }
  const sids = allocateSids(
    rules.map((r) => r.key),
    range,
  );
  const lines = rules
    .map((r) => ({ sid: sids.get(r.key)!, rule: r }))
    .sort((a, b) => a.sid - b.sid)
    .map(({ sid, rule }) => rule.text(sid));
  const header = [
    `# certhunt Suricata rules: ${lines.length} rule${lines.length === 1 ? '' : 's'}, sids ${range.min}-${range.max}`,
    '# JA3 rules need app-layer.protocols.tls.ja3-fingerprints (suricata.yaml).',
  ];
  return { text: [...header, ...lines].join('\n') + '\n', exported: lines.length, skipped: sortSkipped(skipped) };
}

function ruleFor(ind: Indicator): Rule | string {
  switch (ind.kind) {
    case 'certificate': {
      const sha1 = ind.cert.sha1;
      if (!sha1) return "no SHA-1: Suricata's tls.cert_fingerprint is the certificate's SHA-1";
      const fp = sha1.match(/../g)!.join(':');
      const label = ind.cert.common_name ?? ind.cert.subject ?? `SHA-1 ${fp}`;
      return {
        key: `tls.cert_fingerprint:${sha1}`,
        text: (sid) => rule('alert tls any any -> any any', ind, label, `tls.cert_fingerprint; content:"${fp}";`, sid),
      };
    }
    case 'ja3':
      return {
        key: `ja3.hash:${ind.value}`,
        text: (sid) => rule('alert tls any any -> any any', ind, `JA3 ${ind.value}`, `ja3.hash; content:"${ind.value}";`, sid),
      };
    case 'ipv4':
    case 'ipv6': {
      // IPv6 in a rule header needs brackets ([2001:db8::1]); harmless for IPv4.
      const addr = `[${ind.value}]`;
      return { key: `ip:${ind.value}`, text: (sid) => rule(`alert ip any any -> ${addr} any`, ind, ind.value, '', sid) };
    }
    case 'domain':
      return 'domain findings have no Suricata rule form here (use the Zeek intel or STIX export)';
    case 'issuer':
      return 'issuer findings have no Suricata rule form here (use the STIX export)';
  }
}

function rule(header: string, ind: Indicator, label: string, detection: string, sid: number): string {
  const title = titlesOf(ind)[0] ?? 'finding';
  const msg = ruleMsg(`certhunt ${title} ${label}`);
  const refs = ind.attack.map((t) => `reference:url,attack.mitre.org/techniques/${t.replace('.', '/')}/;`);
  const hunts = [...new Set(ind.findings.map((f) => metaValue(String(f.hunt_id))))].filter(Boolean);
  const metadata = [
    ...hunts.map((h) => `certhunt_hunt ${h}`),
    `certhunt_score ${ind.score}`,
    `certhunt_severity ${ind.severity}`,
    ...ind.attack.map((t) => `mitre_technique_id ${t}`),
  ].join(', ');
  const parts = [
    `msg:"${msg}";`,
    detection,
    ...refs,
    `classtype:${classtype(ind)};`,
    `metadata:${metadata};`,
    `sid:${sid};`,
    'rev:1;',
  ].filter((p) => p.length > 0);
  return `${header} (${parts.join(' ')})`;
}

/** classification.config's stock classes: trojan-activity (priority 1), bad-unknown (2), misc-activity (3). */
function classtype(ind: Indicator): string {
  const r = severityRank(ind.severity);
  return r >= severityRank('high') ? 'trojan-activity' : r >= severityRank('medium') ? 'bad-unknown' : 'misc-activity';
}

/** Printable ASCII only; `"` `;` `\` replaced; whitespace collapsed; at most 200 characters. */
export function ruleMsg(s: string): string {
  const t = [...s]
    .map((c) => (c === '"' ? "'" : c === ';' ? ',' : c === '\\' ? '/' : c >= ' ' && c <= '~' ? c : c === '\t' || c === '\n' || c === '\r' ? ' ' : '?'))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  return t.length > 200 ? t.slice(0, 199) + '~' : t;
}

/** metadata values are `key value` pairs split on ',' and ';': keep a safe token. */
function metaValue(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 100);
}

function checkRange(r: SidRange): SidRange {
  // sid is a 32-bit unsigned number in Suricata; 0 is not a sid.
  if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 1 || r.max < r.min || r.max > 0xffffffff) {
    throw new RangeError(`invalid sid range ${r.min}-${r.max}: want integers 1 <= min <= max <= 4294967295`);
  }
  return r;
}

/**
 * Stable sids: each key's preferred slot is sha256(key) mod the range size; keys are placed in
 * sorted order and a taken slot moves to the next free one (wrapping), so the result depends on the
 * set of keys only.
 */
export function allocateSids(keys: readonly string[], range: SidRange = DEFAULT_SID_RANGE): Map<string, number> {
  checkRange(range);
  const size = range.max - range.min + 1;
  const unique = [...new Set(keys)].sort();
  if (unique.length > size) throw new RangeError(`${unique.length} rules do not fit in sid range ${range.min}-${range.max}`);
  const used = new Set<number>();
  const out = new Map<string, number>();
  for (const key of unique) {
    const h = createHash('sha256').update(key, 'utf8').digest();
    let slot = h.readUIntBE(0, 6) % size;
    while (used.has(slot)) slot = (slot + 1) % size;
    used.add(slot);
    out.set(key, range.min + slot);
  }
  return out;
}

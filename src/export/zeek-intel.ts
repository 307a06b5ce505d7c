/**
 * Findings → a Zeek Intelligence Framework file (`redef Intel::read_files += { "certhunt.intel" };`
 * plus `@load frameworks/intel/seen`).
 *
 * Format: Zeek reads intel files with the input framework's ASCII reader
 * (base/frameworks/intel/input.zeek): a `#fields` line naming Intel::Item's fields, then one
 * tab-separated row per item. `-` is the unset field (meta.url is &optional); string fields pass
 * through util::get_unescaped_string, so `\xHH` escapes come back as the bytes they name
 * (src/threading/formatters/Ascii.cc). Items are matched on (lowercased indicator, type)
 * (base/frameworks/intel/main.zeek), so rows are deduplicated on that pair.
 *
 * Which types Zeek sees for what certhunt finds:
 * - Intel::CERT_HASH is the certificate's SHA-1 ("Certificate SHA-1 hash", main.zeek): seen/x509.zeek
 *   raises it from file_hash(kind == "sha1") on X.509 files. A certificate known only by SHA-256 has
 *   no CERT_HASH row (reported as skipped).
 * - Intel::DOMAIN for the CN and DNS SANs: seen/x509.zeek raises every SAN DNS name and
 *   seen/ssl.zeek the leaf's CN, both exactly as written in the certificate, and seen/ssl.zeek and
 *   seen/dns.zeek raise SNI and DNS query names. Matching is exact (no suffix match), so a wildcard
 *   SAN `*.evil.example` is exported as written: that is the string Zeek sees in the certificate.
 *   Stripping it to `evil.example` would instead fire on that apex name alone, and for a wildcard on
 *   a shared or cloud domain (`*.cloudfront.net`) on every customer of it.
 * - Intel::ADDR for IP findings and for the addresses that served a flagged certificate.
 * - JA3 has no Intel type in Zeek's base scripts; JA3 findings are skipped (use the Suricata export).
 *
 * Attacker-controlled text only reaches meta.desc (indicators are validated hashes, addresses and
 * DNS names): tabs, newlines, other controls, backslashes and bidi/zero-width characters there are
 * written as `\xHH` UTF-8 escapes, so a row is always exactly five fields on one line.
 */
import { groupFindings, skip, sortSkipped, titlesOf, type Indicator } from './indicators.js';
import type { ExportFinding, ExportOptions, ExportResult, SkippedFinding } from './record.js';
import { dnsNameOf } from './text.js';

export const ZEEK_INTEL_HEADER = '#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url';

export type ZeekIntelType = 'Intel::CERT_HASH' | 'Intel::ADDR' | 'Intel::DOMAIN';

export interface ZeekIntelOptions extends ExportOptions {
  /** Intel::DOMAIN rows for a flagged certificate's CN and DNS SANs (default true). */
  certificateDomains?: boolean;
  /** Intel::ADDR rows for the addresses that served a flagged certificate (default true). */
  certificateAddresses?: boolean;
  /**
   * Names never written as Intel::DOMAIN (exact, case-insensitive): C2 certificates often copy a
   * popular site's name (`www.microsoft.com`), which as an intel item would fire on every visit.
   */
  excludeDomains?: Iterable<string>;
}

interface Row {
  indicator: string;
  type: ZeekIntelType;
  descs: string[];
}

export function zeekIntel(findings: readonly ExportFinding[], options: ZeekIntelOptions): string {
  return exportZeekIntel(findings, options).text;
}

export function exportZeekIntel(findings: readonly ExportFinding[], options: ZeekIntelOptions): ExportResult {
  const { indicators, skipped: notIndicators } = groupFindings(findings);
  const skipped: SkippedFinding[] = [...notIndicators];
  const exclude = new Set([...(options.excludeDomains ?? [])].map((d) => d.trim().toLowerCase().replace(/\.$/, '')));
  const rows = new Map<string, Row>();
  const add = (indicator: string, type: ZeekIntelType, desc: string): void => {
    const key = `${type}\t${indicator.toLowerCase()}`;
    const row = rows.get(key);
    if (!row) rows.set(key, { indicator: indicator.toLowerCase(), type, descs: [desc] });
    else if (!row.descs.includes(desc)) row.descs.push(desc);
  };

  for (const ind of indicators) {
    const why = describe(ind);
    switch (ind.kind) {
      case 'certificate': {
        const c = ind.cert;
        const ref = c.sha1 ? `SHA-1 ${c.sha1}` : c.sha256 ? `SHA-256 ${c.sha256}` : 'flagged certificate';
        if (c.sha1) add(c.sha1, 'Intel::CERT_HASH', why);
        if (options.certificateDomains !== false) {
          for (const n of [c.common_name, ...c.subject_alternative_names]) {
            const name = dnsNameOf(n);
            if (name && !exclude.has(name)) add(name, 'Intel::DOMAIN', `${why} [name in certificate ${ref}]`);
          }
        }
        if (options.certificateAddresses !== false) {
          for (const ip of ind.ips) add(ip, 'Intel::ADDR', `${why} [served certificate ${ref}]`);
        }
        if (!c.sha1) {
          for (const f of ind.findings) {
            skipped.push(skip(f, "no SHA-1: Zeek's Intel::CERT_HASH is the certificate's SHA-1 (names and addresses, if any, were exported)"));
          }
        }
        break;
      }
      case 'ipv4':
      case 'ipv6':
        add(ind.value, 'Intel::ADDR', why);
        break;
      case 'domain':
        if (exclude.has(ind.value)) for (const f of ind.findings) skipped.push(skip(f, 'domain is in excludeDomains'));
        else add(ind.value, 'Intel::DOMAIN', why);
        break;
      case 'ja3':
        for (const f of ind.findings) skipped.push(skip(f, "Zeek's intel framework has no JA3 indicator type"));
        break;
      case 'issuer':
        for (const f of ind.findings) skipped.push(skip(f, "Zeek's intel framework has no issuer indicator type"));
        break;
    }
  }

  const source = zeekString(options.producer ?? 'certhunt') || 'certhunt';
  const lines = [...rows.values()]
    .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.indicator < b.indicator ? -1 : a.indicator > b.indicator ? 1 : 0))
    .map((r) => [r.indicator, r.type, source, zeekString(r.descs.join('; ')) || '-', '-'].join('\t'));
  return { text: [ZEEK_INTEL_HEADER, ...lines].join('\n') + '\n', exported: lines.length, skipped: sortSkipped(skipped) };
}

/** `Default Cobalt Strike certificate (critical, score 95)` for every hunt behind the indicator. */
function describe(ind: Indicator): string {
  const parts: string[] = [];
  const titles = new Set(titlesOf(ind));
  for (const f of ind.findings) {
    const t = String(f.title);
    if (!titles.has(t)) continue;
    titles.delete(t);
    parts.push(`${t} (${f.severity}, score ${f.score})`);
  }
  return parts.join('; ');
}

// eslint-disable-next-line no-control-regex
const ZEEK_UNSAFE = /[\u0000-\u001f\u007f-\u009f\\\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g;

/**
 * A string field for Zeek's ASCII reader: unsafe characters as `\xHH` per UTF-8 byte (the reader
 * unescapes them); a value that would read as the unset (`-`) or empty (`(empty)`) marker has its
 * first character escaped. Length capped so one row stays a reasonable line.
 */
export function zeekString(s: string, max = 2000): string {
  let t = s.length > max ? s.slice(0, max) : s;
  t = t.replace(ZEEK_UNSAFE, (c) => [...Buffer.from(c, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join(''));
  if (t === '-' || t === '(empty)') t = `\\x${t.charCodeAt(0).toString(16)}${t.slice(1)}`;
  return t;
}

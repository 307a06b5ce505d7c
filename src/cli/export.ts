import { promises as fs } from 'node:fs';
import { listLakeTables } from '../engine/catalog.js';
import type { Engine } from '../engine/duckdb.js';
import { EXPORT_FORMATS, exportWithReport, filterFindings, isExportFormat, type ExportFinding } from '../export/index.js';
import { loadProfiles } from '../hunts/profile.js';
import { queryJson } from '../lake/parquet.js';
import { makeContext, parse, type Effects } from './context.js';
import { CliError, usage } from './error.js';
import { escapeTerminal } from './escape.js';
import { huntViews, LIBRARY_PROFILES } from './hunt.js';

export const EXPORT_HELP = `certhunt export --to ${EXPORT_FORMATS.join('|')} [-o FILE] [--min-score N] [--since DATE] [--hunt ID]... [--run RUN_ID]

Indicators from the findings of the latest hunt run (or --run): a STIX 2.1 bundle, a Zeek
Intel framework file (Intel::CERT_HASH, Intel::DOMAIN, Intel::ADDR), Suricata rules
(tls.cert_fingerprint, ja3.hash; stable sids), or the findings as CSV, JSON or NDJSON.
Written to stdout unless -o names a file.`;

export async function exportCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const { values } = parse(args, {
    to: { type: 'string' },
    output: { type: 'string', short: 'o' },
    'min-score': { type: 'string' },
    since: { type: 'string' },
    hunt: { type: 'string', multiple: true },
    run: { type: 'string' },
  });
  if (values.help) {
    effects.stdout(EXPORT_HELP + '\n');
    return 0;
  }
  const to = values.to ?? '';
  if (!isExportFormat(to)) throw usage(`--to must be one of ${EXPORT_FORMATS.join(', ')}\n${EXPORT_HELP}`);
  const minScore = values['min-score'] === undefined ? undefined : Number(values['min-score']);
  if (minScore !== undefined && !Number.isFinite(minScore)) throw usage('--min-score must be a number');
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since && !Number.isFinite(since.getTime())) throw usage(`--since: not a date: ${values.since}`);
  const ctx = makeContext(effects, values, engines);
  const tables = await listLakeTables(ctx.lake);
  if (!tables.some((t) => t.layer === 'gold' && t.name === 'findings')) throw new CliError(`no findings in ${ctx.lake}: run certhunt hunt first`);
  const engine = await huntViews(ctx, await loadProfiles([LIBRARY_PROFILES]));
  const run = values.run ? `'${values.run.replace(/'/g, "''")}'` : '(SELECT max(run_id) FROM gold.findings)';
  // Each finding with the certificate it names and the addresses that served it.
  const rows = await queryJson(engine.conn, `
    SELECT f.hunt_id, f.title, f.attack, f.severity, f.score, f.entity_type, f.entity, f.run_id, f.evidence,
           strftime(f.first_seen, '%Y-%m-%dT%H:%M:%S.%gZ') AS first_seen, strftime(f.last_seen, '%Y-%m-%dT%H:%M:%S.%gZ') AS last_seen,
           CASE WHEN c.cert_id IS NOT NULL THEN {
             'sha256': coalesce(c.sha256, ''), 'sha1': c.sha1, 'md5': c.md5, 'serial': c.serial, 'subject': c.subject, 'issuer': c.issuer,
             'common_name': c.common_name, 'subject_alternative_names': coalesce(c.subject_alternative_names, []),
             'not_valid_before': strftime(c.not_valid_before, '%Y-%m-%dT%H:%M:%SZ'), 'not_valid_after': strftime(c.not_valid_after, '%Y-%m-%dT%H:%M:%SZ')
           } END AS certificate,
           (SELECT list(DISTINCT o.dest_ip) FILTER (WHERE o.dest_ip IS NOT NULL) FROM hunt.observations o WHERE o.cert_id = c.cert_id) AS ips
    FROM gold.findings f LEFT JOIN hunt.certificates c ON f.entity_type = 'certificate' AND c.cert_id = f.entity
    WHERE f.run_id = ${run}
    ORDER BY f.score DESC, f.hunt_id, f.entity`);
  if (rows.length === 0 && values.run) throw new CliError(`no findings for run ${values.run}`);
  const findings: ExportFinding[] = rows.map((r) => {
    const f = { ...r, evidence: JSON.parse(String(r.evidence ?? '{}')) as Record<string, unknown>, attack: (r.attack as string[]) ?? [], ips: (r.ips as string[]) ?? [] } as Record<string, unknown>;
    if (f.certificate === null) delete f.certificate;
    return f as unknown as ExportFinding;
  });
  const kept = filterFindings(findings, { ...(minScore !== undefined ? { minScore } : {}), ...(since ? { since } : {}), ...(values.hunt ? { hunts: values.hunt } : {}) });
  const result = exportWithReport(kept, to, { now: new Date() });
  if (values.output) await fs.writeFile(values.output, result.text);
  else effects.stdout(result.text);
  effects.stderr(`${result.exported} indicator(s) from ${kept.length} finding(s)${values.output ? ` → ${escapeTerminal(values.output)}` : ''}\n`);
  const reasons = new Map<string, number>();
  for (const s of result.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
  for (const [reason, n] of reasons) effects.stderr(`  skipped ${n}: ${escapeTerminal(reason)}\n`);
  return 0;
}

import type { Engine } from '../engine/duckdb.js';
import { listLakeTables } from '../engine/catalog.js';
import { loadProfiles } from '../hunts/profile.js';
import { queryJson } from '../lake/parquet.js';
import { makeContext, parse, type Effects } from './context.js';
import { CliError, usage } from './error.js';
import { escapeTerminal, safeJson } from './escape.js';
import { huntViews, LIBRARY_PROFILES } from './hunt.js';
import { formatRows } from './output.js';
import { sqlString } from '../lake/schema.js';

export const CERT_HELP = `certhunt cert SHA1|SHA256 [--format table|json]

Everything known about one certificate: its fields and enrichment, its findings in the latest
hunt run, every place it was seen (server address and port, server names, clients, first and
last seen) and related certificates (same public key, same subject, same issuer).`;


/**
 * Characters of one field the detail view prints. A 15 MB serial or 10,000 SANs fit the lake
 * and would scroll the hunter's terminal away; --format json still gives every one.
 */
export const MAX_SHOWN = 2000;

function shown(v: unknown): string {
  const text = Array.isArray(v) ? v.join(', ') : String(v);
  if (text.length <= MAX_SHOWN) return escapeTerminal(text);
  const more = Array.isArray(v) ? `${v.length} entries` : `${text.length} characters`;
  return `${escapeTerminal(text.slice(0, MAX_SHOWN))}… (${more} in all: --format json shows them)`;
}

export async function certCommand(args: string[], effects: Effects, engines: Engine[]): Promise<number> {
  const { values, positionals } = parse(args, { profiles: { type: 'string', multiple: true } });
  if (values.help) {
    effects.stdout(CERT_HELP + '\n');
    return 0;
  }
  const hex = (positionals[0] ?? '').replace(/:/g, '').toLowerCase();
  if (positionals.length !== 1 || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(hex)) throw usage(`certhunt cert takes one SHA-1 or SHA-256 (hex)\n${CERT_HELP}`);
  const ctx = makeContext(effects, values, engines);
  const tables = await listLakeTables(ctx.lake);
  if (tables.length === 0) throw new CliError(`no lake at ${ctx.lake}: run certhunt ingest first`);
  const engine = await huntViews(ctx, await loadProfiles([LIBRARY_PROFILES, ...(values.profiles ?? [])]));
  const conn = engine.conn;
  const [cert] = await queryJson(conn, `SELECT * EXCLUDE (der) FROM hunt.certificates WHERE lower(sha256) = ${sqlString(hex)} OR lower(sha1) = ${sqlString(hex)} OR cert_id = ${sqlString(hex)} OR cert_id = ${sqlString('sha1:' + hex)} LIMIT 1`);
  if (!cert) throw new CliError(`no certificate ${hex} in the lake`);
  const id = String(cert.cert_id);
  const findings = tables.some((t) => t.layer === 'gold' && t.name === 'findings')
    ? await queryJson(conn, `SELECT hunt_id, score, severity, title, evidence, run_id FROM gold.findings
        WHERE entity_type = 'certificate' AND entity = ${sqlString(id)} AND run_id = (SELECT max(run_id) FROM gold.findings) ORDER BY score DESC`)
    : [];
  const seen = await queryJson(conn, `SELECT dest_ip, dest_port, list_sort(list(DISTINCT server_name) FILTER (WHERE server_name IS NOT NULL)) AS server_names,
      count(DISTINCT src_ip) AS clients, count(*) AS sessions, min(ts) AS first_seen, max(ts) AS last_seen,
      list_sort(list(DISTINCT source)) AS sources
    FROM hunt.observations WHERE cert_id = ${sqlString(id)} GROUP BY dest_ip, dest_port ORDER BY min(ts)`);
  // Same public key (SPKI SHA-256), same subject, or same issuer (other than a self-issued one's).
  const related = await queryJson(conn, `SELECT r.cert_id, r.common_name, r.issuer, r.not_valid_after,
      concat_ws(', ', CASE WHEN r.spki_sha256 = t.spki_sha256 THEN 'same key' END,
                      CASE WHEN r.subject = t.subject THEN 'same subject' END,
                      CASE WHEN r.issuer = t.issuer THEN 'same issuer' END) AS relation
    FROM hunt.certificates r, (SELECT subject, issuer, spki_sha256 FROM hunt.certificates WHERE cert_id = ${sqlString(id)}) t
    WHERE r.cert_id <> ${sqlString(id)} AND (r.spki_sha256 = t.spki_sha256 OR r.subject = t.subject OR (r.issuer = t.issuer AND r.issuer <> r.subject))
    ORDER BY (r.spki_sha256 = t.spki_sha256) DESC NULLS LAST, (r.subject = t.subject) DESC, r.cert_id LIMIT 50`);
  if (ctx.format === 'json') {
    // safeJson: JSON.stringify leaves C1 and bidi controls from a certificate raw on the terminal.
    effects.stdout(safeJson({ certificate: cert, findings: findings.map((f) => ({ ...f, evidence: JSON.parse(String(f.evidence)) as unknown })), seen, related }, 2) + '\n');
    return 0;
  }
  if (ctx.format !== 'table') {
    ctx.print(seen);
    return 0;
  }
  const fields = Object.entries(cert).filter(([, v]) => v !== null && !(Array.isArray(v) && v.length === 0));
  const width = Math.max(...fields.map(([k]) => k.length));
  effects.stdout(fields.map(([k, v]) => `${k.padEnd(width)}  ${shown(v)}`).join('\n') + '\n');
  effects.stdout(`\nfindings (latest run): ${findings.length}\n`);
  if (findings.length) effects.stdout(formatRows(findings.map(({ evidence: _e, ...f }) => f), 'table'));
  effects.stdout(`\nseen at ${seen.length} server address(es)\n`);
  if (seen.length) effects.stdout(formatRows(seen, 'table'));
  effects.stdout(`\nrelated certificates: ${related.length}\n`);
  if (related.length) effects.stdout(formatRows(related, 'table'));
  return 0;
}

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { run } from '../helpers/cli.js';

/**
 * Every hunt of the library on real data: the brimdata Zeek 6.2 logs (WRCCDC 2018 capture),
 * the real abuse.ch SSL Blacklist and JA3 list. The lake is built by the CLI as a user would;
 * the expected findings are computed here, independently, straight from the raw JSON logs and
 * the intel CSVs in plain TypeScript (own DN parser, own Shannon entropy, own private-range
 * test, own RFC 6125 name matching, own profile matcher), from each hunt's documented rule and
 * the thresholds of its SQL. The hunt's SQL is never run here and no lake table is read to
 * build an expectation: `certhunt hunt <id> --format json` must return exactly the entities
 * computed below (and, where the score does not depend on session counts, the same scores).
 *
 * The brimdata folder holds the same logs twice (Zeek TSV and JSON streaming); `certhunt
 * ingest` reads both, so the lake holds every session twice. The first test checks that both
 * variants hold the same records, which is why reading the JSON variant alone is enough:
 * entity sets and distinct counts are the same, only raw session counts double.
 *
 * No popularity top list is loaded, so every "for no top-list domain" condition holds
 * (moving-infrastructure, new-cert-many-clients, random-subject-fields, rare-issuer,
 * short-lived-unpopular, sni-mismatch's impersonation score) and no registered-domain lookup
 * decides anything on this lake.
 */
const BRIM = new URL('../../../shared/fixtures/zeek-logs/brimdata/', import.meta.url).pathname;
const INTEL = new URL('../../../shared/fixtures/intel/', import.meta.url).pathname;
const SSLBL = join(INTEL, 'sslblacklist.csv');
const JA3 = join(INTEL, 'ja3_fingerprints.csv');
const HUNTS = new URL('../../hunts/', import.meta.url).pathname;
const PROFILES = new URL('../../profiles/', import.meta.url).pathname;
const HAVE = existsSync(BRIM) && existsSync(SSLBL) && existsSync(JA3);
const skip = !HAVE && 'needs /work/shared/fixtures (brimdata Zeek logs and abuse.ch intel)';

const dir = mkdtempSync(join(tmpdir(), 'certhunt-brimdata-'));
const lake = join(dir, 'lake');
after(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Reading the raw logs
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function jsonLines(file: string): Json[] {
  return gunzipSync(readFileSync(join(BRIM, file)))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Json);
}

/** Zeek TSV: `#fields` names the columns, `-` is unset, `(empty)` an empty set, `\xHH` and `\\` escapes. */
function tsvLines(file: string): { fields: string[]; rows: Record<string, string | null>[] } {
  const text = gunzipSync(readFileSync(join(BRIM, file))).toString('utf8');
  let fields: string[] = [];
  const rows: Record<string, string | null>[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (line.startsWith('#fields\t')) fields = line.split('\t').slice(1);
      continue;
    }
    const cells = line.split('\t');
    const row: Record<string, string | null> = {};
    fields.forEach((f, i) => {
      const v = cells[i] ?? '-';
      row[f] = v === '-' ? null : v === '(empty)' ? '' : tsvUnescape(v);
    });
    rows.push(row);
  }
  return { fields, rows };
}

function tsvUnescape(v: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '\\' && v[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(v.slice(i + 2, i + 4))) {
      bytes.push(parseInt(v.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (v[i] === '\\' && i + 1 < v.length) {
      bytes.push(...Buffer.from(v[++i]!));
    } else bytes.push(...Buffer.from(v[i]!));
  }
  return Buffer.from(bytes).toString('utf8');
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const time = (v: unknown): number | null => (typeof v === 'string' ? Date.parse(v) : null);
const DAY = 86_400_000;

/**
 * RFC 4514 attributes as Zeek prints them (OpenSSL XN_FLAG_RFC2253): `,` between RDNs, `+`
 * inside one, `\,` and `\XX` (a UTF-8 byte) escapes. Values unescaped.
 */
function dnAttrs(dn: string | null): [string, string][] {
  if (!dn) return [];
  const out: [string, string][] = [];
  let i = 0;
  while (i < dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) break;
    const type = dn.slice(i, eq).trim();
    const bytes: number[] = [];
    let j = eq + 1;
    for (; j < dn.length && dn[j] !== ',' && dn[j] !== '+'; j++) {
      if (dn[j] === '\\' && /^[0-9A-Fa-f]{2}$/.test(dn.slice(j + 1, j + 3))) {
        bytes.push(parseInt(dn.slice(j + 1, j + 3), 16));
        j += 2;
      } else if (dn[j] === '\\' && j + 1 < dn.length) {
        bytes.push(...Buffer.from(dn[++j]!));
      } else bytes.push(...Buffer.from(dn[j]!));
    }
    out.push([type, Buffer.from(bytes).toString('utf8')]);
    i = j + 1;
  }
  return out;
}

/** The first (most specific, as printed) value of an attribute type. */
function dnPart(dn: string | null, type: string): string | null {
  const hit = dnAttrs(dn).find(([t]) => t === type);
  return hit ? hit[1] : null;
}

function commonNameOf(dn: string | null): string | null {
  const hit = dnAttrs(dn).find(([t]) => t.toUpperCase() === 'CN' || t === '2.5.4.3');
  return hit ? hit[1] : null;
}

/** Shannon entropy in bits per character (code point). */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  const chars = [...s];
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / chars.length) * Math.log2(n / chars.length);
  return Math.abs(h);
}

/** RFC 1918, loopback, link-local; RFC 4193 ULA, IPv6 link-local and loopback. */
function internal(ip: string | null): boolean {
  if (!ip) return false;
  const v = isIP(ip);
  if (v === 4) {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    return a === 10 || a === 127 || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31);
  }
  if (v === 6) {
    const s = ip.toLowerCase();
    if (s === '::1') return true;
    const first = s.startsWith('::') ? 0 : parseInt(s.split(':')[0]!, 16);
    return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
  }
  return false;
}

const endpoint = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

interface Cert {
  id: string;
  /** Digests the log gives: Zeek's x509 `fingerprint` (SHA-256 by default; 40 hex would be SHA-1). */
  sha256: string | null;
  sha1: string | null;
  serial: string | null;
  version: number | null;
  subject: string | null;
  issuer: string | null;
  cn: string | null;
  sans: string[];
  sanIp: string[];
  isCa: boolean | null;
  nvb: number | null;
  nva: number | null;
  keyAlg: string | null;
  keyType: string | null;
  keyLength: number | null;
  sigAlg: string | null;
  /** Seen in x509.log, which logs the SANs; known_certs.log does not. */
  fromX509: boolean;
  firstSeen: number | null;
}

interface Session {
  ts: number;
  uid: string;
  src: string;
  dst: string;
  dport: number;
  version: string | null;
  sni: string | null;
  established: boolean | null;
  status: string | null;
  /** The leaf: first of cert_chain_fps. */
  cert: string | null;
  ja3: string | null;
}

const selfIssued = (c: Cert | undefined) => !!c && c.subject !== null && c.issuer !== null && c.subject === c.issuer;
const validityDays = (c: Cert) => (c.nvb === null || c.nva === null ? null : Math.trunc((c.nva - c.nvb) / 1000) / 86400);
const snis = (s: Session) => (s.sni === null || s.sni.trim() === '' ? null : s.sni.toLowerCase().replace(/\.+$/, ''));

interface Data {
  x509: Json[];
  ssl: Json[];
  knownCerts: Json[];
  certs: Map<string, Cert>;
  sessions: Session[];
  /** Every observation time (ssl and known_certs), for the data's bounds. */
  observationTimes: number[];
  sessionsByCert: Map<string, Session[]>;
  sslbl: { sha1: string; reason: string }[];
  ja3: { md5: string; reason: string }[];
}

let data: Data;

function load(): Data {
  const x509 = jsonLines('zeek-json_x509.json.gz');
  const ssl = jsonLines('zeek-json_ssl.json.gz');
  const knownCerts = jsonLines('zeek-json_known_certs.json.gz');
  const certs = new Map<string, Cert>();
  for (const r of x509) {
    const fp = String(r.fingerprint).toLowerCase();
    const subject = str(r['certificate.subject']);
    const c: Cert = {
      id: fp,
      sha256: fp.length === 64 ? fp : null,
      sha1: fp.length === 40 ? fp : null,
      serial: str(r['certificate.serial'])?.toLowerCase() ?? null,
      version: num(r['certificate.version']),
      subject,
      issuer: str(r['certificate.issuer']),
      cn: commonNameOf(subject),
      sans: strs(r['san.dns']),
      sanIp: strs(r['san.ip']),
      isCa: typeof r['basic_constraints.ca'] === 'boolean' ? (r['basic_constraints.ca'] as boolean) : null,
      nvb: time(r['certificate.not_valid_before']),
      nva: time(r['certificate.not_valid_after']),
      keyAlg: str(r['certificate.key_alg']),
      keyType: str(r['certificate.key_type']),
      keyLength: num(r['certificate.key_length']),
      sigAlg: str(r['certificate.sig_alg']),
      fromX509: true,
      firstSeen: time(r.ts),
    };
    const had = certs.get(fp);
    if (had) had.firstSeen = Math.min(had.firstSeen ?? Infinity, c.firstSeen ?? Infinity);
    else certs.set(fp, c);
  }
  // known_certs names a certificate by issuer and serial (RFC 5280 makes the pair unique): the
  // x509.log certificate with that pair, else a certificate known by them alone.
  for (const r of knownCerts) {
    const issuer = str(r.issuer_subject);
    const serial = str(r.serial)?.toLowerCase() ?? null;
    const ts = time(r.ts);
    const same = [...certs.values()].find((c) => c.issuer === issuer && c.serial === serial);
    if (same) {
      same.firstSeen = Math.min(same.firstSeen ?? Infinity, ts ?? Infinity);
      continue;
    }
    const id = `issuer-serial:${issuer}|${serial}`;
    const subject = str(r.subject);
    if (!certs.has(id)) {
      certs.set(id, {
        id, sha256: null, sha1: null, serial, version: null, subject, issuer, cn: commonNameOf(subject), sans: [], sanIp: [], isCa: null,
        nvb: null, nva: null, keyAlg: null, keyType: null, keyLength: null, sigAlg: null, fromX509: false, firstSeen: ts,
      });
    }
  }
  const sessions: Session[] = ssl.map((r) => {
    const chain = strs(r.cert_chain_fps);
    return {
      ts: time(r.ts)!,
      uid: String(r.uid),
      src: String(r['id.orig_h']),
      dst: String(r['id.resp_h']),
      dport: Number(r['id.resp_p']),
      version: str(r.version),
      sni: str(r.server_name),
      established: typeof r.established === 'boolean' ? r.established : null,
      status: str(r.validation_status),
      cert: chain.length > 0 ? chain[0]!.toLowerCase() : null,
      ja3: str(r.ja3),
    };
  });
  const sessionsByCert = new Map<string, Session[]>();
  for (const s of sessions) {
    if (s.cert === null) continue;
    if (!sessionsByCert.has(s.cert)) sessionsByCert.set(s.cert, []);
    sessionsByCert.get(s.cert)!.push(s);
  }
  const csv = (file: string) =>
    readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.split(','));
  const sslbl = csv(SSLBL).map(([, sha1, reason]) => ({ sha1: sha1!.trim().toLowerCase(), reason: reason ?? '' }));
  const ja3 = csv(JA3).map(([md5, , , reason]) => ({ md5: md5!.trim().toLowerCase(), reason: reason ?? '' }));
  const observationTimes = [...sessions.map((s) => s.ts), ...knownCerts.map((r) => time(r.ts)!)];
  return { x509, ssl, knownCerts, certs, sessions, observationTimes, sessionsByCert, sslbl, ja3 };
}

// ---------------------------------------------------------------------------------------------
// The hunts' parameters that are data, not logic (profiles, zone lists, tool defaults)
// ---------------------------------------------------------------------------------------------

function huntSql(id: string): string {
  return (parseYaml(readFileSync(join(HUNTS, `${id}.yaml`), 'utf8')) as { sql: string }).sql;
}

/** The VALUES tuples of a hunt's SQL whose first column is a DNS zone. */
function zonesOf(id: string): string[] {
  const zones = [...huntSql(id).matchAll(/\('([a-z0-9-]+(?:\.[a-z0-9-]+)+)',\s*'[^']*'(?:,\s*'[^']*')?\)/g)].map((m) => m[1]!);
  assert.ok(zones.length >= 50, `${id}: zone list read from its VALUES (${zones.length})`);
  return zones;
}

interface ProfileMatch {
  subject?: string; issuer?: string; serial?: string; sha1?: string; sha256?: string;
  subject_regex?: string; issuer_regex?: string; self_issued?: boolean;
}

function loadProfiles(): { id: string; match: ProfileMatch[] }[] {
  return readdirSync(PROFILES)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => {
      const p = parseYaml(readFileSync(join(PROFILES, n), 'utf8')) as { id: string; match: ProfileMatch | ProfileMatch[] };
      return { id: p.id, match: Array.isArray(p.match) ? p.match : [p.match] };
    });
}

const hex = (s: string) => s.replace(/:/g, '').toLowerCase();
const fullMatch = (re: string, s: string | null) => new RegExp(`^(?:${re})$`).test(s ?? '');

/** The first profile (files in name order) one of whose alternatives the certificate meets in full. */
function profileOf(c: Cert, profiles: ReturnType<typeof loadProfiles>): string | null {
  for (const p of profiles) {
    const ok = p.match.some(
      (m) =>
        (m.subject === undefined || c.subject === m.subject) &&
        (m.issuer === undefined || c.issuer === m.issuer) &&
        (m.serial === undefined || c.serial === hex(m.serial)) &&
        (m.sha1 === undefined || c.sha1 === hex(m.sha1)) &&
        (m.sha256 === undefined || c.sha256 === hex(m.sha256)) &&
        (m.subject_regex === undefined || fullMatch(m.subject_regex, c.subject)) &&
        (m.issuer_regex === undefined || fullMatch(m.issuer_regex, c.issuer)) &&
        (m.self_issued === undefined || selfIssued(c) === m.self_issued),
    );
    if (ok) return p.id;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Running a hunt and comparing
// ---------------------------------------------------------------------------------------------

interface Finding {
  hunt_id: string;
  entity: string;
  score: number;
  evidence: Record<string, unknown>;
}

async function hunt(id: string): Promise<Finding[]> {
  const r = await run('hunt', id, '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const findings = JSON.parse(r.out) as Finding[];
  assert.ok(findings.every((f) => f.hunt_id === id), `${id}: only its own findings`);
  assert.equal(new Set(findings.map((f) => f.entity)).size, findings.length, `${id}: one finding per entity`);
  return findings;
}

/** Exactly the expected entities; with a score map, exactly those scores too. */
function assertFindings(id: string, got: Finding[], expected: Iterable<string> | Map<string, number>): void {
  const want = expected instanceof Map ? [...expected.keys()] : [...expected];
  assert.deepEqual(got.map((f) => f.entity).sort(), [...new Set(want)].sort(), `${id}: entities`);
  if (expected instanceof Map) {
    for (const f of got) {
      const s = expected.get(f.entity)!;
      assert.ok(Math.abs(f.score - s) < 1e-9, `${id}: score of ${f.entity} is ${f.score}, expected ${s}`);
    }
  }
}

/** How many entities the expectation holds, reported with the test. */
function count(t: TestContext, id: string, expected: Iterable<string> | Map<string, number>): number {
  const n = expected instanceof Map ? expected.size : new Set(expected).size;
  t.diagnostic(`${id}: ${n} entities on brimdata`);
  return n;
}

before(async () => {
  if (!HAVE) return;
  data = load();
  const ingest = await run('ingest', BRIM, '--lake', lake);
  assert.equal(ingest.code, 0, ingest.err);
  assert.equal((await run('intel', SSLBL, '--lake', lake)).code, 0);
  assert.equal((await run('intel', JA3, '--lake', lake)).code, 0);
});

// ---------------------------------------------------------------------------------------------
// The data
// ---------------------------------------------------------------------------------------------

test('the TSV and JSON variants of the brimdata logs hold the same records', { skip }, () => {
  const ssl = tsvLines('zeek-default_ssl.log.gz');
  assert.equal(ssl.rows.length, data.ssl.length);
  const key = (uid: unknown, src: unknown, dst: unknown, port: unknown, leaf: unknown, status: unknown, sni: unknown) =>
    [uid, src, dst, port, leaf ?? '', status ?? '', sni ?? ''].join('|');
  const fromTsv = ssl.rows.map((r) => key(r.uid, r['id.orig_h'], r['id.resp_h'], r['id.resp_p'], r.cert_chain_fps?.split(',')[0] || null, r.validation_status, r.server_name)).sort();
  const fromJson = data.ssl.map((r) => key(r.uid, r['id.orig_h'], r['id.resp_h'], String(r['id.resp_p']), strs(r.cert_chain_fps)[0], r.validation_status, r.server_name)).sort();
  assert.deepEqual(fromTsv, fromJson);
  const x509 = tsvLines('zeek-default_x509.log.gz');
  assert.deepEqual(
    x509.rows.map((r) => `${r.fingerprint}|${r['certificate.subject']}|${r['certificate.issuer']}|${r['san.dns'] ?? ''}`).sort(),
    data.x509.map((r) => `${String(r.fingerprint)}|${str(r['certificate.subject'])}|${str(r['certificate.issuer'])}|${strs(r['san.dns']).join(',')}`).sort(),
  );
  const known = tsvLines('zeek-default_known_certs.log.gz');
  assert.equal(known.rows.length, data.knownCerts.length);
  // This Zeek (6.2, default scripts) logs neither JA3 nor the certificates' DER or SHA-1.
  assert.ok(!ssl.fields.includes('ja3') && !ssl.fields.includes('ja3s'), `ssl.log fields: ${ssl.fields.join(' ')}`);
  assert.ok(!x509.fields.includes('cert'), `x509.log fields: ${x509.fields.join(' ')}`);
});

// ---------------------------------------------------------------------------------------------
// One test per hunt
// ---------------------------------------------------------------------------------------------

test('blacklisted-certificates: nothing, because no certificate of brimdata has a SHA-1', { skip }, async (t) => {
  // The SSL Blacklist is keyed by SHA-1; Zeek 6.2 fingerprints with SHA-256 and does not log the
  // DER (log-certs-base64), so no SHA-1 is known and no certificate can be matched. The
  // blacklist itself is real and full.
  assert.ok(data.sslbl.length > 5000 && data.sslbl.every((e) => /^[0-9a-f]{40}$/.test(e.sha1)), `${data.sslbl.length} SHA-1 entries`);
  assert.ok(data.x509.every((r) => /^[0-9a-f]{64}$/.test(String(r.fingerprint)) && r.cert === undefined), 'every fingerprint is a SHA-256 and no DER is logged');
  assert.ok([...data.certs.values()].every((c) => c.sha1 === null), 'no certificate has a SHA-1');
  const listed = new Set(data.sslbl.map((e) => e.sha1));
  const expected = [...data.certs.values()].filter((c) => c.sha1 !== null && listed.has(c.sha1)).map((c) => c.id);
  assert.equal(count(t, 'blacklisted-certificates', expected), 0);
  assertFindings('blacklisted-certificates', await hunt('blacklisted-certificates'), expected);
});

test('blacklisted-ja3: nothing, because this Zeek logs no JA3', { skip }, async (t) => {
  // JA3 comes from a Zeek package (salesforce/ja3) that brimdata's default configuration does
  // not load: no ssl.log row has a ja3, so the real JA3 list can match nothing.
  assert.ok(data.ja3.length > 90 && data.ja3.every((e) => /^[0-9a-f]{32}$/.test(e.md5)), `${data.ja3.length} JA3 entries`);
  assert.ok(data.ssl.every((r) => r.ja3 === undefined && r.ja3s === undefined), 'no ssl row has a ja3');
  const listed = new Set(data.ja3.map((e) => e.md5));
  const expected = data.sessions.filter((s) => s.ja3 !== null && listed.has(s.ja3.toLowerCase())).map((s) => s.src);
  assert.equal(count(t, 'blacklisted-ja3', expected), 0);
  assertFindings('blacklisted-ja3', await hunt('blacklisted-ja3'), expected);
});

test('default-c2-certificate: certificates matching a C2 profile (none on brimdata)', { skip }, async (t) => {
  const profiles = loadProfiles();
  assert.ok(profiles.length >= 6, `${profiles.length} profiles`);
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    const p = profileOf(c, profiles);
    if (p) expected.set(c.id, p === 'metasploit-random' || p === 'sliver-random' ? 70 : 90);
  }
  assert.equal(count(t, 'default-c2-certificate', expected), 0);
  assertFindings('default-c2-certificate', await hunt('default-c2-certificate'), expected);
});

test('dynamic-dns-sni: SNIs under a dynamic-DNS or tunnelling zone (none on brimdata)', { skip }, async (t) => {
  const zones = zonesOf('dynamic-dns-sni');
  assert.ok(zones.includes('duckdns.org') && zones.includes('trycloudflare.com'), 'dynamic DNS and tunnel zones');
  const tunnels = new Set([...huntSql('dynamic-dns-sni').matchAll(/\('([^']+)',\s*'[^']*',\s*'tunnel'\)/g)].map((m) => m[1]!));
  const expected = new Map<string, number>();
  for (const s of data.sessions) {
    const sni = snis(s);
    if (sni === null) continue;
    const zone = zones.find((z) => sni.endsWith(`.${z}`) && sni !== `www.${z}`);
    if (zone) expected.set(sni, Math.max(expected.get(sni) ?? 0, tunnels.has(zone) ? 55 : 45));
  }
  assert.equal(count(t, 'dynamic-dns-sni', expected), 0);
  assertFindings('dynamic-dns-sni', await hunt('dynamic-dns-sni'), expected);
});

test('dynamic-dns-wildcard: certificates for dynamic-DNS names (none on brimdata)', { skip }, async (t) => {
  const zones = zonesOf('dynamic-dns-wildcard');
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    const names = [c.cn, ...c.sans].filter((n): n is string => n !== null).map((n) => n.toLowerCase().replace(/\.+$/, ''));
    const hits = names.filter((n) => zones.some((z) => n.endsWith(`.${z}`) && n !== `*.${z}` && n !== `www.${z}`));
    if (hits.length > 0) expected.set(c.id, hits.some((n) => n.startsWith('*.')) ? 70 : 45);
  }
  assert.equal(count(t, 'dynamic-dns-wildcard', expected), 0);
  assertFindings('dynamic-dns-wildcard', await hunt('dynamic-dns-wildcard'), expected);
});

test('expired-in-use: certificates used after expiry or over a day before validity (none on brimdata)', { skip }, async (t) => {
  const expected = new Set<string>();
  for (const s of data.sessions) {
    const c = s.cert === null ? undefined : data.certs.get(s.cert);
    if (!c || c.nva === null || c.nvb === null) continue;
    if (s.ts > c.nva || s.ts < c.nvb - DAY) expected.add(c.id);
  }
  // What the data holds: certificates already expired at the capture (nessus' expired in
  // 2017), but no session presented one.
  const captured = Math.min(...data.observationTimes);
  const expired = [...data.certs.values()].filter((c) => c.nva !== null && c.nva < captured);
  assert.ok(expired.length > 0 && expired.every((c) => !data.sessionsByCert.has(c.id)), `${expired.length} expired certificates, none in a session`);
  assert.equal(count(t, 'expired-in-use', expected), 0);
  assertFindings('expired-in-use', await hunt('expired-in-use'), expected);
});

/** Subject under 15 characters, common-name entropy above 1.5 bits: certificate → entropy. */
function highEntropyShortNames(): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of data.certs.values()) {
    if (c.subject === null || c.cn === null || c.subject.length >= 15) continue;
    const h = entropy(c.cn);
    if (h > 1.5) out.set(c.id, h);
  }
  return out;
}

test('high-entropy-short-names: short subjects with a random-looking common name', { skip }, async (t) => {
  const expected = highEntropyShortNames();
  assert.equal(count(t, 'high-entropy-short-names', expected), 12);
  const got = await hunt('high-entropy-short-names');
  assertFindings('high-entropy-short-names', got, expected.keys());
  // Scored 30 + 5 x entropy (rounded to 6 places), so that the ranked findings keep the highest entropy first.
  for (const f of got) assert.ok(Math.abs(f.score - (30 + 5 * expected.get(f.entity)!)) < 1e-5, `score of ${f.entity}: ${f.score}`);
});

test('invalid-cert-accepted: internal clients completing handshakes with external servers failing validation', { skip }, async (t) => {
  const chainOnly = new Set(['unable to get local issuer certificate', 'unable to get issuer certificate', 'unable to verify the first certificate']);
  const accepted = data.sessions.filter(
    (s) => s.established === true && s.status !== null && s.status !== '' && s.status.toLowerCase() !== 'ok' && !chainOnly.has(s.status.toLowerCase()) && internal(s.src) && !internal(s.dst),
  );
  const expected = new Set(accepted.map((s) => s.src));
  assert.equal(count(t, 'invalid-cert-accepted', expected), 1);
  assertFindings('invalid-cert-accepted', await hunt('invalid-cert-accepted'), expected);
});

test('ip-as-common-name: certificates whose common name is an IP address', { skip }, async (t) => {
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    if (c.cn === null || isIP(c.cn) === 0) continue;
    const priv = internal(c.cn);
    const servedFromIt = (data.sessionsByCert.get(c.id) ?? []).some((s) => s.dst.toLowerCase() === c.cn!.toLowerCase());
    expected.set(c.id, (priv ? 20 : selfIssued(c) ? 55 : 40) + (servedFromIt && !priv ? 10 : 0));
  }
  assert.equal(count(t, 'ip-as-common-name', expected), 1);
  assertFindings('ip-as-common-name', await hunt('ip-as-common-name'), expected);
});

test('long-validity-self-signed: self-issued certificates valid for more than 825 days', { skip }, async (t) => {
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    const days = validityDays(c);
    if (days === null || days <= 825 || !selfIssued(c)) continue;
    if (c.isCa === true && !data.sessionsByCert.has(c.id)) continue; // a root only when a session used it as leaf
    expected.set(c.id, days >= 3650 ? 55 : days >= 1825 ? 45 : 35);
  }
  assert.equal(count(t, 'long-validity-self-signed', expected), 5);
  assertFindings('long-validity-self-signed', await hunt('long-validity-self-signed'), expected);
});

test('moving-infrastructure: one certificate on three or more external addresses or five or more names', { skip }, async (t) => {
  // No top list is loaded, so "belongs to no top-list domain" holds for every certificate.
  const perCert = new Map<string, { ips: Map<string, { first: number; last: number }>; names: Set<string> }>();
  for (const s of data.sessions) {
    if (s.cert === null || internal(s.dst)) continue;
    if (!perCert.has(s.cert)) perCert.set(s.cert, { ips: new Map(), names: new Set() });
    const p = perCert.get(s.cert)!;
    const ip = p.ips.get(s.dst) ?? { first: s.ts, last: s.ts };
    p.ips.set(s.dst, { first: Math.min(ip.first, s.ts), last: Math.max(ip.last, s.ts) });
    if (s.sni !== null && s.sni !== '') p.names.add(s.sni.toLowerCase());
  }
  const expected = new Map<string, number>();
  for (const [id, p] of perCert) {
    if (p.ips.size < 3 && p.names.size < 5) continue;
    const windows = [...p.ips.values()];
    const moved = Math.max(...windows.map((w) => w.first)) > Math.min(...windows.map((w) => w.last)) + DAY;
    const beyond = Math.max(0, p.ips.size - 3);
    expected.set(id, moved ? 55 + 5 * Math.min(4, beyond) : 30 + 2 * Math.min(5, beyond));
  }
  assert.equal(count(t, 'moving-infrastructure', expected), 51);
  assertFindings('moving-infrastructure', await hunt('moving-infrastructure'), expected);
});

test('new-cert-many-clients: nothing, because the capture spans minutes, not the 14 days a baseline needs', { skip }, async (t) => {
  const start = Math.min(...data.observationTimes);
  const end = Math.max(...data.observationTimes);
  // The WRCCDC capture covers about 21 minutes of 2018-03-24.
  assert.ok(end - start < DAY, `capture spans ${(end - start) / 60000} minutes`);
  const expected = new Set<string>();
  if (start <= end - 14 * DAY) {
    const firstOfName = new Map<string, number>();
    const certFirst = (c: Cert) => Math.min(c.firstSeen ?? Infinity, ...(data.sessionsByCert.get(c.id) ?? []).map((s) => s.ts));
    for (const c of data.certs.values()) {
      if (c.cn !== null) firstOfName.set(c.cn.toLowerCase(), Math.min(firstOfName.get(c.cn.toLowerCase()) ?? Infinity, certFirst(c)));
    }
    for (const c of data.certs.values()) {
      const first = certFirst(c);
      const clients = new Set((data.sessionsByCert.get(c.id) ?? []).filter((s) => internal(s.src) && !internal(s.dst)).map((s) => s.src));
      const nameFirst = c.cn === null ? undefined : firstOfName.get(c.cn.toLowerCase());
      if (first >= end - 7 * DAY && clients.size >= 5 && (nameFirst === undefined || nameFirst >= first)) expected.add(c.id);
    }
  }
  assert.equal(count(t, 'new-cert-many-clients', expected), 0);
  assertFindings('new-cert-many-clients', await hunt('new-cert-many-clients'), expected);
});

test('malformed-certificate: without the DER only cut lists show, and no certificate of the capture lists 10,000 names', { skip }, async (t) => {
  // x509.log carries no DER here (no log-certs-base64): the only warning a log line can give
  // this hunt is a list cut at 10,000 entries (certfile.ts boundLists).
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    if (c.sans.length <= 10_000 && c.sanIp.length <= 10_000) continue;
    const seen = data.sessionsByCert.get(c.id) ?? [];
    expected.set(c.id, 60 - (seen.length > 0 && seen.every((s) => internal(s.dst)) ? 10 : 0));
  }
  assert.equal(count(t, 'malformed-certificate', expected), 0);
  assertFindings('malformed-certificate', await hunt('malformed-certificate'), expected);
});

test('no-sans: leaf certificates from x509.log without DNS or IP SANs', { skip }, async (t) => {
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    if (c.isCa === true || c.sans.length > 0 || c.sanIp.length > 0 || !c.fromX509) continue;
    const seen = data.sessionsByCert.get(c.id) ?? [];
    if (seen.length > 0 && seen.every((s) => s.dport === 3389)) continue; // RDP listeners
    const score = (selfIssued(c) ? 45 : 30) + (c.version === 1 ? 10 : 0) - (seen.length === 0 ? 15 : seen.every((s) => internal(s.dst)) ? 10 : 0);
    expected.set(c.id, Math.max(5, score));
  }
  assert.equal(count(t, 'no-sans', expected), 3);
  assertFindings('no-sans', await hunt('no-sans'), expected);
});

/** Documented: a run of six or more consonants, or one alphanumeric token of 8+ switching letters/digits three times. */
function randomLooking(value: string): boolean {
  if (/[bcdfghjklmnpqrstvwxz]{6,}/.test(value.toLowerCase())) return true;
  if (value.length < 8 || !/^[A-Za-z0-9]+$/.test(value)) return false;
  let switches = 0;
  for (let i = 1; i < value.length; i++) if (/[0-9]/.test(value[i]!) !== /[0-9]/.test(value[i - 1]!)) switches++;
  return switches >= 3;
}

test('random-subject-fields: random-looking O, OU, L or ST (none on brimdata)', { skip }, async (t) => {
  // No top list is loaded; certificates of a known C2 profile are left to default-c2-certificate.
  const profiles = loadProfiles();
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    if (profileOf(c, profiles) !== null) continue;
    const random = ['O', 'OU', 'L', 'ST'].map((t) => dnPart(c.subject, t)).filter((v): v is string => v !== null && randomLooking(v));
    if (random.length === 0) continue;
    const cn = c.cn;
    const randomCn = cn !== null && !cn.includes('.') && !cn.includes(' ') && cn.length >= 10 && entropy(cn) >= 3.3;
    expected.set(c.id, Math.min(80, 35 + 15 * (random.length - 1) + (randomCn ? 10 : 0)));
  }
  assert.equal(count(t, 'random-subject-fields', expected), 0);
  assertFindings('random-subject-fields', await hunt('random-subject-fields'), expected);
});

test('rare-issuer: issuers served from one or two external addresses', { skip }, async (t) => {
  // No top list is loaded, so no issuer is left out for a popular domain.
  const external = data.sessions.filter((s) => s.cert !== null && !internal(s.dst));
  const networkIps = new Set(external.map((s) => s.dst));
  assert.ok(networkIps.size >= 10, `${networkIps.size} external servers`);
  const byIssuer = new Map<string, { ips: Set<string>; clients: Set<string>; validated: boolean }>();
  for (const s of external) {
    const c = data.certs.get(s.cert!);
    if (!c || !c.issuer) continue;
    if (!byIssuer.has(c.issuer)) byIssuer.set(c.issuer, { ips: new Set(), clients: new Set(), validated: false });
    const b = byIssuer.get(c.issuer)!;
    b.ips.add(s.dst);
    b.clients.add(s.src);
    if (s.status?.toLowerCase() === 'ok') b.validated = true;
  }
  const expected = new Map<string, number>();
  for (const [issuer, b] of byIssuer) {
    if (b.ips.size <= 2 && !b.validated) expected.set(issuer, 30 + 20 / b.ips.size + (b.clients.size === 1 ? 5 : 0));
  }
  assert.equal(count(t, 'rare-issuer', expected), 7);
  assertFindings('rare-issuer', await hunt('rare-issuer'), expected);
});

test('self-signed-external: self-issued certificates internal clients got from the Internet (none on brimdata)', { skip }, async (t) => {
  const tlsPorts = new Set([21, 25, 110, 143, 389, 443, 465, 563, 587, 636, 853, 989, 990, 992, 993, 994, 995, 3269, 3389, 5061, 5222, 5223, 5269, 5671, 5986, 8443, 8883]);
  const expected = new Map<string, number>();
  for (const s of data.sessions) {
    // Documented: the internal client completed the handshake with the external server.
    if (s.cert === null || s.established !== true || !internal(s.src) || internal(s.dst)) continue;
    const c = data.certs.get(s.cert);
    if (!selfIssued(c) && s.status !== 'self signed certificate' && s.status !== 'self-signed certificate') continue;
    expected.set(s.cert, Math.max(expected.get(s.cert) ?? 0, tlsPorts.has(s.dport) ? 55 : 70));
  }
  // What the data does hold: self-signed certificates, but only on internal servers.
  const selfSignedServers = data.sessions.filter((s) => s.cert !== null && (selfIssued(data.certs.get(s.cert)) || s.status === 'self signed certificate'));
  assert.ok(selfSignedServers.length > 0 && selfSignedServers.every((s) => internal(s.dst)), 'self-signed certificates only on internal servers');
  assert.equal(count(t, 'self-signed-external', expected), 0);
  assertFindings('self-signed-external', await hunt('self-signed-external'), expected);
});

test('short-lived-unpopular: certificates valid for 30 days or less (none on brimdata)', { skip }, async (t) => {
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    const days = validityDays(c);
    if (days === null || days > 30 || c.isCa === true) continue;
    const seen = data.sessionsByCert.get(c.id) ?? [];
    if (seen.length > 0 && seen.every((s) => internal(s.dst))) continue;
    expected.set(c.id, (days <= 0 ? 60 : days < 1 ? 50 : days <= 7 ? 40 : 35) + (selfIssued(c) ? 10 : 0));
  }
  // What the data holds: nothing shorter-lived than the 90 days of Let's Encrypt.
  const shortest = Math.min(...[...data.certs.values()].map((c) => validityDays(c) ?? Infinity));
  assert.ok(shortest > 30, `shortest validity ${shortest} days`);
  assert.equal(count(t, 'short-lived-unpopular', expected), 0);
  assertFindings('short-lived-unpopular', await hunt('short-lived-unpopular'), expected);
});

test('shortest-issuers: certificates with an issuer of 32 characters or fewer', { skip }, async (t) => {
  // Scored 40 less the issuer's length, so that the ranked findings keep the shortest first.
  const expected = new Map(
    [...data.certs.values()].filter((c) => c.issuer !== null && c.issuer !== '' && c.issuer.length <= 32).map((c) => [c.id, 40 - c.issuer!.length]),
  );
  assert.equal(count(t, 'shortest-issuers', expected), 11);
  assertFindings('shortest-issuers', await hunt('shortest-issuers'), expected);
});

/** RFC 6125 as documented: case-insensitive, trailing dot ignored, a wildcard covers one left-most label. */
function covers(name: string, sni: string): boolean {
  const n = name.toLowerCase().replace(/\.+$/, '');
  if (n === sni) return true;
  if (!n.startsWith('*.')) return false;
  const dot = sni.indexOf('.');
  return dot > 0 && sni.slice(dot + 1) === n.slice(2);
}

test('sni-mismatch: sessions whose SNI the certificate does not cover', { skip }, async (t) => {
  // Every x509.log certificate is judged (x509.log logs the SANs); no top list is loaded, so
  // no mismatch is a popular-site impersonation (70): an IP SNI scores 30, others 45.
  const mismatched = new Map<string, Session[]>();
  for (const s of data.sessions) {
    const sni = snis(s);
    const c = s.cert === null ? undefined : data.certs.get(s.cert);
    if (sni === null || !c) continue;
    const judged = c.sans.length > 0 || c.sanIp.length > 0 || (c.cn !== null && c.fromX509);
    if (!judged) continue;
    const names = [c.cn, ...c.sans, ...c.sanIp].filter((n): n is string => n !== null);
    if (names.some((n) => covers(n, sni))) continue;
    if (!mismatched.has(c.id)) mismatched.set(c.id, []);
    mismatched.get(c.id)!.push(s);
  }
  const expected = new Map<string, number>();
  for (const [id, ss] of mismatched) expected.set(id, ss.every((s) => isIP(snis(s)!) !== 0) ? 30 : 45);
  assert.equal(count(t, 'sni-mismatch', expected), 3);
  assertFindings('sni-mismatch', await hunt('sni-mismatch'), expected);
});

/** Per issuer: its certificates, and the source and destination addresses of their sessions. */
function stackIssuers(): Map<string, { certs: Set<string>; srcs: Set<string>; dsts: Set<string> }> {
  const out = new Map<string, { certs: Set<string>; srcs: Set<string>; dsts: Set<string> }>();
  for (const c of data.certs.values()) {
    if (!c.issuer) continue;
    if (!out.has(c.issuer)) out.set(c.issuer, { certs: new Set(), srcs: new Set(), dsts: new Set() });
    const g = out.get(c.issuer)!;
    g.certs.add(c.id);
    for (const s of data.sessionsByCert.get(c.id) ?? []) {
      g.srcs.add(s.src);
      g.dsts.add(s.dst);
    }
  }
  return out;
}

test('stack-issuers: every issuer', { skip }, async (t) => {
  const expected = new Map([...stackIssuers()].map(([issuer, g]) => [issuer, 10 / (g.certs.size + g.dsts.size)]));
  assert.equal(count(t, 'stack-issuers', expected), 67);
  assertFindings('stack-issuers', await hunt('stack-issuers'), expected);
});

test('subject-many-issuers: one leaf subject under several issuing organisations (none on brimdata)', { skip }, async (t) => {
  const bySubject = new Map<string, { orgs: Set<string>; self: boolean; ca: boolean }>();
  for (const c of data.certs.values()) {
    if (!c.subject || !c.issuer || c.isCa === true) continue;
    if (!bySubject.has(c.subject)) bySubject.set(c.subject, { orgs: new Set(), self: false, ca: false });
    const b = bySubject.get(c.subject)!;
    b.orgs.add(dnPart(c.issuer, 'O') ?? c.issuer);
    if (selfIssued(c)) b.self = true;
    else b.ca = true;
  }
  const expected = new Map<string, number>();
  for (const [subject, b] of bySubject) {
    if (b.orgs.size >= 2 || (b.self && b.ca)) expected.set(subject, b.self && b.ca ? 65 : b.orgs.size >= 3 ? 40 : 25);
  }
  assert.equal(count(t, 'subject-many-issuers', expected), 0);
  assertFindings('subject-many-issuers', await hunt('subject-many-issuers'), expected);
});

test('tls-on-other-ports: servers answering TLS on the ports of SSH, DNS, HTTP, SMB…', { skip }, async (t) => {
  const ports = new Set([22, 23, 53, 80, 123, 135, 137, 139, 445]);
  const expected = new Map<string, number>();
  for (const s of data.sessions) {
    if (!ports.has(s.dport)) continue;
    // The server answered in TLS: a version, a certificate or a completed handshake.
    if (s.version === null && s.cert === null && s.established !== true) continue;
    expected.set(endpoint(s.dst, s.dport), internal(s.dst) ? 40 : s.dport === 80 ? 55 : 60);
  }
  // What the data holds: client hellos to those ports (scanners), no server answering in TLS.
  assert.ok(data.sessions.some((s) => ports.has(s.dport)), 'sessions to ports of other protocols');
  assert.equal(count(t, 'tls-on-other-ports', expected), 0);
  assertFindings('tls-on-other-ports', await hunt('tls-on-other-ports'), expected);
});

test('tool-default-subject: subjects left at a tool\'s defaults', { skip }, async (t) => {
  const defaults = [...huntSql('tool-default-subject').matchAll(/\('(CN|O|OU|L|ST|C)',\s*'([^']*)',\s*'[^']*'\)/g)].map((m) => [m[1]!, m[2]!] as const);
  assert.ok(defaults.length >= 10 && defaults.some(([p, v]) => p === 'O' && v === 'Internet Widgits Pty Ltd'), `${defaults.length} defaults`);
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    if (!defaults.some(([part, value]) => dnPart(c.subject, part) === value)) continue;
    const outbound = (data.sessionsByCert.get(c.id) ?? []).some((s) => internal(s.src) && !internal(s.dst));
    expected.set(c.id, outbound ? 50 : 25);
  }
  assert.equal(count(t, 'tool-default-subject', expected), 2);
  assertFindings('tool-default-subject', await hunt('tool-default-subject'), expected);
});

test('weak-key-or-signature: short keys and MD/SHA-1 signatures', { skip }, async (t) => {
  const expected = new Map<string, number>();
  for (const c of data.certs.values()) {
    const rsaDsa = c.keyType === 'rsa' || c.keyType === 'dsa' || c.keyAlg === 'rsaEncryption' || c.keyAlg === 'dsaEncryption';
    const ec = c.keyType === 'ecdsa' || c.keyAlg === 'id-ecPublicKey';
    const bits = c.keyLength;
    const keyBroken = rsaDsa && bits !== null && bits < 1024;
    const keyShort = (rsaDsa && bits !== null && bits >= 1024 && bits < 2048) || (ec && bits !== null && bits < 224);
    const sig = (c.sigAlg ?? '').toLowerCase();
    const sigMd = /md2|md4|md5/.test(sig);
    const sigSha1 = sig.includes('sha1') || sig.startsWith('shawithrsa');
    if (!keyBroken && !keyShort && !sigMd && !sigSha1) continue;
    const seen = data.sessionsByCert.get(c.id) ?? [];
    if (c.isCa === true && seen.length === 0) continue; // CA certificates only when served as leaf
    const internalOnly = seen.length > 0 && seen.every((s) => internal(s.dst));
    expected.set(c.id, (keyBroken ? 80 : sigMd ? 70 : keyShort ? 55 : 40) - (internalOnly ? 15 : 0));
  }
  assert.equal(count(t, 'weak-key-or-signature', expected), 16);
  assertFindings('weak-key-or-signature', await hunt('weak-key-or-signature'), expected);
});

test('every hunt of the library has its brimdata test here', { skip }, () => {
  const ids = readdirSync(HUNTS).filter((n) => n.endsWith('.yaml')).map((n) => n.replace(/\.yaml$/, '')).sort();
  const self = readFileSync(new URL(import.meta.url), 'utf8');
  const missing = ids.filter((id) => !self.includes(`test('${id}:`));
  assert.deepEqual(missing, []);
});

// ---------------------------------------------------------------------------------------------
// The blog's four hunts in detail
// ---------------------------------------------------------------------------------------------

test('the blog\'s four hunts in detail: stacked issuers, shortest issuers, high-entropy names, the blacklist', { skip }, async () => {
  // 1. stack-issuers: per issuer, the counts of certificates and addresses are what the logs
  //    give, and the rarest (fewest certificates plus servers) come first.
  const stacks = stackIssuers();
  const stacked = await hunt('stack-issuers');
  for (const f of stacked) {
    const g = stacks.get(f.entity);
    assert.ok(g, `stack-issuers: ${f.entity} is an issuer of the logs`);
    assert.equal(f.evidence.certificates, g.certs.size, `certificates of ${f.entity}`);
    assert.equal(f.evidence.destination_ips, g.dsts.size, `destination IPs of ${f.entity}`);
    assert.equal(f.evidence.source_ips, g.srcs.size, `source IPs of ${f.entity}`);
    assert.deepEqual([...((f.evidence.dest_ips as string[] | null) ?? [])].sort(), [...g.dsts].sort(), `destination IPs of ${f.entity}`);
  }
  const rarity = stacked.map((f) => stacks.get(f.entity)!.certs.size + stacks.get(f.entity)!.dsts.size);
  assert.deepEqual(rarity, [...rarity].sort((a, b) => a - b), 'rarest issuers first');
  const lets = stacks.get("CN=Let's Encrypt Authority X3,O=Let's Encrypt,C=US");
  assert.ok(lets && lets.certs.size > 10, "Let's Encrypt is the most stacked issuer on the capture");

  // 2. shortest-issuers: issuer lengths never fall down the ranked list.
  const shortest = await hunt('shortest-issuers');
  const lengths = shortest.map((f) => data.certs.get(f.entity)!.issuer!.length);
  assert.deepEqual(lengths, [...lengths].sort((a, b) => a - b), `shortest issuers first: ${lengths.join(' ')}`);
  assert.equal(shortest[0]!.evidence.issuer, 'CN=Snozberry');
  for (const f of shortest) assert.equal(f.evidence.issuer_length, data.certs.get(f.entity)!.issuer!.length, `issuer_length of ${f.entity}`);

  // 3. high-entropy-short-names: the entropy this test computes never rises down the ranked list.
  const entropies = highEntropyShortNames();
  const ranked = await hunt('high-entropy-short-names');
  const hs = ranked.map((f) => entropies.get(f.entity)!);
  for (let i = 1; i < hs.length; i++) assert.ok(hs[i]! <= hs[i - 1]! + 1e-9, `highest entropy first: ${hs.join(' ')}`);
  for (const f of ranked) assert.ok(Math.abs(Number(f.evidence.cn_entropy) - entropies.get(f.entity)!) < 1e-9, `cn_entropy of ${f.entity}`);

  // 4. blacklisted-certificates: blind on this capture (no SHA-1, see its own test), yet the
  //    blacklist loaded whole: the lake's intel holds every entry of the CSV.
  const intel = await run('sql', 'SELECT count(DISTINCT lower(sha1))::INT AS n FROM intel_sslbl', '--lake', lake, '--format', 'json');
  assert.equal(intel.code, 0, intel.err);
  assert.deepEqual(JSON.parse(intel.out), [{ n: new Set(data.sslbl.map((e) => e.sha1)).size }]);
  assert.deepEqual(await hunt('blacklisted-certificates'), []);
});

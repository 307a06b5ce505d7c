/**
 * The network as Zeek 6 logs it: x509.log, ssl.log and dns.log, in the ASCII writer's TSV or as
 * JSON lines. What each field holds, and when, follows Zeek's scripts:
 * base/protocols/ssl/main.zeek (ssl.log: ts of the first SSL event, version from the server's
 * supported_versions, curve from ServerKeyExchange or the server's key_share, resumed when the
 * ServerHello echoes the session id below TLS 1.3, ssl_history letters, last_alert, established
 * at the first encrypted record once both sides switched), base/protocols/ssl/files.zeek
 * (cert_chain_fps, client_cert_chain_fps and sni_matches_cert, set only when certificates were
 * seen), base/files/x509/main.zeek (x509.log per certificate, host_cert for the first of a chain,
 * logged again once relog_known_certificates_after has passed) and the salesforce/ja3 and
 * FoxIO ja4 packages (ssl.log `ja3`, `ja3s`, `ja4`). Zeek's x509 columns come from
 * parseCertificate, which is specified to print them as Zeek does (test/x509/zeek.test.ts).
 */
import { parseCertificate } from '../x509/index.js';
import { digest } from './bytes.js';
import { Lru } from './lru.js';
import { CLIENT_ALERT, isEcdhe } from './tls.js';
import { CERTIFICATE_CACHE, dnsInOrder, eachSession, span, zeekUid, type DnsQuery, type SessionFacts, type Traffic } from './sessions.js';

type ZeekValue = string | number | boolean | string[] | number[] | null;
type ZeekType = 'time' | 'interval' | 'string' | 'count' | 'bool' | 'addr' | 'port' | 'enum' | 'vector[string]' | 'vector[addr]' | 'vector[interval]';
type Fields = readonly (readonly [string, ZeekType])[];
type Row = Record<string, ZeekValue>;

export type ZeekLog = 'x509' | 'ssl' | 'dns';

export interface ZeekOptions {
  format?: 'json' | 'tsv';
  /** Log the DER too (policy/protocols/ssl/log-certs-base64: x509.log `cert`). */
  certs?: boolean;
  /** ssl.log `ja3` and `ja3s`, as the salesforce/ja3 package adds them (default true). */
  ja3?: boolean;
  /** ssl.log `ja4`, as FoxIO's ja4 package adds it (default false). */
  ja4?: boolean;
  /** ssl.log `validation_status` (policy/protocols/ssl/validate-certs), from SessionSpec; unset without certificates. */
  validation?: boolean;
}

const X509_FIELDS: Fields = [
  ['ts', 'time'], ['fingerprint', 'string'], ['certificate.version', 'count'], ['certificate.serial', 'string'],
  ['certificate.subject', 'string'], ['certificate.issuer', 'string'], ['certificate.not_valid_before', 'time'],
  ['certificate.not_valid_after', 'time'], ['certificate.key_alg', 'string'], ['certificate.sig_alg', 'string'],
  ['certificate.key_type', 'string'], ['certificate.key_length', 'count'], ['certificate.exponent', 'string'],
  ['certificate.curve', 'string'], ['san.dns', 'vector[string]'], ['san.uri', 'vector[string]'], ['san.email', 'vector[string]'],
  ['san.ip', 'vector[addr]'], ['basic_constraints.ca', 'bool'], ['basic_constraints.path_len', 'count'],
  ['host_cert', 'bool'], ['client_cert', 'bool'],
];

const CONN_ID: Fields = [['id.orig_h', 'addr'], ['id.orig_p', 'port'], ['id.resp_h', 'addr'], ['id.resp_p', 'port']];

const SSL_FIELDS: Fields = [
  ['ts', 'time'], ['uid', 'string'], ...CONN_ID,
  ['version', 'string'], ['cipher', 'string'], ['curve', 'string'], ['server_name', 'string'], ['resumed', 'bool'],
  ['last_alert', 'string'], ['next_protocol', 'string'], ['established', 'bool'], ['ssl_history', 'string'],
  ['cert_chain_fps', 'vector[string]'], ['client_cert_chain_fps', 'vector[string]'], ['sni_matches_cert', 'bool'],
];

const DNS_FIELDS: Fields = [
  ['ts', 'time'], ['uid', 'string'], ...CONN_ID, ['proto', 'enum'], ['trans_id', 'count'], ['rtt', 'interval'],
  ['query', 'string'], ['qclass', 'count'], ['qclass_name', 'string'], ['qtype', 'count'], ['qtype_name', 'string'],
  ['rcode', 'count'], ['rcode_name', 'string'], ['AA', 'bool'], ['TC', 'bool'], ['RD', 'bool'], ['RA', 'bool'], ['Z', 'count'],
  ['answers', 'vector[string]'], ['TTLs', 'vector[interval]'], ['rejected', 'bool'],
];

/** The resolver's answer time after the query. */
export const DNS_RTT_MS = 12;

const seconds = (ms: number) => ms / 1000;

// ---- rows ------------------------------------------------------------------------------------

/** One x509.log row's values, Zeek's spelling (from parseCertificate, which follows it). */
function x509Row(der: Uint8Array, ts: number, hostCert: boolean, withDer: boolean): Row {
  // Zeek logs no self-signature: checking one would cost a verify per row.
  const c = parseCertificate(der, { selfSigned: 'never' });
  const list = (xs: string[]) => (xs.length > 0 ? xs : null);
  const row: Row = {
    ts: seconds(ts),
    fingerprint: c.sha256,
    'certificate.version': c.version,
    // OpenSSL's i2a_ASN1_INTEGER: uppercase, whole bytes, no sign byte.
    'certificate.serial': c.serial === null ? null : c.serial.toUpperCase(),
    'certificate.subject': c.subject,
    'certificate.issuer': c.issuer,
    'certificate.not_valid_before': c.not_valid_before === null ? null : seconds(c.not_valid_before),
    'certificate.not_valid_after': c.not_valid_after === null ? null : seconds(c.not_valid_after),
    'certificate.key_alg': c.key_alg,
    'certificate.sig_alg': c.sig_alg,
    'certificate.key_type': c.key_type,
    'certificate.key_length': c.key_length,
    'certificate.exponent': c.exponent,
    'certificate.curve': c.curve,
    'san.dns': list(c.subject_alternative_names),
    'san.uri': list(c.san_uri),
    'san.email': list(c.san_email),
    'san.ip': list(c.san_ip),
    'basic_constraints.ca': c.is_ca,
    'basic_constraints.path_len': c.path_len,
    host_cert: hostCert,
    client_cert: false,
  };
  if (withDer) row.cert = Buffer.from(der).toString('base64');
  return row;
}

/** X509::relog_known_certificates_after. */
const RELOG_MS = 86_400_000;
/**
 * Most (fingerprint, host_cert) entries remembered at once. Zeek's table holds every
 * certificate seen in the last day; past this many, the older half is forgotten early and
 * logged again when next seen: more x509.log lines than Zeek would write, never fewer, and
 * memory bounded whatever a stream's size.
 */
export const RELOG_ENTRIES = 65_536;

/**
 * x509.log rows, each at the time its Certificate message arrived. Deduplicated as
 * X509::known_log_certs does: by (fingerprint, host_cert, client_cert), an entry expiring
 * relog_known_certificates_after (1 day) after it was made.
 */
function x509Logger(withDer: boolean): (f: SessionFacts) => Row[] {
  // Two generations of entries, each made within one relog period: once a certificate time is
  // a period past the current generation's start, every entry of the older one has expired
  // and it is dropped whole (sessions come in start order, certificate times nearly so).
  let current = new Map<string, number>();
  let older = new Map<string, number>();
  let since = -Infinity;
  return (f) => {
    const at = f.times.certificate;
    if (at === null) return [];
    if (at - since >= RELOG_MS || current.size >= RELOG_ENTRIES / 2) {
      older = at - since >= 2 * RELOG_MS ? new Map() : current;
      current = new Map();
      since = at;
    }
    const rows: Row[] = [];
    for (const [i, der] of f.ders.entries()) {
      // The first certificate of a chain is the host's (mime type application/x-x509-user-cert).
      const key = `${f.chainSha256[i]} ${i === 0}`;
      const last = current.get(key) ?? older.get(key);
      if (last !== undefined && at - last < RELOG_MS) continue;
      current.set(key, at);
      rows.push(x509Row(der, at, i === 0, withDer));
    }
    return rows;
  };
}

function* x509Rows(net: Traffic, withDer: boolean): Generator<Row> {
  const log = x509Logger(withDer);
  for (const f of eachSession(net)) yield* log(f);
}

/** x509_check_hostname: a name, or `*.` and the host's name less its first label; no case. */
function nameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (!p.startsWith('*.')) return p === h;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

/** x509_check_cert_hostname: the subject's CN, then each DNS SAN. */
function sniMatches(names: string[], sni: string): boolean {
  return names.some((n) => nameMatches(n, sni));
}

/** ssl_history: client letters upper case, server's lower, up to ssl_established. */
function sslHistory(f: SessionFacts): string {
  if (f.version === 'TLSv13') return f.established ? 'CsiI' : 'Csi';
  if (f.resumed) return 'CsiI';
  return `Csx${isEcdhe(f.spec.cipher) ? 'k' : ''}n${f.established ? 'GIi' : 'L'}`;
}

function sslRow(f: SessionFacts, options: ZeekOptions, leafNames: (f: SessionFacts) => string[]): Row {
  const s = f.spec;
  const certs = f.chainSha256.length > 0;
  const row: Row = {
    ts: seconds(f.times.clientHello),
    uid: f.uid,
    'id.orig_h': s.client.ip,
    'id.orig_p': s.client.port,
    'id.resp_h': s.server.ip,
    'id.resp_p': s.server.port,
    version: f.version,
    cipher: f.cipherName,
    // ssl_ecdh_server_params (TLS 1.2 ServerKeyExchange) or ssl_extension_key_share (TLS 1.3).
    curve: f.version === 'TLSv13' || (isEcdhe(s.cipher) && !f.resumed) ? 'x25519' : null,
    server_name: s.sni,
    resumed: f.resumed,
    last_alert: f.established || f.version === 'TLSv13' ? null : CLIENT_ALERT.name,
    // The server's ALPN choice: TLS 1.2 servers here send none, TLS 1.3 ones encrypt it.
    next_protocol: null,
    established: f.established,
    ssl_history: sslHistory(f),
    cert_chain_fps: certs ? f.chainSha256 : null,
    client_cert_chain_fps: certs ? [] : null,
    sni_matches_cert: certs && s.sni !== null ? sniMatches(leafNames(f), s.sni) : null,
  };
  if (options.validation) row.validation_status = certs ? (s.validation_status ?? null) : null;
  if (options.ja3 ?? true) {
    row.ja3 = f.ja3.md5;
    row.ja3s = f.ja3s.md5;
  }
  if (options.ja4) row.ja4 = f.ja4;
  return row;
}

function sslLogger(options: ZeekOptions): (f: SessionFacts) => Row {
  const names = new Lru<string, string[]>(CERTIFICATE_CACHE);
  const leafNames = (f: SessionFacts) => {
    const fp = f.chainSha256[0]!;
    let n = names.get(fp);
    if (!n) {
      const c = parseCertificate(f.ders[0]!, { selfSigned: 'never', keepDer: false });
      names.set(fp, (n = [...(c.common_name !== null ? [c.common_name] : []), ...c.subject_alternative_names]));
    }
    return n;
  };
  return (f) => sslRow(f, options, leafNames);
}

function* sslRows(net: Traffic, options: ZeekOptions): Generator<Row> {
  const log = sslLogger(options);
  for (const f of eachSession(net)) yield log(f);
}

const isIPv6 = (a: string) => a.includes(':');
const isAddress = (a: string) => isIPv6(a) || /^\d+\.\d+\.\d+\.\d+$/.test(a);

function dnsRow(q: DnsQuery, index: number): Row {
  const h = Buffer.from(digest('sha256', `dns/${index}`), 'hex');
  const addresses = q.answers.filter(isAddress);
  const aaaa = addresses.length > 0 && addresses.every(isIPv6);
  const nx = q.answers.length === 0;
  return {
    ts: seconds(q.ts),
    uid: zeekUid(`uid/dns/${index}`),
    'id.orig_h': q.client,
    'id.orig_p': 49152 + (h.readUInt16BE(0) % 16384),
    'id.resp_h': q.resolver,
    'id.resp_p': 53,
    proto: 'udp',
    trans_id: h.readUInt16BE(2),
    rtt: seconds(DNS_RTT_MS),
    query: q.query,
    qclass: 1,
    qclass_name: 'C_INTERNET',
    qtype: aaaa ? 28 : 1,
    qtype_name: aaaa ? 'AAAA' : 'A',
    rcode: nx ? 3 : 0,
    rcode_name: nx ? 'NXDOMAIN' : 'NOERROR',
    AA: false,
    TC: false,
    RD: true,
    RA: true,
    Z: 0,
    answers: nx ? null : q.answers,
    TTLs: nx ? null : q.answers.map(() => q.ttl),
    rejected: false,
  };
}

function* dnsRows(net: Traffic): Generator<Row> {
  for (const { q, index } of dnsInOrder(net)) yield dnsRow(q, index);
}

// ---- writers ---------------------------------------------------------------------------------

/** rapidjson writes a double with a fraction (`300.0`). */
const double = (x: number) => (Number.isInteger(x) ? `${x}.0` : String(x));

/** Zeek's JSON writer (rapidjson): doubles keep a fraction, unset fields are left out. */
/** Each log's `"name":` prefixes, quoted once rather than on every line. */
const quotedKeys = new WeakMap<Fields, string[]>();

function jsonLine(path: string, fields: Fields, row: Row): string {
  let keys = quotedKeys.get(fields);
  if (!keys) quotedKeys.set(fields, (keys = fields.map(([name]) => `${JSON.stringify(name)}:`)));
  let out = `{"_path":${JSON.stringify(path)}`;
  for (let i = 0; i < fields.length; i++) {
    const [name, type] = fields[i]!;
    const v = row[name] ?? null;
    if (v === null) continue;
    const isDouble = type === 'time' || type === 'interval' || type === 'vector[interval]';
    const text = isDouble ? (Array.isArray(v) ? `[${(v as number[]).map(double).join(',')}]` : double(v as number)) : JSON.stringify(v);
    out += `,${keys[i]}${text}`;
  }
  return `${out}}`;
}

/**
 * The ASCII writer's escaping: backslash, the separator, non-printables, and (LogAscii::enable_utf_8
 * off) every byte of a non-ASCII character; in containers the set separator too.
 */
function tsvEscape(s: string, inSet: boolean): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '\t' || (inSet && ch === ',') || code < 0x20 || code >= 0x7f) {
      for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
    } else out += ch;
  }
  if (out === '-' || out === '(empty)') out = `\\x${out.charCodeAt(0).toString(16)}${out.slice(1)}`;
  return out;
}

function tsvValue(v: ZeekValue, type: ZeekType): string {
  if (v === null) return '-';
  if (Array.isArray(v)) {
    if (v.length === 0) return '(empty)';
    return type === 'vector[interval]' ? (v as number[]).map((x) => x.toFixed(6)).join(',') : (v as string[]).map((x) => tsvEscape(x, true)).join(',');
  }
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (type === 'time' || type === 'interval') return (v as number).toFixed(6);
  if (typeof v === 'number') return String(v);
  return v === '' ? '(empty)' : tsvEscape(v, false);
}

/** `#open`/`#close`: the writer's %Y-%m-%d-%H-%M-%S (a sensor on UTC). */
const stamp = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', '-').replace(/:/g, '-');

function fieldsOf(log: ZeekLog, options: ZeekOptions): Fields {
  if (log === 'x509') return options.certs ? [...X509_FIELDS, ['cert', 'string']] : X509_FIELDS;
  if (log === 'dns') return DNS_FIELDS;
  const extra: [string, ZeekType][] = [];
  // local.zeek loads the policy scripts before the packages, so their fields come first.
  if (options.validation) extra.push(['validation_status', 'string']);
  if (options.ja3 ?? true) extra.push(['ja3', 'string'], ['ja3s', 'string']);
  if (options.ja4) extra.push(['ja4', 'string']);
  return [...SSL_FIELDS, ...extra];
}

/**
 * One log, line by line (no line ends): TSV with its header and #close, or JSON objects. A log
 * without rows yields nothing, as Zeek creates no file for it. Sessions are produced one at a
 * time, so a network of millions of sessions is written in constant memory but for its specs
 * (none for a SessionStream; the per-certificate bookkeeping is bounded, see RELOG_ENTRIES).
 */
/** How one log's lines are written: its TSV header and #close, or JSON objects. */
function writerOf(net: Traffic, log: ZeekLog, options: ZeekOptions): { header: () => string[]; line: (row: Row) => string; close: () => string[] } {
  const fields = fieldsOf(log, options);
  const json = (options.format ?? 'json') === 'json';
  return {
    header: () => {
      if (json) return [];
      return [
        '#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', `#path\t${log}`, `#open\t${stamp(span(net).first)}`,
        `#fields\t${fields.map(([n]) => n).join('\t')}`, `#types\t${fields.map(([, t]) => t).join('\t')}`,
      ];
    },
    line: (row) => (json ? jsonLine(log, fields, row) : fields.map(([n, t]) => tsvValue(row[n] ?? null, t)).join('\t')),
    close: () => (json ? [] : [`#close\t${stamp(span(net).last + 60_000)}`]),
  };
}

/**
 * One log, line by line (no line ends): TSV with its header and #close, or JSON objects. A log
 * without rows yields nothing, as Zeek creates no file for it. Sessions are produced one at a
 * time, so a network of millions of sessions is written in constant memory but for its specs
 * (none for a SessionStream; the per-certificate bookkeeping is bounded, see RELOG_ENTRIES).
 */
export function* zeekLines(net: Traffic, log: ZeekLog, options: ZeekOptions = {}): Generator<string> {
  const rows = log === 'x509' ? x509Rows(net, options.certs ?? false) : log === 'ssl' ? sslRows(net, options) : dnsRows(net);
  const first = rows.next();
  if (first.done) return;
  const w = writerOf(net, log, options);
  yield* w.header();
  yield w.line(first.value);
  for (const row of rows) yield w.line(row);
  yield* w.close();
}

/**
 * x509.log and ssl.log from one pass over the sessions, each line tagged with its log: what
 * zeekLines gives for each, line for line, for half the work (a stream's sessions are made
 * once, not once per log).
 */
export function* zeekSessionLines(net: Traffic, options: ZeekOptions = {}): Generator<{ log: 'x509' | 'ssl'; line: string }> {
  const x509 = x509Logger(options.certs ?? false);
  const ssl = sslLogger(options);
  const writers = { x509: writerOf(net, 'x509', options), ssl: writerOf(net, 'ssl', options) };
  const started = { x509: false, ssl: false };
  function* emit(log: 'x509' | 'ssl', row: Row): Generator<{ log: 'x509' | 'ssl'; line: string }> {
    if (!started[log]) {
      started[log] = true;
      for (const line of writers[log].header()) yield { log, line };
    }
    yield { log, line: writers[log].line(row) };
  }
  for (const f of eachSession(net)) {
    for (const row of x509(f)) yield* emit('x509', row);
    yield* emit('ssl', ssl(f));
  }
  for (const log of ['x509', 'ssl'] as const) if (started[log]) for (const line of writers[log].close()) yield { log, line };
}

const whole = (lines: Iterable<string>) => {
  let out = '';
  for (const l of lines) out += l + '\n';
  return out;
};

/** x509.log, ssl.log and dns.log, current schema (Zeek ≥ 4.1: fingerprint and cert_chain_fps, SHA-256); '' for a log without rows. */
export function toZeek(net: Traffic, options: ZeekOptions = {}): Record<ZeekLog, string> {
  return { x509: whole(zeekLines(net, 'x509', options)), ssl: whole(zeekLines(net, 'ssl', options)), dns: whole(zeekLines(net, 'dns', options)) };
}

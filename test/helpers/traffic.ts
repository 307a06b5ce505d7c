/**
 * One small network, written four ways: a packet capture, Zeek logs (JSON or TSV), Suricata
 * eve.json and PEM files. A test describes the network once (certificates as DER, TLS 1.2
 * sessions naming the chain each server sent) and gets the same traffic as each sensor would
 * have recorded it, so that whatever differs between the lakes built from them is the
 * pipeline's doing, not the input's.
 *
 * Independence: the capture's TLS records are built here byte by byte (RFC 5246), JA3/JA3S are
 * computed here from the hello fields this file chose, cipher names come from a table here,
 * and Suricata's fields (DNs in OpenSSL's one-line order, SHA-1 fingerprint, dates) come from
 * node:crypto's X509Certificate. Only Zeek's x509 columns are taken from parseCertificate,
 * which is specified to print them as Zeek does (test/x509/zeek.test.ts holds it to that).
 * Framing (Ethernet/IPv4/TCP, pcap records) is src/net/writer.ts.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { parseCertificate } from '../../src/x509/index.js';
import { pcapHeader, pcapRecord, tcpConnection, type Endpoint, type Turn } from '../../src/net/writer.js';
import { cat, u16, u8, vec16, vec24, vec8 } from './bytes.js';

export type { Endpoint };

/** Which ClientHello a client sends: a browser-like one, or a sparse one as implants send. */
export type ClientKind = 'browser' | 'implant';

export interface SessionSpec {
  /** Connection start (the SYN), epoch ms. */
  ts: number;
  client: Endpoint;
  server: Endpoint;
  /** SNI host name; null sends no server_name extension. */
  sni: string | null;
  /** IANA cipher suite the server picks (TLS 1.2); must be one of CIPHER_NAMES. */
  cipher: number;
  /** The server's Certificate message: certificate names, leaf first. */
  chain: string[];
  client_kind?: ClientKind;
  /**
   * An abbreviated handshake (session resumption, RFC 5246 §7.3): no Certificate, `chain` must
   * be empty. Zeek logs resumed=T without cert_chain_fps; Suricata logs no certificate fields.
   */
  resumed?: boolean;
}

export interface Network {
  /** name → DER */
  certificates: Record<string, Uint8Array>;
  sessions: SessionSpec[];
}

// ---- bytes -----------------------------------------------------------------------------------


const u16s = (vs: readonly number[]) => cat(...vs.map(u16));

/** Deterministic "random" bytes (randoms, key shares, ciphertext) from a label. */
function pseudoRandom(label: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, block = 0; i < n; block++) {
    const h = createHash('sha256').update(`${label}/${block}`).digest();
    out.set(h.subarray(0, Math.min(h.length, n - i)), i);
    i += h.length;
  }
  return out;
}

const digest = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest('hex');

// ---- TLS 1.2 records -------------------------------------------------------------------------

const TLS12 = 0x0303;
const CONTENT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;
const HS = { clientHello: 1, serverHello: 2, certificate: 11, serverKeyExchange: 12, serverHelloDone: 14, clientKeyExchange: 16 } as const;
const EXT = { serverName: 0, supportedGroups: 10, ecPointFormats: 11, signatureAlgorithms: 13, alpn: 16, extendedMasterSecret: 23, sessionTicket: 35, renegotiationInfo: 0xff01 } as const;

/** Zeek's names (scripts/base/protocols/ssl/consts.zeek) for the suites this helper can send. */
export const CIPHER_NAMES: Readonly<Record<number, string>> = {
  0x002f: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  0x0035: 'TLS_RSA_WITH_AES_256_CBC_SHA',
  0x009c: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  0xc013: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  0xc02b: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  0xc02c: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  0xc02f: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xc030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
};

const isEcdhe = (cipher: number) => cipher >> 8 === 0xc0;

/** TLSPlaintext records of one content type; bodies over 2^14 bytes are fragmented. */
function records(type: number, body: Uint8Array, version = TLS12): Uint8Array {
  const out: Uint8Array[] = [];
  for (let off = 0; off < body.length || off === 0; off += 16384) {
    out.push(cat(u8(type), u16(version), vec16(body.subarray(off, Math.min(off + 16384, body.length)))));
    if (body.length === 0) break;
  }
  return cat(...out);
}

const handshake = (type: number, body: Uint8Array) => cat(u8(type), vec24(body));
const extension = (type: number, data: Uint8Array) => cat(u16(type), vec16(data));

interface HelloShape {
  ciphers: number[];
  /** Extension types in the order sent, SNI included when the session has one. */
  extensions: number[];
  groups: number[];
  pointFormats: number[];
  sigAlgs: number[];
}

function helloShape(s: SessionSpec): HelloShape {
  if ((s.client_kind ?? 'browser') === 'implant') {
    return {
      ciphers: [0xc030, 0xc02f, 0xc013, 0x009c, 0x0035, 0x002f],
      extensions: [...(s.sni !== null ? [EXT.serverName] : []), EXT.supportedGroups, EXT.ecPointFormats, EXT.signatureAlgorithms],
      groups: [0x0017, 0x0018],
      pointFormats: [0],
      sigAlgs: [0x0401, 0x0501, 0x0201],
    };
  }
  // Browsers send GREASE values (RFC 8701) first in the cipher, extension and group lists and
  // as a last extension too; JA3 leaves them out.
  return {
    ciphers: [0x0a0a, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xc013, 0x009c, 0x002f, 0x0035],
    extensions: [
      0x1a1a,
      ...(s.sni !== null ? [EXT.serverName] : []),
      EXT.extendedMasterSecret, EXT.renegotiationInfo, EXT.supportedGroups, EXT.ecPointFormats, EXT.sessionTicket, EXT.signatureAlgorithms,
      0x2a2a,
    ],
    groups: [0x3a3a, 0x001d, 0x0017, 0x0018],
    pointFormats: [0],
    sigAlgs: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201],
  };
}

const SERVER_EXTENSIONS = [EXT.renegotiationInfo, EXT.ecPointFormats, EXT.extendedMasterSecret];

/** RFC 8701 GREASE: 0x0a0a, 0x1a1a, … 0xfafa. */
const isGrease = (v: number) => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

function clientHello(s: SessionSpec, label: string): Uint8Array {
  const shape = helloShape(s);
  const exts = shape.extensions.map((type) => {
    switch (type) {
      case EXT.serverName: {
        const name = Buffer.from(s.sni ?? '', 'ascii');
        return extension(type, vec16(cat(u8(0), vec16(name))));
      }
      case EXT.supportedGroups:
        return extension(type, vec16(u16s(shape.groups)));
      case EXT.ecPointFormats:
        return extension(type, vec8(Uint8Array.from(shape.pointFormats)));
      case EXT.signatureAlgorithms:
        return extension(type, vec16(u16s(shape.sigAlgs)));
      case EXT.renegotiationInfo:
        return extension(type, vec8(new Uint8Array()));
      case 0x2a2a:
        return extension(type, Uint8Array.of(0));
      default:
        return extension(type, new Uint8Array());
    }
  });
  const body = cat(
    u16(TLS12),
    pseudoRandom(`${label}/client-random`, 32),
    vec8(pseudoRandom(`${s.resumed ? `${s.sni}/${s.server.ip}` : label}/session-id`, 32)),
    vec16(u16s(shape.ciphers)),
    vec8(Uint8Array.of(0)),
    vec16(cat(...exts)),
  );
  // A ClientHello record usually carries version 1.0 for old middleboxes' sake.
  return records(CONTENT.handshake, handshake(HS.clientHello, body), 0x0301);
}

function serverFlight(s: SessionSpec, ders: Uint8Array[], label: string): Uint8Array {
  const exts = SERVER_EXTENSIONS.map((type) =>
    type === EXT.renegotiationInfo ? extension(type, vec8(new Uint8Array())) : type === EXT.ecPointFormats ? extension(type, vec8(Uint8Array.of(0))) : extension(type, new Uint8Array()),
  );
  const serverHello = handshake(HS.serverHello, cat(u16(TLS12), pseudoRandom(`${label}/server-random`, 32), vec8(pseudoRandom(`${label}/server-session`, 32)), u16(s.cipher), u8(0), vec16(cat(...exts))));
  if (s.resumed) return records(CONTENT.handshake, serverHello);
  const certificate = handshake(HS.certificate, vec24(cat(...ders.map((d) => vec24(d)))));
  const messages = [serverHello, certificate];
  if (isEcdhe(s.cipher)) {
    // named_curve x25519 and a 32-byte share, signed: ecdsa_secp256r1_sha256 for ECDSA suites
    // (a DER signature's worth of bytes), rsa_pkcs1_sha256 otherwise (a 2048-bit one's).
    const params = cat(u8(3), u16(0x001d), vec8(pseudoRandom(`${label}/server-share`, 32)));
    const ecdsa = s.cipher === 0xc02b || s.cipher === 0xc02c;
    const signature = vec16(pseudoRandom(`${label}/ske-signature`, ecdsa ? 71 : 256));
    messages.push(handshake(HS.serverKeyExchange, cat(params, u16(ecdsa ? 0x0403 : 0x0401), signature)));
  }
  messages.push(handshake(HS.serverHelloDone, new Uint8Array()));
  return records(CONTENT.handshake, cat(...messages));
}

/** The bytes each side sends, in order: a whole TLS 1.2 full handshake, then a little data. */
export function tlsTurns(s: SessionSpec, ders: Uint8Array[], label: string): Turn[] {
  const keyExchange = isEcdhe(s.cipher) ? vec8(pseudoRandom(`${label}/client-share`, 32)) : vec16(pseudoRandom(`${label}/premaster`, 256));
  const ccs = records(CONTENT.changeCipherSpec, Uint8Array.of(1));
  // Encrypted Finished: explicit nonce + 16 bytes of verify_data + tag, as random as ciphertext.
  const finished = (who: string) => records(CONTENT.handshake, pseudoRandom(`${label}/${who}-finished`, 40));
  const appData = (who: string, n: number) => records(CONTENT.applicationData, pseudoRandom(`${label}/${who}-data`, n));
  if (s.resumed) {
    // The server finishes first: ServerHello, ChangeCipherSpec, Finished; then the client.
    return [
      { from: 'client', bytes: clientHello(s, label) },
      { from: 'server', bytes: cat(serverFlight(s, ders, label), ccs, finished('server')) },
      { from: 'client', bytes: cat(ccs, finished('client')) },
      { from: 'client', bytes: appData('client', 517) },
      { from: 'server', bytes: appData('server', 3021) },
    ];
  }
  return [
    { from: 'client', bytes: clientHello(s, label) },
    { from: 'server', bytes: serverFlight(s, ders, label) },
    { from: 'client', bytes: cat(records(CONTENT.handshake, handshake(HS.clientKeyExchange, keyExchange)), ccs, finished('client')) },
    { from: 'server', bytes: cat(ccs, finished('server')) },
    { from: 'client', bytes: appData('client', 517) },
    { from: 'server', bytes: appData('server', 3021) },
  ];
}

// ---- what every representation shares --------------------------------------------------------

/** Time between two packets of a connection (a 20 ms round trip, one way each). */
export const PACKET_GAP_MS = 10;
/**
 * When the server's Certificate arrived: SYN, SYN-ACK, ACK, ClientHello, then the server's
 * flight (x509.log's ts and eve's timestamp are that packet's time, ssl.log's the SYN's).
 */
export const CERT_DELAY_MS = 4 * PACKET_GAP_MS;

export interface SessionFacts {
  spec: SessionSpec;
  index: number;
  uid: string;
  ders: Uint8Array[];
  chainSha256: string[];
  ja3: { text: string; md5: string };
  ja3s: { text: string; md5: string };
  cipherName: string;
}

function sessionsOf(net: Network): SessionFacts[] {
  const sorted = net.sessions.map((spec, i) => ({ spec, i })).sort((a, b) => a.spec.ts - b.spec.ts || a.i - b.i);
  return sorted.map(({ spec, i }) => {
    const ders = spec.chain.map((name) => {
      const der = net.certificates[name];
      if (!der) throw new Error(`session ${i} names unknown certificate ${name}`);
      return der;
    });
    const cipherName = CIPHER_NAMES[spec.cipher];
    if (!cipherName) throw new Error(`session ${i}: cipher 0x${spec.cipher.toString(16)} is not in CIPHER_NAMES`);
    const shape = helloShape(spec);
    if (spec.resumed && spec.chain.length > 0) throw new Error(`session ${i}: a resumed session sends no certificates`);
    const noGrease = (xs: number[]) => xs.filter((v) => !isGrease(v)).join('-');
    const ja3Text = [TLS12, noGrease(shape.ciphers), noGrease(shape.extensions), noGrease(shape.groups), shape.pointFormats.join('-')].join(',');
    const ja3sText = `${TLS12},${spec.cipher},${SERVER_EXTENSIONS.join('-')}`;
    // Zeek uids: "C" and 17 base62 characters.
    const b62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const h = createHash('sha256').update(`uid/${i}`).digest();
    const uid = 'C' + Array.from(h.subarray(0, 17), (b) => b62[b % 62]).join('');
    return {
      spec, index: i, uid, ders,
      chainSha256: ders.map((d) => digest('sha256', d)),
      ja3: { text: ja3Text, md5: digest('md5', Buffer.from(ja3Text)) },
      ja3s: { text: ja3sText, md5: digest('md5', Buffer.from(ja3sText)) },
      cipherName,
    };
  });
}

/** The sessions in time order with what every sensor derives from them (uid, hashes, JA3). */
export function sessionFacts(net: Network): SessionFacts[] {
  return sessionsOf(net);
}

// ---- (a) pcap --------------------------------------------------------------------------------

export function toPcap(net: Network): Buffer {
  const parts: Buffer[] = [pcapHeader()];
  for (const f of sessionsOf(net)) {
    const turns = tlsTurns(f.spec, f.ders, `session-${f.index}`);
    const isn: [number, number] = [(f.index * 7919 + 1000) >>> 0, (f.index * 104729 + 5000) >>> 0];
    for (const { ts, frame } of tcpConnection(f.spec.client, f.spec.server, turns, { ts: f.spec.ts, gapMs: PACKET_GAP_MS, isn })) parts.push(pcapRecord(ts, frame));
  }
  return Buffer.concat(parts);
}

// ---- (b) Zeek --------------------------------------------------------------------------------

type ZeekValue = string | number | boolean | string[] | null;
type ZeekType = 'time' | 'string' | 'count' | 'bool' | 'addr' | 'port' | 'vector[string]' | 'vector[addr]';

const X509_FIELDS: [string, ZeekType][] = [
  ['ts', 'time'], ['fingerprint', 'string'], ['certificate.version', 'count'], ['certificate.serial', 'string'],
  ['certificate.subject', 'string'], ['certificate.issuer', 'string'], ['certificate.not_valid_before', 'time'],
  ['certificate.not_valid_after', 'time'], ['certificate.key_alg', 'string'], ['certificate.sig_alg', 'string'],
  ['certificate.key_type', 'string'], ['certificate.key_length', 'count'], ['certificate.exponent', 'string'],
  ['certificate.curve', 'string'], ['san.dns', 'vector[string]'], ['san.uri', 'vector[string]'], ['san.email', 'vector[string]'],
  ['san.ip', 'vector[addr]'], ['basic_constraints.ca', 'bool'], ['basic_constraints.path_len', 'count'],
  ['host_cert', 'bool'], ['client_cert', 'bool'],
];

const SSL_FIELDS: [string, ZeekType][] = [
  ['ts', 'time'], ['uid', 'string'], ['id.orig_h', 'addr'], ['id.orig_p', 'port'], ['id.resp_h', 'addr'], ['id.resp_p', 'port'],
  ['version', 'string'], ['cipher', 'string'], ['curve', 'string'], ['server_name', 'string'], ['resumed', 'bool'],
  ['established', 'bool'], ['cert_chain_fps', 'vector[string]'], ['client_cert_chain_fps', 'vector[string]'],
  // salesforce/ja3's Zeek package
  ['ja3', 'string'], ['ja3s', 'string'],
];

const seconds = (ms: number) => ms / 1000;

/** One x509.log row's values, Zeek's spelling (from parseCertificate, which follows it). */
function x509Row(der: Uint8Array, ts: number, withDer: boolean): Record<string, ZeekValue> {
  const c = parseCertificate(der);
  const list = (xs: string[]) => (xs.length > 0 ? xs : null);
  const row: Record<string, ZeekValue> = {
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
    host_cert: true,
    client_cert: false,
  };
  // policy/protocols/ssl/log-certs-base64
  if (withDer) row.cert = Buffer.from(der).toString('base64');
  return row;
}

function sslRow(f: SessionFacts): Record<string, ZeekValue> {
  const s = f.spec;
  return {
    ts: seconds(s.ts),
    uid: f.uid,
    'id.orig_h': s.client.ip,
    'id.orig_p': s.client.port,
    'id.resp_h': s.server.ip,
    'id.resp_p': s.server.port,
    version: 'TLSv12',
    cipher: f.cipherName,
    curve: isEcdhe(s.cipher) ? 'x25519' : null,
    server_name: s.sni,
    resumed: s.resumed ?? false,
    established: true,
    // &optional: set only when certificates were seen.
    cert_chain_fps: f.chainSha256.length > 0 ? f.chainSha256 : null,
    client_cert_chain_fps: f.chainSha256.length > 0 ? [] : null,
    ja3: f.ja3.md5,
    ja3s: f.ja3s.md5,
  };
}

/**
 * x509.log rows: each certificate of a chain when it is first seen, and again once a day
 * (X509::relog_known_certificates_after), at the time its Certificate message arrived.
 */
function x509Rows(net: Network, withDer: boolean): Record<string, ZeekValue>[] {
  const lastLogged = new Map<string, number>();
  const rows: Record<string, ZeekValue>[] = [];
  for (const f of sessionsOf(net)) {
    const at = f.spec.ts + CERT_DELAY_MS;
    for (const [i, der] of f.ders.entries()) {
      const fp = f.chainSha256[i]!;
      const last = lastLogged.get(fp);
      if (last !== undefined && at - last < 86_400_000) continue;
      lastLogged.set(fp, at);
      rows.push(x509Row(der, at, withDer));
    }
  }
  return rows;
}

/** Zeek's JSON writer: unset fields are left out, times are epoch seconds. */
function jsonLine(path: string, row: Record<string, ZeekValue>): string {
  const out: Record<string, unknown> = { _path: path };
  for (const [k, v] of Object.entries(row)) if (v !== null) out[k] = v;
  return JSON.stringify(out);
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
  if (Array.isArray(v)) return v.length === 0 ? '(empty)' : v.map((x) => tsvEscape(x, true)).join(',');
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (type === 'time') return (v as number).toFixed(6);
  if (typeof v === 'number') return String(v);
  return v === '' ? '(empty)' : tsvEscape(v, false);
}

const stamp = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', '-').replace(/:/g, '-');

function tsvLog(path: string, fields: [string, ZeekType][], rows: Record<string, ZeekValue>[], open: number, close: number): string {
  const lines = [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    `#path\t${path}`,
    `#open\t${stamp(open)}`,
    `#fields\t${fields.map(([n]) => n).join('\t')}`,
    `#types\t${fields.map(([, t]) => t).join('\t')}`,
    ...rows.map((r) => fields.map(([n, t]) => tsvValue(r[n] ?? null, t)).join('\t')),
    `#close\t${stamp(close)}`,
  ];
  return lines.join('\n') + '\n';
}

export interface ZeekOptions {
  format?: 'json' | 'tsv';
  /** Log the DER too (policy/protocols/ssl/log-certs-base64: x509.log `cert`). */
  certs?: boolean;
}

/** x509.log and ssl.log, current schema (Zeek ≥ 4.1: fingerprint and cert_chain_fps, SHA-256). */
export function toZeek(net: Network, options: ZeekOptions = {}): { x509: string; ssl: string } {
  const facts = sessionsOf(net);
  const x509 = x509Rows(net, options.certs ?? false);
  const ssl = facts.map(sslRow);
  if ((options.format ?? 'json') === 'json') {
    return { x509: x509.map((r) => jsonLine('x509', r)).join('\n') + '\n', ssl: ssl.map((r) => jsonLine('ssl', r)).join('\n') + '\n' };
  }
  const open = facts[0]?.spec.ts ?? 0;
  const close = (facts[facts.length - 1]?.spec.ts ?? 0) + 60_000;
  const x509Fields: [string, ZeekType][] = options.certs ? [...X509_FIELDS, ['cert', 'string']] : X509_FIELDS;
  return { x509: tsvLog('x509', x509Fields, x509, open, close), ssl: tsvLog('ssl', SSL_FIELDS, ssl, open, close) };
}

// ---- (c) Suricata eve.json -------------------------------------------------------------------

/** The DER bytes of the serial INTEGER (sign byte kept), read with a minimal DER walk. */
function rawSerial(der: Uint8Array): Uint8Array {
  const tlv = (at: number): { tag: number; body: number; end: number } => {
    const tag = der[at]!;
    let len = der[at + 1]!;
    let body = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[body + i]!;
      body += n;
    }
    return { tag, body, end: body + len };
  };
  const cert = tlv(0);
  const tbs = tlv(cert.body);
  let p = tbs.body;
  if (der[p] === 0xa0) p = tlv(p).end;
  const serial = tlv(p);
  if (serial.tag !== 0x02) throw new Error('no serial INTEGER where expected');
  return der.subarray(serial.body, serial.end);
}

/** OpenSSL's multi-line DN (node:crypto), in Suricata's one-line form: `C=US, O=..., CN=...`, unescaped. */
function oneLine(multiline: string | undefined): string {
  return (multiline ?? '')
    .split('\n')
    .filter((l) => l !== '')
    // OpenSSL escapes specials with a backslash and control characters as \\XX; Suricata writes neither.
    .map((l) => l.replace(/\\([0-9A-Fa-f]{2})|\\(.)/g, (_, hex: string | undefined, ch: string | undefined) => (hex ? String.fromCharCode(parseInt(hex, 16)) : ch!)))
    .join(', ');
}

/** `Jan  1 00:00:00 2020 GMT` → `2020-01-01T00:00:00` (Suricata's notbefore/notafter: UTC, no zone). */
function suricataDate(openssl: string): string {
  const ms = Date.parse(openssl);
  if (Number.isNaN(ms)) throw new Error(`unreadable date ${openssl}`);
  return new Date(ms).toISOString().slice(0, 19);
}

/** `2024-03-01T10:00:00.040000+0000`, as Suricata writes its timestamps (here in UTC). */
function suricataTimestamp(ms: number): string {
  const whole = Math.floor(ms / 1000) * 1000;
  const micros = Math.round((ms - whole) * 1000);
  return `${new Date(whole).toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}+0000`;
}

/** One `event_type: "tls"` line per session (extended logging, certificate and chain on, JA3 on). */
export function toEve(net: Network): string {
  const lines: string[] = [];
  for (const f of sessionsOf(net)) {
    const s = f.spec;
    const leaf = f.ders[0];
    const tls: Record<string, unknown> = {};
    if (leaf) {
      const x = new X509Certificate(leaf);
      tls.subject = oneLine(x.subject);
      tls.issuerdn = oneLine(x.issuer);
      tls.serial = Array.from(rawSerial(leaf), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
      tls.fingerprint = x.fingerprint.toLowerCase();
    }
    if (s.sni !== null) tls.sni = s.sni;
    if (s.resumed) tls.session_resumed = true;
    tls.version = 'TLS 1.2';
    if (leaf) {
      const x = new X509Certificate(leaf);
      tls.notbefore = suricataDate(x.validFrom);
      tls.notafter = suricataDate(x.validTo);
      tls.certificate = Buffer.from(leaf).toString('base64');
      tls.chain = f.ders.map((d) => Buffer.from(d).toString('base64'));
    }
    tls.ja3 = { hash: f.ja3.md5, string: f.ja3.text };
    tls.ja3s = { hash: f.ja3s.md5, string: f.ja3s.text };
    const event = {
      timestamp: suricataTimestamp(s.ts + CERT_DELAY_MS),
      flow_id: 1_000_000_000_000 + f.index * 7_777_777,
      in_iface: 'eth0',
      event_type: 'tls',
      src_ip: s.client.ip,
      src_port: s.client.port,
      dest_ip: s.server.ip,
      dest_port: s.server.port,
      proto: 'TCP',
      pkt_src: 'wire/pcap',
      tls,
    };
    lines.push(JSON.stringify(event));
  }
  return lines.join('\n') + '\n';
}

// ---- (d) PEM files ---------------------------------------------------------------------------

export function pem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

/**
 * PEM files: one per certificate, except that the names in `bundles` (file name → certificate
 * names) go together into one file, as a CA bundle would.
 */
export function toPemFiles(net: Network, bundles: Record<string, string[]> = {}): { name: string; text: string }[] {
  const bundled = new Set(Object.values(bundles).flat());
  const files = Object.entries(bundles).map(([name, certs]) => ({ name, text: certs.map((c) => pem(net.certificates[c]!)).join('') }));
  for (const [name, der] of Object.entries(net.certificates)) if (!bundled.has(name)) files.push({ name: `${name}.pem`, text: pem(der) });
  return files;
}

/** Fingerprints, for tests that name a certificate by hash. */
export const sha256Of = (der: Uint8Array) => digest('sha256', der);
export const sha1Of = (der: Uint8Array) => digest('sha1', der);

/**
 * The network as Suricata 7 logs it in eve.json: one `event_type: "tls"` event per session
 * (extended logging, certificate and chain on, JA3 on; JA4 optional), with the certificate
 * fields (DNs in OpenSSL's one-line order, SHA-1 fingerprint, dates) taken from node:crypto's
 * X509Certificate rather than from our parser.
 *
 * What Suricata does, from app-layer-ssl.c and output-json-tls.c:
 * - `version` is the server's choice: its supported_versions entry when present ("TLS 1.3").
 * - A server choosing TLS 1.3 sets SSL_AL_FLAG_LOG_WITHOUT_CERT: the event is logged without
 *   certificate fields (there are none in clear), and `session_resumed` is not logged although
 *   the ServerHello echoes the client's session id (middlebox compatibility mode).
 * - The event is logged at "handshake done", the first application_data record, or at the end
 *   of the flow for a session that never got there; the tls event has no `established` field.
 * - JA3S takes the ServerHello's legacy version (771 for TLS 1.3 too).
 */
import { X509Certificate } from 'node:crypto';
import { Lru } from './lru.js';
import { CERTIFICATE_CACHE, eachSession, type SessionFacts, type Traffic } from './sessions.js';

export interface EveOptions {
  /** `tls.ja4`, a string, as Suricata logs it when JA4 is enabled (default false). */
  ja4?: boolean;
}

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

/** The leaf's fields in Suricata's spelling, from node:crypto's X509Certificate. */
interface LeafFields {
  subject: string;
  issuerdn: string;
  serial: string;
  fingerprint: string;
  notbefore: string;
  notafter: string;
  certificate: string;
}

function leafFields(leaf: Uint8Array): LeafFields {
  const x = new X509Certificate(leaf);
  return {
    subject: oneLine(x.subject),
    issuerdn: oneLine(x.issuer),
    serial: Array.from(rawSerial(leaf), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':'),
    fingerprint: x.fingerprint.toLowerCase(),
    notbefore: suricataDate(x.validFrom),
    notafter: suricataDate(x.validTo),
    certificate: Buffer.from(leaf).toString('base64'),
  };
}

function tlsEvent(f: SessionFacts, options: EveOptions, leaves: Lru<string, LeafFields>): string {
  const s = f.spec;
  const leaf = f.ders[0];
  // X509Certificate's constructor is ~130 µs (src/x509/certificate.ts): once per certificate, not per session.
  const x = leaf ? leaves.through(f.chainSha256[0]!, () => leafFields(leaf)) : null;
  const tls: Record<string, unknown> = {};
  if (x) {
    tls.subject = x.subject;
    tls.issuerdn = x.issuerdn;
    tls.serial = x.serial;
    tls.fingerprint = x.fingerprint;
  }
  if (s.sni !== null) tls.sni = s.sni;
  if (f.resumed) tls.session_resumed = true;
  tls.version = f.version === 'TLSv13' ? 'TLS 1.3' : 'TLS 1.2';
  if (x) {
    tls.notbefore = x.notbefore;
    tls.notafter = x.notafter;
    tls.certificate = x.certificate;
    tls.chain = f.ders.map((d, i) => (i === 0 ? x.certificate : Buffer.from(d).toString('base64')));
  }
  tls.ja3 = { hash: f.ja3.md5, string: f.ja3.text };
  tls.ja3s = { hash: f.ja3s.md5, string: f.ja3s.text };
  if (options.ja4) tls.ja4 = f.ja4;
  return JSON.stringify({
    timestamp: suricataTimestamp(f.times.eve),
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
  });
}

/** One tls event per session, line by line (no line ends), in session start order. */
export function* eveLines(net: Traffic, options: EveOptions = {}): Generator<string> {
  const leaves = new Lru<string, LeafFields>(CERTIFICATE_CACHE);
  for (const f of eachSession(net)) yield tlsEvent(f, options, leaves);
}

export function toEve(net: Traffic, options: EveOptions = {}): string {
  let out = '';
  for (const line of eveLines(net, options)) out += line + '\n';
  return out;
}

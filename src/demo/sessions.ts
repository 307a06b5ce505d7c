/**
 * The network the demo writes, as a test or the demo describes it (certificates as DER, TLS
 * sessions naming the chain each server sent, DNS lookups), and what every sensor derives from
 * one session alike: its uid, fingerprints and the packet times sensors stamp their records with.
 */
import type { Endpoint } from '../net/writer.js';
import { digest } from './bytes.js';
import { ja3, ja3s, ja4, type Fingerprint } from './fingerprints.js';
import { Lru } from './lru.js';
import { CIPHER_NAMES, clientHelloLength, helloShape, isTls13, isTls13Suite, tlsExchange, type HelloShape, type Mark, type TlsExchange } from './tls.js';

export type { Endpoint };

/** Which ClientHello a client sends: a browser-like one, or a sparse one as implants send. */
export type ClientKind = 'browser' | 'implant';
export type TlsVersion = 'TLSv12' | 'TLSv13';

export interface SessionSpec {
  /** Connection start (the SYN), epoch ms. */
  ts: number;
  client: Endpoint;
  server: Endpoint;
  /** SNI host name; null sends no server_name extension. */
  sni: string | null;
  /** IANA cipher suite the server picks; must be in CIPHER_NAMES and fit the version (0x13XX for TLS 1.3 only). */
  cipher: number;
  /**
   * The server's Certificate message: certificate names, leaf first. TLS 1.3 encrypts it, so no
   * sensor sees it: `chain` must be empty then.
   */
  chain: string[];
  client_kind?: ClientKind;
  /** Default TLSv12. */
  version?: TlsVersion;
  /**
   * TLS 1.2 session resumption (RFC 5246 §7.3): an abbreviated handshake without a Certificate,
   * `chain` must be empty. Zeek logs resumed=T without cert_chain_fps; Suricata logs
   * session_resumed and no certificate fields.
   */
  resumed?: boolean;
  /**
   * Default true. False: TLS 1.2, the client refuses the certificate with a fatal alert
   * (unknown_ca) right after the server's flight and closes (needs a chain); TLS 1.3, the client
   * closes after the server's flight without sending its Finished. Zeek logs established=F (and
   * last_alert for TLS 1.2); Suricata has no such field and logs the session when it closes.
   */
  established?: boolean;
  /**
   * What the sensor's certificate validation said (Zeek policy/protocols/ssl/validate-certs,
   * OpenSSL's wording: "ok", "self signed certificate", "certificate has expired"...). The network
   * decides it, as only it knows the sensor's trust store; logged with ZeekOptions.validation.
   */
  validation_status?: string;
}

/** One DNS lookup over UDP and its answer; an empty `answers` is an NXDOMAIN. */
export interface DnsQuery {
  /** When the query left the client, epoch ms. */
  ts: number;
  client: string;
  resolver: string;
  query: string;
  /** Addresses (A records; AAAA when they are all IPv6) or CNAME targets, as the resolver answered. */
  answers: string[];
  /** Seconds, the same for every answer. */
  ttl: number;
}

export interface Network {
  /** name → DER */
  certificates: Record<string, Uint8Array>;
  sessions: SessionSpec[];
  dns?: DnsQuery[];
}

/** Certificates by name, made on demand (a Map will do). */
export interface CertificateLookup {
  get(name: string): Uint8Array | undefined;
}

/**
 * A network too big to hold (certhunt generate): sessions from an iterable that starts again
 * from the first each time it is iterated (a writer may read them more than once), already in
 * start order; certificates looked up by name. `span` is given: finding it would take a pass.
 * No DNS.
 */
export interface SessionStream {
  certificates: CertificateLookup;
  sessions: Iterable<SessionSpec>;
  span: { first: number; last: number };
}

/** What the writers take: a network held whole (the demo's, the tests'), or a stream. */
export type Traffic = Network | SessionStream;

/**
 * How many certificates' facts (fingerprints, parsed names, relog times) a writer remembers:
 * enough for the popular ones, whatever the number of certificates in a stream.
 */
export const CERTIFICATE_CACHE = 16_384;

/** Time between two packets of a connection (a 20 ms round trip, one way each). */
export const PACKET_GAP_MS = 10;
/** TCP payload per segment (Ethernet MTU less IPv4, TCP and timestamp options, as Linux sends). */
export const MSS = 1448;

/** Packet times (epoch ms) of what sensors time-stamp their records with. */
export interface SessionTimes {
  /** The SYN (Zeek conn.log's ts, and our capture source's). */
  start: number;
  /** The packet completing the ClientHello: Zeek's ssl.log ts (the SSL analyzer's first event). */
  clientHello: number;
  /** The packet completing the Certificate message: Zeek's x509.log ts. Null when none was sent in clear. */
  certificate: number | null;
  /**
   * Suricata's eve tls timestamp: the first application_data record (its parser's "handshake
   * done"), or for a session that never got there, the client's FIN (end of stream).
   */
  eve: number;
  /** The last packet of the connection. */
  end: number;
}

export interface SessionFacts {
  spec: SessionSpec;
  /** Position in `Network.sessions` (in a stream's order for a SessionStream). */
  index: number;
  uid: string;
  version: TlsVersion;
  established: boolean;
  resumed: boolean;
  ders: Uint8Array[];
  chainSha256: string[];
  hello: HelloShape;
  ja3: Fingerprint;
  ja3s: Fingerprint;
  ja4: string;
  cipherName: string;
  times: SessionTimes;
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Zeek-style connection uid: "C" and 17 base62 characters, stable for a label. */
export function zeekUid(label: string): string {
  const h = Buffer.from(digest('sha256', label), 'hex');
  return 'C' + Array.from(h.subarray(0, 17), (b) => B62[b % 62]).join('');
}

/** Session i's uid: every sensor's record of it carries this one. */
export const sessionUid = (index: number): string => zeekUid(`uid/${index}`);

/** The capture's label for a session: every pseudo-random byte of it derives from this. */
export const sessionLabel = (index: number) => `session-${index}`;

function check(s: SessionSpec, i: number): void {
  const fail = (why: string) => {
    throw new Error(`session ${i}: ${why}`);
  };
  if (!CIPHER_NAMES[s.cipher]) fail(`cipher 0x${s.cipher.toString(16)} is not in CIPHER_NAMES`);
  if (isTls13(s) !== isTls13Suite(s.cipher)) fail(`cipher 0x${s.cipher.toString(16)} is not a ${s.version ?? 'TLSv12'} suite`);
  if (isTls13(s) && s.chain.length > 0) fail('TLS 1.3 encrypts the Certificate message: no sensor sees a chain, leave it empty');
  if (isTls13(s) && s.resumed) fail('TLS 1.3 resumption (PSK) is not modelled');
  if (s.resumed && s.chain.length > 0) fail('a resumed session sends no certificates');
  if (s.resumed && s.established === false) fail('a resumed session that is not established is not modelled');
  if (!isTls13(s) && s.established === false && s.chain.length === 0) fail('a TLS 1.2 session that is not established is refused at its Certificate: give a chain');
}

/** Index of the packet carrying a byte: SYN, SYN-ACK, ACK, then each turn in MSS-sized segments. */
function packetOf(ex: TlsExchange, mark: Mark): number {
  let n = 3;
  for (let t = 0; t < mark.turn; t++) n += Math.ceil(ex.turns[t]!.bytes.length / MSS);
  return n + Math.floor(mark.offset / MSS);
}

/** SessionTimes less the session's start: what the exchange's shape decides. */
type TimeOffsets = Omit<SessionTimes, 'start'>;

function offsetsOf(ex: TlsExchange): TimeOffsets {
  const at = (packet: number) => packet * PACKET_GAP_MS;
  const segments = ex.turns.reduce((n, t) => n + Math.ceil(t.bytes.length / MSS), 0);
  // After the segments: the client's FIN, the server's FIN, the last ACK.
  const clientFin = 3 + segments;
  return {
    clientHello: at(packetOf(ex, { turn: 0, offset: ex.turns[0]!.bytes.length - 1 })),
    certificate: ex.certificate ? at(packetOf(ex, ex.certificate)) : null,
    eve: at(ex.appData ? packetOf(ex, ex.appData) : clientFin),
    end: at(clientFin + 2),
  };
}

const timesOf = (s: SessionSpec, o: TimeOffsets): SessionTimes => ({
  start: s.ts,
  clientHello: s.ts + o.clientHello,
  certificate: o.certificate === null ? null : s.ts + o.certificate,
  eve: s.ts + o.eve,
  end: s.ts + o.end,
});

/**
 * What decides the lengths of an exchange's turns, and so its packet times: tls.ts sizes every
 * message from these (the SNI's bytes and the certificates' lengths, not their content).
 */
const shapeKey = (s: SessionSpec, ders: Uint8Array[]) =>
  `${s.version ?? 'TLSv12'}|${s.resumed ?? false}|${s.established ?? true}|${s.cipher}|${s.client_kind ?? 'browser'}|${s.sni === null ? -1 : s.sni.length}|${ders.map((d) => d.length).join(',')}`;

/** The sessions in start order with their position: an array sorted here, a stream checked. */
function* inOrder(net: Traffic): Generator<{ spec: SessionSpec; index: number }> {
  const sessions = net.sessions;
  if (Array.isArray(sessions)) {
    const order = sessions.map((_, i) => i).sort((a, b) => sessions[a]!.ts - sessions[b]!.ts || a - b);
    for (const index of order) yield { spec: sessions[index]!, index };
    return;
  }
  let index = 0;
  let last = -Infinity;
  for (const spec of sessions) {
    if (spec.ts < last) throw new Error(`session ${index} starts before the one before it: a stream's sessions must come in start order`);
    last = spec.ts;
    yield { spec, index: index++ };
  }
}

/** A lookup by name over a Record or anything with get(name). */
function certificatesOf(net: Traffic): (name: string) => Uint8Array | undefined {
  const c = net.certificates;
  if (typeof (c as CertificateLookup).get === 'function') return (name) => (c as CertificateLookup).get(name);
  const record = c as Record<string, Uint8Array>;
  return (name) => (Object.hasOwn(record, name) ? record[name] : undefined);
}

/**
 * What a session's hellos give: the ClientHello's shape, JA3 and JA4 and the time its last
 * packet arrives after the SYN, and the ServerHello's JA3S. Each depends on a few of the
 * session's fields only (version, client kind, SNI length; version and suite), so each is made
 * once per combination.
 */
export class Hellos {
  private readonly clients = new Map<string, { hello: HelloShape; ja3: Fingerprint; ja4: string; offset: number }>();
  private readonly servers = new Map<string, Fingerprint>();

  client(spec: SessionSpec): { hello: HelloShape; ja3: Fingerprint; ja4: string; offset: number } {
    const key = `${spec.version ?? 'TLSv12'}|${spec.client_kind ?? 'browser'}|${spec.sni === null ? -1 : spec.sni.length}`;
    let h = this.clients.get(key);
    if (!h) {
      const hello = helloShape(spec);
      // The ClientHello is the first turn after the handshake's three packets (packetOf).
      const offset = (3 + Math.floor((clientHelloLength(spec) - 1) / MSS)) * PACKET_GAP_MS;
      this.clients.set(key, (h = { hello, ja3: ja3(hello), ja4: ja4(hello), offset }));
    }
    return h;
  }

  server(spec: SessionSpec): Fingerprint {
    const key = `${spec.version ?? 'TLSv12'}|${spec.cipher}`;
    let f = this.servers.get(key);
    if (!f) this.servers.set(key, (f = ja3s(spec)));
    return f;
  }
}

/**
 * Each session with its facts; `exchange` says whether to build the TLS bytes (the capture
 * needs them) or only the packet times, which depend on the exchange's shape alone and are
 * taken from a cache of shapes: building the bytes (pseudo-random filler, SHA-256 per 32 bytes)
 * is most of a session's cost.
 */
function* facts(net: Traffic, exchange: boolean): Generator<{ facts: SessionFacts; exchange: TlsExchange | null }> {
  const certificate = certificatesOf(net);
  const sha256 = new Lru<string, string>(CERTIFICATE_CACHE);
  const offsets = new Lru<string, TimeOffsets>(4096);
  const hellos = new Hellos();
  for (const { spec, index: i } of inOrder(net)) {
    check(spec, i);
    const ders = spec.chain.map((name) => {
      const der = certificate(name);
      if (!der) throw new Error(`session ${i} names unknown certificate ${name}`);
      return der;
    });
    const chainSha256 = spec.chain.map((name, k) => sha256.through(name, () => digest('sha256', ders[k]!)));
    const label = sessionLabel(i);
    const ex = exchange ? tlsExchange(spec, ders, label) : null;
    const key = shapeKey(spec, ders);
    let o = offsets.get(key);
    if (!o) offsets.set(key, (o = offsetsOf(ex ?? tlsExchange(spec, ders, label))));
    const h = hellos.client(spec);
    const server = hellos.server(spec);
    const f: SessionFacts = {
      spec, index: i, uid: sessionUid(i),
      version: spec.version ?? 'TLSv12', established: spec.established ?? true, resumed: spec.resumed ?? false,
      ders, chainSha256, hello: h.hello, ja3: h.ja3, ja3s: server, ja4: h.ja4,
      cipherName: CIPHER_NAMES[spec.cipher]!,
      times: timesOf(spec, o),
    };
    yield { facts: f, exchange: ex };
  }
}

/**
 * The sessions in time order, each with its facts and the exchange they were derived from (the
 * capture writer needs the bytes too, and building them is most of the cost).
 */
export function* sessionExchanges(net: Traffic): Generator<{ facts: SessionFacts; exchange: TlsExchange }> {
  for (const x of facts(net, true)) yield { facts: x.facts, exchange: x.exchange! };
}

/** The sessions in time order with what every sensor derives from them, one at a time. */
export function* eachSession(net: Traffic): Generator<SessionFacts> {
  for (const x of facts(net, false)) yield x.facts;
}

/** All sessions' facts, in time order. */
export function sessionFacts(net: Traffic): SessionFacts[] {
  return [...eachSession(net)];
}

/** The DNS lookups in time order, each with its position in `Network.dns`. */
export function dnsInOrder(net: Traffic): { q: DnsQuery; index: number }[] {
  const dns = ('dns' in net ? net.dns : undefined) ?? [];
  return dns.map((q, index) => ({ q, index })).sort((a, b) => a.q.ts - b.q.ts || a.index - b.index);
}

/** The earliest and latest moments the network covers (a log's #open and #close). */
export function span(net: Traffic): { first: number; last: number } {
  if ('span' in net) return net.span;
  let first = Infinity;
  let last = -Infinity;
  const see = (t: number) => {
    if (t < first) first = t;
    if (t > last) last = t;
  };
  for (const s of net.sessions) see(s.ts);
  for (const q of net.dns ?? []) see(q.ts);
  return first === Infinity ? { first: 0, last: 0 } : { first, last };
}

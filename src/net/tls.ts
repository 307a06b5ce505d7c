/**
 * TLS handshakes from the two reassembled byte streams of one TCP connection: ClientHello,
 * ServerHello, certificate chains, ChangeCipherSpec, plaintext alerts, and whether the session
 * was established. Found by content on any port, after a plaintext preamble too (STARTTLS,
 * HTTP CONNECT, PostgreSQL SSLRequest, MySQL SSL request). SSLv2 hellos are understood.
 *
 * Streaming by design: record bodies are never buffered whole. Handshake bytes go to a per
 * direction reassembly queue that holds only the unfinished message; encrypted bodies are
 * skipped by count; the only other copies are a record header and at most one preamble
 * candidate (≤ one record). Hostile input never throws out of the public methods: every length
 * is checked against what is there, messages are capped (`maxMessage`), and a direction that
 * stops making sense is given up with an entry in `problems`.
 */

export interface ClientHello {
  /** Version of the record that carried it (0x0002 for an SSLv2-compatible hello). */
  recordVersion: number;
  /** client_version field. */
  legacyVersion: number;
  /** Came as an SSLv2-compatible ClientHello. */
  sslv2: boolean;
  /** As sent. SSLv2 3-byte cipher specs 00 XX YY become 0xXXYY; others keep their 24-bit value. */
  ciphers: number[];
  compression: number[];
  /** Extension types in order. */
  extensions: number[];
  /** First host_name of server_name, bytes as latin1 (never rejected for content). */
  sni: string | null;
  /** ALPN protocol names, bytes as latin1. */
  alpn: string[];
  /** Extension 43. */
  supportedVersions: number[];
  /** Extension 10. */
  groups: number[];
  /** Extension 11. */
  pointFormats: number[];
  /** Extension 13. */
  sigAlgs: number[];
}

export interface ServerHello {
  legacyVersion: number;
  /** Negotiated: supported_versions (43) when present, else legacyVersion. */
  version: number;
  cipher: number;
  compression: number;
  extensions: number[];
  alpn: string | null;
}

export interface TlsAlert {
  from: 'client' | 'server';
  level: number;
  description: number;
}

export interface TlsState {
  /** null until decided; true once a TLS (or SSLv2) hello was recognised; false when the stream was given up as not TLS. */
  isTls: boolean | null;
  clientHello?: ClientHello;
  serverHello?: ServerHello;
  /** DER, leaf first, as sent (copies, not views). */
  serverCertificates: Uint8Array[];
  clientCertificates: Uint8Array[];
  clientChangeCipherSpec: boolean;
  serverChangeCipherSpec: boolean;
  /** An application_data record was seen from that side (before `done`, after which input is ignored). */
  clientAppData: boolean;
  serverAppData: boolean;
  /** Only unencrypted ones (before that side's ChangeCipherSpec). */
  alerts: TlsAlert[];
  /** Offset in its direction's stream where TLS started (0 normally; >0 after a STARTTLS / CONNECT / SSLRequest preamble). */
  clientStart?: number;
  serverStart?: number;
  /** Malformed things seen (at most MAX_PROBLEMS). */
  problems: string[];
}

export interface TlsOptions {
  /** Plaintext bytes scanned for a hello before a direction is given up as not TLS (default 64 KiB). */
  maxPreamble?: number;
  /** Largest handshake message accepted (default 1 MiB). */
  maxMessage?: number;
}

const MAX_PROBLEMS = 20;
const MAX_ALERTS = 20;
/** TLSCiphertext.length limit (RFC 5246 §6.2.3): 2^14 + 2048. */
const MAX_RECORD = 16384 + 2048;

const CHANGE_CIPHER_SPEC = 20;
const ALERT = 21;
const HANDSHAKE = 22;
const APPLICATION_DATA = 23;

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
const HRR_RANDOM = Uint8Array.from([
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]);

/**
 * Zeek's test (ssl-protocol.pac, determine_state): any version but SSLv2, SSLv3 and TLS 1.0–1.2,
 * including "not negotiated yet" (0), behaves as TLS 1.3, since drafts and vendor variants all
 * carry odd numbers.
 */
function isLegacyVersion(v: number): boolean {
  return v === 0x0002 || (v >= 0x0300 && v <= 0x0303);
}

const EMPTY = new Uint8Array(0);

/** Bounds-checked big-endian reads; a read past the end sets `bad` and returns zeros. */
class Reader {
  bad = false;
  #pos: number;
  readonly #end: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    end = bytes.length,
  ) {
    this.#pos = start;
    this.#end = end;
  }

  get left(): number {
    return this.#end - this.#pos;
  }

  #need(n: number): boolean {
    if (this.bad || this.#end - this.#pos < n) {
      this.bad = true;
      this.#pos = this.#end;
      return false;
    }
    return true;
  }

  u8(): number {
    return this.#need(1) ? this.bytes[this.#pos++]! : 0;
  }

  u16(): number {
    if (!this.#need(2)) return 0;
    const b = this.bytes;
    const v = (b[this.#pos]! << 8) | b[this.#pos + 1]!;
    this.#pos += 2;
    return v;
  }

  u24(): number {
    if (!this.#need(3)) return 0;
    const b = this.bytes;
    const v = (b[this.#pos]! << 16) | (b[this.#pos + 1]! << 8) | b[this.#pos + 2]!;
    this.#pos += 3;
    return v;
  }

  take(n: number): Uint8Array {
    if (!this.#need(n)) return EMPTY;
    const v = this.bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  skip(n: number): void {
    if (this.#need(n)) this.#pos += n;
  }

  /** A reader over the next `n` bytes (an empty, bad one when they are not all there). */
  sub(n: number): Reader {
    if (!this.#need(n)) {
      const r = new Reader(EMPTY);
      r.bad = true;
      return r;
    }
    const r = new Reader(this.bytes, this.#pos, this.#pos + n);
    this.#pos += n;
    return r;
  }
}

/** A byte queue that grows by doubling and reuses its space, so appends are amortised O(1). */
class ByteQueue {
  #buf = EMPTY;
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#end - this.#start;
  }

  view(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  push(src: Uint8Array): void {
    const len = this.#end - this.#start;
    if (this.#end + src.length > this.#buf.length) {
      if (len + src.length <= this.#buf.length >> 1) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(Math.max(256, this.#buf.length * 2, len + src.length));
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = len;
    }
    this.#buf.set(src, this.#end);
    this.#end += src.length;
  }

  consume(n: number): void {
    this.#start += n;
    if (this.#start >= this.#end) this.#start = this.#end = 0;
  }

  clear(): void {
    this.#buf = EMPTY;
    this.#start = this.#end = 0;
  }
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Parsed<T> {
  value: T | null;
  problem: string | null;
}

function u16List(r: Reader, out: number[]): void {
  while (r.left >= 2) out.push(r.u16());
}

/** ProtocolNameList (RFC 7301): 2-byte list length, then 1-byte-length names. */
function protocolNames(r: Reader): string[] {
  const list = r.sub(r.u16());
  const out: string[] = [];
  while (list.left > 0) {
    const name = list.take(list.u8());
    if (list.bad) break;
    out.push(latin1(name));
  }
  return out;
}

/** ServerNameList (RFC 6066 §3): the first host_name (type 0). */
function hostName(r: Reader): string | null {
  const list = r.sub(r.u16());
  while (list.left > 0) {
    const type = list.u8();
    const name = list.take(list.u16());
    if (list.bad) return null;
    if (type === 0) return latin1(name);
  }
  return null;
}

function clientExtension(ch: ClientHello, type: number, d: Reader): void {
  switch (type) {
    case 0x0000:
      if (ch.sni === null) ch.sni = hostName(d);
      break;
    case 0x0010:
      if (ch.alpn.length === 0) ch.alpn = protocolNames(d);
      break;
    case 0x002b:
      if (ch.supportedVersions.length === 0) u16List(d.sub(d.u8()), ch.supportedVersions);
      break;
    case 0x000a:
      if (ch.groups.length === 0) u16List(d.sub(d.u16()), ch.groups);
      break;
    case 0x000b:
      if (ch.pointFormats.length === 0) ch.pointFormats = Array.from(d.take(d.u8()));
      break;
    case 0x000d:
      if (ch.sigAlgs.length === 0) u16List(d.sub(d.u16()), ch.sigAlgs);
      break;
  }
}

/**
 * Walks an extensions block (2-byte total length, then type/length/data), calling `each` for
 * every whole extension. Returns a problem when the block does not frame.
 */
function extensions(r: Reader, what: string, each: (type: number, data: Reader) => void): string | null {
  // Extensions are optional: SSLv3 and early TLS hellos end after the compression methods.
  if (r.left === 0) return null;
  if (r.left < 2) return `${what}: stray byte after the compression methods`;
  const declared = r.u16();
  let problem: string | null = declared > r.left ? `${what}: extensions run past the message` : null;
  const block = r.sub(Math.min(declared, r.left));
  while (block.left > 0) {
    const type = block.u16();
    const len = block.u16();
    if (block.bad || len > block.left) {
      problem ??= `${what}: truncated extension`;
      break;
    }
    each(type, block.sub(len));
  }
  return problem;
}

function parseClientHello(body: Uint8Array, recordVersion: number): Parsed<ClientHello> {
  const r = new Reader(body);
  const legacyVersion = r.u16();
  r.skip(32);
  r.skip(r.u8());
  const cipherBytes = r.u16();
  const ciphers: number[] = [];
  u16List(r.sub(cipherBytes), ciphers);
  const compression = Array.from(r.take(r.u8()));
  if (r.bad) return { value: null, problem: 'ClientHello: truncated' };
  const ch: ClientHello = {
    recordVersion, legacyVersion, sslv2: false, ciphers, compression, extensions: [],
    sni: null, alpn: [], supportedVersions: [], groups: [], pointFormats: [], sigAlgs: [],
  };
  let problem = extensions(r, 'ClientHello', (type, d) => {
    ch.extensions.push(type);
    clientExtension(ch, type, d);
  });
  if (cipherBytes % 2 !== 0) problem ??= 'ClientHello: odd cipher suites length';
  return { value: ch, problem };
}

interface ServerHelloParse {
  hello: ServerHello;
  retry: boolean;
}

function parseServerHello(body: Uint8Array): Parsed<ServerHelloParse> {
  const r = new Reader(body);
  const legacyVersion = r.u16();
  const random = r.take(32);
  // TLS 1.3 drafts up to 21 (0x7f15) carried the version here and dropped session_id and
  // compression_method; draft 22 put them back and moved the version into supported_versions.
  const draft = legacyVersion >> 8 === 0x7f;
  if (!draft) r.skip(r.u8());
  const cipher = r.u16();
  const compression = draft ? 0 : r.u8();
  if (r.bad) return { value: null, problem: 'ServerHello: truncated' };
  const hello: ServerHello = { legacyVersion, version: legacyVersion, cipher, compression, extensions: [], alpn: null };
  let selected: number | null = null;
  const problem = extensions(r, 'ServerHello', (type, d) => {
    hello.extensions.push(type);
    // A server selects exactly one version (Zeek ignores the extension otherwise).
    if (type === 0x002b && selected === null && d.left === 2) selected = d.u16();
    if (type === 0x0010 && hello.alpn === null) hello.alpn = protocolNames(d)[0] ?? null;
  });
  if (selected !== null) hello.version = selected;
  return { value: { hello, retry: sameBytes(random, HRR_RANDOM) }, problem };
}

/** TLS ≤ 1.2 Certificate: 3-byte list length, then 3-byte length + DER for each. */
function parseCertificates(body: Uint8Array): Parsed<Uint8Array[]> {
  const r = new Reader(body);
  const total = r.u24();
  if (r.bad) return { value: null, problem: 'Certificate: truncated' };
  let problem: string | null = total > r.left ? 'Certificate: list runs past the message' : null;
  const list = r.sub(Math.min(total, r.left));
  const certs: Uint8Array[] = [];
  while (list.left > 0) {
    const der = list.take(list.u24());
    if (list.bad) {
      problem ??= 'Certificate: truncated entry';
      break;
    }
    if (der.length > 0) certs.push(der.slice());
  }
  return { value: certs, problem };
}

/** SSLv2 cipher kinds are 3 bytes; 00 XX YY is the TLS suite 0xXXYY (RFC 6101 appendix E). */
function v2Ciphers(specs: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 3 <= specs.length; i += 3) {
    const a = specs[i]!;
    const v = (specs[i + 1]! << 8) | specs[i + 2]!;
    out.push(a === 0 ? v : a * 0x10000 + v);
  }
  return out;
}

/** SSLv2 CLIENT-HELLO body (after the 2-byte record header, message type first). */
function parseV2ClientHello(body: Uint8Array): Parsed<ClientHello> {
  const r = new Reader(body, 1);
  const version = r.u16();
  const cipherLen = r.u16();
  const sessionLen = r.u16();
  const challengeLen = r.u16();
  const specs = r.take(cipherLen);
  r.skip(sessionLen);
  r.skip(challengeLen);
  if (r.bad) return { value: null, problem: 'SSLv2 ClientHello: truncated' };
  return {
    value: {
      recordVersion: 0x0002, legacyVersion: version, sslv2: true, ciphers: v2Ciphers(specs), compression: [],
      extensions: [], sni: null, alpn: [], supportedVersions: [], groups: [], pointFormats: [], sigAlgs: [],
    },
    problem: cipherLen % 3 === 0 ? null : 'SSLv2 ClientHello: cipher specs length not a multiple of 3',
  };
}

interface V2ServerHello {
  hello: ServerHello;
  certificate: Uint8Array | null;
}

/** SSLv2 SERVER-HELLO: the server's certificate rides in it. Zeek reports the first cipher kind. */
function parseV2ServerHello(body: Uint8Array): Parsed<V2ServerHello> {
  const r = new Reader(body, 1);
  r.skip(2); // session_id_hit, certificate_type
  const version = r.u16();
  const certLen = r.u16();
  const cipherLen = r.u16();
  const idLen = r.u16();
  const cert = r.take(certLen);
  const specs = r.take(cipherLen);
  r.skip(idLen);
  if (r.bad) return { value: null, problem: 'SSLv2 ServerHello: truncated' };
  const ciphers = v2Ciphers(specs);
  return {
    value: {
      hello: { legacyVersion: version, version, cipher: ciphers[0] ?? 0, compression: 0, extensions: [], alpn: null },
      certificate: cert.length > 0 ? cert.slice() : null,
    },
    problem: null,
  };
}

// What becomes of the body of the record being read.
const SKIP = 0;
const TO_HANDSHAKE = 1;
const TO_SMALL = 2;
const TO_V2 = 3;

/** One direction of the connection. */
class Side {
  phase: 'detect' | 'records' | 'stopped' = 'detect';
  /** Bytes handed in so far. */
  received = 0;
  /** Detection: bytes from a candidate hello that needs more before it can be judged. */
  carry: Uint8Array | null = null;
  /** maxPreamble passed without a hello. */
  gaveUp = false;
  /** This side opened with an SSLv2 hello, so SSLv2 record headers may follow. */
  v2 = false;

  readonly header = new Uint8Array(5);
  headerLen = 0;
  headerNeed = 0;
  inRecord = false;
  recType = 0;
  recVersion = 0;
  recLength = 0;
  remaining = 0;
  sink = SKIP;
  readonly small = new Uint8Array(32);
  smallLen = 0;

  /** Handshake reassembly (or the body of an SSLv2 record). */
  readonly hs = new ByteQueue();
  /** Version of the record the message being reassembled started in. */
  msgRecordVersion = 0;
  /** Zeek's per-direction state (CLEAR / ENCRYPTED), which drives `established`. */
  encrypted = false;
  /** Plaintext handshake messages may still come. */
  handshakeOpen = true;
  /** Server: a HelloRetryRequest was sent; the real ServerHello follows in clear, even after a compat CCS. */
  retryPending = false;

  constructor(readonly isClient: boolean) {}

  get name(): 'client' | 'server' {
    return this.isClient ? 'client' : 'server';
  }
}

type Start = 'no' | 'more' | 'tls' | 'v2';

export class TlsConnection {
  readonly state: TlsState = {
    isTls: null,
    serverCertificates: [],
    clientCertificates: [],
    clientChangeCipherSpec: false,
    serverChangeCipherSpec: false,
    clientAppData: false,
    serverAppData: false,
    alerts: [],
    problems: [],
  };

  readonly #maxPreamble: number;
  readonly #maxMessage: number;
  readonly #c = new Side(true);
  readonly #s = new Side(false);
  #done = false;
  #established = false;
  /** The server answered with an SSLv2 SERVER-HELLO: the whole connection speaks SSLv2. */
  #sslv2 = false;

  constructor(options: TlsOptions = {}) {
    this.#maxPreamble = options.maxPreamble ?? 64 * 1024;
    this.#maxMessage = options.maxMessage ?? 1024 * 1024;
  }

  /**
   * True when nothing more can be learnt: not TLS, or both directions encrypted (or given up)
   * and `established` decided. The caller stops feeding; input after this is ignored.
   */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Zeek's `ssl_established` (ssl-dtls-analyzer.pac): a record arrives that is read as
   * ciphertext while both directions are in the encrypted state. A direction turns encrypted at
   * its ChangeCipherSpec, or — TLS 1.3, where the CCS is optional — at its first
   * application_data record once the negotiated version is not SSLv2/SSLv3/TLS 1.0–1.2 (or is
   * not known yet); an SSLv2 CLIENT-MASTER-KEY turns both. So TLS ≤ 1.2 is established at the
   * Finished after the second CCS, TLS 1.3 at the client's first encrypted flight. "After" is in
   * the order the two directions are fed, which is packet order when the caller interleaves them.
   */
  get established(): boolean {
    return this.#established;
  }

  /** Bytes of the client→server direction, in order, without gaps (a view: copied when kept). */
  client(data: Uint8Array): void {
    this.#feed(this.#c, data);
  }

  server(data: Uint8Array): void {
    this.#feed(this.#s, data);
  }

  /** The client→server direction lost bytes: nothing more is parsed from it. */
  clientGap(): void {
    this.#gap(this.#c);
  }

  serverGap(): void {
    this.#gap(this.#s);
  }

  #gap(side: Side): void {
    if (this.#done) return;
    this.#stop(side);
    this.#update();
  }

  #feed(side: Side, data: Uint8Array): void {
    if (this.#done || side.phase === 'stopped' || data.length === 0) return;
    try {
      side.received += data.length;
      if (side.phase === 'detect') this.#detect(side, data);
      else this.#records(side, data);
    } catch (e) {
      // Not expected: every read is bounds-checked. Kept so a parser bug costs one direction,
      // not the capture.
      this.#problem(`${side.name}: internal error: ${e instanceof Error ? e.message : String(e)}`);
      this.#stop(side);
    }
    this.#update();
  }

  #problem(text: string): void {
    if (this.state.problems.length < MAX_PROBLEMS) this.state.problems.push(text);
  }

  #stop(side: Side): void {
    side.phase = 'stopped';
    side.carry = null;
    side.hs.clear();
  }

  #update(): void {
    if (this.#done) return;
    const c = this.#c;
    const s = this.#s;
    if (this.state.isTls !== true) {
      // Either side passing its preamble limit without a hello ends it: a plain download (the
      // server talking for megabytes) must not be reassembled to the end (test/net/session.test.ts).
      if (c.gaveUp || s.gaveUp || (c.phase === 'stopped' && s.phase === 'stopped')) {
        this.state.isTls = false;
        this.#finish();
      }
      return;
    }
    if (learning(c) || learning(s)) return;
    const walking = c.phase === 'records' || s.phase === 'records';
    if (this.#established || !walking || !(c.encrypted && s.encrypted)) this.#finish();
  }

  #finish(): void {
    this.#done = true;
    for (const side of [this.#c, this.#s]) {
      side.carry = null;
      side.hs.clear();
    }
  }

  // ---- detection ---------------------------------------------------------------------------

  #detect(side: Side, data: Uint8Array): void {
    let buf = data;
    let base = side.received - data.length;
    if (side.carry) {
      const joined = new Uint8Array(side.carry.length + data.length);
      joined.set(side.carry);
      joined.set(data, side.carry.length);
      base -= side.carry.length;
      buf = joined;
      side.carry = null;
    }
    let i = 0;
    if (base === 0) {
      const start = this.#startsHere(side, buf);
      if (start === 'more') {
        side.carry = buf.slice();
        return;
      }
      if (start !== 'no') {
        this.#begin(side, 0, start === 'v2');
        this.#records(side, buf);
        return;
      }
      i = 1;
    }
    for (;;) {
      // indexOf is fast on sparse matches; a run of 0x16 bytes is walked without a call per byte.
      if (buf[i] !== HANDSHAKE) i = buf.indexOf(HANDSHAKE, i);
      if (i < 0 || base + i >= this.#maxPreamble) break;
      if (i + 1 < buf.length && buf[i + 1] !== 3) {
        i++;
        continue;
      }
      const verdict = this.#candidate(side, buf, i);
      if (verdict === 'yes') {
        this.#begin(side, base + i, false);
        this.#records(side, buf.subarray(i));
        return;
      }
      if (verdict === 'more') {
        side.carry = buf.slice(i);
        return;
      }
      i++;
    }
    if (side.received >= this.#maxPreamble) {
      side.gaveUp = true;
      this.#stop(side);
    }
  }

  /**
   * At stream offset 0 a record header is enough: type 22 (a server may also open with an
   * alert, refusing the ClientHello), major version 3, minor 0–4, a length a record can have;
   * or an SSLv2 CLIENT-HELLO / SERVER-HELLO as Zeek recognises them.
   */
  #startsHere(side: Side, b: Uint8Array): Start {
    const b0 = b[0]!;
    if (b0 & 0x80) {
      if (side.isClient) {
        if (b.length < 5) return 'more';
        const len = ((b0 & 0x7f) << 8) | b[1]!;
        const version = (b[3]! << 8) | b[4]!;
        return b[2] === 1 && len >= 9 && isLegacyVersion(version) ? 'v2' : 'no';
      }
      if (b.length < 7) return 'more';
      const len = ((b0 & 0x7f) << 8) | b[1]!;
      return b[2] === 4 && b[3]! <= 1 && b[4]! <= 1 && ((b[5]! << 8) | b[6]!) === 0x0002 && len >= 11 ? 'v2' : 'no';
    }
    if (b0 === HANDSHAKE || (!side.isClient && b0 === ALERT)) {
      if (b.length < 5) return 'more';
      const len = (b[3]! << 8) | b[4]!;
      return b[1] === 3 && b[2]! <= 4 && len >= 1 && len <= MAX_RECORD ? 'tls' : 'no';
    }
    return 'no';
  }

  /**
   * After a plaintext preamble: `16 03 0x LL LL` opening a ClientHello (client) or ServerHello
   * (server) whose own version is 3.x (or a 0x7fNN draft from a server), and whose length either
   * fits the record or continues into a following handshake record.
   */
  #candidate(side: Side, b: Uint8Array, i: number): 'yes' | 'no' | 'more' {
    if (b.length - i < 11) return 'more';
    if (b[i + 1] !== 3 || b[i + 2]! > 4) return 'no';
    const recLen = (b[i + 3]! << 8) | b[i + 4]!;
    if (recLen < 6 || recLen > MAX_RECORD) return 'no';
    if (b[i + 5] !== (side.isClient ? 1 : 2)) return 'no';
    const msgLen = (b[i + 6]! << 16) | (b[i + 7]! << 8) | b[i + 8]!;
    if (msgLen < 36 || msgLen > this.#maxMessage) return 'no';
    const major = b[i + 9]!;
    if (!((major === 3 && b[i + 10]! <= 4) || (!side.isClient && major === 0x7f))) return 'no';
    if (msgLen + 4 <= recLen) return 'yes';
    const next = i + 5 + recLen;
    if (b.length < next + 3) return 'more';
    return b[next] === HANDSHAKE && b[next + 1] === 3 && b[next + 2]! <= 4 ? 'yes' : 'no';
  }

  #begin(side: Side, offset: number, v2: boolean): void {
    side.phase = 'records';
    side.v2 = v2;
    if (v2 && !side.isClient) this.#sslv2 = true;
    if (side.isClient) this.state.clientStart = offset;
    else this.state.serverStart = offset;
    this.state.isTls = true;
  }

  // ---- records -----------------------------------------------------------------------------

  #records(side: Side, data: Uint8Array): void {
    const n = data.length;
    let p = 0;
    while (p < n) {
      if (side.phase !== 'records' || this.#done) return;
      if (!side.inRecord) {
        if (side.headerNeed === 0) side.headerNeed = this.#headerSize(side, data[p]!);
        const take = Math.min(side.headerNeed - side.headerLen, n - p);
        side.header.set(data.subarray(p, p + take), side.headerLen);
        side.headerLen += take;
        p += take;
        if (side.headerLen < side.headerNeed) return;
        this.#onHeader(side);
        side.headerLen = 0;
        side.headerNeed = 0;
        if (side.inRecord && side.remaining === 0) this.#onRecordEnd(side);
        continue;
      }
      const take = Math.min(side.remaining, n - p);
      const chunk = data.subarray(p, p + take);
      p += take;
      side.remaining -= take;
      if (side.sink === TO_HANDSHAKE) {
        if (side.hs.length === 0) side.msgRecordVersion = side.recVersion;
        side.hs.push(chunk);
        this.#handshakeMessages(side);
      } else if (side.sink === TO_SMALL) {
        const room = Math.min(take, side.small.length - side.smallLen);
        side.small.set(chunk.subarray(0, room), side.smallLen);
        side.smallLen += room;
      } else if (side.sink === TO_V2) {
        side.hs.push(chunk);
      }
      if (side.remaining === 0 && side.inRecord) this.#onRecordEnd(side);
    }
  }

  /**
   * SSLv2 records have a 2-byte header (top bit set) or, once padding is in use, a 3-byte one.
   * TLS content types all have the top bit clear, so after an SSLv2 CLIENT-HELLO the first byte
   * tells which kind follows; once the server spoke SSLv2, everything is SSLv2.
   */
  #headerSize(side: Side, b0: number): number {
    if (!side.v2 && !this.#sslv2) return 5;
    if (b0 & 0x80) return 2;
    return this.#sslv2 ? 3 : 5;
  }

  #onHeader(side: Side): void {
    const h = side.header;
    side.inRecord = true;
    side.smallLen = 0;
    if (side.headerNeed !== 5) {
      side.recType = -1;
      side.recLength = side.remaining = side.headerNeed === 2 ? ((h[0]! & 0x7f) << 8) | h[1]! : ((h[0]! & 0x3f) << 8) | h[1]!;
      if (side.encrypted) {
        this.#ciphertext();
        side.sink = SKIP;
      } else {
        side.hs.clear();
        side.sink = TO_V2;
      }
      return;
    }
    const type = h[0]!;
    const length = (h[3]! << 8) | h[4]!;
    if (type < CHANGE_CIPHER_SPEC || type > 26 || h[1] !== 3 || h[2]! > 4 || length > MAX_RECORD) {
      this.#problem(`${side.name}: not a TLS record header, stream given up`);
      this.#stop(side);
      side.inRecord = false;
      return;
    }
    side.recType = type;
    side.recVersion = (h[1]! << 8) | h[2]!;
    side.recLength = side.remaining = length;
    if (type === APPLICATION_DATA) {
      if (side.isClient) this.state.clientAppData = true;
      else this.state.serverAppData = true;
      if (!side.encrypted && !isLegacyVersion(this.state.serverHello?.version ?? 0)) this.#encrypt(side);
    }
    if (side.encrypted && !(type === HANDSHAKE && side.retryPending)) {
      this.#ciphertext();
      side.sink = SKIP;
      return;
    }
    if (type === CHANGE_CIPHER_SPEC || type === ALERT) side.sink = TO_SMALL;
    else if (type === HANDSHAKE && side.handshakeOpen) side.sink = TO_HANDSHAKE;
    else side.sink = SKIP;
  }

  #ciphertext(): void {
    if (this.#c.encrypted && this.#s.encrypted) this.#established = true;
  }

  #encrypt(side: Side): void {
    side.encrypted = true;
    if (!side.retryPending) this.#closeHandshake(side, true);
  }

  #closeHandshake(side: Side, cutIsProblem: boolean): void {
    if (cutIsProblem && side.handshakeOpen && side.hs.length > 0) {
      this.#problem(`${side.name}: handshake message cut short by encryption`);
    }
    side.handshakeOpen = false;
    side.hs.clear();
    if (side.sink === TO_HANDSHAKE) side.sink = SKIP;
  }

  #onRecordEnd(side: Side): void {
    side.inRecord = false;
    if (side.sink === TO_SMALL) {
      if (side.recType === CHANGE_CIPHER_SPEC) {
        if (side.recLength === 0) this.#problem(`${side.name}: empty ChangeCipherSpec`);
        if (side.isClient) this.state.clientChangeCipherSpec = true;
        else this.state.serverChangeCipherSpec = true;
        this.#encrypt(side);
      } else if (side.recLength > 0 && side.recLength % 2 === 0 && side.recLength <= side.small.length) {
        for (let k = 0; k < side.recLength && this.state.alerts.length < MAX_ALERTS; k += 2) {
          this.state.alerts.push({ from: side.name, level: side.small[k]!, description: side.small[k + 1]! });
        }
      } else {
        this.#problem(`${side.name}: malformed alert record`);
      }
    } else if (side.sink === TO_V2) {
      // Cleared first: a CLIENT-MASTER-KEY switches encryption on, which drops pending bytes.
      const body = side.hs.view();
      side.hs.clear();
      if (body.length > 0) this.#v2Message(side, body);
    }
    side.sink = SKIP;
    this.#update();
  }

  // ---- handshake messages ------------------------------------------------------------------

  #handshakeMessages(side: Side): void {
    while (side.handshakeOpen && side.phase === 'records') {
      const v = side.hs.view();
      if (v.length < 4) return;
      const len = (v[1]! << 16) | (v[2]! << 8) | v[3]!;
      if (len > this.#maxMessage) {
        this.#problem(`${side.name}: handshake message larger than ${this.#maxMessage} bytes, stream given up`);
        this.#stop(side);
        return;
      }
      if (v.length < 4 + len) return;
      // Consuming moves offsets only; the message view stays valid while it is processed.
      side.hs.consume(4 + len);
      this.#onMessage(side, v[0]!, v.subarray(4, 4 + len));
    }
  }

  #onMessage(side: Side, type: number, body: Uint8Array): void {
    const st = this.state;
    if (side.isClient) {
      if (type === 1) {
        // A second ClientHello (after a HelloRetryRequest) is not used: fingerprints describe
        // the client's first offer, as FoxIO's JA4 does.
        if (st.clientHello) return;
        const { value, problem } = parseClientHello(body, side.msgRecordVersion);
        if (problem) this.#problem(`client: ${problem}`);
        if (value) st.clientHello = value;
      } else if (type === 11) {
        if (st.clientCertificates.length > 0) return;
        const { value, problem } = parseCertificates(body);
        if (problem) this.#problem(`client: ${problem}`);
        if (value) st.clientCertificates = value;
      } else if (type === 2) {
        this.#problem('client: ServerHello sent by the client');
      }
      return;
    }
    if (type === 2) {
      const { value, problem } = parseServerHello(body);
      if (problem) this.#problem(`server: ${problem}`);
      if (!value) return;
      st.serverHello = value.hello;
      side.retryPending = value.retry;
      // TLS 1.3: everything after the ServerHello is encrypted, certificates included.
      if (!value.retry && !isLegacyVersion(value.hello.version)) this.#closeHandshake(side, false);
    } else if (type === 6) {
      // HelloRetryRequest as its own message type (TLS 1.3 drafts before 22).
      side.retryPending = true;
    } else if (type === 11) {
      if (st.serverCertificates.length > 0) return;
      const { value, problem } = parseCertificates(body);
      if (problem) this.#problem(`server: ${problem}`);
      if (value) st.serverCertificates = value;
    } else if (type === 1) {
      this.#problem('server: ClientHello sent by the server');
    }
  }

  #v2Message(side: Side, body: Uint8Array): void {
    const type = body[0]!;
    if (side.isClient) {
      if (type === 1 && !this.state.clientHello) {
        const { value, problem } = parseV2ClientHello(body);
        if (problem) this.#problem(`client: ${problem}`);
        if (value) this.state.clientHello = value;
      } else if (type === 2) {
        // CLIENT-MASTER-KEY: both directions are encrypted from here on (Zeek does the same).
        this.#encrypt(this.#c);
        this.#encrypt(this.#s);
      }
      return;
    }
    if (type === 4) {
      const { value, problem } = parseV2ServerHello(body);
      if (problem) this.#problem(`server: ${problem}`);
      if (!value) return;
      this.state.serverHello = value.hello;
      if (value.certificate && this.state.serverCertificates.length === 0) this.state.serverCertificates = [value.certificate];
    }
  }
}

/** A direction that may still tell something: a hello, certificates, an alert, its encryption switch. */
function learning(side: Side): boolean {
  return side.phase === 'detect' || (side.phase === 'records' && (side.handshakeOpen || !side.encrypted));
}

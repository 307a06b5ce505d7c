/**
 * TLS handshakes built byte by byte from the RFCs (RFC 5246 for TLS 1.2, RFC 8446 for TLS 1.3),
 * never from src/net's parsers: what the demo's capture carries is decided here, and the
 * parsers are checked against it. Randoms, key shares, signatures and ciphertext are
 * deterministic filler (pseudoRandom), so the same network gives the same capture every time.
 */
import type { Turn } from '../net/writer.js';
import { cat, pseudoRandom, u16, u16s, u8, vec16, vec24, vec8, type Bytes } from './bytes.js';
import type { SessionSpec } from './sessions.js';

export const TLS12 = 0x0303;
export const TLS13 = 0x0304;
const TLS10 = 0x0301;
const CONTENT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;
const HS = { clientHello: 1, serverHello: 2, certificate: 11, serverKeyExchange: 12, serverHelloDone: 14, clientKeyExchange: 16 } as const;
export const EXT = {
  serverName: 0, supportedGroups: 10, ecPointFormats: 11, signatureAlgorithms: 13, alpn: 16, extendedMasterSecret: 23,
  sessionTicket: 35, supportedVersions: 43, pskKeyExchangeModes: 45, keyShare: 51, renegotiationInfo: 0xff01,
} as const;
const X25519 = 0x001d;
/** RFC 5246 §7.2: fatal, unknown_ca (a client refusing a certificate it cannot chain to a root). */
export const CLIENT_ALERT = { level: 2, description: 48, name: 'unknown_ca' } as const;

/** Zeek's names (scripts/base/protocols/ssl/consts.zeek) for the suites the demo can negotiate. */
export const CIPHER_NAMES: Readonly<Record<number, string>> = {
  0x002f: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  0x0035: 'TLS_RSA_WITH_AES_256_CBC_SHA',
  0x009c: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  0x1301: 'TLS_AES_128_GCM_SHA256',
  0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256',
  0xc013: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  0xc02b: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  0xc02c: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  0xc02f: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xc030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
};

/** RFC 8446 §B.4: the TLS 1.3 suites are 0x13XX and name no key exchange. */
export const isTls13Suite = (cipher: number): boolean => cipher >> 8 === 0x13;
export const isEcdhe = (cipher: number): boolean => cipher >> 8 === 0xc0;
/** RFC 8701 GREASE: 0x0a0a, 0x1a1a, … 0xfafa. */
export const isGrease = (v: number): boolean => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

export const isTls13 = (s: SessionSpec): boolean => (s.version ?? 'TLSv12') === 'TLSv13';

/** The ClientHello a session's client sends, field by field (what JA3 and JA4 are computed from). */
export interface HelloShape {
  ciphers: number[];
  /** Extension types in the order sent, SNI included when the session has one. */
  extensions: number[];
  groups: number[];
  pointFormats: number[];
  sigAlgs: number[];
  /** supported_versions (43): TLS 1.3 hellos only. */
  versions: number[];
  /** ALPN (16) protocol names. */
  alpn: string[];
  /** key_share (51) groups: TLS 1.3 hellos only; a GREASE group gets a one-byte share (RFC 8701 §3.1). */
  keyShares: number[];
}

/**
 * Browsers send GREASE (RFC 8701) first in the cipher, extension, group and version lists and as
 * a last extension too; implants send sparse hellos without it. A TLS 1.3 client offers 1.2 as
 * well (supported_versions 0x0304, 0x0303) and 1.2 suites after the 1.3 ones, as they all do.
 */
export function helloShape(s: SessionSpec): HelloShape {
  const sni = s.sni !== null ? [EXT.serverName] : [];
  const implant = (s.client_kind ?? 'browser') === 'implant';
  if (!isTls13(s)) {
    if (implant) {
      return {
        ciphers: [0xc030, 0xc02f, 0xc013, 0x009c, 0x0035, 0x002f],
        extensions: [...sni, EXT.supportedGroups, EXT.ecPointFormats, EXT.signatureAlgorithms],
        groups: [0x0017, 0x0018], pointFormats: [0], sigAlgs: [0x0401, 0x0501, 0x0201], versions: [], alpn: [], keyShares: [],
      };
    }
    return {
      ciphers: [0x0a0a, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xc013, 0x009c, 0x002f, 0x0035],
      extensions: [
        0x1a1a, ...sni, EXT.extendedMasterSecret, EXT.renegotiationInfo, EXT.supportedGroups, EXT.ecPointFormats, EXT.sessionTicket,
        EXT.signatureAlgorithms, 0x2a2a,
      ],
      groups: [0x3a3a, X25519, 0x0017, 0x0018], pointFormats: [0], sigAlgs: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201],
      versions: [], alpn: [], keyShares: [],
    };
  }
  if (implant) {
    return {
      ciphers: [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc030, 0xc013],
      extensions: [...sni, EXT.supportedGroups, EXT.ecPointFormats, EXT.signatureAlgorithms, EXT.keyShare, EXT.pskKeyExchangeModes, EXT.supportedVersions],
      groups: [X25519, 0x0017], pointFormats: [0], sigAlgs: [0x0804, 0x0403, 0x0401], versions: [TLS13, TLS12], alpn: [], keyShares: [X25519],
    };
  }
  return {
    ciphers: [0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xc013, 0x009c, 0x002f, 0x0035],
    extensions: [
      0x1a1a, ...sni, EXT.extendedMasterSecret, EXT.renegotiationInfo, EXT.supportedGroups, EXT.ecPointFormats, EXT.sessionTicket, EXT.alpn,
      EXT.signatureAlgorithms, EXT.keyShare, EXT.pskKeyExchangeModes, EXT.supportedVersions, 0x2a2a,
    ],
    groups: [0x3a3a, X25519, 0x0017, 0x0018], pointFormats: [0], sigAlgs: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
    versions: [0x5a5a, TLS13, TLS12], alpn: ['h2', 'http/1.1'], keyShares: [0x3a3a, X25519],
  };
}

/**
 * The ServerHello's extensions in order: TLS 1.2 as OpenSSL answers a browser; TLS 1.3 only what
 * RFC 8446 §4.1.3 puts there (supported_versions, key_share), the rest is in EncryptedExtensions.
 */
export function serverExtensions(s: SessionSpec): number[] {
  return isTls13(s) ? [EXT.supportedVersions, EXT.keyShare] : [EXT.renegotiationInfo, EXT.ecPointFormats, EXT.extendedMasterSecret];
}

/** TLSPlaintext records of one content type; bodies over 2^14 bytes are fragmented. */
function records(type: number, body: Bytes, version = TLS12): Bytes {
  const out: Bytes[] = [];
  for (let off = 0; off < body.length || off === 0; off += 16384) {
    out.push(cat(u8(type), u16(version), vec16(body.subarray(off, Math.min(off + 16384, body.length)))));
    if (body.length === 0) break;
  }
  return cat(...out);
}

/** Where the record carrying handshake-stream byte `at` ends, in the bytes `records` made of it. */
function recordEnd(at: number, bodyLength: number): number {
  const r = Math.floor(at / 16384);
  return Math.min((r + 1) * 16384, bodyLength) + (r + 1) * 5;
}

const handshake = (type: number, body: Bytes) => cat(u8(type), vec24(body));
const extension = (type: number, data: Bytes) => cat(u16(type), vec16(data));

function clientExtension(type: number, s: SessionSpec, shape: HelloShape, label: string): Bytes {
  switch (type) {
    case EXT.serverName:
      return extension(type, vec16(cat(u8(0), vec16(Buffer.from(s.sni ?? '', 'ascii')))));
    case EXT.supportedGroups:
      return extension(type, vec16(u16s(shape.groups)));
    case EXT.ecPointFormats:
      return extension(type, vec8(Uint8Array.from(shape.pointFormats)));
    case EXT.signatureAlgorithms:
      return extension(type, vec16(u16s(shape.sigAlgs)));
    case EXT.renegotiationInfo:
      return extension(type, vec8(new Uint8Array()));
    case EXT.alpn:
      return extension(type, vec16(cat(...shape.alpn.map((p) => vec8(Buffer.from(p, 'ascii'))))));
    case EXT.supportedVersions:
      return extension(type, vec8(u16s(shape.versions)));
    case EXT.pskKeyExchangeModes:
      // psk_dhe_ke only (RFC 8446 §4.2.9), as browsers offer.
      return extension(type, vec8(u8(1)));
    case EXT.keyShare: {
      const shares = shape.keyShares.map((g) => cat(u16(g), vec16(isGrease(g) ? u8(0) : pseudoRandom(`${label}/client-share-${g}`, 32))));
      return extension(type, vec16(cat(...shares)));
    }
    case 0x2a2a:
      // The trailing GREASE extension carries a byte, as Chrome's does.
      return extension(type, u8(0));
    default:
      return extension(type, new Uint8Array());
  }
}

/**
 * The client's legacy_session_id: the one being resumed (TLS 1.2 resumption), otherwise 32
 * fresh bytes (a TLS 1.2 client offering a new session; a TLS 1.3 one in middlebox
 * compatibility mode, RFC 8446 §D.4).
 */
const clientSessionId = (s: SessionSpec, label: string) => pseudoRandom(`${s.resumed ? `${s.sni}/${s.server.ip}` : label}/session-id`, 32);

function clientHello(s: SessionSpec, label: string): Bytes {
  const shape = helloShape(s);
  const body = cat(
    u16(TLS12),
    pseudoRandom(`${label}/client-random`, 32),
    vec8(clientSessionId(s, label)),
    vec16(u16s(shape.ciphers)),
    vec8(u8(0)),
    vec16(cat(...shape.extensions.map((t) => clientExtension(t, s, shape, label)))),
  );
  // A ClientHello record usually carries version 1.0 for old middleboxes' sake (RFC 8446 §5.1).
  return records(CONTENT.handshake, handshake(HS.clientHello, body), TLS10);
}

/** The ClientHello record's length: what its packet times depend on (the label only fills random bytes). */
export const clientHelloLength = (s: SessionSpec): number => clientHello(s, 'length').length;

function serverHello(s: SessionSpec, label: string): Bytes {
  const exts = serverExtensions(s).map((type) => {
    switch (type) {
      case EXT.renegotiationInfo:
        return extension(type, vec8(new Uint8Array()));
      case EXT.ecPointFormats:
        return extension(type, vec8(u8(0)));
      case EXT.supportedVersions:
        return extension(type, u16(TLS13));
      case EXT.keyShare:
        return extension(type, cat(u16(X25519), vec16(pseudoRandom(`${label}/server-share`, 32))));
      default:
        return extension(type, new Uint8Array());
    }
  });
  // TLS 1.3 echoes the client's session id (legacy_session_id_echo); so does a TLS 1.2 server
  // resuming that session (RFC 5246 §7.4.1.3); a new TLS 1.2 session gets its own.
  const sessionId = isTls13(s) || s.resumed ? clientSessionId(s, label) : pseudoRandom(`${label}/server-session`, 32);
  return handshake(HS.serverHello, cat(u16(TLS12), pseudoRandom(`${label}/server-random`, 32), vec8(sessionId), u16(s.cipher), u8(0), vec16(cat(...exts))));
}

/** A byte of one side's stream: turn number and offset in that turn. */
export interface Mark {
  turn: number;
  offset: number;
}

/** The bytes each side sends, in order, and where in them the events sensors time-stamp are. */
export interface TlsExchange {
  turns: Turn[];
  /** Last byte of the record that completes the server's Certificate message (TLS 1.2 full handshakes). */
  certificate: Mark | null;
  /** First byte of the first application_data record, either side (Suricata's "handshake done"). */
  appData: Mark | null;
}

/** TLSCiphertext (RFC 8446 §5.2): type application_data, the inner plaintext, its type byte and a 16-byte AEAD tag. */
const sealed = (label: string, plaintext: number) => records(CONTENT.applicationData, pseudoRandom(label, plaintext + 1 + 16));

function tls12(s: SessionSpec, ders: Bytes[], label: string): TlsExchange {
  const ccs = records(CONTENT.changeCipherSpec, u8(1));
  // Encrypted Finished: explicit nonce + 16 bytes of verify_data + tag, as random as ciphertext.
  const finished = (who: string) => records(CONTENT.handshake, pseudoRandom(`${label}/${who}-finished`, 40));
  const appData = (who: string, n: number) => records(CONTENT.applicationData, pseudoRandom(`${label}/${who}-data`, n));
  const hello = serverHello(s, label);
  if (s.resumed) {
    // The server finishes first: ServerHello, ChangeCipherSpec, Finished; then the client.
    const turns: Turn[] = [
      { from: 'client', bytes: clientHello(s, label) },
      { from: 'server', bytes: cat(records(CONTENT.handshake, hello), ccs, finished('server')) },
      { from: 'client', bytes: cat(ccs, finished('client')) },
      { from: 'client', bytes: appData('client', 517) },
      { from: 'server', bytes: appData('server', 3021) },
    ];
    return { turns, certificate: null, appData: { turn: 3, offset: 0 } };
  }
  const messages = [hello, handshake(HS.certificate, vec24(cat(...ders.map((d) => vec24(d)))))];
  const certificateEnd = hello.length + messages[1]!.length;
  if (isEcdhe(s.cipher)) {
    // named_curve x25519 and a 32-byte share, signed: ecdsa_secp256r1_sha256 for ECDSA suites
    // (a DER signature's worth of bytes), rsa_pkcs1_sha256 otherwise (a 2048-bit one's).
    const params = cat(u8(3), u16(X25519), vec8(pseudoRandom(`${label}/server-share`, 32)));
    const ecdsa = s.cipher === 0xc02b || s.cipher === 0xc02c;
    const signature = vec16(pseudoRandom(`${label}/ske-signature`, ecdsa ? 71 : 256));
    messages.push(handshake(HS.serverKeyExchange, cat(params, u16(ecdsa ? 0x0403 : 0x0401), signature)));
  }
  messages.push(handshake(HS.serverHelloDone, new Uint8Array()));
  const flight = cat(...messages);
  const certificate = { turn: 1, offset: recordEnd(certificateEnd - 1, flight.length) - 1 };
  const turns: Turn[] = [
    { from: 'client', bytes: clientHello(s, label) },
    { from: 'server', bytes: records(CONTENT.handshake, flight) },
  ];
  if (s.established === false) {
    // The client refuses the certificate: a plaintext fatal alert, then it closes.
    turns.push({ from: 'client', bytes: records(CONTENT.alert, u8(CLIENT_ALERT.level, CLIENT_ALERT.description)) });
    return { turns, certificate, appData: null };
  }
  const keyExchange = isEcdhe(s.cipher) ? vec8(pseudoRandom(`${label}/client-share`, 32)) : vec16(pseudoRandom(`${label}/premaster`, 256));
  turns.push(
    { from: 'client', bytes: cat(records(CONTENT.handshake, handshake(HS.clientKeyExchange, keyExchange)), ccs, finished('client')) },
    { from: 'server', bytes: cat(ccs, finished('server')) },
    { from: 'client', bytes: appData('client', 517) },
    { from: 'server', bytes: appData('server', 3021) },
  );
  return { turns, certificate, appData: { turn: 4, offset: 0 } };
}

/**
 * RFC 8446 full handshake in middlebox compatibility mode (§D.4): ServerHello in clear, a
 * ChangeCipherSpec from each side, everything else application_data records. The server's
 * EncryptedExtensions, Certificate, CertificateVerify and Finished are one record each, sized as
 * a two-certificate RSA chain would make them; nobody on the path can read them.
 */
function tls13(s: SessionSpec, label: string): TlsExchange {
  const ccs = records(CONTENT.changeCipherSpec, u8(1));
  const hash = s.cipher === 0x1302 ? 48 : 32;
  const hello = records(CONTENT.handshake, serverHello(s, label));
  const alpn = helloShape(s).alpn.length > 0 ? 9 : 0;
  const serverFlight = cat(
    hello,
    ccs,
    sealed(`${label}/encrypted-extensions`, 6 + alpn),
    sealed(`${label}/certificate`, 2700),
    sealed(`${label}/certificate-verify`, 264),
    sealed(`${label}/server-finished`, 4 + hash),
  );
  const turns: Turn[] = [
    { from: 'client', bytes: clientHello(s, label) },
    { from: 'server', bytes: serverFlight },
  ];
  const appData = { turn: 1, offset: hello.length + ccs.length };
  // Not established: the client gives up after the server's flight and closes without its own
  // CCS or Finished (an encrypted alert would count as established to Zeek, see sessions.ts).
  if (s.established === false) return { turns, certificate: null, appData };
  turns.push(
    { from: 'client', bytes: cat(ccs, sealed(`${label}/client-finished`, 4 + hash)) },
    { from: 'client', bytes: sealed(`${label}/client-data`, 500) },
    // Two NewSessionTickets, then the response.
    { from: 'server', bytes: cat(sealed(`${label}/ticket-1`, 250), sealed(`${label}/ticket-2`, 250), sealed(`${label}/server-data`, 3000)) },
  );
  return { turns, certificate: null, appData };
}

/** The whole exchange of one session; `ders` is its chain (empty for TLS 1.3 and resumed ones). */
export function tlsExchange(s: SessionSpec, ders: Bytes[], label: string): TlsExchange {
  return isTls13(s) ? tls13(s, label) : tls12(s, ders, label);
}

/** The bytes each side sends, in order: a whole handshake, then a little data. */
export function tlsTurns(s: SessionSpec, ders: Bytes[], label: string): Turn[] {
  return tlsExchange(s, ders, label).turns;
}

/**
 * TlsConnection on handshakes built byte by byte: record and message framing in every
 * arrangement, the plaintext preambles TLS hides behind, TLS 1.3 and SSLv2, Zeek's
 * `established`, and hostile input (truncation at every byte, seeded mutations). The real-capture
 * cross-checks against Arkime and Zeek live in ja.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { TlsConnection, type TlsState } from '../../src/net/tls.js';
import { cipherName, versionName } from '../../src/net/tls-names.js';
import { buildCertificate, keyPair, simpleName } from '../x509/helpers/build.js';
import { ascii, type Bytes, cat, prng, u16, u24, u8, vec16, vec24, vec8 } from '../helpers/bytes.js';

// ---- byte builders ------------------------------------------------------------------------

const fill = (n: number, v = 0x5a): Bytes => new Uint8Array(n).fill(v);

const record = (type: number, body: Bytes, version = 0x0303): Bytes => cat(u8(type), u16(version), u16(body.length), body);
const hs = (type: number, body: Bytes): Bytes => cat(u8(type), u24(body.length), body);
const ext = (type: number, data: Bytes): Bytes => cat(u16(type), vec16(data));

const sniExt = (host: string) => ext(0x0000, vec16(cat(u8(0), vec16(ascii(host)))));
const alpnExt = (protos: string[]) => ext(0x0010, vec16(cat(...protos.map((p) => vec8(ascii(p))))));
const versionsExt = (vs: number[]) => ext(0x002b, vec8(cat(...vs.map(u16))));
const groupsExt = (gs: number[]) => ext(0x000a, vec16(cat(...gs.map(u16))));
const pointsExt = (pf: number[]) => ext(0x000b, vec8(u8(...pf)));
const sigAlgsExt = (algs: number[]) => ext(0x000d, vec16(cat(...algs.map(u16))));
const keyShareExt = () => ext(0x0033, vec16(cat(u16(0x001d), vec16(fill(32, 7)))));

function clientHelloBody(o: { version?: number; ciphers: number[]; extensions?: Bytes[] | null; sessionId?: Bytes }): Bytes {
  return cat(
    u16(o.version ?? 0x0303),
    fill(32, 0x11),
    vec8(o.sessionId ?? fill(32, 0x22)),
    vec16(cat(...o.ciphers.map(u16))),
    vec8(u8(0)),
    o.extensions === null ? new Uint8Array(0) : vec16(cat(...(o.extensions ?? []))),
  );
}

const HRR = Uint8Array.from(Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'));

function serverHelloBody(o: { version?: number; cipher: number; extensions?: Bytes[] | null; random?: Bytes }): Bytes {
  return cat(
    u16(o.version ?? 0x0303),
    o.random ?? fill(32, 0x33),
    vec8(fill(32, 0x44)),
    u16(o.cipher),
    u8(0),
    o.extensions === null ? new Uint8Array(0) : vec16(cat(...(o.extensions ?? []))),
  );
}

const certificateBody = (ders: Bytes[]): Bytes => vec24(cat(...ders.map(vec24)));

/** Two real certificates (leaf, issuer), DER. */
const CERTS: Bytes[] = (() => {
  const ca = keyPair('p256', 1);
  const leaf = keyPair('p256', 2);
  const caName = simpleName([['CN', 'Test CA']]);
  return [
    buildCertificate({ subject: simpleName([['CN', 'www.example.test']]), issuer: caName, publicKey: leaf.publicKey, signer: ca.privateKey }),
    buildCertificate({ subject: caName, issuer: caName, publicKey: ca.publicKey, signer: ca.privateKey }),
  ];
})();

const CH12_EXTS = [
  sniExt('www.example.test'), groupsExt([0x0a0a, 0x001d, 0x0017]), pointsExt([0]), sigAlgsExt([0x0403, 0x0804]),
  alpnExt(['h2', 'http/1.1']), ext(0x0017, new Uint8Array(0)), ext(0xff01, u8(0)),
];
const CH12 = hs(1, clientHelloBody({ ciphers: [0x0a0a, 0xc02f, 0xc030, 0x009c, 0x00ff], extensions: CH12_EXTS }));
const SH12 = hs(2, serverHelloBody({ cipher: 0xc02f, extensions: [ext(0xff01, u8(0)), ext(0x000b, vec8(u8(0))), alpnExt(['h2'])] }));
const CERT_MSG = hs(11, certificateBody(CERTS));
const SHD = hs(14, new Uint8Array(0));
const CKE = hs(16, vec8(fill(65, 4)));
const CCS = record(20, u8(1));
const FINISHED = (n = 40) => record(22, fill(n, 0x99));
const APP = (n = 100) => record(23, fill(n, 0x77));

/** A complete TLS 1.2 handshake and a little application data, one byte stream per direction. */
function tls12(): { client: Bytes; server: Bytes } {
  return {
    client: cat(record(22, CH12, 0x0301), record(22, CKE), CCS, FINISHED(), APP()),
    server: cat(record(22, cat(SH12, CERT_MSG, SHD)), CCS, FINISHED(), APP(300)),
  };
}

// ---- driving a connection -------------------------------------------------------------------

function run(client: Bytes, server: Bytes, options?: ConstructorParameters<typeof TlsConnection>[0]): TlsConnection {
  const c = new TlsConnection(options);
  c.client(client);
  c.server(server);
  return c;
}

/** The state with certificates as hex, for deepEqual across runs. */
function summary(c: TlsConnection): unknown {
  const st: TlsState = c.state;
  return {
    ...st,
    serverCertificates: st.serverCertificates.map((d) => Buffer.from(d).toString('hex')),
    clientCertificates: st.clientCertificates.map((d) => Buffer.from(d).toString('hex')),
    done: c.done,
    established: c.established,
  };
}

function noInternalErrors(c: TlsConnection): void {
  assert.ok(!c.state.problems.some((p) => p.includes('internal')), c.state.problems.join('; '));
}


// ---- TLS 1.2 --------------------------------------------------------------------------------

test('TLS 1.2: hellos, certificate chain, CCS both ways, established', () => {
  const { client, server } = tls12();
  const c = run(client, server);
  const st = c.state;
  assert.equal(st.isTls, true);
  assert.deepEqual(st.problems, []);
  assert.deepEqual(st.clientHello, {
    recordVersion: 0x0301, legacyVersion: 0x0303, sslv2: false,
    ciphers: [0x0a0a, 0xc02f, 0xc030, 0x009c, 0x00ff], compression: [0],
    extensions: [0x0000, 0x000a, 0x000b, 0x000d, 0x0010, 0x0017, 0xff01],
    sni: 'www.example.test', alpn: ['h2', 'http/1.1'], supportedVersions: [],
    groups: [0x0a0a, 0x001d, 0x0017], pointFormats: [0], sigAlgs: [0x0403, 0x0804],
  });
  assert.deepEqual(st.serverHello, { legacyVersion: 0x0303, version: 0x0303, cipher: 0xc02f, compression: 0, extensions: [0xff01, 0x000b, 0x0010], alpn: 'h2' });
  assert.equal(versionName(st.serverHello!.version), 'TLSv12');
  assert.equal(cipherName(st.serverHello!.cipher), 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
  assert.deepEqual(st.serverCertificates, CERTS);
  assert.equal(new X509Certificate(st.serverCertificates[0]!).subject, 'CN=www.example.test');
  assert.deepEqual(st.clientCertificates, []);
  assert.equal(st.clientChangeCipherSpec, true);
  assert.equal(st.serverChangeCipherSpec, true);
  assert.equal(st.clientAppData, true);
  // Established (and so done) at the server's Finished: its application data is never looked at.
  assert.equal(st.serverAppData, false);
  assert.deepEqual(st.alerts, []);
  assert.equal(st.clientStart, 0);
  assert.equal(st.serverStart, 0);
  assert.equal(c.established, true);
  assert.equal(c.done, true);
});

test('TLS 1.2: every split point of either stream, and byte-at-a-time, give the same state', () => {
  const { client, server } = tls12();
  const want = summary(run(client, server));
  for (const [name, stream, other] of [['client', client, server], ['server', server, client]] as const) {
    for (let k = 0; k <= stream.length; k++) {
      const c = new TlsConnection();
      const feed = (b: Bytes) => (name === 'client' ? c.client(b) : c.server(b));
      feed(stream.subarray(0, k));
      feed(stream.subarray(k));
      if (name === 'client') c.server(other);
      else c.client(other);
      if (name === 'server') {
        // Fed server-first: same facts, the order only moves nothing Zeek would log.
        assert.deepEqual(summary(c), summary(runServerFirst(client, server)), `server split at ${k}`);
      } else {
        assert.deepEqual(summary(c), want, `client split at ${k}`);
      }
    }
  }
  const c = new TlsConnection();
  for (let i = 0; i < client.length; i++) c.client(client.subarray(i, i + 1));
  for (let i = 0; i < server.length; i++) c.server(server.subarray(i, i + 1));
  assert.deepEqual(summary(c), want);
});

function runServerFirst(client: Bytes, server: Bytes): TlsConnection {
  const c = new TlsConnection();
  c.server(server);
  c.client(client);
  return c;
}

test('several handshake messages in one record, one message across three records', () => {
  // Certificate split over three records, ServerHelloDone sharing the third.
  const a = Math.floor(CERT_MSG.length / 3);
  const server = cat(
    record(22, SH12),
    record(22, CERT_MSG.subarray(0, a)),
    record(22, CERT_MSG.subarray(a, 2 * a)),
    record(22, cat(CERT_MSG.subarray(2 * a), SHD)),
    CCS, FINISHED(),
  );
  // ClientHello split over three records too (as big post-quantum hellos are).
  const b = Math.floor(CH12.length / 3);
  const client = cat(record(22, CH12.subarray(0, b), 0x0301), record(22, CH12.subarray(b, 2 * b)), record(22, cat(CH12.subarray(2 * b), CKE)), CCS, FINISHED());
  const c = run(client, server);
  assert.deepEqual(c.state.problems, []);
  assert.equal(c.state.clientHello?.sni, 'www.example.test');
  assert.equal(c.state.clientHello?.recordVersion, 0x0301);
  assert.deepEqual(c.state.serverCertificates, CERTS);
  assert.equal(c.established, true);
});

test('client certificate before the client CCS is kept; certificates are copies', () => {
  const client = cat(record(22, CH12, 0x0301), record(22, cat(hs(11, certificateBody([CERTS[1]!])), CKE, hs(15, fill(10)))), CCS, FINISHED());
  const { server } = tls12();
  const c = new TlsConnection();
  const cc = client.slice();
  const ss = server.slice();
  c.client(cc);
  c.server(ss);
  cc.fill(0);
  ss.fill(0);
  assert.deepEqual(c.state.clientCertificates, [CERTS[1]]);
  assert.deepEqual(c.state.serverCertificates, CERTS);
});

test('established is Zeek\'s: a record after both CCS, not the CCS itself', () => {
  const c = new TlsConnection();
  c.client(cat(record(22, CH12, 0x0301), record(22, CKE), CCS, FINISHED()));
  c.server(cat(record(22, cat(SH12, CERT_MSG, SHD)), CCS));
  assert.equal(c.state.serverChangeCipherSpec, true);
  assert.equal(c.established, false);
  assert.equal(c.done, false);
  c.server(FINISHED());
  assert.equal(c.established, true);
  assert.equal(c.done, true);
  // Once done, input is ignored.
  const before = JSON.stringify(summary(c));
  for (let i = 0; i < 1000; i++) c.client(fill(1 << 20));
  assert.equal(JSON.stringify(summary(c)), before);
});

test('abbreviated (resumed) TLS 1.2 handshake: server CCS first, no certificates, established', () => {
  const c = new TlsConnection();
  c.client(record(22, CH12, 0x0301));
  c.server(cat(record(22, SH12), CCS, FINISHED()));
  assert.equal(c.established, false);
  c.client(cat(CCS, FINISHED()));
  assert.equal(c.established, true);
  assert.equal(c.done, true);
  assert.deepEqual(c.state.serverCertificates, []);
  assert.deepEqual(c.state.problems, []);
});

test('a server refusing the ClientHello with an alert', () => {
  const c = run(record(22, CH12, 0x0301), record(21, u8(2, 40)));
  assert.equal(c.state.isTls, true);
  assert.deepEqual(c.state.alerts, [{ from: 'server', level: 2, description: 40 }]);
  assert.equal(c.state.serverHello, undefined);
  assert.equal(c.established, false);
});

test('a gap stops a direction; nothing after it is parsed', () => {
  const { client, server } = tls12();
  const c = new TlsConnection();
  c.client(client);
  c.serverGap();
  c.server(server);
  assert.equal(c.state.serverHello, undefined);
  assert.equal(c.established, false);
  assert.equal(c.done, true);
});

// ---- TLS 1.3 --------------------------------------------------------------------------------

const CH13 = hs(1, clientHelloBody({
  ciphers: [0x2a2a, 0x1301, 0x1302, 0xc02b],
  extensions: [ext(0x3a3a, new Uint8Array(0)), sniExt('tls13.example.test'), versionsExt([0x5a5a, 0x0304, 0x0303]), groupsExt([0x001d]), keyShareExt(), sigAlgsExt([0x0804]), alpnExt(['h2'])],
}));
const SH13 = hs(2, serverHelloBody({ cipher: 0x1301, extensions: [keyShareExt(), ext(0x002b, u16(0x0304))] }));

test('TLS 1.3 (compat mode): no certificates, the dummy CCS changes nothing, established once both sides sent encrypted records', () => {
  const c = new TlsConnection();
  c.client(record(22, CH13, 0x0301));
  c.server(cat(record(22, SH13), CCS, APP(2000), APP(300)));
  assert.equal(c.state.serverHello?.version, 0x0304);
  assert.equal(c.state.serverHello?.legacyVersion, 0x0303);
  assert.equal(versionName(c.state.serverHello!.version), 'TLSv13');
  assert.equal(c.established, false);
  assert.equal(c.done, false);
  c.client(cat(CCS, APP(53)));
  assert.equal(c.established, true);
  assert.equal(c.done, true);
  assert.deepEqual(c.state.serverCertificates, []);
  assert.deepEqual(c.state.problems, []);
  assert.equal(c.state.clientHello?.sni, 'tls13.example.test');
  assert.deepEqual(c.state.clientHello?.supportedVersions, [0x5a5a, 0x0304, 0x0303]);
});

test('TLS 1.3 without CCS: established when application data flowed both ways', () => {
  const c = new TlsConnection();
  c.client(record(22, CH13, 0x0301));
  c.server(cat(record(22, SH13), APP(1500)));
  assert.equal(c.established, false);
  c.client(APP(53));
  assert.equal(c.established, true);
  assert.equal(c.state.clientChangeCipherSpec, false);
  assert.equal(c.state.serverChangeCipherSpec, false);
  // A handshake record after a TLS 1.3 ServerHello is encrypted: never read as a Certificate.
  const d = run(record(22, CH13, 0x0301), cat(record(22, SH13), record(22, CERT_MSG), APP()));
  assert.deepEqual(d.state.serverCertificates, []);
});

test('HelloRetryRequest: the first ClientHello is kept, the last ServerHello wins', () => {
  const ch2 = hs(1, clientHelloBody({ ciphers: [0x1301], extensions: [sniExt('second.example.test'), versionsExt([0x0304])] }));
  const hrr = hs(2, serverHelloBody({ cipher: 0x1302, random: HRR, extensions: [ext(0x002b, u16(0x0304)), ext(0x0033, u16(0x0017))] }));
  const c = new TlsConnection();
  c.client(record(22, CH13, 0x0301));
  c.server(cat(record(22, hrr), CCS));
  c.client(cat(CCS, record(22, ch2)));
  c.server(cat(record(22, SH13), APP(900)));
  c.client(APP(60));
  assert.equal(c.state.clientHello?.sni, 'tls13.example.test');
  assert.equal(c.state.serverHello?.cipher, 0x1301);
  assert.equal(c.established, true);
  assert.deepEqual(c.state.problems, []);
});

test('a TLS 1.3 draft ServerHello (no session id, no compression; version in the legacy field)', () => {
  const draft18 = hs(2, cat(u16(0x7f12), fill(32, 3), u16(0x1301), vec16(ext(0x0028, fill(36, 1)))));
  const c = run(record(22, CH13, 0x0301), record(22, draft18, 0x0301));
  assert.deepEqual(c.state.serverHello, { legacyVersion: 0x7f12, version: 0x7f12, cipher: 0x1301, compression: 0, extensions: [0x0028], alpn: null });
  assert.equal(versionName(0x7f12), 'TLSv13-draft18');
});

// ---- SSLv2 ----------------------------------------------------------------------------------

const v2record = (body: Bytes): Bytes => cat(u8(0x80 | (body.length >> 8), body.length & 0xff), body);
const v2ClientHello = (version: number, specs: Bytes) => v2record(cat(u8(1), u16(version), u16(specs.length), u16(0), u16(16), specs, fill(16, 9)));

test('SSLv2: CLIENT-HELLO and SERVER-HELLO with its certificate, established after CLIENT-MASTER-KEY', () => {
  const specs = cat(u8(0x01, 0x00, 0x80), u8(0x07, 0x00, 0xc0), u8(0x00, 0x00, 0x0a));
  const serverSpecs = cat(u8(0x01, 0x00, 0x80), u8(0x07, 0x00, 0xc0));
  const serverHello = v2record(cat(u8(4, 0, 1), u16(0x0002), u16(CERTS[0]!.length), u16(serverSpecs.length), u16(16), CERTS[0]!, serverSpecs, fill(16, 8)));
  const masterKey = v2record(cat(u8(2, 0x01, 0x00, 0x80), u16(0), u16(64), u16(0), fill(64, 6)));
  const c = new TlsConnection();
  c.client(v2ClientHello(0x0002, specs));
  c.server(serverHello);
  c.client(masterKey);
  assert.equal(c.established, false);
  c.client(v2record(fill(40, 1)));
  const st = c.state;
  assert.deepEqual(st.problems, []);
  assert.equal(st.clientHello?.sslv2, true);
  assert.equal(st.clientHello?.recordVersion, 0x0002);
  assert.equal(st.clientHello?.legacyVersion, 0x0002);
  assert.deepEqual(st.clientHello?.ciphers, [0x010080, 0x0700c0, 0x000a]);
  assert.equal(versionName(st.serverHello!.version), 'SSLv2');
  assert.equal(cipherName(st.serverHello!.cipher), 'SSLv20_CK_RC4_128_WITH_MD5');
  assert.deepEqual(st.serverCertificates, [CERTS[0]]);
  assert.equal(c.established, true);
});

test('SSLv2-compatible ClientHello answered in TLS', () => {
  const specs = cat(u8(0x00, 0x00, 0x2f), u8(0x00, 0x00, 0x35), u8(0x01, 0x00, 0x80));
  const sh = hs(2, serverHelloBody({ version: 0x0301, cipher: 0x002f, extensions: null }));
  const c = run(
    cat(v2ClientHello(0x0301, specs), record(22, CKE, 0x0301), record(20, u8(1), 0x0301), record(22, fill(48), 0x0301)),
    cat(record(22, cat(sh, CERT_MSG, SHD), 0x0301), record(20, u8(1), 0x0301), record(22, fill(48), 0x0301)),
  );
  assert.deepEqual(c.state.problems, []);
  assert.equal(c.state.clientHello?.sslv2, true);
  assert.equal(c.state.clientHello?.legacyVersion, 0x0301);
  assert.deepEqual(c.state.clientHello?.ciphers, [0x002f, 0x0035, 0x010080]);
  assert.deepEqual(c.state.serverHello?.extensions, []);
  assert.equal(versionName(c.state.serverHello!.version), 'TLSv10');
  assert.deepEqual(c.state.serverCertificates, CERTS);
  assert.equal(c.established, true);
});

// ---- preambles ------------------------------------------------------------------------------

function preambled(clientPre: string | Bytes, serverPre: string | Bytes): TlsConnection {
  const { client, server } = tls12();
  const bytes = (p: string | Bytes) => (typeof p === 'string' ? ascii(p) : p);
  const c = new TlsConnection();
  c.server(bytes(serverPre).subarray(0, 5));
  c.client(bytes(clientPre));
  c.server(bytes(serverPre).subarray(5));
  c.client(client);
  c.server(server);
  return c;
}

test('STARTTLS in SMTP: TLS found after the plaintext dialogue', () => {
  const clientPre = 'EHLO client.example.test\r\nSTARTTLS\r\n';
  const serverPre = '220 mx.example.test ESMTP ready\r\n250-mx.example.test\r\n250-SIZE 35882577\r\n250 STARTTLS\r\n220 2.0.0 Ready to start TLS\r\n';
  const c = preambled(clientPre, serverPre);
  assert.equal(c.state.isTls, true);
  assert.equal(c.state.clientStart, clientPre.length);
  assert.equal(c.state.serverStart, serverPre.length);
  assert.equal(c.state.clientHello?.sni, 'www.example.test');
  assert.deepEqual(c.state.serverCertificates, CERTS);
  assert.equal(c.established, true);
  assert.deepEqual(c.state.problems, []);
});

test('PostgreSQL SSLRequest (its 0x16 byte is not a record) and the server\'s S', () => {
  const c = preambled(u8(0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f), 'S');
  assert.equal(c.state.clientStart, 8);
  assert.equal(c.state.serverStart, 1);
  assert.deepEqual(c.state.serverCertificates, CERTS);
  assert.equal(c.established, true);
});

test('HTTP CONNECT, and a MySQL SSL request after a binary greeting', () => {
  const req = 'CONNECT www.example.test:443 HTTP/1.1\r\nHost: www.example.test:443\r\nUser-Agent: curl/8.5.0\r\n\r\n';
  const resp = 'HTTP/1.1 200 Connection established\r\n\r\n';
  const c = preambled(req, resp);
  assert.equal(c.state.clientStart, req.length);
  assert.equal(c.state.serverStart, resp.length);
  assert.equal(c.established, true);

  const greeting = cat(u24(74), u8(0), u8(10), ascii('8.0.36\0'), fill(66, 0x16));
  const sslRequest = cat(u24(32), u8(1), u8(0x0d, 0xa6, 0x0f, 0x00), fill(28, 0));
  const m = preambled(sslRequest, greeting);
  assert.equal(m.state.clientStart, sslRequest.length);
  assert.equal(m.state.serverStart, greeting.length);
  assert.deepEqual(m.state.serverCertificates, CERTS);
});

test('plain HTTP ends as not TLS, without problems', () => {
  const request = ascii(`POST /upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: 70000\r\n\r\n${'x'.repeat(70000)}`);
  const response = ascii('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const c = new TlsConnection();
  c.server(response);
  for (let i = 0; i < request.length; i += 1460) c.client(request.subarray(i, i + 1460));
  assert.equal(c.state.isTls, false);
  assert.equal(c.done, true);
  assert.deepEqual(c.state.problems, []);

  // A short exchange is undecided until both directions end.
  const d = run(ascii('GET / HTTP/1.1\r\nHost: example.test\r\n\r\n'), response);
  assert.equal(d.state.isTls, null);
  d.clientGap();
  d.serverGap();
  assert.equal(d.state.isTls, false);
  assert.equal(d.done, true);

  // maxPreamble is honoured.
  const e = run(fill(2000, 0x41), response, { maxPreamble: 1024 });
  assert.equal(e.state.isTls, false);
});

// ---- hostile input --------------------------------------------------------------------------

test('an oversized handshake message gives up that direction with a problem, without buffering it', () => {
  const huge = cat(u8(22, 3, 1, 0x40, 0x00), u8(1), u24(2 * 1024 * 1024), fill(16000));
  const c = run(huge, new Uint8Array(0));
  assert.equal(c.state.clientHello, undefined);
  assert.ok(c.state.problems.some((p) => p.includes('larger than')), c.state.problems.join('; '));

  const { client, server } = tls12();
  const d = run(client, server, { maxMessage: 500 });
  assert.deepEqual(d.state.serverCertificates, []);
  assert.ok(d.state.problems.some((p) => p.startsWith('server:')), JSON.stringify(d.state.problems));
});

test('truncation at every byte of either direction never throws', () => {
  const { client, server } = tls12();
  const v2 = v2ClientHello(0x0301, u8(0, 0, 0x2f, 0, 0, 0x35));
  for (const [cs, ss] of [[client, server], [cat(ascii('EHLO x\r\nSTARTTLS\r\n'), client), cat(ascii('220 ok\r\n'), server)], [v2, server]] as const) {
    for (let n = 0; n <= cs.length; n++) noInternalErrors(run(cs.subarray(0, n), ss));
    for (let n = 0; n <= ss.length; n++) noInternalErrors(run(cs, ss.subarray(0, n)));
  }
});

test('2,000 seeded mutations of real handshakes never throw, in bounded time', { timeout: 60_000 }, () => {
  const rnd = prng(20240601);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const { client, server } = tls12();
  const bases: [Bytes, Bytes][] = [
    [client, server],
    [cat(record(22, CH13, 0x0301), CCS, APP()), cat(record(22, SH13), CCS, APP(500))],
    [cat(ascii('EHLO x\r\nSTARTTLS\r\n'), client), cat(ascii('220 ok\r\n220 go\r\n'), server)],
    [v2ClientHello(0x0002, u8(1, 0, 0x80, 0, 0, 0x2f)), v2record(cat(u8(4, 0, 1), u16(2), u16(CERTS[0]!.length), u16(3), u16(16), CERTS[0]!, u8(1, 0, 0x80), fill(16)))],
  ];
  function mutate(b: Bytes): Bytes {
    let out: Bytes = b.slice();
    const edits = 1 + Math.floor(rnd() * 8);
    for (let e = 0; e < edits && out.length > 0; e++) {
      const at = Math.floor(rnd() * out.length);
      switch (Math.floor(rnd() * 6)) {
        case 0: out[at] = Math.floor(rnd() * 256); break;
        case 1: out[at] = 0xff; break;
        case 2: out[at] = 0x00; break;
        case 3: out = cat(out.subarray(0, at), fill(1 + Math.floor(rnd() * 8), Math.floor(rnd() * 256)), out.subarray(at)); break;
        case 4: out = cat(out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + Math.floor(rnd() * 64)))); break;
        default: out = cat(out.subarray(0, at), out.subarray(at, at + 32), out.subarray(at)); break;
      }
    }
    return out;
  }
  const started = Date.now();
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const [cs, ss] = pick(bases);
    const cm = mutate(cs);
    const sm = rnd() < 0.5 ? mutate(ss) : ss;
    const conn = new TlsConnection();
    let p = 0;
    let q = 0;
    while (p < cm.length || q < sm.length) {
      const n = 1 + Math.floor(rnd() * 300);
      if (rnd() < 0.5 && p < cm.length) conn.client(cm.subarray(p, (p += n)));
      else if (q < sm.length) conn.server(sm.subarray(q, (q += n)));
      else conn.client(cm.subarray(p, (p += n)));
    }
    noInternalErrors(conn);
    assert.ok(conn.state.problems.length <= 20 && conn.state.alerts.length <= 20, 'problems and alerts stay bounded');
    JSON.stringify(summary(conn));
    for (const p of conn.state.problems) seen.add(p.replace(/\d+/g, 'N'));
  }
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  // The mutations did reach the parsers' error paths.
  assert.ok(seen.size >= 5, [...seen].join('; '));
});

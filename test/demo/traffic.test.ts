/**
 * The demo's traffic (src/demo/traffic.ts) read back with our own parsers, at the library level:
 * a capture of mixed TLS 1.2 and TLS 1.3 sessions (pcap and pcapng) through src/net's
 * tlsSessions, Zeek logs through src/sources/zeek-log's zeekRows, eve.json as plain JSON.
 *
 * What a session should look like is written here from the spec and the RFCs (JA3/JA3S/JA4 from
 * the hello fields the demo says it sent, cipher names from Zeek's consts.zeek, Zeek's and
 * Suricata's behaviour from their scripts and sources), never from a parser's output.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { tlsSessions, type TlsSession } from '../../src/net/session.js';
import { readCapture } from '../../src/sources/pcap.js';
import type { SourceItem } from '../../src/sources/record.js';
import { suricataTls } from '../../src/sources/suricata.js';
import { zeekSsl } from '../../src/sources/zeek.js';
import { zeekRows, type ZeekRow } from '../../src/sources/zeek-log.js';
import {
  captureChunks, eveLines, helloShape, PACKET_GAP_MS, serverExtensions, sessionFacts, sha256Of, toEve, toPcap, toPcapng, toZeek, zeekLines,
  type Network, type SessionSpec,
} from '../../src/demo/traffic.js';
import { basicConstraintsExt, buildCertificate, keyPair, sanExt, simpleName } from '../x509/helpers/build.js';

const T0 = Date.UTC(2024, 2, 1, 9, 0, 0, 250);

// ---- the network ---------------------------------------------------------------------------------

const caKey = keyPair('p256', 70);
const leafKey = keyPair('p256', 71);
const caName = simpleName([['C', 'US'], ['O', 'Demo Trust'], ['CN', 'Demo Trust CA']]);
const certificates: Record<string, Uint8Array> = {
  ca: buildCertificate({
    subject: caName, issuer: caName, publicKey: caKey.publicKey, signer: caKey.privateKey, serial: 0x1001n,
    notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2030-01-01T00:00:00Z'), extensions: [basicConstraintsExt(true)],
  }),
  leaf: buildCertificate({
    subject: simpleName([['CN', 'www.example.com']]), issuer: caName, publicKey: leafKey.publicKey, signer: caKey.privateKey, serial: 0x2002n,
    notBefore: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2025-01-01T00:00:00Z'), extensions: [sanExt({ dns: ['www.example.com', '*.example.com'] })],
  }),
  self: buildCertificate({
    subject: simpleName([['CN', 'update-check.net']]), issuer: simpleName([['CN', 'update-check.net']]), publicKey: leafKey.publicKey, signer: leafKey.privateKey,
    serial: 0x3003n, notBefore: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2034-01-01T00:00:00Z'),
  }),
};

/** A session and what a sensor should make of it, written from the spec (Zeek's cipher names: consts.zeek). */
interface Case {
  spec: SessionSpec;
  cipherName: string;
}

let port = 50000;
const session = (minutes: number, server: string, sni: string | null, cipher: number, cipherName: string, chain: string[], more: Partial<SessionSpec> = {}): Case => ({
  spec: { ts: T0 + minutes * 60_000, client: { ip: '10.1.0.5', port: port++ }, server: { ip: server, port: 443 }, sni, cipher, chain, ...more },
  cipherName,
});

const CASES: Case[] = [
  session(0, '93.184.216.34', 'www.example.com', 0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', ['leaf', 'ca']),
  session(1, '93.184.216.34', 'www.example.com', 0x1301, 'TLS_AES_128_GCM_SHA256', [], { version: 'TLSv13' }),
  session(2, '203.0.113.9', null, 0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256', ['self'], { client_kind: 'implant' }),
  session(3, '203.0.113.9', null, 0x1302, 'TLS_AES_256_GCM_SHA384', [], { version: 'TLSv13', client_kind: 'implant' }),
  session(4, '93.184.216.34', 'www.example.com', 0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', [], { resumed: true }),
  session(5, '198.51.100.4', 'update-check.net', 0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', ['self'], { established: false }),
  session(6, '23.1.2.3', 'cdn.example.net', 0x1303, 'TLS_CHACHA20_POLY1305_SHA256', [], { version: 'TLSv13' }),
  session(7, '198.51.100.7', 'beacon.example.org', 0x1301, 'TLS_AES_128_GCM_SHA256', [], { version: 'TLSv13', client_kind: 'implant', established: false }),
  // Served for a name it does not cover; then the same chain an hour later (x509.log logs it
  // once) and two days later (logged again).
  session(8, '93.184.216.40', 'shop.example.org', 0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', ['leaf', 'ca']),
  session(68, '93.184.216.34', 'api.example.com', 0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA', ['leaf', 'ca']),
  session(2 * 24 * 60, '93.184.216.34', 'www.example.com', 0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', ['leaf', 'ca']),
];

const net: Network = {
  certificates,
  // Given out of time order: every writer puts them in order.
  sessions: [...CASES.slice(5), ...CASES.slice(0, 5)].map((c) => c.spec),
  dns: [
    { ts: T0 - 1000, client: '10.1.0.5', resolver: '10.1.0.1', query: 'www.example.com', answers: ['93.184.216.34'], ttl: 300 },
    { ts: T0 + 6 * 60_000 - 500, client: '10.1.0.5', resolver: '10.1.0.1', query: 'cdn.example.net', answers: ['cdn.example.net.edgekey.net', '23.1.2.3'], ttl: 60 },
    { ts: T0 + 3000, client: '10.1.0.6', resolver: '10.1.0.1', query: 'gone.example', answers: [], ttl: 0 },
    { ts: T0 + 4000, client: '10.1.0.6', resolver: '10.1.0.1', query: 'v6.example.com', answers: ['2606:2800:220:1::248'], ttl: 3600 },
  ],
};

// ---- independent expectations ------------------------------------------------------------------

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const GREASE = (v: number) => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
const tls13 = (s: SessionSpec) => s.version === 'TLSv13';
const sees = (s: SessionSpec) => !tls13(s) && !s.resumed;

/** Salesforce's JA3 of the hello the demo says it sends: legacy version 771, GREASE out. */
function expectedJa3(s: SessionSpec): string {
  const h = helloShape(s);
  const list = (xs: number[]) => xs.filter((v) => !GREASE(v)).join('-');
  return md5(`771,${list(h.ciphers)},${list(h.extensions)},${list(h.groups)},${h.pointFormats.join('-')}`);
}

/** JA3S: the ServerHello's legacy version (771, TLS 1.3 included), its suite and extensions. */
const expectedJa3s = (s: SessionSpec) => md5(`771,${s.cipher},${serverExtensions(s).join('-')}`);

/** JA4's first part: t, version, d/i, cipher and extension counts without GREASE, ALPN ends. */
function expectedJa4a(s: SessionSpec): string {
  const h = helloShape(s);
  const n = (xs: number[]) => String(xs.filter((v) => !GREASE(v)).length).padStart(2, '0');
  const alpn = h.alpn[0];
  return `t${tls13(s) ? '13' : '12'}${s.sni !== null ? 'd' : 'i'}${n(h.ciphers)}${n(h.extensions)}${alpn ? alpn[0]! + alpn.at(-1)! : '00'}`;
}

const byTime = [...CASES].sort((a, b) => a.spec.ts - b.spec.ts);

async function sessionsOf(capture: Buffer): Promise<TlsSession[]> {
  const out: TlsSession[] = [];
  async function* chunks() {
    for (let i = 0; i < capture.length; i += 4096) yield capture.subarray(i, i + 4096);
  }
  for await (const e of tlsSessions(chunks())) {
    assert.ok(e.kind === 'session', `no capture issue expected: ${JSON.stringify(e)}`);
    out.push(e.session);
  }
  return out;
}

async function* linesOf(text: string) {
  let pos = 0;
  for (const t of text.split('\n')) if (t !== '') yield { text: t, pos: ++pos, byteOffset: 0 };
}

async function rowsOf(text: string): Promise<ZeekRow[]> {
  const rows: ZeekRow[] = [];
  for await (const r of zeekRows(linesOf(text))) {
    assert.ok(r.kind === 'row', `every line reads: ${JSON.stringify(r)}`);
    rows.push(r);
  }
  return rows;
}

// ---- the capture ---------------------------------------------------------------------------------

test('pcap and pcapng of the network decode to identical sessions', async () => {
  const pcap = await sessionsOf(toPcap(net));
  const pcapng = await sessionsOf(toPcapng(net));
  assert.equal(pcap.length, CASES.length, 'one session per spec from the pcap');
  assert.deepEqual(pcapng, pcap, 'pcapng and pcap give the same sessions, field for field');
  assert.deepEqual(Buffer.concat([...captureChunks(net, 'pcapng')]), toPcapng(net), 'the streaming writer gives the same file');
});

test('the capture decodes to the sessions specified, TLS 1.2 and 1.3', async () => {
  const got = await sessionsOf(toPcap(net));
  const facts = sessionFacts(net);
  for (const [i, { spec: s, cipherName }] of byTime.entries()) {
    const d = got[i]!;
    const what = `session at +${(s.ts - T0) / 60_000} min (${s.version ?? 'TLSv12'}, ${s.sni ?? 'no SNI'})`;
    assert.deepEqual([d.client, d.server, d.ts], [s.client, s.server, s.ts], `${what}: endpoints and start`);
    assert.equal(d.version, tls13(s) ? 'TLSv13' : 'TLSv12', `${what}: version`);
    assert.equal(d.cipher, cipherName, `${what}: cipher`);
    assert.equal(d.serverName, s.sni, `${what}: SNI`);
    assert.equal(d.ja3, expectedJa3(s), `${what}: JA3 (${d.ja3Text})`);
    assert.equal(d.ja3s, expectedJa3s(s), `${what}: JA3S (${d.ja3sText})`);
    assert.ok(d.ja4 !== null && d.ja4.startsWith(`${expectedJa4a(s)}_`), `${what}: JA4 ${d.ja4} starts ${expectedJa4a(s)}`);
    assert.equal(d.ja4, facts[i]!.ja4, `${what}: JA4 as the demo computed it`);
    assert.equal(d.alpn, null, `${what}: no ALPN in clear from the server`);
    const chain = sees(s) ? s.chain.map((n) => certificates[n]!) : [];
    assert.deepEqual(d.serverCertificates.map((c) => Buffer.from(c)), chain.map((c) => Buffer.from(c)), `${what}: certificates only for TLS 1.2 full handshakes`);
    assert.equal(d.established, s.established ?? true, `${what}: established`);
    assert.deepEqual(d.problems, [], `${what}: nothing malformed`);
  }
  assert.ok(got.some((d) => d.version === 'TLSv13' && d.established) && got.some((d) => d.version === 'TLSv13' && !d.established), 'both kinds of TLS 1.3 session are there');
});

test('specs a sensor could not have seen are refused', () => {
  const base = CASES[1]!.spec;
  assert.throws(() => sessionFacts({ certificates, sessions: [{ ...base, chain: ['leaf'] }] }), /TLS 1.3 encrypts/, 'a TLS 1.3 chain');
  assert.throws(() => sessionFacts({ certificates, sessions: [{ ...base, cipher: 0xc02f }] }), /not a TLSv13 suite/, 'a TLS 1.2 suite in TLS 1.3');
  assert.throws(() => sessionFacts({ certificates, sessions: [{ ...CASES[0]!.spec, cipher: 0x1301, version: undefined }] }), /not a TLSv12 suite/, 'a TLS 1.3 suite in TLS 1.2');
  assert.throws(() => sessionFacts({ certificates, sessions: [{ ...CASES[0]!.spec, chain: [], established: false }] }), /give a chain/, 'a refused TLS 1.2 session without a certificate');
});

// ---- Zeek ----------------------------------------------------------------------------------------

/** A row's values through the accessor its #types name (the JSON row read with the TSV's types). */
function typed(row: ZeekRow, fields: string[], types: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  fields.forEach((name, i) => {
    const t = types[i]!;
    const f = row.fields;
    out[name] = t === 'time' || t === 'interval' ? f.time(name) : t === 'bool' ? f.bool(name) : t === 'count' || t === 'port' ? f.count(name)
      : t.startsWith('vector') || t.startsWith('set') ? f.list(name)?.map((v) => (t === 'vector[interval]' ? Number(v) : v)) ?? null : f.str(name);
  });
  return out;
}

test('Zeek TSV and JSON of the network carry the same values', async () => {
  const options = { certs: true, ja4: true };
  const tsv = toZeek(net, { ...options, format: 'tsv' });
  const json = toZeek(net, { ...options, format: 'json' });
  for (const log of ['x509', 'ssl', 'dns'] as const) {
    const head = tsv[log].split('\n');
    assert.deepEqual(head.slice(0, 5), ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', `#path\t${log}`], `${log}: the ASCII writer's header`);
    assert.match(head[5]!, /^#open\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/, `${log}: #open`);
    assert.match(head.at(-2)!, /^#close\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/, `${log}: #close last`);
    const fields = head.find((l) => l.startsWith('#fields\t'))!.split('\t').slice(1);
    const types = head.find((l) => l.startsWith('#types\t'))!.split('\t').slice(1);
    assert.equal(fields.length, types.length, `${log}: a type per field`);
    const a = (await rowsOf(tsv[log])).map((r) => typed(r, fields, types));
    const b = (await rowsOf(json[log])).map((r) => typed(r, fields, types));
    assert.ok(a.length > 0, `${log}: rows written`);
    assert.deepEqual(b, a, `${log}: JSON and TSV rows hold the same values`);
    assert.equal([...zeekLines(net, log, { ...options, format: 'tsv' })].join('\n') + '\n', tsv[log], `${log}: the streaming writer gives the same text`);
  }
  assert.match(json.dns, /"TTLs":\[300\.0\]/, 'JSON intervals keep their fraction, as rapidjson writes doubles');
  assert.equal(toZeek({ certificates, sessions: [] }).dns, '', 'no rows, no log');
});

test('ssl.log as Zeek writes it, TLS 1.3 and refused sessions included', async () => {
  const rows = await rowsOf(toZeek(net, { format: 'tsv', ja4: true }).ssl);
  const pcap = await sessionsOf(toPcap(net));
  assert.equal(rows.length, CASES.length, 'one row per session');
  const history = (s: SessionSpec) =>
    tls13(s) ? (s.established === false ? 'Csi' : 'CsiI') : s.resumed ? 'CsiI' : `Csx${s.cipher >> 8 === 0xc0 ? 'k' : ''}n${s.established === false ? 'L' : 'GIi'}`;
  for (const [i, { spec: s, cipherName }] of byTime.entries()) {
    const f = rows[i]!.fields;
    const what = `ssl.log row ${i} (${s.version ?? 'TLSv12'}, ${s.sni ?? 'no SNI'})`;
    // set_session at the first SSL event: the ClientHello, three packets after the SYN.
    assert.equal(f.time('ts'), s.ts + 3 * PACKET_GAP_MS, `${what}: ts of the ClientHello`);
    assert.deepEqual([f.str('id.orig_h'), f.count('id.orig_p'), f.str('id.resp_h'), f.count('id.resp_p')], [s.client.ip, s.client.port, s.server.ip, s.server.port], `${what}: conn id`);
    assert.equal(f.str('version'), tls13(s) ? 'TLSv13' : 'TLSv12', `${what}: version`);
    assert.equal(f.str('cipher'), cipherName, `${what}: cipher`);
    assert.equal(f.str('server_name'), s.sni, `${what}: server_name`);
    assert.equal(f.bool('established'), s.established ?? true, `${what}: established`);
    assert.equal(f.bool('resumed'), s.resumed ?? false, `${what}: resumed (not for TLS 1.3's echoed session id)`);
    assert.equal(f.str('last_alert'), sees(s) && s.established === false ? 'unknown_ca' : null, `${what}: last_alert`);
    assert.equal(f.str('ssl_history'), history(s), `${what}: ssl_history`);
    assert.equal(f.str('curve'), tls13(s) || (s.cipher >> 8 === 0xc0 && !s.resumed) ? 'x25519' : null, `${what}: curve`);
    assert.deepEqual(f.list('cert_chain_fps'), sees(s) ? s.chain.map((n) => sha256Of(certificates[n]!)) : null, `${what}: cert_chain_fps only when certificates were seen`);
    assert.deepEqual(f.list('client_cert_chain_fps'), sees(s) ? [] : null, `${what}: client_cert_chain_fps`);
    const matches = !sees(s) || s.sni === null ? null : s.sni !== 'shop.example.org';
    assert.equal(f.bool('sni_matches_cert'), matches, `${what}: sni_matches_cert`);
    // The same fingerprints our capture parser computes from the packets.
    assert.deepEqual([f.str('ja3'), f.str('ja3s'), f.str('ja4')], [pcap[i]!.ja3, pcap[i]!.ja3s, pcap[i]!.ja4], `${what}: ja3, ja3s, ja4 agree with the capture`);
  }
  const plain = (await rowsOf(toZeek(net, { ja3: false }).ssl))[0]!;
  assert.ok(!plain.fields.has('ja3') && !plain.fields.has('ja4'), 'without the packages, no ja3/ja4 columns');
});

test('x509.log: certificates seen in clear, the host certificate marked, relogged after a day', async () => {
  const rows = await rowsOf(toZeek(net, { format: 'json' }).x509);
  const seen = rows.map((r) => [r.fields.str('fingerprint'), r.fields.bool('host_cert')]);
  const leaf = sha256Of(certificates.leaf!);
  const ca = sha256Of(certificates.ca!);
  const self = sha256Of(certificates.self!);
  // leaf+ca at 0 min, self at 2 and 5 min (one entry), leaf+ca again only two days later.
  assert.deepEqual(seen, [[leaf, true], [ca, false], [self, true], [leaf, true], [ca, false]], 'x509.log rows in order');
  const first = byTime[0]!.spec;
  const ts = rows[0]!.fields.time('ts')!;
  assert.ok(ts > first.ts + 3 * PACKET_GAP_MS && ts < first.ts + 10 * PACKET_GAP_MS, `x509 ts ${ts - first.ts} ms after the SYN: when the server's Certificate arrived`);
});

test('dns.log rows match the lookups', async () => {
  const rows = await rowsOf(toZeek(net, { format: 'json' }).dns);
  const want = [...net.dns!].sort((a, b) => a.ts - b.ts);
  assert.equal(rows.length, want.length, 'one row per lookup');
  for (const [i, q] of want.entries()) {
    const f = rows[i]!.fields;
    const what = `dns.log ${q.query}`;
    const nx = q.answers.length === 0;
    const v6 = q.answers.some((a) => a.includes(':'));
    assert.deepEqual(
      [f.time('ts'), f.str('id.orig_h'), f.str('id.resp_h'), f.count('id.resp_p'), f.str('proto'), f.str('query'), f.count('qtype'), f.str('qtype_name'), f.str('qclass_name')],
      [q.ts, q.client, q.resolver, 53, 'udp', q.query, v6 ? 28 : 1, v6 ? 'AAAA' : 'A', 'C_INTERNET'],
      `${what}: who asked what`,
    );
    assert.deepEqual([f.count('rcode'), f.str('rcode_name')], nx ? [3, 'NXDOMAIN'] : [0, 'NOERROR'], `${what}: rcode`);
    assert.deepEqual(f.list('answers'), nx ? null : q.answers, `${what}: answers`);
    assert.deepEqual(f.list('TTLs')?.map(Number) ?? null, nx ? null : q.answers.map(() => q.ttl), `${what}: TTLs`);
    assert.deepEqual([f.bool('RD'), f.bool('RA'), f.bool('AA'), f.bool('TC'), f.bool('rejected')], [true, true, false, false, false], `${what}: flags`);
    assert.ok(/^C[0-9A-Za-z]{17}$/.test(f.str('uid') ?? ''), `${what}: a Zeek uid (${f.str('uid')})`);
  }
});

// ---- Suricata ------------------------------------------------------------------------------------

test('eve.json: TLS 1.3 without certificate fields or session_resumed, refused sessions with them', async () => {
  const events = [...eveLines(net, { ja4: true })].map((l) => JSON.parse(l) as { timestamp: string; tls: Record<string, unknown> });
  const pcap = await sessionsOf(toPcap(net));
  assert.equal(toEve(net, { ja4: true }), events.map((e) => JSON.stringify(e) + '\n').join(''), 'streaming and whole-file writers agree');
  for (const [i, { spec: s }] of byTime.entries()) {
    const t = events[i]!.tls;
    const what = `eve event ${i} (${s.version ?? 'TLSv12'}, ${s.sni ?? 'no SNI'})`;
    assert.equal(t.version, tls13(s) ? 'TLS 1.3' : 'TLS 1.2', `${what}: version`);
    assert.equal(t.sni, s.sni ?? undefined, `${what}: sni`);
    assert.equal(t.fingerprint !== undefined, sees(s), `${what}: a fingerprint only when a certificate was seen`);
    assert.equal(t.certificate !== undefined, sees(s), `${what}: certificate only when seen`);
    assert.equal(t.session_resumed, s.resumed ? true : undefined, `${what}: session_resumed for TLS 1.2 resumption only`);
    assert.ok(!('established' in t), `${what}: Suricata's tls event has no established field`);
    assert.deepEqual(
      [(t.ja3 as { hash: string }).hash, (t.ja3s as { hash: string }).hash, t.ja4],
      [pcap[i]!.ja3, pcap[i]!.ja3s, pcap[i]!.ja4],
      `${what}: ja3, ja3s, ja4 agree with the capture`,
    );
    const ts = Date.parse(events[i]!.timestamp.replace(/(\.\d{3})\d{3}\+0000$/, '$1Z'));
    assert.ok(ts > s.ts && ts < s.ts + 30 * PACKET_GAP_MS, `${what}: logged during the connection (${ts - s.ts} ms after the SYN)`);
  }
});

// ---- the three sensors, read by certhunt's sources --------------------------------------------------

test('the capture, ssl.log and eve.json give the same observations, but for what a sensor lacks', async () => {
  const observations = async (items: AsyncIterable<SourceItem>) => {
    const out = [];
    for await (const it of items) {
      assert.ok(it.kind !== 'reject', `nothing rejected: ${JSON.stringify(it)}`);
      if (it.kind === 'observation') {
        const o = it.obs;
        out.push({ src_port: o.src_port, dest_ip: o.dest_ip, tls_version: o.tls_version, server_name: o.server_name, ja3: o.ja3, ja3s: o.ja3s, ja4: o.ja4, chain_sha256: o.chain_sha256, cipher: o.cipher, established: o.established });
      }
    }
    return out;
  };
  const pcap = await observations(readCapture((async function* () { yield toPcap(net); })()));
  const zeek = await observations(zeekSsl.read(linesOf(toZeek(net, { format: 'tsv', ja4: true }).ssl)));
  const eve = await observations(suricataTls.read(linesOf(toEve(net, { ja4: true }))));
  assert.equal(pcap.length, CASES.length, 'an observation per session');
  assert.deepEqual(zeek, pcap, 'ssl.log and the capture agree field for field');
  // Suricata's tls event names no cipher and has no established flag.
  assert.deepEqual(eve, pcap.map((o) => ({ ...o, cipher: null, established: null })), 'eve.json and the capture agree but for cipher and established');
  assert.deepEqual(pcap.map((o) => o.tls_version), byTime.map((c) => (tls13(c.spec) ? 'TLSv13' : 'TLSv12')), 'versions as specified');
});

/**
 * JA3 / JA3S / JA4 against their specifications' own examples, Zeek's names against consts.zeek,
 * and everything against the tools that made ../shared/fixtures/pcap: Arkime's .test documents
 * (ja3, ja3s, ja4, ja4_r, cipher, version, certificate hashes) and Zeek's ssl.log / ssl-all.log /
 * x509.log baselines (version, cipher, server_name, established, hello fields, chain
 * fingerprints, DER). The captures are read by a throwaway reader below (classic pcap, Ethernet
 * or BSD loopback, IPv4/IPv6, TCP in sequence order) so these checks do not depend on the
 * capture and TCP layers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isGrease, ja3, ja3s, ja4 } from '../../src/net/ja.js';
import { TlsConnection, type ClientHello, type ServerHello } from '../../src/net/tls.js';
import { cipherName, versionName } from '../../src/net/tls-names.js';

function hello(over: Partial<ClientHello>): ClientHello {
  return {
    recordVersion: 0x0301, legacyVersion: 0x0303, sslv2: false, ciphers: [], compression: [0], extensions: [],
    sni: null, alpn: [], supportedVersions: [], groups: [], pointFormats: [], sigAlgs: [], ...over,
  };
}

// ---- JA3 / JA3S -----------------------------------------------------------------------------

test('GREASE values are exactly 0x?a?a with equal bytes', () => {
  const grease = [];
  for (let v = 0; v <= 0xffff; v++) if (isGrease(v)) grease.push(v);
  assert.deepEqual(grease, [0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea, 0xfafa]);
  assert.equal(isGrease(0x0a0a0a), false);
});

test('JA3: Salesforce\'s README example, GREASE removed from every list', () => {
  const ch = hello({
    legacyVersion: 769,
    ciphers: [0x0a0a, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
    extensions: [0x1a1a, 0, 10, 11],
    groups: [0x2a2a, 23, 24, 25],
    pointFormats: [0],
  });
  assert.deepEqual(ja3(ch), { text: '769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0', md5: 'ada70206e40642a3e4461f35503241d5' });
  // An SSLv3 hello without extensions leaves the last three fields empty.
  assert.equal(ja3(hello({ legacyVersion: 768, ciphers: [53, 255] })).text, '768,53-255,,,');
});

test('JA3S: legacy version, cipher, extensions', () => {
  const sh: ServerHello = { legacyVersion: 0x0303, version: 0x0304, cipher: 0x1301, compression: 0, extensions: [51, 43], alpn: null };
  assert.equal(ja3s(sh).text, '771,4865,51-43');
  assert.equal(ja3s(sh).md5, 'eb1d94daa7e0344597e756a1fb6e7054');
});

// ---- JA4 ------------------------------------------------------------------------------------

const SPEC_CH = hello({
  ciphers: [0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035],
  extensions: [0x2a2a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0x3a3a],
  sigAlgs: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
  supportedVersions: [0x4a4a, 0x0304, 0x0303],
  alpn: ['h2', 'http/1.1'],
  sni: 'example.com',
});

test('JA4: the example of FoxIO\'s JA4.md, hashed and raw', () => {
  assert.deepEqual(ja4(SPEC_CH), {
    text: 't13d1516h2_8daaf6152771_e5627efa2ab1',
    raw: 't13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601',
  });
  assert.equal(ja4(SPEC_CH, 'q').text, 'q13d1516h2_8daaf6152771_e5627efa2ab1');
  // "If there are no signature algorithms … the string ends without an underscore" (JA4.md: 6d807ffa2a79).
  assert.equal(ja4({ ...SPEC_CH, sigAlgs: [] }).text.slice(-12), '6d807ffa2a79');
});

test('JA4: version, SNI, counts and empty lists', () => {
  const v = (over: Partial<ClientHello>) => ja4(hello({ ciphers: [0x002f], ...over })).text.slice(0, 10);
  assert.equal(v({ legacyVersion: 0x0303 }), 't12i010000');
  assert.equal(v({ legacyVersion: 0x0300 }), 'ts3i010000');
  assert.equal(v({ legacyVersion: 0x0002 }), 'ts2i010000');
  assert.equal(v({ legacyVersion: 0x0301, supportedVersions: [0x7f17, 0x0303] }), 't00i010000');
  assert.equal(v({ supportedVersions: [0x0a0a] }), 't12i010000');
  assert.equal(v({ extensions: [0x0000] }), 't12d010100');
  assert.equal(ja4(hello({ ciphers: Array.from({ length: 120 }, (_, i) => i + 1) })).text.slice(4, 6), '99');
  assert.deepEqual(ja4(hello({ legacyVersion: 0x0300 })), { text: 'ts3i000000_000000000000_000000000000', raw: 'ts3i000000__' });
});

test('JA4: ALPN first and last characters, hex when an end is not alphanumeric', () => {
  const a = (alpn: string[]) => ja4(hello({ alpn })).text.slice(8, 10);
  const bytes = (...b: number[]) => Buffer.from(b).toString('latin1');
  assert.equal(a([]), '00');
  assert.equal(a(['']), '00');
  assert.equal(a(['h2', 'http/1.1']), 'h2');
  assert.equal(a(['http/1.1']), 'h1');
  assert.equal(a(['x']), 'xx');
  assert.equal(a([bytes(0xab)]), 'ab');
  assert.equal(a([bytes(0xab, 0xcd)]), 'ad');
  assert.equal(a([bytes(0x30, 0xab)]), '3b');
  assert.equal(a([bytes(0x30, 0x31, 0xab, 0xcd)]), '3d');
  assert.equal(a([bytes(0x30, 0xab, 0xcd, 0x31)]), '01');
});

// ---- names ----------------------------------------------------------------------------------

test('Zeek\'s version and cipher names', () => {
  assert.deepEqual(
    [0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0xfeff, 0xfefd, 0xfefc, 0x7f12, 0x7f17, 0x7f1c, 0x0305, 0x7fff].map(versionName),
    ['SSLv2', 'SSLv3', 'TLSv10', 'TLSv11', 'TLSv12', 'TLSv13', 'DTLSv10', 'DTLSv12', 'DTLSv13', 'TLSv13-draft18', 'TLSv13-draft23', 'TLSv13-draft28', 'unknown-773', 'unknown-32767'],
  );
  assert.equal(cipherName(0x0005), 'TLS_RSA_WITH_RC4_128_SHA');
  assert.equal(cipherName(0x1301), 'TLS_AES_128_GCM_SHA256');
  assert.equal(cipherName(0xcca8), 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256');
  assert.equal(cipherName(0xcc13), 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD');
  assert.equal(cipherName(0x00ff), 'TLS_EMPTY_RENEGOTIATION_INFO_SCSV');
  assert.equal(cipherName(0x5600), 'TLS_FALLBACK_SCSV');
  assert.equal(cipherName(0x0018), 'TLS_DH_ANON_WITH_RC4_128_MD5');
  assert.equal(cipherName(0x0700c0), 'SSLv20_CK_DES_192_EDE3_CBC_WITH_MD5');
  assert.equal(cipherName(0xc106), 'TLS_GOSTR341112_256_WITH_MAGMA_MGM_S');
  assert.equal(cipherName(0xd005), 'TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256');
  assert.equal(cipherName(0xfafa), 'grease_0xFAFA');
  assert.equal(cipherName(0x0a0a), 'grease_0x0A0A');
  assert.equal(cipherName(0x1234), 'unknown-4660');
});

// ---- fixtures -------------------------------------------------------------------------------

const ROOT = fileURLToPath(new URL('../../../shared/fixtures/pcap/', import.meta.url));
const skip = existsSync(ROOT) ? false : '../shared/fixtures/pcap not found';

interface Conn {
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  tls: TlsConnection;
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}

/**
 * Every TCP connection of a small, clean capture, its payload fed to a TlsConnection per
 * direction in packet order. Sequence numbers drop retransmitted bytes and hold early ones.
 */
function connections(file: string): Conn[] {
  const b = readFileSync(file);
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const link = u32(20);
  type Track = Conn & { next: (number | null)[]; early: Map<number, Uint8Array>[] };
  const table = new Map<string, Track>();
  for (let off = 24; off + 16 <= b.length; ) {
    const len = u32(off + 8);
    const frame = b.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    let at: number;
    if (link === 1) {
      at = 12;
      while (frame.readUInt16BE(at) === 0x8100) at += 4;
      at += 2;
    } else if (link === 0) at = 4; // BSD loopback: 4-byte address family
    else continue;
    const ip = frame.subarray(at);
    let src: Buffer;
    let dst: Buffer;
    let seg: Buffer;
    if (ip[0]! >> 4 === 4 && ip[9] === 6) {
      src = ip.subarray(12, 16);
      dst = ip.subarray(16, 20);
      seg = ip.subarray((ip[0]! & 15) * 4, (ip[2]! << 8) | ip[3]!);
    } else if (ip[0]! >> 4 === 6 && ip[6] === 6) {
      src = ip.subarray(8, 24);
      dst = ip.subarray(24, 40);
      seg = ip.subarray(40, 40 + ((ip[4]! << 8) | ip[5]!));
    } else continue;
    const from = { ip: ipText(src), port: (seg[0]! << 8) | seg[1]! };
    const to = { ip: ipText(dst), port: (seg[2]! << 8) | seg[3]! };
    const seq = seg.readUInt32BE(4);
    const flags = seg[13]!;
    const payload = seg.subarray((seg[12]! >> 4) * 4);
    const a = `${from.ip} ${from.port}`;
    const z = `${to.ip} ${to.port}`;
    const key = a < z ? `${a}|${z}` : `${z}|${a}`;
    let t = table.get(key);
    if (!t) {
      const synAck = (flags & 0x12) === 0x12;
      t = { client: synAck ? to : from, server: synAck ? from : to, tls: new TlsConnection(), next: [null, null], early: [new Map(), new Map()] };
      table.set(key, t);
    }
    const d = t.client.ip === from.ip && t.client.port === from.port ? 0 : 1;
    if (flags & 0x02) {
      t.next[d] = (seq + 1) >>> 0;
      continue;
    }
    if (payload.length === 0) continue;
    t.next[d] ??= seq;
    t.early[d]!.set(seq, payload);
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const [s, p] of t.early[d]!) {
        const behind = (t.next[d]! - s) | 0;
        if (behind < 0) continue;
        t.early[d]!.delete(s);
        progressed = true;
        if (behind >= p.length) continue;
        const fresh = p.subarray(behind);
        if (d === 0) t.tls.client(fresh);
        else t.tls.server(fresh);
        t.next[d] = (t.next[d]! + fresh.length) >>> 0;
      }
    }
  }
  return [...table.values()];
}

/** Arkime spells versions TLSv1, TLSv1.2, TLSv1.3-draft-18; Zeek TLSv10, TLSv12, TLSv13-draft18. */
function arkimeVersion(zeek: string): string {
  const m = /^TLSv1(\d)(?:-draft(\d+))?$/.exec(zeek);
  if (!m) return zeek;
  const v = m[1] === '0' ? 'TLSv1' : `TLSv1.${m[1]}`;
  return m[2] ? `${v}-draft-${m[2]}` : v;
}

const digest = (alg: string, der: Uint8Array) => createHash(alg).update(der).digest('hex');

test('Arkime fixtures: ja3, ja3s, ja4, ja4_r, cipher, version and certificates equal Arkime\'s', { skip }, () => {
  const dir = join(ROOT, 'arkime');
  let sessions = 0;
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.test')).sort()) {
    const doc = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { sessions3: { body: Record<string, any> }[] };
    const conns = connections(join(dir, name.replace(/\.test$/, '.pcap')));
    for (const { body } of doc.sessions3) {
      const tls = body.tls as Record<string, string[]> | undefined;
      if (!tls) continue;
      const conn = conns.find((c) => c.client.port === body.source.port && c.server.port === body.destination.port);
      assert.ok(conn, `${name}: no connection from port ${body.source.port}`);
      const at = `${name} :${body.source.port}`;
      const st = conn.tls.state;
      assert.deepEqual(st.problems, [], `${at}: problems`);
      const ch = st.clientHello!;
      const sh = st.serverHello!;
      assert.deepEqual([ja3(ch).md5], tls.ja3, `${at}: ja3`);
      assert.deepEqual([ja3(ch).text], tls.ja3string, `${at}: ja3string`);
      assert.deepEqual([ja3s(sh).md5], tls.ja3s, `${at}: ja3s`);
      assert.deepEqual([ja3s(sh).text], tls.ja3sstring, `${at}: ja3sstring`);
      assert.deepEqual([ja4(ch).text], tls.ja4, `${at}: ja4`);
      assert.deepEqual([ja4(ch).raw], tls.ja4_r, `${at}: ja4_r`);
      assert.deepEqual([cipherName(sh.cipher)], tls.cipher, `${at}: cipher`);
      assert.deepEqual([arkimeVersion(versionName(sh.version))], tls.version, `${at}: version`);
      const theirs = ((body.cert ?? []) as { hash: string }[]).map((c) => c.hash.replace(/:/g, '')).sort();
      assert.deepEqual(st.serverCertificates.map((d) => digest('sha1', d)).sort(), theirs, `${at}: certificates`);
      sessions++;
    }
  }
  assert.equal(sessions, 8);
});

/** Zeek TSV rows of one log (several `#file` sections allowed), fields still escaped. */
function zeekRows(file: string): Record<string, string>[] {
  let fields: string[] = [];
  const rows: Record<string, string>[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#fields\t')) fields = line.split('\t').slice(1);
    if (line === '' || line.startsWith('#')) continue;
    const cols = line.split('\t');
    rows.push(Object.fromEntries(fields.map((f, i) => [f, cols[i] ?? '-'])));
  }
  return rows;
}

/** Zeek's vector spelling: `-` unset, `(empty)` empty, else comma-joined. */
const list = (v: string | undefined): string => (v === undefined || v === '-' || v === '(empty)' ? '' : v);

test('Zeek fixtures: ssl.log / ssl-all.log rows and x509.log certificates equal ours', { skip }, () => {
  let rows = 0;
  let certs = 0;
  const dirs = readdirSync(join(ROOT, 'zeek'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const byDir = new Map(dirs.map((name) => {
    const dir = join(ROOT, 'zeek', name);
    return [name, readdirSync(dir).filter((f) => f.endsWith('.pcap')).flatMap((f) => connections(join(dir, f)))];
  }));
  // ssl-all.log's ecdhe.pcap row has its capture in another folder: look rows up everywhere.
  const all = [...byDir.values()].flat();
  for (const name of dirs) {
    const dir = join(ROOT, 'zeek', name);
    const conns = byDir.get(name)!;
    for (const c of conns) assert.deepEqual(c.tls.state.problems, [], `${name} :${c.client.port}: problems`);
    for (const log of ['ssl.log', 'ssl-all.log']) {
      const path = join(dir, 'expected', log);
      if (!existsSync(path)) continue;
      for (const z of zeekRows(path)) {
        const conn = all.find((c) =>
          c.client.ip === z['id.orig_h'] && String(c.client.port) === z['id.orig_p'] && c.server.ip === z['id.resp_h'] && String(c.server.port) === z['id.resp_p']);
        // ssl-all.log also covers captures that are not in the fixtures (dhe, DTLS).
        if (!conn) continue;
        const at = `${name}/${log} :${z['id.orig_p']}`;
        const st = conn.tls.state;
        const ch = st.clientHello!;
        const sh = st.serverHello!;
        assert.equal(versionName(sh.version), z.version, `${at}: version`);
        assert.equal(cipherName(sh.cipher), z.cipher, `${at}: cipher`);
        assert.equal(ch.sni ?? '-', z.server_name, `${at}: server_name`);
        assert.equal(conn.tls.established ? 'T' : 'F', z.established, `${at}: established`);
        assert.equal(st.serverCertificates.map((der) => digest('sha256', der)).join(','), list(z.cert_chain_fps), `${at}: cert_chain_fps`);
        if ('client_version' in z) {
          assert.equal(String(ch.legacyVersion), z.client_version, `${at}: client_version`);
          assert.equal(String(sh.legacyVersion), z.server_version, `${at}: server_version`);
          assert.equal(ch.ciphers.join(','), list(z.client_ciphers), `${at}: client_ciphers`);
          assert.equal(ch.extensions.join(','), list(z.ssl_client_exts), `${at}: ssl_client_exts`);
          assert.equal(sh.extensions.join(','), list(z.ssl_server_exts), `${at}: ssl_server_exts`);
          assert.equal(ch.pointFormats.join(','), list(z.point_formats), `${at}: point_formats`);
          assert.equal(ch.groups.join(','), list(z.client_curves), `${at}: client_curves`);
          assert.equal(ch.alpn.join(','), list(z.orig_alpn), `${at}: orig_alpn`);
          assert.equal(ch.supportedVersions.join(','), list(z.client_supported_versions), `${at}: client_supported_versions`);
          assert.equal(sh.extensions.includes(43) ? String(sh.version) : '', list(z.server_supported_version), `${at}: server_supported_version`);
        }
        rows++;
      }
    }
    const x509 = join(dir, 'expected', 'x509.log');
    if (existsSync(x509)) {
      const ours = new Map(conns.flatMap((c) => c.tls.state.serverCertificates).map((der) => [digest('sha256', der), der]));
      for (const z of zeekRows(x509)) {
        const der = ours.get(z.fingerprint!);
        assert.ok(der, `${name}/x509.log: certificate ${z.fingerprint} not extracted`);
        if (z.cert && z.cert !== '-') assert.equal(Buffer.from(der).toString('base64'), z.cert, `${name}/x509.log: DER of ${z.fingerprint}`);
        certs++;
      }
    }
  }
  assert.equal(rows, 15);
  assert.equal(certs, 16);
});

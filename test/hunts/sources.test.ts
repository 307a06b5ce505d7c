import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadHunts } from '../../src/hunts/hunt.js';
import { run, sql } from '../helpers/cli.js';
import { sessionFacts, sha1Of, sha256Of, toEve, toPcap, toPemFiles, toZeek, type Network, type SessionSpec } from '../helpers/traffic.js';
import { ATTR, ava, basicConstraintsExt, buildCertificate, ext, keyPair, name, oid, printable, sanExt, seq, simpleName, tlv, utf8, type Bytes } from '../x509/helpers/build.js';

/**
 * The issue's criterion: hunt results are identical whether the same certificates arrived as
 * Zeek logs, eve.json, PEM files or a capture. One small network (test/helpers/traffic.ts
 * writes it every way) is ingested into one lake per representation, with the same intel, and
 * the whole hunt library runs on each; the (hunt, entity) sets are compared. The lakes: Zeek JSON
 * (x509.log + ssl.log as Zeek writes them by default), Zeek TSV with log-certs-base64 (the DER
 * in x509.log), Suricata eve.json (certificate and chain logged), a pcap, PEM files.
 *
 * - Hunts over certificates alone must agree across all lakes (PEM files carry no sessions).
 * - Every hunt must agree across the lakes that carry sessions.
 * - Where a source lacks a field by nature the difference is asserted as such, not hidden:
 *   plain x509.log has no SHA-1 (the SSL Blacklist's key); eve.json has no `established`.
 *
 * The network holds certificates meant to trigger the hunts, and probes of where the sources'
 * code paths differ (name encodings, extreme validity dates, an empty subject, a Certificate
 * message over one TLS record, resumed sessions, GREASE in the hellos, escapes in TSV).
 */
const HUNTS = new URL('../../hunts/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'certhunt-sources-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// ---- the network ----------------------------------------------------------------------------

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** 2024-03-01, the first day of the capture; the data runs 20 days. */
const T0 = Date.UTC(2024, 2, 1);
const at = (d: number, h = 10, m = 0) => T0 + d * DAY + h * HOUR + m * 60_000 + 123;
const date = (iso: string) => new Date(`${iso}T00:00:00Z`);

/** KeyUsage, one byte of flags (DER: the unused-bits count is the trailing zeros). */
const keyUsage = (bits: number) => ext('2.5.29.15', tlv(0x03, Uint8Array.of(Math.min(7, 31 - Math.clz32(bits & -bits)), bits)), true);
const serverAuth = () => ext('2.5.29.37', seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')));
const leafExts = (dns: string[]): Bytes[] => [keyUsage(0xa0), serverAuth(), basicConstraintsExt(false), sanExt({ dns })];

function buildNetwork(): { net: Network; names: Record<string, string> } {
  const root = keyPair('rsa2048', 40);
  const inter = keyPair('rsa2048', 41);
  const r3 = keyPair('rsa2048', 42);
  const x = keyPair('rsa2048', 43);
  const leafRsa = keyPair('rsa2048', 44);
  const selfRsa = keyPair('rsa2048', 45);
  const weak = keyPair('rsa1024', 46);
  const ec = keyPair('p256', 47);
  const rootName = simpleName([['C', 'US'], ['O', 'Globe Trust'], ['CN', 'Globe Trust Root CA']]);
  const interName = simpleName([['C', 'US'], ['O', 'Globe Trust'], ['CN', 'Globe Trust TLS RSA CA 2023']]);
  const r3Name = simpleName([['C', 'US'], ['O', "Let's Encrypt"], ['CN', 'R3']]);
  let serial = 0x1000n;
  const next = () => (serial += 0x10001n) * 0x1234567n;
  const byInter = (cn: string, dns: string[], from: string, to: string, key = leafRsa.publicKey) =>
    buildCertificate({ subject: simpleName([['CN', cn]]), issuer: interName, publicKey: key, signer: inter.privateKey, serial: next(), notBefore: date(from), notAfter: date(to), extensions: leafExts(dns) });
  const byR3 = (subject: Bytes, dns: string[], from: Date, to: Date) =>
    buildCertificate({ subject, issuer: r3Name, publicKey: leafRsa.publicKey, signer: r3.privateKey, serial: next(), notBefore: from, notAfter: to, extensions: leafExts(dns) });
  const selfSigned = (subject: Bytes, from: string, to: string, extensions: Bytes[] = [], opts: { hash?: string; serial?: bigint; key?: ReturnType<typeof keyPair> } = {}) => {
    const k = opts.key ?? selfRsa;
    return buildCertificate({ subject, issuer: subject, publicKey: k.publicKey, signer: k.privateKey, serial: opts.serial ?? next(), notBefore: date(from), notAfter: date(to), extensions, ...(opts.hash ? { hash: opts.hash } : {}) });
  };

  const certificates: Record<string, Uint8Array> = {
    // A CA pair some servers send their chain with.
    root: selfSigned(rootName, '2015-01-01', '2040-01-01', [basicConstraintsExt(true), keyUsage(0x06)], { key: root }),
    inter: buildCertificate({ subject: interName, issuer: rootName, publicKey: inter.publicKey, signer: root.privateKey, serial: next(), notBefore: date('2023-01-01'), notAfter: date('2033-01-01'), extensions: [basicConstraintsExt(true, 0), keyUsage(0x06)] }),
    // Ordinary CA-issued servers.
    example: byInter('www.example.com', ['www.example.com', 'example.com'], '2024-01-15', '2025-01-15', ec.publicKey),
    contoso: buildCertificate({
      subject: simpleName([['C', 'US'], ['O', 'Contoso, Ltd.'], ['CN', 'mail.contoso.com']]), issuer: interName, publicKey: leafRsa.publicKey, signer: inter.privateKey,
      serial: next(), notBefore: date('2023-11-01'), notAfter: date('2024-11-01'), extensions: leafExts(['mail.contoso.com', 'autodiscover.contoso.com']),
    }),
    fastsite: byInter('*.fastsite.net', ['*.fastsite.net', 'fastsite.net'], '2024-02-01', '2025-02-01'),
    // Self-signed, ten years.
    self_long: selfSigned(simpleName([['C', 'US'], ['O', 'Update Service'], ['CN', 'update-service.net']]), '2023-06-01', '2033-06-01', [sanExt({ dns: ['update-service.net'] })]),
    // An address as the CN, no SANs, served on 443 and on 80.
    ip_cn: selfSigned(simpleName([['CN', '185.220.101.45']]), '2024-01-01', '2025-01-01'),
    // A 1024-bit RSA key under a real-looking CA.
    weak_key: byInter('legacy.printer-portal.com', ['legacy.printer-portal.com'], '2023-09-01', '2024-09-01', weak.publicKey),
    // OpenSSL's default subject (no CN), SHA-1 signed, three years.
    openssl_default: selfSigned(simpleName([['C', 'AU'], ['ST', 'Some-State'], ['O', 'Internet Widgits Pty Ltd']]), '2023-01-01', '2026-01-01', [], { hash: 'sha1' }),
    // Issued by `CN=x`, no SANs.
    short_issuer: buildCertificate({ subject: simpleName([['CN', 'cdn-static.info']]), issuer: simpleName([['CN', 'x']]), publicKey: leafRsa.publicKey, signer: x.privateKey, serial: next(), notBefore: date('2024-01-01'), notAfter: date('2025-01-01') }),
    // Cobalt Strike's default keystore certificate (subject and serial 146473198).
    cobalt: selfSigned(
      simpleName([['C', 'Earth'], ['ST', 'Cyberspace'], ['L', 'Somewhere'], ['O', 'cobaltstrike'], ['OU', 'AdvancedPenTesting'], ['CN', 'Major Cobalt Strike']]),
      '2023-05-01', '2033-04-28', [ext('2.5.29.14', tlv(0x04, Uint8Array.from({ length: 20 }, (_, i) => i * 7)))], { serial: 146473198n },
    ),
    // A short subject whose CN looks random.
    entropy: selfSigned(simpleName([['CN', 'x7Kq9Zp2']]), '2024-01-01', '2025-01-01', [], { key: ec }),
    // A wildcard under a dynamic DNS zone, new, reached by five clients in the last days.
    duckdns: byR3(simpleName([['CN', '*.m4lw.duckdns.org']]), ['*.m4lw.duckdns.org', 'm4lw.duckdns.org'], new Date(at(14, 0)), new Date(at(104, 0))),
    // One certificate moving through four addresses; its O is random.
    moving: byR3(simpleName([['O', 'Qzxvbnrt Holdings'], ['CN', 'cloud-sync.top']]), ['cloud-sync.top'], date('2024-02-01'), date('2024-05-01')),
    // Expired two years before it was used.
    expired: byInter('intranet-old.example.net', ['intranet-old.example.net'], '2021-01-01', '2022-01-01'),
    // Served for an SNI it does not cover.
    mismatch: byR3(simpleName([['CN', 'shop.kx-deals.biz']]), ['shop.kx-deals.biz'], date('2024-02-15'), date('2024-05-15')),
    // Valid for three days.
    short_lived: byR3(simpleName([['CN', 'login.shortlived-cdn.com']]), ['login.shortlived-cdn.com'], new Date(at(16, 0)), new Date(at(19, 0))),
    // The subject of a CA-issued certificate, self-signed.
    impersonation: selfSigned(simpleName([['CN', 'www.example.com']]), '2024-03-01', '2025-03-01', [sanExt({ dns: ['www.example.com'] })]),

    // Probes of what the sources spell differently.
    // 1,000 SANs: the Certificate message outgrows one TLS record (2^14 bytes) and is fragmented.
    cdn_big: byInter('edge.bigcdn.net', ['edge.bigcdn.net', ...Array.from({ length: 1000 }, (_, i) => `s${i}.edge.bigcdn.net`)], '2024-01-01', '2025-01-01'),
    // Validity from 1950 (UTCTime) to 9999-12-31 (GeneralizedTime, RFC 5280's "no expiry").
    forever: buildCertificate({
      subject: simpleName([['CN', 'localhost']]), issuer: simpleName([['CN', 'localhost']]), publicKey: selfRsa.publicKey, signer: selfRsa.privateKey,
      serial: next(), notBefore: new Date('1950-01-01T00:00:00Z'), notAfter: new Date('9999-12-31T23:59:59Z'),
    }),
    // Self-signed, but the issuer's CN is a PrintableString and the subject's a UTF8String: the
    // same name under RFC 5280 §7.1 (OpenSSL's X509_check_issued agrees), and the same text in
    // Zeek's x509.log. (Found by this test: the DER path compared bytes and called it not
    // self-issued, while Zeek's logs did; src/x509/name.ts namesMatch now follows §7.1.)
    encodings: buildCertificate({
      subject: name([ava(ATTR.CN, utf8('relay.example.org'))]), issuer: name([ava(ATTR.CN, printable('relay.example.org'))]),
      publicKey: selfRsa.publicKey, signer: selfRsa.privateKey, serial: next(), notBefore: date('2024-01-01'), notAfter: date('2027-01-01'),
      extensions: [sanExt({ dns: ['relay.example.org'] })],
    }),
    // Self-signed, the issuer spelt differently again: ASCII case, white space, and the values of
    // a multi-valued RDN in another order. The same name to §7.1, in DER and in Zeek's text
    // (src/sources/dn.ts sameDn), which differ from each other here.
    spelling: buildCertificate({
      subject: name([ava(ATTR.O, utf8('Acme')), ava(ATTR.CN, utf8('Admin Panel'))]), issuer: name([ava(ATTR.CN, utf8('admin  panel ')), ava(ATTR.O, utf8('ACME'))]),
      publicKey: selfRsa.publicKey, signer: selfRsa.privateKey, serial: next(), notBefore: date('2024-02-01'), notAfter: date('2029-02-01'),
    }),
    // A comma and non-ASCII letters in the subject (escaped in Zeek's spelling, \xHH in TSV).
    intl: buildCertificate({
      subject: simpleName([['C', 'DE'], ['O', 'Müller, GmbH & Co. KG'], ['CN', 'shop.mueller.de']]), issuer: interName, publicKey: leafRsa.publicKey, signer: inter.privateKey,
      serial: next(), notBefore: date('2024-01-01'), notAfter: date('2025-01-01'), extensions: leafExts(['shop.mueller.de']),
    }),
    // An empty subject, names in SANs only (what some CAs issue now).
    no_subject: byR3(name(), ['api.nocn.example'], date('2024-02-20'), date('2024-05-20')),
  };

  const c = (n: number) => ({ ip: `10.0.0.${n}`, port: 49152 + ((n * 977 + sessions.length * 131) % 16000) });
  const sessions: SessionSpec[] = [];
  const add = (ts: number, client: number, server: string, port: number, sni: string | null, chain: string[], cipher = 0xc02f, kind: 'browser' | 'implant' = 'browser') =>
    sessions.push({ ts, client: c(client), server: { ip: server, port }, sni, chain, cipher, client_kind: kind, resumed: chain.length === 0 });

  add(at(0, 9), 11, '93.184.216.34', 443, 'www.example.com', ['example', 'inter'], 0xc02b);
  add(at(1, 11), 12, '93.184.216.34', 443, 'www.example.com', ['example', 'inter'], 0xc02b);
  add(at(5, 15), 13, '93.184.216.34', 443, 'example.com', ['example', 'inter'], 0xc02b);
  add(at(2, 8), 14, '40.97.1.10', 443, 'mail.contoso.com', ['contoso', 'inter', 'root']);
  add(at(8, 8), 11, '40.97.1.10', 443, 'autodiscover.contoso.com', ['contoso', 'inter', 'root'], 0xc030);
  add(at(3, 14), 15, '151.101.1.10', 443, 'img.fastsite.net', ['fastsite', 'inter'], 0xc030);
  add(at(12, 16), 15, '151.101.1.10', 443, 'static.fastsite.net', ['fastsite', 'inter'], 0x009c);
  add(at(1, 2), 16, '203.0.113.50', 443, 'update-service.net', ['self_long'], 0xc02f, 'implant');
  add(at(9, 2), 16, '203.0.113.50', 443, 'update-service.net', ['self_long'], 0xc02f, 'implant');
  add(at(2, 3), 17, '185.220.101.45', 443, null, ['ip_cn'], 0xc013, 'implant');
  add(at(4, 3), 17, '185.220.101.45', 80, null, ['ip_cn'], 0xc013, 'implant');
  add(at(3, 10), 12, '198.51.100.7', 443, 'legacy.printer-portal.com', ['weak_key', 'inter'], 0x002f);
  add(at(6, 13), 13, '198.51.100.8', 8443, 'vpn.oldcorp.org', ['openssl_default'], 0x0035);
  add(at(7, 17), 14, '45.9.148.3', 443, 'cdn-static.info', ['short_issuer']);
  add(at(10, 1), 18, '5.188.86.172', 443, null, ['cobalt'], 0xc030, 'implant');
  add(at(11, 1), 18, '5.188.86.172', 50050, null, ['cobalt'], 0xc030, 'implant');
  add(at(13, 4), 19, '91.92.240.17', 443, 'x7kq9zp2.com', ['entropy'], 0xc02b);
  add(at(2, 12), 20, '104.21.5.1', 443, 'cloud-sync.top', ['moving']);
  add(at(5, 12), 20, '172.67.3.2', 443, 'cloud-sync.top', ['moving']);
  add(at(6, 12), 20, '172.67.3.2', 443, 'cloud-sync.top', ['moving']);
  add(at(8, 12), 20, '193.42.33.9', 443, 'cloud-sync.top', ['moving']);
  add(at(11, 12), 20, '77.83.247.81', 443, 'cloud-sync.top', ['moving']);
  add(at(14, 9), 11, '62.210.5.5', 443, 'intranet-old.example.net', ['expired', 'inter']);
  add(at(15, 9), 12, '13.107.42.14', 443, 'www.microsoft.com', ['mismatch']);
  for (const [i, client] of [11, 12, 13, 14, 15].entries()) add(at(16 + (i % 4), 7 + i), client, '80.78.24.30', 443, 'api.m4lw.duckdns.org', ['duckdns']);
  add(at(17, 6), 16, '31.13.70.3', 443, 'login.shortlived-cdn.com', ['short_lived']);
  add(at(18, 6), 19, '94.102.49.190', 443, 'www.example.com', ['impersonation']);
  add(at(19, 22), 13, '93.184.216.34', 443, 'www.example.com', ['example', 'inter'], 0xc02b);
  // Probes.
  add(at(4, 16), 19, '23.45.67.89', 443, 's42.bigcdn.net', ['cdn_big', 'inter']);
  add(at(6, 23), 20, '45.137.21.9', 4443, null, ['forever'], 0xc030, 'implant');
  add(at(7, 5), 15, '109.70.100.2', 443, 'relay.example.org', ['encodings']);
  add(at(9, 13), 14, '85.13.150.2', 443, 'shop.mueller.de', ['intl', 'inter']);
  add(at(12, 2), 17, '146.70.1.5', 8443, null, ['spelling'], 0xc030, 'implant');
  add(at(10, 13), 13, '104.16.8.8', 443, 'api.nocn.example', ['no_subject']);
  // Resumed sessions: no certificate on the wire.
  add(at(1, 11, 30), 12, '93.184.216.34', 443, 'www.example.com', [], 0xc02b);
  add(at(19, 8), 16, '80.78.24.30', 443, 'api.m4lw.duckdns.org', []);

  const names: Record<string, string> = {};
  for (const [name, der] of Object.entries(certificates)) names[sha256Of(der)] = name;
  return { net: { certificates, sessions }, names };
}

// ---- the lakes --------------------------------------------------------------------------------

interface Finding {
  hunt_id: string;
  entity: string;
  score: number;
}

const LAKES = ['zeek', 'eve', 'pcap', 'pem'] as const;
type LakeName = (typeof LAKES)[number];
const WITH_SESSIONS = ['zeek', 'eve', 'pcap'] as const;

let net: Network;
let names: Record<string, string>;
const lakes = {} as Record<LakeName | 'zeek_tsv', string>;
const findings = {} as Record<LakeName | 'zeek_tsv', Finding[]>;
const formats = {} as Record<LakeName | 'zeek_tsv', string[]>;

/** A readable key: certificate entities by their name in the network, others as they are. */
const key = (f: { hunt_id: string; entity: string }) => `${f.hunt_id} ${names[f.entity] ?? f.entity}`;
const keys = (lake: LakeName | 'zeek_tsv', only?: (f: Finding) => boolean) => [...new Set(findings[lake].filter((f) => !only || only(f)).map(key))].sort();

/** What one lake found and the other did not, both ways (empty lists: the same findings). */
function difference(a: LakeName | 'zeek_tsv', b: LakeName | 'zeek_tsv', only?: (f: Finding) => boolean): Record<string, string[]> {
  const x = keys(a, only);
  const y = keys(b, only);
  return { [`only in ${a}`]: x.filter((k) => !y.includes(k)), [`only in ${b}`]: y.filter((k) => !x.includes(k)) };
}
const SAME = (a: string, b: string) => ({ [`only in ${a}`]: [], [`only in ${b}`]: [] });

function write(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

before(async () => {
  ({ net, names } = buildNetwork());
  const facts = sessionFacts(net);
  const implantJa3 = facts.find((f) => f.spec.client_kind === 'implant')!.ja3.md5;
  // Intel, the same in every lake: the SSL Blacklist lists self_long by SHA-1, the JA3 list the
  // implant's hello, the top list the popular domains.
  const sslbl = write('intel/sslbl.csv', `# Listingdate,SHA1,Listingreason\n2024-02-20 10:00:00,${sha1Of(net.certificates.self_long!)},AsyncRAT C&C\n# END (1) entries\n`);
  const ja3 = write('intel/ja3.csv', `# ja3_md5,Firstseen,Lastseen,Listingreason\n${implantJa3},2023-01-01 00:00:00,2024-01-01 00:00:00,Trickbot\n`);
  const top = write('intel/top.csv', ['google.com', 'microsoft.com', 'example.com', 'contoso.com', 'fastsite.net', 'duckdns.org'].map((d, i) => `${i + 1},${d}`).join('\n') + '\n');

  const zeek = toZeek(net);
  const zeekTsv = toZeek(net, { format: 'tsv', certs: true });
  const inputs: Record<LakeName | 'zeek_tsv', string[]> = {
    zeek: [write('zeek/x509.log', zeek.x509), write('zeek/ssl.log', zeek.ssl)],
    // TSV, with policy/protocols/ssl/log-certs-base64 (x509.log carries the DER).
    zeek_tsv: [write('zeek-tsv/x509.log', zeekTsv.x509), write('zeek-tsv/ssl.log', zeekTsv.ssl)],
    eve: [write('suricata/eve.json', toEve(net))],
    pcap: [write('capture/traffic.pcap', toPcap(net))],
    pem: toPemFiles(net, { 'globe-trust-ca.pem': ['inter', 'root'] }).map((f) => write(`pem/${f.name}`, f.text)),
  };
  for (const [lake, files] of Object.entries(inputs) as [LakeName | 'zeek_tsv', string[]][]) {
    lakes[lake] = join(dir, `lake-${lake}`);
    const r = await run('ingest', ...files, '--lake', lakes[lake], '--format', 'json');
    assert.equal(r.code, 0, `${lake}: ${r.err}`);
    const report = JSON.parse(r.out) as { files: { format: string; rejects: number }[] };
    assert.deepEqual(report.files.map((f) => f.rejects), files.map(() => 0), `${lake}: nothing set aside (${r.out})`);
    formats[lake] = [...new Set(report.files.map((f) => f.format))].sort();
    for (const args of [[sslbl], [ja3], [top, '--name', 'tranco']]) {
      const i = await run('intel', ...args, '--lake', lakes[lake]);
      assert.equal(i.code, 0, `intel ${args.join(' ')} into ${lake}: ${i.err}`);
    }
    const h = await run('hunt', '--lake', lakes[lake], '--format', 'json');
    assert.equal(h.code, 0, `${lake}: ${h.err}`);
    findings[lake] = JSON.parse(h.out) as Finding[];
  }
});

// ---- what landed -----------------------------------------------------------------------------

test('every representation lands as the same certificates; the sensors as the same sessions', async () => {
  assert.ok(net.certificates.cdn_big!.length > 16384, `cdn_big is ${net.certificates.cdn_big!.length} bytes: its Certificate message must span two records`);
  assert.deepEqual(formats, {
    zeek: ['zeek_ssl', 'zeek_x509'], zeek_tsv: ['zeek_ssl', 'zeek_x509'], eve: ['suricata_tls'], pcap: ['pcap'], pem: ['cert_files'],
  });
  const all = Object.keys(names).sort();
  for (const lake of [...LAKES, 'zeek_tsv'] as const) {
    const rows = await sql(lakes[lake], 'SELECT cert_id FROM certificates ORDER BY cert_id');
    assert.deepEqual(rows.map((r) => r.cert_id), all, `${lake}: one silver certificate per network certificate, keyed by SHA-256`);
  }
  const q = `SELECT src_ip, src_port, dest_ip, dest_port, coalesce(server_name, '') AS sni, tls_version, cert_id, chain_sha256, ja3, ja3s
             FROM observations ORDER BY ts, src_ip`;
  const expected = sessionFacts(net).map((f) => ({
    src_ip: f.spec.client.ip, src_port: f.spec.client.port, dest_ip: f.spec.server.ip, dest_port: f.spec.server.port, sni: f.spec.sni ?? '',
    tls_version: 'TLSv12', cert_id: f.chainSha256[0] ?? null, chain_sha256: f.chainSha256, ja3: f.ja3.md5, ja3s: f.ja3s.md5,
  }));
  for (const lake of [...WITH_SESSIONS, 'zeek_tsv'] as const) {
    assert.deepEqual(await sql(lakes[lake], q), expected, `${lake}: the sessions as described`);
  }
  assert.deepEqual(await sql(lakes.pem, 'SELECT count(*)::INT AS n FROM observations').catch(() => [{ n: 0 }]), [{ n: 0 }]);
});

test('the certificate columns hunts read are the same from every source', async () => {
  // What hunts filter on (not sources, first_seen/last_seen, der: those say how it arrived).
  const cols = `cert_id, serial, version, subject, issuer, common_name, subject_alternative_names, san_ip, not_valid_before, not_valid_after,
    key_alg, key_type, key_length, sig_alg, coalesce(is_ca, false) AS is_ca, coalesce(self_issued, subject = issuer) AS self_issued,
    cn_entropy, registered_domains, subject_cn, subject_o, subject_ou, subject_c, subject_l, subject_st, issuer_cn, issuer_o`;
  const q = `SELECT ${cols} FROM certificates ORDER BY cert_id`;
  const pcap = await sql(lakes.pcap, q);
  for (const lake of ['zeek', 'zeek_tsv', 'eve', 'pem'] as const) {
    const rows = await sql(lakes[lake], q);
    for (const [i, row] of rows.entries()) {
      assert.deepEqual(row, pcap[i], `${lake} vs pcap: ${names[String(row.cert_id)]}`);
    }
  }
});

// ---- the criterion -----------------------------------------------------------------------------

test('hunts over certificates alone find the same certificates in all four lakes', async () => {
  const hunts = await loadHunts([HUNTS]);
  const certOnly = hunts.filter((h) => h.entity === 'certificate' && !/\bobservations\b/i.test(h.sql)).map((h) => h.id);
  assert.ok(certOnly.length >= 2, `certificate-only hunts: ${certOnly.join(', ')}`);
  const only = (f: Finding) => certOnly.includes(f.hunt_id);
  const pcap = keys('pcap', only);
  assert.ok(pcap.length > 0, 'certificate-only hunts find something');
  for (const lake of ['zeek', 'zeek_tsv', 'eve', 'pem'] as const) assert.deepEqual(difference(lake, 'pcap', only), SAME(lake, 'pcap'), `${lake} vs pcap`);
});

/**
 * Legitimate difference: Zeek's x509.log names a certificate by SHA-256 only (the default
 * X509::hash_function), and the SSL Blacklist lists SHA-1s, so a lake of plain Zeek logs cannot
 * match it; with log-certs-base64 (the DER in x509.log) it can, and does.
 */
const SHA1_ONLY = (f: Finding) => f.hunt_id === 'blacklisted-certificates';

test('every hunt finds the same entities in the three lakes that carry sessions', () => {
  assert.deepEqual(difference('eve', 'pcap'), SAME('eve', 'pcap'), 'eve vs pcap');
  assert.deepEqual(difference('zeek_tsv', 'pcap'), SAME('zeek_tsv', 'pcap'), 'zeek TSV with the DER vs pcap');
  assert.deepEqual(difference('zeek', 'pcap', (f) => !SHA1_ONLY(f)), SAME('zeek', 'pcap'), 'zeek vs pcap');
  assert.deepEqual(keys('pcap', SHA1_ONLY), ['blacklisted-certificates self_long'], 'the blacklisted certificate, by its SHA-1');
  assert.deepEqual(keys('zeek', SHA1_ONLY), [], 'plain x509.log has no SHA-1 to match the SSL Blacklist with');
});

test('scores agree too, but for what eve.json cannot say', () => {
  const scores = (lake: LakeName | 'zeek_tsv') => Object.fromEntries(findings[lake].map((f) => [key(f), f.score]));
  const pcap = scores('pcap');
  assert.deepEqual(scores('zeek_tsv'), pcap, 'zeek TSV vs pcap');
  const { ['blacklisted-certificates self_long']: listed, ...rest } = pcap;
  assert.ok(listed !== undefined, 'the listed certificate scored in pcap');
  assert.deepEqual(scores('zeek'), rest, 'zeek vs pcap (less the SHA-1 match)');
  // Legitimate difference: Suricata's tls event has no `established` (Zeek's ssl.log and the
  // capture do), so expired-in-use cannot add its 10 points for an established external session.
  const eve = scores('eve');
  assert.equal(eve['expired-in-use expired'], (pcap['expired-in-use expired'] ?? NaN) - 10, 'eve: expired-in-use without the established bonus');
  assert.deepEqual({ ...eve, 'expired-in-use expired': 0 }, { ...pcap, 'expired-in-use expired': 0 }, 'eve vs pcap otherwise');
});

test('the comparison is not vacuous: many hunts fire, on the certificates meant to trigger them', () => {
  const fired = new Set(findings.pcap.map((f) => f.hunt_id));
  assert.ok(fired.size >= 8, `hunts that fired: ${[...fired].sort().join(', ')}`);
  const found = new Set(keys('pcap'));
  const expected = [
    'long-validity-self-signed self_long', 'self-signed-external self_long', 'blacklisted-certificates self_long',
    'ip-as-common-name ip_cn', 'no-sans ip_cn', 'tls-on-other-ports 185.220.101.45:80',
    'weak-key-or-signature weak_key', 'weak-key-or-signature openssl_default', 'tool-default-subject openssl_default',
    'shortest-issuers short_issuer', 'no-sans short_issuer',
    'default-c2-certificate cobalt', 'self-signed-external cobalt',
    'high-entropy-short-names entropy',
    'dynamic-dns-wildcard duckdns', 'dynamic-dns-sni api.m4lw.duckdns.org', 'new-cert-many-clients duckdns',
    'moving-infrastructure moving', 'random-subject-fields moving',
    'expired-in-use expired', 'sni-mismatch mismatch', 'short-lived-unpopular short_lived',
    'subject-many-issuers CN=www.example.com', 'blacklisted-ja3 10.0.0.16',
    // the probes
    'self-signed-external encodings', 'self-signed-external spelling', 'long-validity-self-signed forever', 'self-signed-external forever',
  ];
  const missing = expected.filter((e) => !found.has(e));
  assert.deepEqual(missing, [], `expected findings missing; found:\n${[...found].join('\n')}`);
  // And the ordinary servers stay out of the certificate hunts that judge a certificate's shape.
  for (const normal of ['example', 'contoso', 'fastsite']) {
    const hits = [...found].filter((k) => k.endsWith(` ${normal}`) && !k.startsWith('shortest-issuers') && !k.startsWith('stack-issuers'));
    assert.deepEqual(hits, [], `${normal} is not suspicious`);
  }
});

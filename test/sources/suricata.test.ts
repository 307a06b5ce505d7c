import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LineItem } from '../../src/sources/format.js';
import type { CertificateRecord, ObservationRecord, SourceItem } from '../../src/sources/record.js';
import { scanExport } from '../../src/sources/scan.js';
import { suricataTls, tlsVersion } from '../../src/sources/suricata.js';
import { zeekKnownCerts, zeekSsl, zeekX509 } from '../../src/sources/zeek.js';

/** ../shared/fixtures next to the project (absent in a user's checkout: those tests skip). */
const SHARED_FIXTURES = fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));

const BASE64 = SHARED_FIXTURES + '/pcap/zeek/scripts.policy.protocols.ssl.log-certs-base64/expected/x509.log';
const skip = existsSync(BASE64) ? false : '../shared/fixtures not found: fixture cross-check skipped';

async function* linesOf(text: string): AsyncGenerator<LineItem> {
  const parts = text.split('\n');
  if (parts.at(-1) === '') parts.pop();
  for (const [i, t] of parts.entries()) yield { text: t, pos: i + 1, byteOffset: 0 };
}

async function run(input: string | AsyncIterable<LineItem>) {
  const gen = suricataTls.read(typeof input === 'string' ? linesOf(input) : input);
  const items: SourceItem[] = [];
  let r = await gen.next();
  for (; !r.done; r = await gen.next()) items.push(r.value);
  return {
    obs: items.flatMap((i) => (i.kind === 'observation' ? [i.obs] : [])) as ObservationRecord[],
    certs: items.flatMap((i) => (i.kind === 'certificate' ? [i.cert] : [])) as CertificateRecord[],
    rejects: items.flatMap((i) => (i.kind === 'reject' ? [i.reject] : [])),
    summary: r.value,
  };
}

// Shaped after the eve-json-format docs ("Event type: TLS", extended logging + custom fields).
const base = {
  timestamp: '2014-04-20T14:31:07.345612+0000', flow_id: 1587345296453232, in_iface: 'eth0', event_type: 'tls',
  src_ip: '192.168.18.50', src_port: 56981, dest_ip: '74.125.239.97', dest_port: 443, proto: 'TCP',
};
const resumed = { ...base, timestamp: '2014-04-20T14:31:09.000000+0000', flow_id: 1587345296453299, tls: { session_resumed: true, sni: 'www.google.com', version: 'TLS 1.2' } };
const flow = { ...base, event_type: 'flow', flow: { pkts_toserver: 12, pkts_toclient: 10, state: 'closed' } };
const dns = { ...base, event_type: 'dns', dest_port: 53, proto: 'UDP', dns: { type: 'query', id: 16000, rrname: 'www.google.com', rrtype: 'A' } };

describe('suricata: eve.json tls events', () => {
  test('other event types are skipped and counted; non-JSON and non-object lines are rejected', async () => {
    const text = [JSON.stringify(flow), JSON.stringify(dns), JSON.stringify(flow), 'Jan 01 garbage', '[1,2]', JSON.stringify(resumed), JSON.stringify({ timestamp: 'x' })].join('\n');
    const r = await run(text);
    assert.deepEqual(r.summary, { skipped: { flow: 2, dns: 1, '(no event_type)': 1 } });
    assert.deepEqual(r.rejects.map((x) => x.position), [4, 5]);
    assert.match(r.rejects[1]?.reason ?? '', /array, not an object/);
    assert.equal(r.obs.length, 1);
    assert.equal(r.certs.length, 0, 'a resumed session has no certificate');
    const o = r.obs[0] as ObservationRecord;
    assert.equal(o.uid, '1587345296453299');
    assert.equal(o.server_name, 'www.google.com');
    assert.equal(o.tls_version, 'TLSv12');
    assert.equal(o.ts, Date.UTC(2014, 3, 20, 14, 31, 9));
    assert.equal(o.dest_port, 443);
  });

  test('bad values become rejects naming the field; reading goes on', async () => {
    const lines = [
      { ...base, timestamp: 'yesterday', tls: {} },
      { ...base, tls: 'not an object' },
      { ...base, src_port: 'high', tls: {} },
      { ...base, tls: { fingerprint: 'zz:zz' } },
      { ...base, tls: { notbefore: 'soon', fingerprint: 'e2:fb:07:71:ee:6f:c0:d0:e3:24:bc:86:3c:02:b5:79:21:25:7c:86' } },
      { ...base, tls: { subject: 'CN=nul\u0000byte', fingerprint: 'e2:fb:07:71:ee:6f:c0:d0:e3:24:bc:86:3c:02:b5:79:21:25:7c:86' } },
    ].map((e) => JSON.stringify(e));
    lines.push(`{"timestamp":"2014-04-20T14:31:07.345612+0000","event_type":"tls","tls":{"sni":"a\0b"}}`);
    const r = await run(lines.join('\n'));
    const reasons = r.rejects.map((x) => x.reason);
    assert.match(reasons[0] ?? '', /^timestamp: not a time/);
    assert.match(reasons[1] ?? '', /^tls: missing or not an object/);
    assert.match(reasons[2] ?? '', /^src_port: not a count/);
    assert.match(reasons[3] ?? '', /^tls.fingerprint: not a SHA-1/);
    assert.match(reasons[4] ?? '', /^tls.notbefore: not a time/);
    assert.match(reasons[5] ?? '', /not JSON/, 'a raw NUL is not valid JSON');
    assert.equal(r.certs[0]?.subject, 'CN=nul\u0000byte', 'an escaped NUL is data (null-prefix certificates)');
  });

  test('a splitter error passes through as a reject, invalid UTF-8 (U+FFFD) is read', async () => {
    async function* lines(): AsyncGenerator<LineItem> {
      yield { error: 'line longer than 16 MiB', pos: 1, byteOffset: 0, excerpt: '{"timestamp":' };
      yield { text: JSON.stringify({ ...resumed, tls: { sni: 'bad\uFFFDname' } }), pos: 2, byteOffset: 17_000_000 };
    }
    const r = await run(lines());
    assert.deepEqual(r.rejects, [{ position: 1, reason: 'line longer than 16 MiB', excerpt: '{"timestamp":' }]);
    assert.equal(r.obs[0]?.server_name, 'bad\uFFFDname');
  });

  test('subject/issuer to Zeek order with a comma inside a value; serial sign byte dropped; 64-bit flow_id exact', async () => {
    const tls = {
      subject: 'C=US, ST=California, L=Palo Alto, O=VMware, Inc, OU=VMware ESX Server Default Certificate, emailAddress=ssl-certificates@vmware.com, CN=localhost.localdomain, unstructuredName=1315656901,564d7761726520496e632e',
      issuerdn: 'O=VMware Installer', serial: '00:CC:57:FE:54:01:1E', fingerprint: '5A:0B:C3:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11',
      notbefore: '2011-09-10T12:15:02', notafter: '2023-03-11T12:15:02', version: 'TLS 1.0',
    };
    const r = await run(`{"timestamp":"2018-03-24T17:15:20.624556+0000","flow_id":9007199254740993,"event_type":"tls","src_ip":"10.164.94.120","src_port":39611,"dest_ip":"10.47.3.200","dest_port":443,"tls":${JSON.stringify(tls)}}`);
    const c = r.certs[0] as CertificateRecord;
    // Zeek's spelling of the same certificate (brimdata x509.log, fingerprint b2dafbcd...).
    assert.equal(c.subject, 'unstructuredName=1315656901\\,564d7761726520496e632e,CN=localhost.localdomain,emailAddress=ssl-certificates@vmware.com,OU=VMware ESX Server Default Certificate,O=VMware\\, Inc,L=Palo Alto,ST=California,C=US');
    assert.equal(c.subject_original, tls.subject);
    assert.equal(c.issuer, 'O=VMware Installer');
    assert.equal(c.common_name, 'localhost.localdomain');
    assert.equal(c.serial, 'cc57fe54011e');
    assert.equal(c.sha1, tls.fingerprint.replaceAll(':', '').toLowerCase());
    assert.equal(c.sha256, null, 'no DER logged: no SHA-256');
    assert.equal(c.not_valid_before, 1315656902000);
    assert.equal(c.not_valid_after, 1678536902000);
    const o = r.obs[0] as ObservationRecord;
    assert.equal(o.uid, '9007199254740993');
    assert.equal(o.ts, 1521911720624.556);
    assert.equal(o.cert_sha1, c.sha1);
    assert.equal(o.subject, c.subject);
    assert.equal(o.tls_version, 'TLSv10');
  });

  test('version names in Zeek spelling', () => {
    assert.deepEqual(['TLS 1.2', 'TLS 1.3', 'TLSv1', 'SSLv3', 'DTLS 1.2', 'UNDETERMINED', 'TLS 1.0'].map(tlsVersion), ['TLSv12', 'TLSv13', 'TLSv1', 'SSLv3', 'DTLSv12', 'UNDETERMINED', 'TLSv10']);
  });

  test('detect: eve.json, not Zeek or scan exports', () => {
    const head = [JSON.stringify(flow), JSON.stringify(resumed)];
    assert.equal(suricataTls.detect(head), true);
    for (const f of [zeekX509, zeekSsl, zeekKnownCerts, scanExport]) assert.equal(f.detect(head), false, f.name);
    assert.equal(suricataTls.detect(['#fields\tts\tuid']), false);
  });
});

/** Zeek's TSV rows of the log-certs-base64 baseline, split here independently. */
function baselineRows(): Record<string, string>[] {
  const lines = readFileSync(BASE64, 'utf8').split('\n');
  const fields = (lines.find((l) => l.startsWith('#fields\t')) as string).split('\t').slice(1);
  return lines.filter((l) => l !== '' && !l.startsWith('#')).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i], v])));
}

describe('suricata: the certificates of a Zeek baseline, logged the Suricata way', { skip }, () => {
  test('certificate + chain → der, hashes and fields equal to what Zeek logged for them', async () => {
    const rows = baselineRows();
    const leaf = rows[0] as Record<string, string>;
    const der = Buffer.from(leaf.cert as string, 'base64');
    const sha1 = createHash('sha1').update(der).digest('hex');
    // Suricata's spelling of the same values (eve docs: colon hex, `C=.., CN=..` order, no zone).
    const tls = {
      subject: 'C=US, ST=California, L=Mountain View, O=Google Inc, CN=*.google.com',
      issuerdn: 'C=US, O=Google Inc, CN=Google Internet Authority G2',
      serial: '1E:58:FD:C1:2D:E4:C7:03',
      fingerprint: (sha1.match(/../g) as string[]).join(':'),
      sni: 'www.google.com', version: 'TLS 1.2',
      notbefore: '2014-04-09T12:05:08', notafter: '2014-07-08T00:00:00',
      ja3: { hash: 'e7eca2baf4458d095b7f45da28c16c34', string: '771,49172-49162-57,11-10-35,23-24,0' },
      ja3s: { hash: 'b26c652e0a402a24b5ca2a660e84f9d5', string: '771,49172,65281-11-35' },
      ja4: 't12d1909h2_d83cc789557e_7af1ed941c26',
      certificate: leaf.cert, chain: rows.map((r) => r.cert),
    };
    const r = await run(JSON.stringify({ ...base, tls }));
    assert.deepEqual(r.rejects, []);
    assert.equal(r.certs.length, rows.length, 'the leaf, then the rest of the chain');
    const c = r.certs[0] as CertificateRecord;
    assert.equal(c.sha256, leaf.fingerprint);
    assert.equal(c.sha1, sha1);
    assert.equal(c.der, leaf.cert);
    assert.equal(c.subject, leaf['certificate.subject']);
    assert.equal(c.issuer, leaf['certificate.issuer']);
    assert.equal(c.serial, leaf['certificate.serial']?.toLowerCase());
    assert.equal(c.not_valid_before, Number(leaf['certificate.not_valid_before']) * 1000);
    assert.equal(c.not_valid_after, Number(leaf['certificate.not_valid_after']) * 1000);
    assert.deepEqual(c.parse_warnings, []);
    assert.deepEqual(r.certs.slice(1).map((x) => x.sha256), rows.slice(1).map((x) => x.fingerprint));
    const o = r.obs[0] as ObservationRecord;
    assert.equal(o.cert_sha256, leaf.fingerprint);
    assert.deepEqual(o.chain_sha256, rows.map((x) => x.fingerprint));
    assert.equal(o.ja3, tls.ja3.hash);
    assert.equal(o.ja3s, tls.ja3s.hash);
    assert.equal(o.ja4, tls.ja4);
    assert.equal(o.server_name, 'www.google.com');
  });

  test('a fingerprint that is not the certificate\'s SHA-1 is kept with a warning', async () => {
    const leaf = baselineRows()[0] as Record<string, string>;
    const r = await run(JSON.stringify({ ...base, tls: { fingerprint: 'e2:fb:07:71:ee:6f:c0:d0:e3:24:bc:86:3c:02:b5:79:21:25:7c:00', certificate: leaf.cert } }));
    assert.equal(r.certs[0]?.sha1, 'e2fb0771ee6fc0d0e324bc863c02b57921257c00');
    assert.equal(r.certs[0]?.sha256, leaf.fingerprint);
    assert.match(r.certs[0]?.parse_warnings[0] ?? '', /not the SHA-1/);
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FormatOptions, LineFormat, LineItem } from '../../src/sources/format.js';
import type { CertificateRecord, ObservationRecord, SourceItem } from '../../src/sources/record.js';
import { scanCerts, scanExport, scanHosts } from '../../src/sources/scan.js';
import { suricataTls } from '../../src/sources/suricata.js';
import { UNKNOWN_TS } from '../../src/sources/values.js';
import { zeekKnownCerts, zeekSsl, zeekX509 } from '../../src/sources/zeek.js';

/** ../shared/fixtures next to the project (absent in a user's checkout: those tests skip). */
const SHARED_FIXTURES = fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));

const DER_FILE = SHARED_FIXTURES + '/certs/rusticata/certificate.der';
const skip = existsSync(DER_FILE) ? false : '../shared/fixtures not found: real-certificate tests skipped';

async function* linesOf(text: string): AsyncGenerator<LineItem> {
  const parts = text.split('\n');
  if (parts.at(-1) === '') parts.pop();
  for (const [i, t] of parts.entries()) yield { text: t, pos: i + 1, byteOffset: 0 };
}

async function run(fmt: LineFormat, input: string | AsyncIterable<LineItem>, options?: FormatOptions) {
  const items: SourceItem[] = [];
  for await (const it of fmt.read(typeof input === 'string' ? linesOf(input) : input, options)) items.push(it);
  return {
    items,
    obs: items.flatMap((i) => (i.kind === 'observation' ? [i.obs] : [])) as ObservationRecord[],
    certs: items.flatMap((i) => (i.kind === 'certificate' ? [i.cert] : [])) as CertificateRecord[],
    rejects: items.flatMap((i) => (i.kind === 'reject' ? [i.reject] : [])),
  };
}

const ALL = [scanExport, scanCerts, scanHosts, suricataTls, zeekX509, zeekSsl, zeekKnownCerts];
const detected = (head: string[]) => ALL.filter((f) => f.detect(head)).map((f) => f.name);

const blogRow = {
  subject: 'CN=mail.example-c2.top,O=Internet Widgits Pty Ltd,ST=Some-State,C=AU', issuer: 'CN=mail.example-c2.top,O=Internet Widgits Pty Ltd,ST=Some-State,C=AU',
  common_name: 'mail.example-c2.top', sha1_fingerprint: '6C:9E:1B:52:8D:5A:93:0A:3F:1E:E4:0B:1A:9D:8C:6B:52:4F:7E:01',
  not_valid_before: '2023-06-01T10:00:00', not_valid_after: 1717236000, src_ip: '198.51.100.7', dest_ip: '203.0.113.10', dest_port: 8443,
  rdns: 'vps-4411.example.net', country: 'NL', subject_alternative_names: ['mail.example-c2.top', 'example-c2.top'],
};

describe('scan: the blog\'s scan JSON', () => {
  test('detected by its field names; a certificate and an observation per row', async () => {
    const text = [JSON.stringify(blogRow), JSON.stringify({ ...blogRow, not_valid_before: 1685613600, subject: 'C=AU, ST=Some-State, O=Internet Widgits Pty Ltd, CN=mail.example-c2.top' })].join('\n');
    assert.deepEqual(detected(text.split('\n')), ['scan_export']);
    const r = await run(scanExport, text);
    assert.deepEqual(r.rejects, []);
    assert.deepEqual(r.items.map((i) => i.kind), ['observation', 'certificate', 'observation', 'certificate']);
    const [a, b] = r.certs as [CertificateRecord, CertificateRecord];
    assert.equal(a.sha1, '6c9e1b528d5a930a3f1ee40b1a9d8c6b524f7e01');
    assert.equal(a.not_valid_before, Date.UTC(2023, 5, 1, 10), 'ISO without zone is UTC');
    assert.equal(b.not_valid_before, Date.UTC(2023, 5, 1, 10), 'epoch seconds');
    assert.equal(a.not_valid_after, 1717236000 * 1000);
    assert.deepEqual(a.subject_alternative_names, ['mail.example-c2.top', 'example-c2.top']);
    assert.equal(a.self_issued, true);
    assert.equal(b.subject, blogRow.subject, 'one-line DN turned to RFC 4514 order');
    assert.equal(b.subject_original, 'C=AU, ST=Some-State, O=Internet Widgits Pty Ltd, CN=mail.example-c2.top');
    const o = r.obs[0] as ObservationRecord;
    assert.deepEqual([o.src_ip, o.dest_ip, o.dest_port, o.rdns, o.country, o.cert_sha1], ['198.51.100.7', '203.0.113.10', 8443, 'vps-4411.example.net', 'NL', a.sha1]);
    assert.equal(o.ts, UNKNOWN_TS, 'no time in the row');
  });

  test('bad rows are rejects naming the field; reading goes on', async () => {
    const lines = [
      '[1]', '42', '{"subject":', JSON.stringify({ ...blogRow, timestamp: 'last tuesday' }), JSON.stringify({ ...blogRow, sha1_fingerprint: 'abc' }),
      JSON.stringify({ ...blogRow, dest_port: 'https' }), JSON.stringify({ country: 'NL' }), JSON.stringify({ ...blogRow, rdns: 'bad\uFFFDname' }),
      `{"dest_ip":"203.0.113.9","rdns":"a\0b"}`,
    ];
    const r = await run(scanExport, lines.join('\n'));
    const reasons = r.rejects.map((x) => x.reason);
    assert.match(reasons[0] ?? '', /array, not an object/);
    assert.match(reasons[1] ?? '', /number, not an object/);
    assert.match(reasons[2] ?? '', /not JSON/);
    assert.match(reasons[3] ?? '', /^ts: not a time/);
    assert.match(reasons[4] ?? '', /^sha1: not a 40-digit/);
    assert.match(reasons[5] ?? '', /^dest_port: not a count/);
    assert.match(reasons[6] ?? '', /no certificate fingerprint and no dest_ip/);
    assert.match(reasons[7] ?? '', /not JSON/, 'raw NUL');
    assert.equal(r.obs.length, 1);
    assert.equal(r.obs[0]?.rdns, 'bad\uFFFDname');
  });
});

describe('scan: CSV with a header and a field map', () => {
  const csv = [
    'ip,port,SHA1,Subject DN,Issuer DN,names,Not Before,Not After',
    '203.0.113.10,443,6c9e1b528d5a930a3f1ee40b1a9d8c6b524f7e01,"CN=shop.example,O=Example\\, Inc,C=US",CN=R3,"shop.example,',
    'www.shop.example",2024-01-01T00:00:00Z,1735689600',
    '203.0.113.11,443,6c9e1b528d5a930a3f1ee40b1a9d8c6b524f7e01,CN=x,CN=y,,,',
    '203.0.113.12,443,too,few',
    '203.0.113.13,443,"unclosed',
  ].join('\n');
  const map = { dest_ip: 'ip', dest_port: 'port', sha1: 'SHA1', subject: 'Subject DN', issuer: 'Issuer DN', subject_alternative_names: 'names', not_valid_before: 'Not Before', not_valid_after: 'Not After', ts: '=2024-05-01' };

  test('RFC 4180: quoted commas and line breaks; map constants; column-count and unclosed-quote rejects', async () => {
    const r = await run(scanExport, csv, { map });
    assert.equal(r.certs.length, 2);
    const c = r.certs[0] as CertificateRecord;
    assert.equal(c.subject, 'CN=shop.example,O=Example\\, Inc,C=US');
    assert.equal(c.common_name, 'shop.example');
    assert.deepEqual(c.subject_alternative_names, ['shop.example', 'www.shop.example']);
    assert.equal(c.not_valid_before, Date.UTC(2024, 0, 1));
    assert.equal(r.obs[0]?.ts, Date.UTC(2024, 4, 1), 'ts from a map constant');
    assert.equal(r.obs[1]?.dest_ip, '203.0.113.11');
    assert.deepEqual(r.rejects.map((x) => x.position), [5, 6]);
    assert.match(r.rejects[0]?.reason ?? '', /expected 8 columns \(header\), got 4/);
    assert.match(r.rejects[1]?.reason ?? '', /not closed at end of file/);
  });
});

describe('scan: certificate file + hosts file pair', () => {
  test('hosts: ip,sha1 → observations (no header, or an ip,sha1 header), port and date from the map', async () => {
    const hosts = '1.2.3.4,da39a3ee5e6b4b0d3255bfef95601890afd80709\n2001:db8::1,DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\n5.6.7.8,nothex\n9.9.9.9\n';
    assert.deepEqual(detected(hosts.split('\n').slice(0, 20)), ['scan_hosts']);
    assert.deepEqual(detected(['ip,sha1', '1.2.3.4,da39a3ee5e6b4b0d3255bfef95601890afd80709']), ['scan_hosts']);
    const r = await run(scanHosts, `ip,sha1\n${hosts}`, { map: { dest_port: '=443', ts: '=2017-01-01' } });
    assert.equal(r.certs.length, 0, 'the hosts file names certificates, the certs file holds them');
    assert.deepEqual(r.obs.map((o) => [o.dest_ip, o.dest_port, o.cert_sha1, o.ts]), [
      ['1.2.3.4', 443, 'da39a3ee5e6b4b0d3255bfef95601890afd80709', Date.UTC(2017, 0, 1)],
      ['2001:db8::1', 443, 'da39a3ee5e6b4b0d3255bfef95601890afd80709', Date.UTC(2017, 0, 1)],
    ]);
    assert.deepEqual(r.rejects.map((x) => x.position), [4, 5]);
    assert.match(r.rejects[1]?.reason ?? '', /expected 2 columns \(dest_ip,sha1\), got 1/);
  });

  test('certs: sha1,base64 DER of a real certificate → der, sha1 checked, sha256/md5 computed', { skip }, async () => {
    const der = readFileSync(DER_FILE);
    const b64 = der.toString('base64');
    const sha1 = createHash('sha1').update(der).digest('hex');
    const text = `${sha1},${b64}\n${'0'.repeat(40)},${b64}\n${sha1},not*base64\n${sha1},${b64},extra\n`;
    assert.deepEqual(detected(text.split('\n')), ['scan_certs']);
    assert.deepEqual(detected([`sha1,cert`, `${sha1},${b64}`]), ['scan_certs']);
    const r = await run(scanCerts, `sha1,cert\n${text}`);
    assert.equal(r.obs.length, 0);
    assert.equal(r.certs.length, 2);
    const [good, mismatched] = r.certs as [CertificateRecord, CertificateRecord];
    assert.equal(good.der, b64);
    assert.equal(good.sha1, sha1);
    assert.equal(good.sha256, createHash('sha256').update(der).digest('hex'));
    assert.equal(good.md5, createHash('md5').update(der).digest('hex'));
    assert.deepEqual(good.parse_warnings, []);
    assert.match(mismatched.parse_warnings[0] ?? '', /not the SHA-1 of the DER/);
    assert.deepEqual(r.rejects.map((x) => [x.position, x.reason.split(':')[0]]), [[4, 'der'], [5, 'expected 2 columns (sha1,der), got 3']]);
  });

  test('splitter errors and NUL bytes: rejects, and reading goes on', async () => {
    async function* lines(): AsyncGenerator<LineItem> {
      yield { text: '1.2.3.4,da39a3ee5e6b4b0d3255bfef95601890afd80709', pos: 1, byteOffset: 0 };
      yield { error: 'line longer than 16 MiB', pos: 2, byteOffset: 50, excerpt: 'AAAA' };
      yield { text: '1.2.3.5,da39a3ee5e6b4b0d3255bfef95601890afd8\0\0\0', pos: 3, byteOffset: 17_000_000 };
      yield { text: '1.2.3.6,da39a3ee5e6b4b0d3255bfef95601890afd80709', pos: 4, byteOffset: 17_000_100 };
    }
    const r = await run(scanHosts, lines());
    assert.deepEqual(r.obs.map((o) => o.dest_ip), ['1.2.3.4', '1.2.3.6']);
    assert.deepEqual(r.rejects.map((x) => x.position), [2, 3]);
    assert.match(r.rejects[1]?.reason ?? '', /NUL/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exportZeekIntel, ZEEK_INTEL_HEADER, zeekIntel, zeekString } from '../../src/export/zeek-intel.js';
import { all, c2Ip, c2Ipv6, CS, csBlacklisted, csDefault, domain, hostile, HOSTILE_CN, ja3, NOW, sha256Only, shuffled } from './fixtures.js';

/**
 * Reads an intel file the way Zeek's input framework does (ASCII reader, Intel::Item fields):
 * the #fields line names the columns, rows split on tab, '-' is unset, string fields have their
 * \xHH escapes turned back into bytes (util::get_unescaped_string).
 */
function readIntel(text: string): { indicator: string; type: string; source: string; desc: string | null; url: string | null }[] {
  assert.ok(text.endsWith('\n'), 'file ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  assert.equal(lines[0], ZEEK_INTEL_HEADER);
  const fields = lines[0]!.split('\t').slice(1);
  assert.deepEqual(fields, ['indicator', 'indicator_type', 'meta.source', 'meta.desc', 'meta.url']);
  return lines.slice(1).map((line, i) => {
    assert.ok(!line.startsWith('#'), `row ${i} is not a header`);
    assert.doesNotMatch(line, /\r/, `row ${i} has no carriage return`);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(line, /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e]/, `row ${i} has no raw control`);
    const cols = line.split('\t');
    assert.equal(cols.length, 5, `row ${i} has exactly 5 fields: ${JSON.stringify(line)}`);
    const unset = (s: string): string | null => (s === '-' ? null : unescape(s));
    return { indicator: cols[0]!, type: cols[1]!, source: unescape(cols[2]!), desc: unset(cols[3]!), url: unset(cols[4]!) };
  });
}

function unescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const m = /^\\x([0-9a-f]{2})/i.exec(s.slice(i));
    if (m) {
      bytes.push(parseInt(m[1]!, 16));
      i += 3;
    } else bytes.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('Zeek intel file', () => {
  test('header and rows for the Cobalt Strike certificate and its addresses', () => {
    const rows = readIntel(zeekIntel([csDefault()], { now: NOW }));
    assert.deepEqual(
      rows.map((r) => [r.indicator, r.type]),
      [
        ['198.51.100.23', 'Intel::ADDR'],
        ['203.0.113.9', 'Intel::ADDR'],
        [CS.sha1, 'Intel::CERT_HASH'],
      ],
      "CERT_HASH is the SHA-1 (seen/x509.zeek); 'Major Cobalt Strike' is no DNS name",
    );
    const cert = rows.find((r) => r.type === 'Intel::CERT_HASH')!;
    assert.equal(cert.source, 'certhunt');
    assert.equal(cert.desc, 'Default C2 framework certificate (critical, score 95)');
    assert.equal(cert.url, null, "meta.url is '-' (unset)");
    assert.match(rows[0]!.desc!, /\[served certificate SHA-1 6ece5ece/);
  });

  test('IP, IPv6 and domain findings; JA3 and SHA-256-only certificates are reported as skipped', () => {
    const r = exportZeekIntel([c2Ip(), c2Ipv6(), domain(), ja3(), sha256Only()], { now: NOW, producer: 'acme-soc' });
    const rows = readIntel(r.text);
    assert.deepEqual(
      rows.map((x) => `${x.type} ${x.indicator}`),
      [
        'Intel::ADDR 2001:db8::bad',
        'Intel::ADDR 203.0.113.9',
        'Intel::DOMAIN update.microsoft-cdn.example',
        'Intel::DOMAIN xkq3vbn7tlz.example.net',
      ],
    );
    assert.ok(rows.every((x) => x.source === 'acme-soc'), 'producer is meta.source');
    assert.equal(r.exported, 4);
    assert.deepEqual(
      r.skipped.map((s) => [s.hunt_id, s.reason.split(':')[0]]),
      [
        ['known-c2-ja3', "Zeek's intel framework has no JA3 indicator type"],
        ['self-signed-recent', 'no SHA-1'],
      ],
    );
  });

  test('no duplicate (indicator, type) rows: hunts on one certificate merge their descriptions', () => {
    const rows = readIntel(zeekIntel([csDefault(), csBlacklisted(), c2Ip(), { ...c2Ip(), hunt_id: 'again' }], { now: NOW }));
    const keys = rows.map((r) => `${r.type} ${r.indicator}`);
    assert.equal(new Set(keys).size, keys.length, keys.join('\n'));
    const cert = rows.find((r) => r.type === 'Intel::CERT_HASH')!;
    assert.equal(cert.desc, 'Default C2 framework certificate (critical, score 95); Certificates on the abuse.ch SSL Blacklist (critical, score 90)');
    const ip = rows.find((r) => r.indicator === '203.0.113.9')!;
    assert.match(ip.desc!, /Default C2 framework certificate .*; Addresses serving C2 certificates \(high, score 80\)$/);
  });

  test('indicators are lowercased (Zeek matches on to_lower) and case duplicates collapse', () => {
    const upper = { ...csDefault(), certificate: { ...csDefault().certificate!, sha1: CS.sha1.toUpperCase() } };
    const rows = readIntel(zeekIntel([upper, csDefault(), { ...domain(), entity: 'XKQ3VBN7TLZ.EXAMPLE.NET.' }, domain()], { now: NOW }));
    assert.equal(rows.filter((r) => r.type === 'Intel::CERT_HASH').length, 1, 'one CERT_HASH row');
    assert.deepEqual(
      rows.filter((r) => r.type === 'Intel::DOMAIN').map((r) => r.indicator),
      ['xkq3vbn7tlz.example.net'],
    );
  });

  test('hostile certificate values never break the format', () => {
    const text = zeekIntel([hostile()], { now: NOW });
    const rows = readIntel(text);
    assert.ok(!text.includes('\x1b') && !text.includes('\u202e') && !text.includes('\r'), 'no raw ESC, bidi or CR in the file');
    // The CN is not a DNS name and a SAN with a tab or ESC in it is not either: neither is exported.
    assert.deepEqual(
      rows.filter((r) => r.type === 'Intel::DOMAIN').map((r) => r.indicator),
      ['*.evil.example', 'good.example', 'www.microsoft.com'],
      "wildcards as written (Zeek matches the certificate's literal SAN), no localhost, no IP literals",
    );
    assert.deepEqual(
      rows.filter((r) => r.type === 'Intel::ADDR').map((r) => r.indicator),
      ['192.0.2.77'],
      'invalid served-from addresses are dropped',
    );
    // The hostile title survives the round trip through Zeek's unescaping byte for byte.
    const cert = rows.find((r) => r.type === 'Intel::CERT_HASH')!;
    assert.equal(cert.desc, 'Short random-looking names "x";\\\t\n (high, score 70)');
    // The CN ends in '\r\nIntel::ADDR': had it reached the file raw, it would have forged a row.
    assert.ok(HOSTILE_CN.includes('\nIntel::ADDR'), 'the fixture tries to inject a row');
    assert.ok(rows.every((r) => ['Intel::ADDR', 'Intel::CERT_HASH', 'Intel::DOMAIN'].includes(r.type)), 'only real types');
    assert.equal(rows.length, 5, 'CERT_HASH, three names, one address: nothing injected');
  });

  test('escaping: controls, backslash and bidi as UTF-8 \\x escapes; the unset and empty markers are not spoofed', () => {
    assert.equal(zeekString('a\tb\nc\\d'), 'a\\x09b\\x0ac\\x5cd');
    assert.equal(zeekString('x\u202ey'), 'x\\xe2\\x80\\xaey');
    assert.equal(unescape(zeekString(HOSTILE_CN)), HOSTILE_CN);
    assert.equal(zeekString('-'), '\\x2d');
    assert.equal(zeekString('(empty)'), '\\x28empty)');
    assert.equal(zeekString('plain, text; ok'), 'plain, text; ok');
  });

  test('options: no certificate names or addresses, excluded domains', () => {
    const rows = readIntel(zeekIntel([hostile(), csDefault()], { now: NOW, certificateDomains: false, certificateAddresses: false }));
    assert.deepEqual(
      rows.map((r) => r.type),
      ['Intel::CERT_HASH', 'Intel::CERT_HASH'],
    );
    const excluded = readIntel(zeekIntel([hostile()], { now: NOW, excludeDomains: ['WWW.Microsoft.com.'] }));
    assert.ok(!excluded.some((r) => r.indicator === 'www.microsoft.com'), 'excluded domain is left out');
  });

  test('the same findings in any order give the same file', () => {
    assert.equal(zeekIntel(all(), { now: NOW }), zeekIntel(shuffled(all(), 11), { now: new Date(0) }));
  });

  test('no findings: just the header', () => {
    assert.equal(zeekIntel([], { now: NOW }), `${ZEEK_INTEL_HEADER}\n`);
  });
});

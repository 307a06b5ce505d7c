/**
 * Zeek's own output as the oracle: the log-certs-base64 baseline logs each certificate's DER in a
 * `cert` column, so parsing that DER must reproduce every other column of the same line. The
 * brimdata x509.log (no DER) gives names Zeek printed from real traffic: certificates built with
 * those names must print the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseCertificate, type ParsedCertificate } from '../../src/x509/index.js';
import { ATTR, ava, buildCertificate, type Bytes, ia5, keyPair, name, printable, utf8 } from './helpers/build.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
const BASE64_LOG = FIXTURES + 'pcap/zeek/scripts.policy.protocols.ssl.log-certs-base64/expected/x509.log';
const BRIM_LOG = FIXTURES + 'zeek-logs/brimdata/zeek-default_x509.log.gz';

/** Zeek's ASCII log escaping: `\xNN` for bytes, `\\` for a backslash. */
function unescapeTsv(s: string): string {
  return s.replace(/\\x([0-9a-f]{2})|\\\\/g, (_m, h: string | undefined) => (h ? String.fromCharCode(parseInt(h, 16)) : '\\'));
}

/** A tiny reader for Zeek TSV logs: header directives, then one record per line (fields still escaped). */
function readZeekTsv(text: string): Record<string, string>[] {
  let fields: string[] = [];
  const rows: Record<string, string>[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#fields\t')) fields = line.split('\t').slice(1);
    if (line === '' || line.startsWith('#')) continue;
    const cols = line.split('\t');
    rows.push(Object.fromEntries(fields.map((f, i) => [f, cols[i] ?? '-'])));
  }
  return rows;
}

/** Our record in Zeek's x509.log spelling (unset `-`, empty `(empty)`, vectors joined by `,`). */
function asZeekColumns(c: ParsedCertificate): Record<string, string> {
  const opt = (v: string | number | null) => (v === null ? '-' : String(v));
  const vec = (v: string[]) => (v.length ? v.join(',') : '-');
  const time = (ms: number | null) => (ms === null ? '-' : (ms / 1000).toFixed(6));
  return {
    fingerprint: c.sha256!,
    'certificate.version': opt(c.version),
    // Zeek prints OpenSSL's uppercase hex; the silver contract is lowercase.
    'certificate.serial': c.serial!.toUpperCase(),
    'certificate.subject': c.subject || '(empty)',
    'certificate.issuer': c.issuer || '(empty)',
    'certificate.not_valid_before': time(c.not_valid_before),
    'certificate.not_valid_after': time(c.not_valid_after),
    'certificate.key_alg': opt(c.key_alg),
    'certificate.sig_alg': opt(c.sig_alg),
    'certificate.key_type': opt(c.key_type),
    'certificate.key_length': opt(c.key_length),
    'certificate.exponent': opt(c.exponent),
    'certificate.curve': opt(c.curve),
    'san.dns': vec(c.subject_alternative_names),
    'san.uri': vec(c.san_uri),
    'san.email': vec(c.san_email),
    'san.ip': vec(c.san_ip),
    'basic_constraints.ca': c.is_ca === null ? '-' : c.is_ca ? 'T' : 'F',
    'basic_constraints.path_len': opt(c.path_len),
  };
}

test('log-certs-base64: the logged DER reproduces every Zeek column of its line', { skip: existsSync(BASE64_LOG) ? false : `${BASE64_LOG} not found` }, (t) => {
  const rows = readZeekTsv(readFileSync(BASE64_LOG, 'utf8'));
  assert.equal(rows.length, 3);
  for (const row of rows) {
    const ours = asZeekColumns(parseCertificate(Buffer.from(row.cert!, 'base64')));
    for (const [column, value] of Object.entries(ours)) {
      assert.equal(value, unescapeTsv(row[column]!), `${row.fingerprint} ${column}`);
    }
    t.diagnostic(`${row['certificate.subject']}: ${Object.keys(ours).length} columns equal`);
  }
});

test('brimdata x509.log: certificates with the names Zeek logged there print the same', { skip: existsSync(BRIM_LOG) ? false : `${BRIM_LOG} not found` }, () => {
  const rows = readZeekTsv(gunzipSync(readFileSync(BRIM_LOG)).toString('latin1'));
  const logged = new Set(rows.flatMap((r) => [r['certificate.subject']!, r['certificate.issuer']!]).map(unescapeTsv));
  const { publicKey, privateKey } = keyPair('p256');
  const cases: [string, Bytes][] = [
    [
      'unstructuredName=1315656901\\,564d7761726520496e632e,CN=localhost.localdomain,emailAddress=ssl-certificates@vmware.com,OU=VMware ESX Server Default Certificate,O=VMware\\, Inc,L=Palo Alto,ST=California,C=US',
      name(
        [ava(ATTR.C, printable('US'))],
        [ava(ATTR.ST, printable('California'))],
        [ava(ATTR.L, printable('Palo Alto'))],
        [ava(ATTR.O, printable('VMware, Inc'))],
        [ava(ATTR.OU, printable('VMware ESX Server Default Certificate'))],
        [ava(ATTR.emailAddress, ia5('ssl-certificates@vmware.com'))],
        [ava(ATTR.CN, printable('localhost.localdomain'))],
        [ava('1.2.840.113549.1.9.2', ia5('1315656901,564d7761726520496e632e'))],
      ),
    ],
    [
      'O=Symantec Corporation+CN=cottoncandy-PC+L=Mountain View+OU=ESG+ST=CA+C=US',
      name([
        ava(ATTR.C, printable('US')),
        ava(ATTR.ST, utf8('CA')),
        ava(ATTR.OU, utf8('ESG')),
        ava(ATTR.L, utf8('Mountain View')),
        ava(ATTR.CN, utf8('cottoncandy-PC')),
        ava(ATTR.O, utf8('Symantec Corporation')),
      ]),
    ],
    [
      'CN=easylist-downloads.adblockplus.org,OU=COMODO EV Multi-Domain SSL,O=Eyeo GmbH,street=Lichtstr. 25,L=K\\C3\\B6ln,ST=Nordrhein-Westfalen,postalCode=50825,C=DE,businessCategory=Private Organization,jurisdictionC=DE,serialNumber=HRB 73508',
      name(
        [ava(ATTR.serialNumber, printable('HRB 73508'))],
        [ava('1.3.6.1.4.1.311.60.2.1.3', printable('DE'))],
        [ava('2.5.4.15', utf8('Private Organization'))],
        [ava(ATTR.C, printable('DE'))],
        [ava('2.5.4.17', utf8('50825'))],
        [ava(ATTR.ST, utf8('Nordrhein-Westfalen'))],
        [ava(ATTR.L, utf8('Köln'))],
        [ava(ATTR.street, utf8('Lichtstr. 25'))],
        [ava(ATTR.O, utf8('Eyeo GmbH'))],
        [ava(ATTR.OU, utf8('COMODO EV Multi-Domain SSL'))],
        [ava(ATTR.CN, utf8('easylist-downloads.adblockplus.org'))],
      ),
    ],
  ];
  for (const [zeek, subject] of cases) {
    assert.ok(logged.has(zeek), `the log has ${zeek}`);
    const der = buildCertificate({ subject, issuer: subject, publicKey, signer: privateKey });
    assert.equal(parseCertificate(der).subject, zeek);
  }
});

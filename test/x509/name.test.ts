/**
 * Subject and issuer printing: RFC 2253 order and escaping as OpenSSL's X509_NAME_print_ex
 * (XN_FLAG_RFC2253) does it, which is what Zeek logs. Each case states the expected text (so the
 * test stands without openssl) and, when the openssl CLI is present and reads the certificate,
 * also checks the expectation against it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { sameDn } from '../../src/sources/dn.js';
import { parseCertificate } from '../../src/x509/index.js';
import { ATTR, ava, bmp, buildCertificate, type Bytes, ia5, int, keyPair, name, printable, simpleName, tlv, utf8 } from './helpers/build.js';
import { hasOpenssl, opensslView } from './helpers/compare.js';

const { publicKey, privateKey } = keyPair('p256');
const certWith = (subject: Bytes, issuer: Bytes = simpleName([['CN', 'Test CA']])) => buildCertificate({ subject, issuer, publicKey, signer: privateKey });

const latin1 = (s: string) => tlv(0x14, Buffer.from(s, 'latin1')); // T61String
const universal = (s: string) => tlv(0x1c, Buffer.concat([...s].map((c) => { const b = Buffer.alloc(4); b.writeUInt32BE(c.codePointAt(0)!); return b; })));

const cases: [string, Bytes, string][] = [
  ['RFC 2253 specials', name([ava(ATTR.O, utf8('a,b+c"d\\e;f<g>h=i'))]), 'O=a\\,b\\+c\\"d\\\\e\\;f\\<g\\>h=i'],
  ['leading #, leading and trailing space', name([ava(ATTR.O, utf8('#x'))], [ava(ATTR.OU, utf8(' y '))]), 'OU=\\ y\\ ,O=\\#x'],
  ['a lone # stays bare, a lone space does not', name([ava(ATTR.O, utf8('#'))], [ava(ATTR.OU, utf8(' '))]), 'OU=\\ ,O=#'],
  ['# and spaces inside are bare', name([ava(ATTR.CN, utf8('a # b'))]), 'CN=a # b'],
  ['control bytes and NUL as \\XX, nothing cut', name([ava(ATTR.CN, utf8('evil.com\0.paypal.com\n\x7f'))]), 'CN=evil.com\\00.paypal.com\\0A\\7F'],
  ['UTF-8 bytes as \\XX', name([ava(ATTR.L, utf8('Köln'))]), 'L=K\\C3\\B6ln'],
  ['BMPString converted to UTF-8, then escaped', name([ava(ATTR.CN, bmp('日本#'))]), 'CN=\\E6\\97\\A5\\E6\\9C\\AC#'],
  ['BMPString first-character escape', name([ava(ATTR.CN, bmp('#a'))]), 'CN=\\#a'],
  ['UniversalString', name([ava(ATTR.CN, universal('a😀'))]), 'CN=a\\F0\\9F\\98\\80'],
  ['T61String read as Latin-1', name([ava(ATTR.O, latin1('Caf\xe9'))]), 'O=Caf\\C3\\A9'],
  ['UTF-8 in a PrintableString is converted twice', name([ava(ATTR.L, tlv(0x13, Buffer.from('Zürich', 'utf8')))]), 'L=Z\\C3\\83\\C2\\BCrich'],
  ['unknown attribute type: dotted, value dumped', name([ava('1.2.3.4', utf8('x'))]), '1.2.3.4=#0C0178'],
  ['known type, non-string value: dumped', name([ava(ATTR.CN, tlv(0x1b, Buffer.from('gs')))]), 'CN=#1B026773'],
  ['multi-valued RDN, reversed with the rest', name([ava(ATTR.C, printable('US'))], [ava(ATTR.O, utf8('A')), ava(ATTR.OU, utf8('B'))], [ava(ATTR.CN, utf8('x'))]), 'CN=x,OU=B+O=A,C=US'],
  ['short names', name([ava(ATTR.DC, ia5('com'))], [ava(ATTR.UID, utf8('u1'))], [ava(ATTR.title, utf8('t'))], [ava(ATTR.street, utf8('s'))], [ava(ATTR.serialNumber, printable('42'))], [ava('2.5.4.42', utf8('g'))], [ava('2.5.4.97', utf8('VATDE-1'))], [ava('1.3.6.1.4.1.311.60.2.1.3', printable('DE'))]), 'jurisdictionC=DE,organizationIdentifier=VATDE-1,GN=g,serialNumber=42,street=s,title=t,UID=u1,DC=com'],
  ['empty name', name(), ''],
  ['an empty RDN is invisible', name([ava(ATTR.C, printable('US'))], [], [ava(ATTR.CN, utf8('x'))]), 'CN=x,C=US'],
  ['empty value', name([ava(ATTR.CN, utf8(''))]), 'CN='],
];

for (const [title, subject, expected] of cases) {
  test(`name: ${title}`, () => {
    const der = certWith(subject);
    const cert = parseCertificate(der);
    assert.equal(cert.subject, expected);
    if (hasOpenssl) {
      const view = opensslView(der);
      if (view) assert.equal(view.subject, expected, 'openssl x509 -nameopt RFC2253 disagrees with the expectation');
    }
  });
}

test('name: issuer printed the same way; self_issued compares names as RFC 5280 §7.1 does', () => {
  const n = simpleName([['C', 'US'], ['O', 'Acme, Inc.'], ['CN', 'Acme Root']]);
  const cert = parseCertificate(certWith(n, n));
  assert.equal(cert.issuer, 'CN=Acme Root,O=Acme\\, Inc.,C=US');
  assert.equal(cert.self_issued, true);
  // The same text with a different string type is the same name (RFC 5280 §7.1, §6.1's
  // self-issued; OpenSSL's X509_check_issued agrees), as it is in Zeek's text.
  const other = name([ava(ATTR.C, printable('US'))], [ava(ATTR.O, printable('Acme, Inc.'))], [ava(ATTR.CN, printable('Acme Root'))]);
  const cross = parseCertificate(certWith(n, other));
  assert.equal(cross.subject, cross.issuer);
  assert.equal(cross.self_issued, true);
  assert.equal(cross.self_signed, true, 'and its own key signed it');
});

test('name: self-issued as OpenSSL decides it, on DER and on the logged text alike', () => {
  const t61 = (s: string) => tlv(0x14, Buffer.from(s, 'latin1'));
  const pairs: [string, Bytes, Bytes, boolean][] = [
    ['PrintableString and UTF8String', name([ava(ATTR.CN, utf8('relay'))]), name([ava(ATTR.CN, printable('relay'))]), true],
    ['ASCII case', name([ava(ATTR.CN, utf8('Foo Bar'))]), name([ava(ATTR.CN, utf8('foo bar'))]), true],
    ['white space trimmed and collapsed', name([ava(ATTR.CN, utf8('  foo \t  bar '))]), name([ava(ATTR.CN, utf8('foo bar'))]), true],
    ['BMPString and UTF8String', name([ava(ATTR.CN, bmp('Köln'))]), name([ava(ATTR.CN, utf8('Köln'))]), true],
    ['T61String read as Latin-1', name([ava(ATTR.CN, t61('K\xf6ln'))]), name([ava(ATTR.CN, utf8('Köln'))]), true],
    ['non-ASCII case is significant', name([ava(ATTR.CN, utf8('KÖLN'))]), name([ava(ATTR.CN, utf8('KöLN'))]), false],
    ['multi-valued RDN in any order', name([ava(ATTR.CN, utf8('a')), ava(ATTR.O, utf8('b'))]), name([ava(ATTR.O, utf8('B')), ava(ATTR.CN, utf8('a'))]), true],
    ['RDN grouping is significant', name([ava(ATTR.CN, utf8('a')), ava(ATTR.O, utf8('b'))]), name([ava(ATTR.CN, utf8('a'))], [ava(ATTR.O, utf8('b'))]), false],
    ['RDN order is significant', name([ava(ATTR.CN, utf8('a'))], [ava(ATTR.O, utf8('b'))]), name([ava(ATTR.O, utf8('b'))], [ava(ATTR.CN, utf8('a'))]), false],
    ['different values', name([ava(ATTR.C, printable('US'))], [ava(ATTR.CN, utf8('a'))]), name([ava(ATTR.C, printable('US'))], [ava(ATTR.CN, utf8('b'))]), false],
  ];
  for (const [title, subject, issuer, expected] of pairs) {
    const der = certWith(subject, issuer);
    const c = parseCertificate(der);
    assert.equal(c.self_issued, expected, `${title}: DER`);
    assert.equal(sameDn(c.subject!, c.issuer!), expected, `${title}: Zeek's text`);
    const x = new X509Certificate(der);
    assert.equal(x.checkIssued(x), expected, `${title}: OpenSSL's X509_check_issued`);
  }
});

test('name: a 3,000-character name is not truncated (Zeek cuts at 2,047)', () => {
  const long = 'x'.repeat(3000);
  assert.equal(parseCertificate(certWith(name([ava(ATTR.CN, utf8(long))]))).subject, `CN=${long}`);
});

test('name parts: most specific value of each kind, decoded text', () => {
  const subject = name(
    [ava(ATTR.C, printable('DE'))],
    [ava(ATTR.ST, utf8('Nordrhein-Westfalen'))],
    [ava(ATTR.L, utf8('Köln'))],
    [ava(ATTR.O, bmp('Beispiel GmbH'))],
    [ava(ATTR.OU, utf8('IT'))],
    [ava(ATTR.OU, utf8('Web'))],
    [ava(ATTR.CN, utf8('example.de'))],
    [ava(ATTR.CN, utf8('www.example.de'))],
    [ava(ATTR.emailAddress, ia5('admin@example.de'))],
  );
  const c = parseCertificate(certWith(subject));
  assert.equal(c.common_name, 'www.example.de');
  assert.deepEqual(
    [c.subject_cn, c.subject_o, c.subject_ou, c.subject_c, c.subject_l, c.subject_st, c.subject_email],
    ['www.example.de', 'Beispiel GmbH', 'Web', 'DE', 'Köln', 'Nordrhein-Westfalen', 'admin@example.de'],
  );
  assert.equal(c.issuer_cn, 'Test CA');
  assert.equal(c.issuer_o, null);
  assert.deepEqual(c.parse_warnings, []);
});

test('name parts: NUL kept, invalid UTF-8 replaced and reported, non-ASCII PrintableString read as UTF-8', () => {
  const c = parseCertificate(
    certWith(
      name(
        [ava(ATTR.CN, utf8('evil.com\0.paypal.com'))],
        [ava(ATTR.O, tlv(0x0c, Uint8Array.of(0x41, 0xff, 0x42)))],
        [ava(ATTR.L, tlv(0x13, Buffer.from('Zürich', 'utf8')))],
      ),
    ),
  );
  assert.equal(c.common_name, 'evil.com\0.paypal.com');
  assert.equal(c.subject_o, 'A\ufffdB');
  assert.equal(c.subject_l, 'Zürich');
  assert.equal(c.subject, 'L=Z\\C3\\83\\C2\\BCrich,O=A\\FFB,CN=evil.com\\00.paypal.com');
  assert.ok(c.parse_warnings.includes('invalid UTF-8 in subject O'));
  assert.ok(c.parse_warnings.includes('non-ASCII bytes in subject L'));
});

test('name: malformed names keep what decoded before the fault', () => {
  // Second RDN is an INTEGER where a SET belongs.
  const broken = tlv(0x30, tlv(0x31, ava(ATTR.CN, utf8('kept'))), int(5), tlv(0x31, ava(ATTR.O, utf8('lost'))));
  const c = parseCertificate(certWith(broken));
  assert.equal(c.subject, 'CN=kept');
  assert.ok(c.parse_warnings.some((w) => w.startsWith('subject name malformed: RDN: expected SET, found INTEGER')), c.parse_warnings.join('; '));
});

test('name: the text comparison undoes escapes, and only where there are some', () => {
  assert.equal(sameDn('CN=a\\, b,O=X', 'CN=A\\2C  B,O=x'), true, 'a character escape and a hex escape of the same comma');
  assert.equal(sameDn('CN=a\\2Cb', 'CN=a,b'), false, 'an escaped comma is not an RDN separator');
  assert.equal(sameDn('CN=K\\C3\\B6ln', 'CN=Köln'), true, 'UTF-8 bytes escaped in hex');
  // A lone surrogate cannot be encoded: the byte round trip makes it U+FFFD, on either side.
  assert.equal(sameDn('CN=\ud800x', 'CN=\ufffdx'), true, 'lone surrogate');
  assert.equal(sameDn('CN=😀 x', 'CN=😀  X'), true, 'a surrogate pair, spaces and ASCII case');
  assert.equal(sameDn('CN=Plain Name,O=Org', 'CN=plain  name,O=ORG'), true, 'no escapes at all');
});

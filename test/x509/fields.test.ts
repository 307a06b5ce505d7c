/**
 * Column by column on certificates made here (real keys, real signatures): keys and signature
 * algorithms as Zeek names them, times in every encoding seen in the wild, serial spellings, SAN
 * addresses, basic constraints, versions, self-issued/self-signed. Where node:crypto can read a
 * certificate, it is asked too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { parseCertificate } from '../../src/x509/index.js';
import {
  ascii, basicConstraintsExt, bits, bool, buildCertificate, type Bytes, explicit, ext, int, keyPair, nul, octets, oid, sanExt, seq,
  simpleName, tlv,
} from './helpers/build.js';
import { hasOpenssl, ipHex, nodeSan, opensslView } from './helpers/compare.js';

const subject = simpleName([['C', 'US'], ['O', 'Test'], ['CN', 'test.example']]);
const other = simpleName([['CN', 'Some CA']]);
const ec = keyPair('p256');

test('keys and signature algorithms: OpenSSL names, Zeek key_type/length/exponent/curve', () => {
  const cases: [Parameters<typeof keyPair>[0], string, [string, string | null, number | null, string | null, string | null], string][] = [
    ['rsa2048', 'sha256', ['rsaEncryption', 'rsa', 2048, '65537', null], 'sha256WithRSAEncryption'],
    ['rsa1024', 'sha1', ['rsaEncryption', 'rsa', 1024, '65537', null], 'sha1WithRSAEncryption'],
    ['rsa1024', 'md5', ['rsaEncryption', 'rsa', 1024, '65537', null], 'md5WithRSAEncryption'],
    ['p256', 'sha256', ['id-ecPublicKey', 'ecdsa', 256, null, 'prime256v1'], 'ecdsa-with-SHA256'],
    ['p384', 'sha384', ['id-ecPublicKey', 'ecdsa', 384, null, 'secp384r1'], 'ecdsa-with-SHA384'],
    ['p521', 'sha512', ['id-ecPublicKey', 'ecdsa', 521, null, 'secp521r1'], 'ecdsa-with-SHA512'],
    ['secp256k1', 'sha256', ['id-ecPublicKey', 'ecdsa', 256, null, 'secp256k1'], 'ecdsa-with-SHA256'],
    // Zeek sets key_type/length only for RSA, DSA and EC keys.
    ['ed25519', 'sha256', ['ED25519', null, null, null, null], 'ED25519'],
    ['ed448', 'sha256', ['ED448', null, null, null, null], 'ED448'],
    ['dsa', 'sha256', ['dsaEncryption', 'dsa', 2048, null, null], 'dsa_with_SHA256'],
  ];
  for (const [kind, hash, key, sigAlg] of cases) {
    const { publicKey, privateKey } = keyPair(kind);
    const der = buildCertificate({ subject, issuer: subject, publicKey, signer: privateKey, hash });
    const c = parseCertificate(der);
    assert.deepEqual([c.key_alg, c.key_type, c.key_length, c.exponent, c.curve], key, kind);
    const view = hasOpenssl ? opensslView(der) : null;
    if (view) assert.deepEqual([c.key_alg, c.sig_alg, c.exponent, c.curve], [view.keyAlg, view.sigAlg, view.exponent, view.curve], `${kind}: openssl x509 -text`);
    assert.equal(c.sig_alg, sigAlg, kind);
    assert.equal(c.self_issued, true);
    assert.equal(c.self_signed, true, `${kind} self-signature`);
    assert.deepEqual(c.parse_warnings, [], kind);
    assert.match(c.spki_sha256!, /^[0-9a-f]{64}$/);
  }
});

test('self_signed: false when another key signed, false unchecked when not self-issued, null when not checkable', () => {
  const mine = keyPair('p256');
  const theirs = keyPair('p256', 1);
  const forged = parseCertificate(buildCertificate({ subject, issuer: subject, publicKey: mine.publicKey, signer: theirs.privateKey }));
  assert.deepEqual([forged.self_issued, forged.self_signed], [true, false]);

  // Names a CA as issuer, but signed by its own key: only 'always' looks.
  const fakeCa = buildCertificate({ subject, issuer: other, publicKey: mine.publicKey, signer: mine.privateKey });
  assert.deepEqual([parseCertificate(fakeCa).self_issued, parseCertificate(fakeCa).self_signed], [false, false]);
  assert.equal(parseCertificate(fakeCa, { selfSigned: 'always' }).self_signed, true);

  const own = buildCertificate({ subject, issuer: subject, publicKey: mine.publicKey, signer: mine.privateKey });
  assert.equal(parseCertificate(own, { selfSigned: 'never' }).self_signed, null);
  assert.equal(parseCertificate(own, { keepDer: false }).der, null);

  // An algorithm node:crypto does not check (SM2-with-SM3): the OID is swapped in both places.
  const sm2 = Buffer.from(own);
  const ecdsaOid = Buffer.from(oid('1.2.840.10045.4.3.2'));
  const sm2Oid = Buffer.from(oid('1.2.156.10197.1.501'));
  assert.equal(ecdsaOid.length, sm2Oid.length);
  for (let i = sm2.indexOf(ecdsaOid); i !== -1; i = sm2.indexOf(ecdsaOid, i + 1)) sm2Oid.copy(sm2, i);
  const c = parseCertificate(sm2);
  assert.equal(c.sig_alg, 'SM2-with-SM3');
  assert.equal(c.self_signed, null);
});

/** A certificate with hand-made validity elements (signature real, as always). */
function withValidity(notBefore: Bytes, notAfter: Bytes) {
  return parseCertificate(buildCertificate({ subject, issuer: other, publicKey: ec.publicKey, signer: ec.privateKey, notBefore, notAfter }));
}
const utc = (s: string) => tlv(0x17, ascii(s));
const gen = (s: string) => tlv(0x18, ascii(s));

test('validity: UTCTime and GeneralizedTime, the odd forms read with a warning, non-dates null', () => {
  const ok: [Bytes, number, string | null][] = [
    [utc('491231235959Z'), Date.UTC(2049, 11, 31, 23, 59, 59), null],
    [utc('500101000000Z'), Date.UTC(1950, 0, 1), null],
    [gen('20500101000000Z'), Date.UTC(2050, 0, 1), null],
    [gen('99991231235959Z'), Date.UTC(9999, 11, 31, 23, 59, 59), null],
    [gen('00010101000000Z'), Date.UTC(2001, 0, 1) - 2000 * 365.2425 * 86400000, null],
    [utc('2001021530Z'), Date.UTC(2020, 0, 2, 15, 30), 'non-DER UTCTime in notBefore (no seconds)'],
    [utc('200102153000+0130'), Date.UTC(2020, 0, 2, 14, 0), 'non-DER UTCTime in notBefore (offset instead of Z)'],
    [gen('20200102153000.25Z'), Date.UTC(2020, 0, 2, 15, 30, 0, 250), 'non-DER GeneralizedTime in notBefore (fractional seconds)'],
    [gen('2020010215Z'), Date.UTC(2020, 0, 2, 15), 'non-DER GeneralizedTime in notBefore (no minutes, no seconds)'],
    [gen('20200102153000'), Date.UTC(2020, 0, 2, 15, 30), 'non-DER GeneralizedTime in notBefore (no time zone)'],
    [gen('20240229120000Z'), Date.UTC(2024, 1, 29, 12), null],
  ];
  for (const [t, ms, warning] of ok) {
    const c = withValidity(t, gen('20991231235959Z'));
    assert.equal(c.not_valid_before, ms, Buffer.from(t.subarray(2)).toString());
    assert.deepEqual(c.parse_warnings, warning ? [warning] : []);
  }
  const bad: [Bytes, string][] = [
    [gen('20231301000000Z'), 'bad GeneralizedTime in notBefore (month)'],
    [gen('20230229000000Z'), 'bad GeneralizedTime in notBefore (day)'],
    [utc('19020701025736Z'), 'bad UTCTime in notBefore (trailing characters)'],
    [utc('2001xx000000Z'), 'bad UTCTime in notBefore (day)'],
    [utc(''), 'bad UTCTime in notBefore (year)'],
    [int(5), 'notBefore is a INTEGER, not a time'],
  ];
  for (const [t, warning] of bad) {
    const c = withValidity(t, utc('300101000000Z'));
    assert.equal(c.not_valid_before, null);
    assert.equal(c.not_valid_after, Date.UTC(2030, 0, 1));
    assert.deepEqual(c.parse_warnings, [warning]);
  }
});

test('serials as OpenSSL i2a_ASN1_INTEGER prints them, lowercased', () => {
  const cases: [Bytes, string, string[]][] = [
    [int(0), '00', []],
    [int(0x023a69), '023a69', []],
    [int(128), '80', []],
    [int(-1), '-01', ['negative serial number']],
    [int(-129), '-81', ['negative serial number']],
    [int(-256), '-0100', ['negative serial number']],
    [int(0x8f00000000000000000000000000000000000001n), '8f00000000000000000000000000000000000001', []],
    [int(1n << 300n), '1' + '0'.repeat(75), ['serial number longer than 20 bytes']],
    [tlv(0x02, Uint8Array.of(0, 0, 1)), '0001', ['serial number not minimally encoded']],
    [tlv(0x02, new Uint8Array(0)), '00', ['empty serial number']],
  ];
  for (const [serial, hex, warnings] of cases) {
    const der = buildCertificate({ subject, issuer: other, publicKey: ec.publicKey, signer: ec.privateKey, serial });
    const c = parseCertificate(der);
    assert.equal(c.serial, hex);
    assert.deepEqual(c.parse_warnings, warnings);
    // OpenSSL (and so Zeek) wraps serials past 35 bytes with a backslash-newline; we do not.
    const view = hasOpenssl && hex.length <= 70 ? opensslView(der) : null;
    if (view) assert.equal(c.serial, view.serial.toLowerCase(), 'openssl x509 -serial');
  }
});

test('SAN: DNS, email, URI, IPv4 and IPv6 as Zeek prints addr values, checked against node:crypto', () => {
  const ips: [number[], string][] = [
    [[192, 168, 7, 1], '192.168.7.1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
    [[...Array<number>(15).fill(0), 1], '::1'],
    [Array<number>(16).fill(0), '::'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4], '1.2.3.4'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4], '::1.2.3.4'],
    [[0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], '1:0:0:1::1'],
    [[0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4], '1::2:0:0:3:4'],
    [[0xfe, 0x80, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], 'fe80:0:0:1::'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6], '2001:db8:1:2:3:4:5:6'],
  ];
  const der = buildCertificate({
    subject, issuer: other, publicKey: ec.publicKey, signer: ec.privateKey,
    extensions: [sanExt({ dns: ['a.example', '*.b.example'], email: ['x@example.com'], uri: ['https://c.example/p'], ip: ips.map(([b]) => Uint8Array.from(b)) })],
  });
  const c = parseCertificate(der);
  assert.deepEqual(c.subject_alternative_names, ['a.example', '*.b.example']);
  assert.deepEqual(c.san_email, ['x@example.com']);
  assert.deepEqual(c.san_uri, ['https://c.example/p']);
  assert.deepEqual(c.san_ip, ips.map(([, s]) => s));
  const node = nodeSan(new X509Certificate(der).subjectAltName).filter(([k]) => k === 'IP Address').map(([, v]) => v);
  assert.deepEqual(c.san_ip.map(ipHex).map((h) => h.replace(/^0{20}ffff/, '')), node.map(ipHex).map((h) => h.replace(/^0{20}ffff/, '')));
});

test('SAN: malformed keeps the names before the fault; odd IP lengths and non-ASCII names warned', () => {
  const gn = [tlv(0x82, ascii('kept.example')), tlv(0x87, Uint8Array.of(1, 2, 3, 4, 5)), tlv(0x82, Uint8Array.of(0x78, 0xc3, 0xa9)), tlv(0x82, Uint8Array.of(0x41))];
  // The last GeneralName claims more bytes than the SEQUENCE holds.
  const san = seq(...gn);
  const broken = Uint8Array.from(san);
  broken[broken.length - 2] = 0x05;
  const der = buildCertificate({ subject, issuer: other, publicKey: ec.publicKey, signer: ec.privateKey, extensions: [ext('2.5.29.17', broken)] });
  const c = parseCertificate(der);
  assert.deepEqual(c.subject_alternative_names, ['kept.example', 'xé']);
  assert.deepEqual(c.parse_warnings, [
    'SAN IP address of 5 bytes',
    'non-ASCII bytes in SAN dNSName',
    'SAN extension malformed: length 5 runs past the end of its container (1 bytes left)',
  ]);
});

test('basic constraints, extension list, duplicates', () => {
  const make = (extensions: Bytes[]) => parseCertificate(buildCertificate({ subject, issuer: other, publicKey: ec.publicKey, signer: ec.privateKey, extensions }));
  const ca = make([basicConstraintsExt(true, 0), ext('2.5.29.15', tlv(0x03, Uint8Array.of(1, 6)), true)]);
  assert.deepEqual([ca.is_ca, ca.path_len], [true, 0]);
  assert.deepEqual(ca.extensions, ['2.5.29.19', '2.5.29.15']);
  const leaf = make([basicConstraintsExt(false)]);
  assert.deepEqual([leaf.is_ca, leaf.path_len], [false, null]);
  const none = make([]);
  assert.deepEqual([none.is_ca, none.path_len, none.extensions], [null, null, []]);
  const explicitFalse = make([ext('2.5.29.19', seq(bool(false)))]);
  assert.equal(explicitFalse.is_ca, false);
  const broken = make([ext('2.5.29.19', seq(int(3), bool(true)))]);
  assert.equal(broken.is_ca, null);
  assert.deepEqual(broken.parse_warnings, ['basic constraints malformed: extra data in BasicConstraints']);
  const notInt = make([ext('2.5.29.19', seq(bool(true), octets(Uint8Array.of(1))))]);
  assert.deepEqual([notInt.is_ca, notInt.parse_warnings], [null, ['basic constraints malformed: pathLenConstraint is not an INTEGER']]);
  const dup = make([sanExt({ dns: ['a'] }), sanExt({ dns: ['b'] })]);
  assert.deepEqual(dup.subject_alternative_names, ['a', 'b']);
  assert.deepEqual(dup.parse_warnings, ['duplicate extension 2.5.29.17']);
  const unknown = make([ext('1.3.6.1.4.1.99999.1.2.3', nul())]);
  assert.deepEqual(unknown.extensions, ['1.3.6.1.4.1.99999.1.2.3']);
});

test('versions: v1 without the field, explicit v1, v2, unknown v4', () => {
  const make = (version: number) => parseCertificate(buildCertificate({ version, subject, issuer: other, publicKey: ec.publicKey, signer: ec.privateKey }));
  assert.equal(make(1).version, 1);
  assert.equal(make(2).version, 2);
  assert.equal(make(3).version, 3);
  const v4 = make(4);
  assert.equal(v4.version, 4);
  assert.deepEqual(v4.parse_warnings, ['unknown version v4']);

  // Explicit v1, assembled by hand (the builder omits the default).
  const tbs = seq(explicit(0, int(0)), int(7), seq(oid('1.2.840.10045.4.3.2')), other, seq(tlv(0x17, ascii('240101000000Z')), tlv(0x17, ascii('250101000000Z'))), subject,
    new Uint8Array(ec.publicKey.export({ type: 'spki', format: 'der' })));
  const c = parseCertificate(seq(tbs, seq(oid('1.2.840.10045.4.3.2')), bits(Uint8Array.of(0))));
  assert.equal(c.version, 1);
  assert.ok(c.parse_warnings.includes('explicit v1 version (DER omits the default)'));
});

test('fingerprints are of the certificate bytes only; trailing bytes are reported', () => {
  const der = buildCertificate({ subject, issuer: other, publicKey: ec.publicKey, signer: ec.privateKey });
  const c = parseCertificate(der);
  const x = new X509Certificate(der);
  assert.equal(c.sha256, x.fingerprint256.replace(/:/g, '').toLowerCase());
  const padded = parseCertificate(Buffer.concat([der, Buffer.from('junk')]));
  assert.equal(padded.sha256, c.sha256);
  assert.deepEqual(padded.parse_warnings, ['4 bytes after the certificate']);
  assert.equal(Buffer.from(c.der!, 'base64').equals(Buffer.from(der)), true);
  assert.equal(c.md5!.length, 32);
});

test('a TBS field of the wrong type costs that field only', () => {
  const tbs = seq(explicit(0, int(2)), octets(Uint8Array.of(1)), seq(oid('1.2.840.10045.4.3.2')), other,
    seq(tlv(0x17, ascii('240101000000Z')), tlv(0x17, ascii('250101000000Z'))), subject, new Uint8Array(ec.publicKey.export({ type: 'spki', format: 'der' })));
  const c = parseCertificate(seq(tbs, seq(oid('1.2.840.10045.4.3.2')), bits(Uint8Array.of(0))));
  assert.equal(c.serial, null);
  assert.equal(c.subject, 'CN=test.example,O=Test,C=US');
  assert.equal(c.curve, 'prime256v1');
  assert.deepEqual(c.parse_warnings, ['serial number: expected INTEGER, found OCTET STRING']);
});

/**
 * Files as they come: PEM with text around it and several labels, truncated or corrupted PEM,
 * concatenated DER, PKCS#7 bundles as DER (also BER with indefinite lengths) and as PEM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { certificatesFromFile, parsePemBlocks, pkcs7Certificates } from '../../src/x509/index.js';
import { buildCertificate, type Bytes, int, keyPair, oid, pkcs7, seq, set, simpleName, tlv, toPem } from './helpers/build.js';

const CERTS = fileURLToPath(new URL('../../../shared/fixtures/certs/', import.meta.url));

function makeCerts(n: number): Bytes[] {
  const { publicKey, privateKey } = keyPair('p256');
  return Array.from({ length: n }, (_, i) => {
    const subject = simpleName([['CN', `host${i}.example`]]);
    return buildCertificate({ subject, issuer: subject, publicKey, signer: privateKey, serial: i + 1 });
  });
}

const cns = (r: ReturnType<typeof certificatesFromFile>) => r.certs.map((c) => c.cert.common_name);

test('PEM: several certificates and labels, text around them, lines and offsets', () => {
  const [a, b, c, d, e] = makeCerts(5);
  const trusted = Buffer.concat([a!, seq(seq(oid('1.3.6.1.5.5.7.3.1')))]); // certificate + X509_CERT_AUX
  const text = [
    'Certificate:\n    Data:\n        Version: 3 (0x2)\n', // an OpenSSL text dump above, as in zlint
    toPem(b!),
    'some words between\r\n',
    toPem(c!, 'X509 CERTIFICATE').replace(/\n/g, '\r\n'),
    toPem(Uint8Array.of(1, 2, 3), 'PRIVATE KEY'),
    toPem(trusted, 'TRUSTED CERTIFICATE'),
    toPem(pkcs7([d!, e!]), 'PKCS7'),
    'trailing text\n',
  ].join('');
  const r = certificatesFromFile(Buffer.from(text));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(cns(r), ['host1.example', 'host2.example', 'host0.example', 'host3.example', 'host4.example']);
  const lineOf = (label: string) => text.slice(0, text.indexOf(`-----BEGIN ${label}-----`)).split('\n').length;
  const lines = ['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE', 'PKCS7', 'PKCS7'].map(lineOf);
  assert.deepEqual(r.certs.map((x) => x.line), lines);
  assert.equal(lines[0], 4);
  assert.equal(r.certs[0]!.offset, text.indexOf('-----BEGIN CERTIFICATE-----'));
  assert.deepEqual(r.certs[2]!.cert.parse_warnings, [], 'the trust settings after a TRUSTED CERTIFICATE are not trailing garbage');
});

test('PEM: BEGIN without END and bad base64 are reported with line and offset', () => {
  const [a, b, c] = makeCerts(3);
  const bad = toPem(b!).split('\n');
  bad[3] = bad[3]!.slice(0, 10) + '*' + bad[3]!.slice(11);
  const text = `header\n${toPem(a!)}${bad.join('\n')}${toPem(c!).replace(/-----END CERTIFICATE-----\n$/, '')}`;
  const r = certificatesFromFile(Buffer.from(text));
  assert.deepEqual(cns(r), ['host0.example', 'host2.example'], 'the unterminated last block still yields its certificate');
  const badLine = 2 + toPem(a!).split('\n').length - 1 + 3;
  const lastBegin = text.lastIndexOf('-----BEGIN');
  assert.deepEqual(r.errors, [
    { line: badLine, offset: text.indexOf(bad[3]!), reason: 'bad base64 in CERTIFICATE block' },
    { line: text.slice(0, lastBegin).split('\n').length, offset: lastBegin, reason: 'BEGIN CERTIFICATE without END (truncated)' },
  ]);
});

test('PEM: a cut in the middle of the base64 is an X509Error for that block, not a crash', () => {
  const [a] = makeCerts(1);
  const lines = toPem(a!).split('\n');
  const r = certificatesFromFile(Buffer.from(lines.slice(0, lines.length >> 1).join('\n') + '\n'));
  assert.equal(r.certs.length, 0);
  assert.equal(r.errors[0]!.reason, 'BEGIN CERTIFICATE without END (truncated)');
  assert.match(r.errors[1]!.reason, /runs past the end of its container .* of the CERTIFICATE block/);
});

test('PEM: END with another label, headers, string input offsets', () => {
  const [a] = makeCerts(1);
  const pem = toPem(a!).replace('-----END CERTIFICATE-----', '-----END X509 CERTIFICATE-----').replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: none\n\n');
  const text = `é${pem}`;
  const blocks = parsePemBlocks(text);
  assert.equal(blocks.blocks.length, 1);
  assert.equal(blocks.blocks[0]!.offset, 1, 'character offsets for string input');
  assert.equal(Buffer.from(blocks.blocks[0]!.der).equals(Buffer.from(a!)), true);
  assert.deepEqual(blocks.errors.map((e) => e.reason), ['BEGIN CERTIFICATE closed by END X509 CERTIFICATE']);
  assert.equal(parsePemBlocks(Buffer.from(text, 'utf8')).blocks[0]!.offset, 2, 'byte offsets for bytes');
});

test('DER: concatenated certificates with offsets; PKCS#7 as DER, and as BER with indefinite lengths', () => {
  const [a, b, c] = makeCerts(3);
  const der = Buffer.concat([a!, b!, c!]);
  const r = certificatesFromFile(der);
  assert.deepEqual(cns(r), ['host0.example', 'host1.example', 'host2.example']);
  assert.deepEqual(r.certs.map((x) => x.offset), [0, a!.length, a!.length + b!.length]);
  assert.ok(r.certs.every((x) => x.line === null));

  assert.deepEqual(cns(certificatesFromFile(pkcs7([a!, b!]))), ['host0.example', 'host1.example']);

  // BER: ContentInfo, [0], SignedData and the certificate set with indefinite lengths.
  const indef = (tag: number, ...parts: Bytes[]) => Buffer.concat([Buffer.from([tag, 0x80]), ...parts, Buffer.from([0, 0])]);
  const ber = indef(0x30, oid('1.2.840.113549.1.7.2'), indef(0xa0, indef(0x30, int(1), set(), seq(oid('1.2.840.113549.1.7.1')), indef(0xa0, a!, c!), set())));
  assert.deepEqual(cns(certificatesFromFile(ber)), ['host0.example', 'host2.example']);
  assert.deepEqual(pkcs7Certificates(ber).certs.length, 2);

  const notSigned = seq(oid('1.2.840.113549.1.7.1'), tlv(0xa0, tlv(0x04, Uint8Array.of(1))));
  assert.deepEqual(certificatesFromFile(notSigned).errors.map((e) => e.reason), ['PKCS#7 content type 1.2.840.113549.1.7.1 is not signedData']);
});

test('DER then garbage, empty files, text without certificates', () => {
  const [a] = makeCerts(1);
  const r = certificatesFromFile(Buffer.concat([a!, Buffer.from([0x02, 0x01, 0x00])]));
  assert.equal(r.certs.length, 1);
  assert.deepEqual(r.errors, [{ offset: a!.length, line: null, reason: 'INTEGER where a certificate or PKCS#7 bundle should start' }]);
  assert.deepEqual(certificatesFromFile(new Uint8Array(0)).errors.map((e) => e.reason), ['empty file']);
  assert.deepEqual(certificatesFromFile(Buffer.from('hello\n')).errors.map((e) => e.reason), ['no certificate found (neither DER nor PEM)']);
  assert.deepEqual(cns(certificatesFromFile(Buffer.from(`${Buffer.from(a!).toString('base64')}\n`))), ['host0.example'], 'bare base64');
  // Starts with the SEQUENCE tag by accident ('0' is 0x30), but it is text with PEM in it.
  assert.equal(certificatesFromFile(Buffer.from(`0 certificates below\n${toPem(a!)}`)).certs.length, 1);
});

test('fixtures: rusticata no_end.pem (BEGIN without END), zlint text above the PEM', { skip: existsSync(CERTS) ? false : '../shared/fixtures/certs not found' }, () => {
  const noEnd = certificatesFromFile(readFileSync(CERTS + 'rusticata/no_end.pem'));
  assert.equal(noEnd.certs.length, 1);
  assert.deepEqual(noEnd.errors, [{ line: 1, offset: 0, reason: 'BEGIN CERTIFICATE without END (truncated)' }]);
  const zlint = certificatesFromFile(readFileSync(CERTS + 'zlint/CNPresentButEmpty.pem'));
  assert.deepEqual([zlint.certs.length, zlint.certs[0]!.line, zlint.errors], [1, 30, []]);
  const longForm = certificatesFromFile(readFileSync(CERTS + 'pyca/long-form-name-attribute.pem'));
  assert.equal(longForm.certs.length, 1, "'X509 CERTIFICATE' label");
});

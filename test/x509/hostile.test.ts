/**
 * Hostile input: every outcome must be a record or an X509Error, never another exception, a hang
 * or an allocation sized by the input's claims. Loops are bounded by counts (seeded PRNG, so a
 * failure reproduces); the only clock is the test runner's generous timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { certificatesFromFile, parseCertificate, parsePemBlocks, pkcs7Certificates, X509Error } from '../../src/x509/index.js';
import {
  basicConstraintsExt, bits, buildCertificate, type Bytes, explicit, int, keyPair, oid, pkcs7, sanExt, seq, simpleName, toPem, utcTime,
} from './helpers/build.js';
import { prng } from '../helpers/bytes.js';


type Outcome = 'record' | 'X509Error';

/** The one clock: a generous ceiling on a whole loop (each runs in well under a second here). */
const GUARD = 120_000;

/** Runs `fn`; a record or an X509Error is fine, anything else fails the test with the input. */
function outcome(fn: () => unknown, input: Uint8Array): Outcome {
  try {
    const r = fn();
    JSON.stringify(r); // every field serializable (no BigInt, no cycles)
    return 'record';
  } catch (e) {
    if (e instanceof X509Error) return 'X509Error';
    throw new Error(`non-X509Error on input ${Buffer.from(input.subarray(0, 64)).toString('hex')}…: ${String(e)}`, { cause: e });
  }
}

function corpus(): Bytes[] {
  const rsa = keyPair('rsa1024');
  const ec = keyPair('p256');
  const subject = simpleName([['C', 'US'], ['O', 'Acme, Inc.'], ['CN', 'hostile.example']]);
  return [
    buildCertificate({ subject, issuer: subject, publicKey: rsa.publicKey, signer: rsa.privateKey, extensions: [basicConstraintsExt(true, 1), sanExt({ dns: ['a.example', 'b.example'], ip: [Uint8Array.of(10, 0, 0, 1)] })] }),
    buildCertificate({ subject, issuer: simpleName([['CN', 'CA']]), publicKey: ec.publicKey, signer: ec.privateKey, serial: -5n, extensions: [sanExt({ email: ['x@y'], uri: ['http://z'] })] }),
  ];
}

test('truncation at every byte: X509Error, with the offset inside the input', { timeout: GUARD }, () => {
  const counts = { record: 0, X509Error: 0 };
  let total = 0;
  for (const der of corpus()) {
    total += der.length;
    for (let n = 0; n < der.length; n++) {
      const cut = der.subarray(0, n);
      counts[outcome(() => parseCertificate(cut), cut)]++;
      try {
        parseCertificate(cut);
      } catch (e) {
        assert.ok(e instanceof X509Error && e.offset >= 0 && e.offset <= n, `offset ${(e as X509Error).offset} for ${n} bytes`);
      }
      outcome(() => certificatesFromFile(cut), cut);
    }
  }
  // A cut certificate's outer length always runs past the end.
  assert.deepEqual(counts, { record: 0, X509Error: total });
});

test('random byte flips (seeded): only records or X509Errors', { timeout: GUARD }, () => {
  const rand = prng(0x5eed);
  const counts = { record: 0, X509Error: 0 };
  const certs = corpus();
  for (let i = 0; i < 4000; i++) {
    const der = Uint8Array.from(certs[i % certs.length]!);
    const flips = 1 + Math.floor(rand() * 8);
    for (let k = 0; k < flips; k++) der[Math.floor(rand() * der.length)] = Math.floor(rand() * 256);
    counts[outcome(() => parseCertificate(der, { selfSigned: i % 4 === 0 ? 'always' : 'self-issued' }), der)]++;
  }
  // Most flips land in places that leave a record (with warnings); both outcomes must occur.
  assert.ok(counts.record > 1000 && counts.X509Error > 100, JSON.stringify(counts));
});

test('random splices of real certificates through the file reader (DER, PEM, PKCS#7)', { timeout: GUARD }, () => {
  const rand = prng(42);
  const certs = corpus();
  for (let i = 0; i < 600; i++) {
    const a = certs[i % 2]!;
    const b = certs[(i + 1) % 2]!;
    const cutA = Math.floor(rand() * a.length);
    const cutB = Math.floor(rand() * b.length);
    const der = Buffer.concat([a.subarray(0, cutA), b.subarray(cutB)]);
    outcome(() => certificatesFromFile(der), der);
    const pem = Buffer.from(toPem(der).slice(0, Math.floor(rand() * 2000)));
    outcome(() => certificatesFromFile(pem), pem);
    const p7 = pkcs7([der, a]);
    outcome(() => certificatesFromFile(p7), p7);
  }
});

test('100,000 nested SEQUENCEs, definite and indefinite: an error or a record, no stack overflow', { timeout: GUARD }, () => {
  const depth = 100_000;
  // Definite lengths, built inside out: each level's header holds the size of everything inside.
  const sizes: number[] = [0];
  const header = (len: number) => (len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : 5);
  for (let i = 1; i <= depth; i++) sizes.push(sizes[i - 1]! + header(sizes[i - 1]!));
  const nested = Buffer.alloc(sizes[depth]!);
  let p = 0;
  for (let i = depth; i >= 1; i--) {
    const len = sizes[i - 1]!;
    nested[p++] = 0x30;
    if (len < 0x80) nested[p++] = len;
    else {
      const n = header(len) - 2;
      nested[p++] = 0x80 | n;
      for (let k = n - 1; k >= 0; k--) nested[p++] = (len >> (8 * k)) & 0xff;
    }
  }
  outcome(() => parseCertificate(nested), nested);
  outcome(() => certificatesFromFile(nested), nested);
  outcome(() => pkcs7Certificates(nested), nested);

  const indefinite = Buffer.concat([Buffer.alloc(depth * 2, Buffer.from([0x30, 0x80])), Buffer.alloc(depth * 2)]);
  assert.equal(outcome(() => parseCertificate(indefinite), indefinite), 'X509Error');
  const viaFile = certificatesFromFile(indefinite);
  assert.equal(viaFile.certs.length, 0);
  assert.match(viaFile.errors[0]!.reason, /BER nesting deeper than 32/);
});

test('lengths that lie: 2^31 bytes claimed, 5-byte length fields, indefinite outer length', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['outer 2^31', Buffer.from([0x30, 0x84, 0x80, 0x00, 0x00, 0x00, 0x30, 0x00]), /length 2147483648 runs past the end of its container \(2 bytes left\)/],
    ['outer 2^32-1', Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00]), /length 4294967295 runs past/],
    ['5-byte length', Buffer.from([0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00]), /length field of 5 bytes/],
    ['indefinite', Buffer.from([0x30, 0x80, 0x30, 0x00, 0x00, 0x00]), /indefinite length/],
    ['TBS 2^31', Buffer.from([0x30, 0x08, 0x30, 0x84, 0x80, 0x00, 0x00, 0x00, 0x02, 0x01]), /TBSCertificate|runs past/],
    ['not a SEQUENCE', Buffer.from('hello'), /not a certificate: starts with/],
    ['empty', Buffer.alloc(0), /empty input/],
  ];
  for (const [title, input, reason] of cases) {
    assert.throws(() => parseCertificate(input), (e: unknown) => e instanceof X509Error && reason.test(e.reason), title);
  }
  // Inside a well-framed certificate, a SubjectPublicKeyInfo claiming 2^31 bytes costs the fields from there on.
  const ec = keyPair('p256');
  const spki = ec.publicKey.export({ type: 'spki', format: 'der' });
  const lyingSpki = Buffer.concat([Buffer.from([0x30, 0x84, 0x80, 0, 0, 0]), spki.subarray(2)]);
  const ecdsa = seq(oid('1.2.840.10045.4.3.2'));
  const tbs = seq(explicit(0, int(2)), int(1), ecdsa, simpleName([['CN', 'y']]), seq(utcTime(new Date(0)), utcTime(new Date(1e12))), simpleName([['CN', 'x']]), lyingSpki);
  const c = parseCertificate(seq(tbs, ecdsa, bits(Uint8Array.of(0))));
  assert.equal(c.subject, 'CN=x');
  assert.equal(c.issuer, 'CN=y');
  assert.equal(c.not_valid_after, 1e12);
  assert.equal(c.key_alg, null);
  assert.deepEqual(c.parse_warnings, ['TBSCertificate malformed: length 2147483648 runs past the end of its container (89 bytes left)']);
});

test('PEM that could make a reader quadratic: 200,000 BEGINs without END, 200,000 stray ENDs, 8 MB of base64', { timeout: GUARD }, () => {
  const begins = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n'.repeat(200_000));
  const r = parsePemBlocks(begins);
  assert.equal(r.errors.filter((e) => e.reason === 'BEGIN CERTIFICATE without END (truncated)').length, 200_000);
  assert.equal(r.errors.at(-1)!.line, 399_999);
  const viaFile = certificatesFromFile(begins);
  assert.equal(viaFile.certs.length, 0);

  const ends = Buffer.from(`-----BEGIN CERTIFICATE-----\nMIIB\n${'-----END CERTIFICATE-----\n'.repeat(200_000)}`);
  assert.equal(parsePemBlocks(ends).blocks.length, 1);

  const big = Buffer.from(`-----BEGIN CERTIFICATE-----\n${'QUFB'.repeat(2_000_000)}\n-----END CERTIFICATE-----\n`);
  const found = certificatesFromFile(big);
  assert.equal(found.certs.length, 0);
  assert.match(found.errors[0]!.reason, /not a certificate/);
});

test('garbage (seeded): random bytes, random text, PEM-looking noise', { timeout: GUARD }, () => {
  const rand = prng(7);
  for (let i = 0; i < 2000; i++) {
    const n = Math.floor(rand() * 300);
    const bytes = Buffer.alloc(n);
    for (let k = 0; k < n; k++) bytes[k] = Math.floor(rand() * 256);
    if (i % 3 === 0 && n > 0) bytes[0] = 0x30; // look like DER
    outcome(() => parseCertificate(bytes), bytes);
    outcome(() => certificatesFromFile(bytes), bytes);
    const text = Buffer.from(`junk\n-----BEGIN CERTIFICATE-----\n${bytes.toString('base64').slice(0, n)}${i % 2 ? '\n-----END CERTIFICATE-----\n' : ''}`);
    outcome(() => certificatesFromFile(text), text);
    outcome(() => parsePemBlocks(text), text);
  }
});

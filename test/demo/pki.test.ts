/**
 * The demo's certificate layer: chains that node:crypto (OpenSSL) verifies, fields that read back
 * through our parser exactly as asked (the C2 frameworks' default names included), the same bytes
 * for the same seed in this process and in another one, refusals of what cannot be deterministic
 * or would not print as written, and the cost of a few hundred leaves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type CertSpec, type Issued, Pki, PkiError } from '../../src/demo/pki.js';
import { Rng } from '../../src/demo/rng.js';
import { parseCertificate } from '../../src/x509/index.js';

const notBefore = new Date('2024-03-01T12:00:00Z');
const notAfter = new Date('2026-03-01T12:00:00Z');
const dates = { notBefore, notAfter };
const rsa2048 = { type: 'rsa', bits: 2048 } as const;

/** Signature, issuer/subject link and validity as OpenSSL sees them. */
function assertIssuedBy(c: Issued, issuer: Issued): void {
  const x = new X509Certificate(c.der);
  const by = new X509Certificate(issuer.der);
  assert.ok(x.verify(by.publicKey), `${c.label}: signature verifies with ${issuer.label}'s key`);
  assert.ok(x.checkIssued(by), `${c.label}: OpenSSL links it to ${issuer.label}`);
  assert.equal(Date.parse(x.validFrom), c.spec.notBefore.getTime(), `${c.label} notBefore`);
  assert.equal(Date.parse(x.validTo), c.spec.notAfter.getTime(), `${c.label} notAfter`);
}

test('a chain: root, intermediate, EC and RSA leaves verify and read back as asked', async () => {
  const pki = new Pki('chain');
  const root = await pki.issue('root', { ...dates, subject: 'CN=Example Root CA,O=Example\\, Inc.,C=US', key: { type: 'rsa', bits: 3072 }, hash: 'sha384', ca: { pathLength: 1 } });
  const inter = await pki.issue('inter', { ...dates, subject: 'CN=Example Issuing CA 1,OU=PKI,O=Example\\, Inc.,C=US', issuer: root, key: rsa2048, hash: 'sha384', ca: { pathLength: 0 } });
  const san = { dns: ['www.example.com', 'example.com'], ip: ['192.0.2.10', '2001:db8::10'], email: ['hostmaster@example.com'] };
  const ec256 = await pki.issue('ec256', { ...dates, subject: 'CN=www.example.com,O=Example\\, Inc.,L=Springfield,ST=Illinois,C=US', issuer: inter, key: { type: 'ec', curve: 'P-256' }, san });
  const ec384 = await pki.issue('ec384', { ...dates, subject: 'CN=api.example.com', issuer: inter, key: { type: 'ec', curve: 'P-384' }, hash: 'sha384', san: { dns: ['api.example.com'] } });
  const rsaLeaf = await pki.issue('rsa-leaf', { ...dates, subject: 'CN=mail.example.com', issuer: inter, key: rsa2048, serial: 'ABCDEF0123' });

  assertIssuedBy(root, root);
  for (const c of [ec256, ec384, rsaLeaf]) assertIssuedBy(c, inter);
  assertIssuedBy(inter, root);
  assert.ok(!new X509Certificate(ec256.der).verify(new X509Certificate(root.der).publicKey), 'a leaf does not verify with the root key');
  assert.ok(new X509Certificate(root.der).ca && new X509Certificate(inter.der).ca, 'CAs are CA:TRUE for OpenSSL');
  const leafX = new X509Certificate(ec256.der);
  assert.ok(!leafX.ca, 'a leaf is CA:FALSE');
  assert.deepEqual(leafX.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  assert.equal(leafX.subjectAltName, 'DNS:www.example.com, DNS:example.com, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:10, email:hostmaster@example.com');

  const expect: [Issued, Issued, string, string | null, number, string, boolean, boolean, number | null][] = [
    // cert, issuer, key_type, curve, key_length, sig_alg, self_signed, is_ca, path_len
    [root, root, 'rsa', null, 3072, 'sha384WithRSAEncryption', true, true, 1],
    [inter, root, 'rsa', null, 2048, 'sha384WithRSAEncryption', false, true, 0],
    [ec256, inter, 'ecdsa', 'prime256v1', 256, 'sha256WithRSAEncryption', false, false, null],
    [ec384, inter, 'ecdsa', 'secp384r1', 384, 'sha384WithRSAEncryption', false, false, null],
    [rsaLeaf, inter, 'rsa', null, 2048, 'sha256WithRSAEncryption', false, false, null],
  ];
  for (const [c, issuer, keyType, curve, bits, sigAlg, selfSigned, isCa, pathLen] of expect) {
    const p = parseCertificate(c.der);
    assert.deepEqual(
      [p.subject, p.issuer, p.serial, p.key_type, p.curve, p.key_length, p.sig_alg, p.self_signed, p.is_ca, p.path_len],
      [c.spec.subject, issuer.subject, c.serial, keyType, curve, bits, sigAlg, selfSigned, isCa, pathLen],
      c.label,
    );
    assert.deepEqual([p.not_valid_before, p.not_valid_after, p.version], [notBefore.getTime(), notAfter.getTime(), 3], c.label);
    assert.deepEqual(p.parse_warnings, [], c.label);
    assert.equal(c.issuer, issuer.subject, `${c.label}: Issued.issuer`);
    assert.equal(p.spki_sha256, createHash('sha256').update(c.key.spki).digest('hex'), `${c.label}: the key in the certificate is Issued.key`);
  }
  assert.equal(rsaLeaf.serial, 'abcdef0123');
  assert.match(ec256.serial, /^[0-7][0-9a-f]{31}$/, 'random serial: 16 bytes, no sign byte');
  const p = parseCertificate(ec256.der);
  assert.deepEqual([p.subject_alternative_names, p.san_ip, p.san_email], [san.dns, san.ip, san.email]);
  assert.deepEqual([p.subject_cn, p.subject_o, p.subject_l, p.subject_st, p.subject_c], ['www.example.com', 'Example, Inc.', 'Springfield', 'Illinois', 'US']);
});

test('self-signed RSA 1024 with SHA-1', async () => {
  const c = await new Pki('old').issue('printer', { ...dates, subject: 'CN=printer.corp.local,O=Printer Vendor', key: { type: 'rsa', bits: 1024 }, hash: 'sha1' });
  const p = parseCertificate(c.der);
  assert.deepEqual([p.sig_alg, p.key_length, p.exponent, p.self_issued, p.self_signed], ['sha1WithRSAEncryption', 1024, '65537', true, true]);
  assert.equal(p.issuer, 'CN=printer.corp.local,O=Printer Vendor');
  assertIssuedBy(c, c);
});

test('C2 framework defaults and odd names print exactly as Zeek would log them', async () => {
  const pki = new Pki('c2');
  const c2: [string, CertSpec][] = [
    ['cobalt-strike', { ...dates, subject: 'CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth', serial: '08BB00EE', key: rsa2048, extensions: 'keyid' }],
    ['covenant', { ...dates, subject: 'CN=Covenant', key: rsa2048 }],
    ['empire', { ...dates, subject: 'C=US', key: rsa2048 }],
    ['poshc2', { ...dates, subject: 'CN=P18055077,OU=Jethpro,O=Pajfds,L=Minnetonka,ST=Minnesota,C=US', key: rsa2048 }],
    ['empty', { ...dates, subject: '', key: rsa2048, san: { dns: ['c2.example.net'] } }],
  ];
  for (const [label, spec] of c2) {
    const c = await pki.issue(label, spec);
    const p = parseCertificate(c.der);
    assert.deepEqual([p.subject, p.issuer, p.self_signed, p.parse_warnings], [spec.subject, spec.subject, true, []], label);
    assertIssuedBy(c, c);
    if (label === 'cobalt-strike') {
      assert.equal(p.serial, '08bb00ee');
      assert.equal(c.serial, '08bb00ee');
      assert.equal(p.subject_c, 'Earth');
      // keytool writes C=Earth as a PrintableString (tag 0x13), not the UTF8String OpenSSL would.
      assert.ok(Buffer.from(c.der).includes(Buffer.from([0x13, 0x05, ...Buffer.from('Earth')])), 'C=Earth is a PrintableString');
      assert.deepEqual(p.extensions, ['2.5.29.14'], 'keytool profile: subject key identifier only');
    }
    if (label === 'empty') assert.deepEqual([p.subject, p.subject_alternative_names], ['', ['c2.example.net']]);
  }

  const ca = await pki.issue('names-ca', { ...dates, subject: 'CN=Names CA', key: { type: 'rsa', bits: 1024 }, ca: {} });
  const odd = [
    'CN=K\\C3\\B6ln',
    'O=a\\+b\\;c\\<d\\>e\\"f\\\\g=h',
    'OU=\\ lead\\ ,O=\\#hash',
    'CN=x,OU=B+O=A,C=US',
    'emailAddress=admin@corp.example,CN=corp,DC=corp,DC=example',
    '1.2.3.4=#020105,CN=with a dumped value',
    'jurisdictionC=DE,serialNumber=HRB 1234,businessCategory=Private Organization,CN=ev.example',
    'CN=',
  ];
  for (const [i, subject] of odd.entries()) {
    const c = await pki.issue(`odd-${i}`, { ...dates, subject, issuer: ca, key: { type: 'ec', curve: 'P-256' } });
    const p = parseCertificate(c.der);
    assert.deepEqual([p.subject, p.issuer, p.parse_warnings], [subject, 'CN=Names CA', []], subject);
  }
});

test('refuses what would not be deterministic or would not print as written', async () => {
  const pki = new Pki('refusals');
  const ca = await pki.issue('ca', { ...dates, subject: 'CN=CA', key: { type: 'rsa', bits: 1024 }, ca: {} });
  const ecLeaf = await pki.issue('ec-leaf', { ...dates, subject: 'CN=ec', issuer: ca, key: { type: 'ec', curve: 'P-256' } });
  const bad: [string, CertSpec, RegExp][] = [
    ['ec-ca', { ...dates, subject: 'CN=EC CA', issuer: ca, key: { type: 'ec', curve: 'P-384' }, ca: {} }, /CA key must be RSA/],
    ['ec-self', { ...dates, subject: 'CN=self', key: { type: 'ec', curve: 'P-256' } }, /self-signed key must be RSA/],
    ['ec-issuer', { ...dates, subject: 'CN=child', issuer: ecLeaf, key: rsa2048 }, /issuer key must be RSA/],
    ['zero-serial', { ...dates, subject: 'CN=x', key: rsa2048, serial: '00' }, /serial/],
    ['padded-serial', { ...dates, subject: 'CN=x', key: rsa2048, serial: '0012' }, /serial/],
    ['odd-serial', { ...dates, subject: 'CN=x', key: rsa2048, serial: 'ABC' }, /serial/],
    ['unescaped', { ...dates, subject: 'CN=a;b', issuer: ca, key: { type: 'ec', curve: 'P-256' } }, /prints as "CN=a\\\\;b"/],
    ['unknown-type', { ...dates, subject: 'XX=1', key: rsa2048 }, /unknown attribute type/],
    ['non-ascii', { ...dates, subject: 'CN=Köln', key: rsa2048 }, /\\XX escapes/],
    ['bad-date', { ...dates, notAfter: new Date(NaN), subject: 'CN=x', key: rsa2048 }, /invalid validity/],
    ['ca', { ...dates, subject: 'CN=again', key: rsa2048 }, /label already issued/],
  ];
  for (const [label, spec, message] of bad) {
    await assert.rejects(pki.issue(label, spec), (e: unknown) => e instanceof PkiError && e.label === label && message.test(e.message), label);
  }
});

interface PlanCert {
  label: string;
  issuer?: string;
  spec: Omit<CertSpec, 'issuer' | 'notBefore' | 'notAfter'> & { notBefore: string; notAfter: string };
}

const plan: PlanCert[] = [
  { label: 'root', spec: { subject: 'CN=Det Root,O=Det', key: rsa2048, ca: {}, notBefore: '2023-01-01T00:00:00Z', notAfter: '2033-01-01T00:00:00Z' } },
  { label: 'ca', issuer: 'root', spec: { subject: 'CN=Det CA,O=Det', key: rsa2048, ca: { pathLength: 0 }, notBefore: '2023-01-01T00:00:00Z', notAfter: '2028-01-01T00:00:00Z' } },
  { label: 'web', issuer: 'ca', spec: { subject: 'CN=web.det.example', key: { type: 'ec', curve: 'P-256' }, san: { dns: ['web.det.example'] }, notBefore: '2024-05-01T08:00:00Z', notAfter: '2025-05-01T08:00:00Z' } },
  { label: 'db', issuer: 'ca', spec: { subject: 'CN=db.det.example', key: { type: 'rsa', bits: 1024 }, hash: 'sha1', notBefore: '2024-05-01T08:00:00Z', notAfter: '2025-05-01T08:00:00Z' } },
  { label: 'self', spec: { subject: 'CN=Covenant', key: { type: 'rsa', bits: 1024 }, notBefore: '2024-05-01T08:00:00Z', notAfter: '2034-05-01T08:00:00Z' } },
];

/** Issues the plan; the child process below runs the same steps in plain JavaScript. */
async function issuePlan(pki: Pki, certs: PlanCert[]): Promise<string[]> {
  const done = new Map<string, Issued>();
  for (const { label, issuer, spec } of certs) {
    const c = await pki.issue(label, { ...spec, notBefore: new Date(spec.notBefore), notAfter: new Date(spec.notAfter), issuer: issuer === undefined ? undefined : done.get(issuer) });
    done.set(label, c);
  }
  return [...done.values()].map((c) => Buffer.from(c.der).toString('base64'));
}

const CHILD = `
const { Pki } = await import(process.env.PKI_MODULE);
const pki = new Pki(process.env.PKI_SEED);
const done = new Map();
for (const { label, issuer, spec } of JSON.parse(process.env.PKI_PLAN)) {
  done.set(label, await pki.issue(label, { ...spec, notBefore: new Date(spec.notBefore), notAfter: new Date(spec.notAfter), issuer: issuer === undefined ? undefined : done.get(issuer) }));
}
process.stdout.write(JSON.stringify([...done.values()].map((c) => Buffer.from(c.der).toString('base64'))));
`;

test('the same seed gives the same bytes, in this process and another; another seed does not', async () => {
  const a = await issuePlan(new Pki('det'), plan);
  const b = await issuePlan(new Pki('det'), plan);
  assert.deepEqual(b, a, 'two Pki instances, same seed');

  // Labels address the randomness: an extra certificate first changes nothing else.
  const c = new Pki('det');
  await c.issue('extra', { ...dates, subject: 'CN=extra', key: { type: 'rsa', bits: 1024 } });
  assert.deepEqual(await issuePlan(c, plan), a, 'an extra certificate leaves the others alone');

  const other = await issuePlan(new Pki('det-2'), plan);
  for (const [i, der] of other.entries()) assert.notEqual(der, a[i], `another seed: ${plan[i]!.label} differs`);

  // A fresh process has an empty key cache: the keys themselves must come out the same.
  const module = pathToFileURL(fileURLToPath(new URL('../../src/demo/pki.ts', import.meta.url))).href;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    env: { ...process.env, PKI_MODULE: module, PKI_SEED: 'det', PKI_PLAN: JSON.stringify(plan) },
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(out), a, 'another process, same seed');
});

test('rng: labels fork independent streams; helpers stay in range', () => {
  const [r1, r2] = [new Rng('s', 'x'), new Rng('s', 'x')];
  assert.deepEqual([r2.next(), r2.next()], [r1.next(), r1.next()], 'same (seed, label), same stream');
  assert.equal(new Rng('s').fork('x').hex(8), new Rng('s', 'x').hex(8));
  assert.notEqual(new Rng('s', 'y').hex(8), new Rng('s', 'x').hex(8));
  assert.notEqual(new Rng('t', 'x').hex(8), new Rng('s', 'x').hex(8));
  const g = new Rng(42, 'helpers');
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const v = g.int(-2, 2);
    assert.ok(Number.isInteger(v) && v >= -2 && v <= 2, `int in range: ${v}`);
    const w = g.weighted([['a', 3], ['never', 0], ['b', 1]] as const);
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  assert.ok(!counts.has('never'), 'a zero weight is never picked');
  assert.ok(counts.get('a')! > 2 * counts.get('b')!, `weights respected: ${JSON.stringify([...counts])}`);
  assert.equal(g.bytes(7).length, 7);
  assert.match(g.hex(5), /^[0-9a-f]{10}$/);
  assert.throws(() => g.pick([]), RangeError);
});

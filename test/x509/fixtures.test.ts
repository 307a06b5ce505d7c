/**
 * Every fixture certificate (zlint PEM with text above, rusticata DER, pyca PEM; MANIFEST.tsv)
 * read by us and by node:crypto's X509Certificate (OpenSSL): fingerprints, names, SANs, validity,
 * serial, key and self-signature must agree wherever OpenSSL reads the certificate; where it does
 * not, we must still return a record or an X509Error. Names and serials are also checked byte for
 * byte against `openssl x509 -nameopt RFC2253`, which is the call Zeek makes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { certificatesFromFile, X509Error, type ParsedCertificate } from '../../src/x509/index.js';
import { asOurText, hasOpenssl, ipHex, nodeAttributes, nodeSan, nodeTime, opensslView, ourAttributes, serialValue } from './helpers/compare.js';

const CERTS = fileURLToPath(new URL('../../../shared/fixtures/certs/', import.meta.url));
const skip = existsSync(CERTS) ? false : '../shared/fixtures/certs not found';

function fixtureFiles(): string[] {
  return readFileSync(CERTS + 'MANIFEST.tsv', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t')[0]!)
    .filter((p) => /\.(pem|der)$/.test(p ?? ''));
}

function colonHex(hex: string): string {
  return hex.toUpperCase().match(/../g)!.join(':');
}

/** Compares one certificate with OpenSSL's reading of the same DER; returns what was compared. */
function compareWithNode(ours: ParsedCertificate, x: X509Certificate): void {
  assert.equal(colonHex(ours.sha1!), x.fingerprint, 'SHA-1 fingerprint');
  assert.equal(colonHex(ours.sha256!), x.fingerprint256, 'SHA-256 fingerprint');
  assert.deepEqual(ourAttributes(ours.subject!), nodeAttributes(x.subject), 'subject attributes');
  assert.deepEqual(ourAttributes(ours.issuer!), nodeAttributes(x.issuer), 'issuer attributes');
  assert.equal(serialValue(ours.serial!), serialValue(x.serialNumber), 'serial');
  assert.equal(ours.not_valid_before, nodeTime(x.validFrom), 'notBefore');
  assert.equal(ours.not_valid_after, nodeTime(x.validTo), 'notAfter');

  const san = nodeSan(x.subjectAltName);
  const of = (kind: string) => san.filter(([k]) => k === kind).map(([, v]) => v);
  // OpenSSL drops a SAN extension it cannot decode; we keep what precedes the fault and warn.
  if (x.subjectAltName !== undefined || !ours.parse_warnings.some((w) => w.startsWith('SAN extension malformed'))) {
    assert.deepEqual(ours.subject_alternative_names, of('DNS').map(asOurText), 'SAN DNS');
    assert.deepEqual(ours.san_email, of('email').map(asOurText), 'SAN email');
    assert.deepEqual(ours.san_uri, of('URI').map(asOurText), 'SAN URI');
    assert.deepEqual(ours.san_ip.map(ipHex), of('IP Address').map(ipHex), 'SAN IP');
  }

  const pk = x.publicKey;
  const details = pk.asymmetricKeyDetails ?? {};
  switch (pk.asymmetricKeyType) {
    case 'rsa':
      assert.equal(ours.key_type, 'rsa');
      assert.equal(ours.key_length, details.modulusLength, 'RSA modulus bits');
      assert.equal(ours.exponent, String(details.publicExponent), 'RSA exponent');
      break;
    case 'ec':
      assert.equal(ours.key_type, 'ecdsa');
      assert.equal(ours.curve, details.namedCurve, 'curve');
      break;
    case 'ed25519':
      assert.equal(ours.key_alg, 'ED25519');
      break;
  }
  if (ours.self_issued) {
    let verifies: boolean | null;
    try {
      verifies = x.verify(pk);
    } catch {
      verifies = null;
    }
    assert.equal(ours.self_signed, verifies, 'self_signed vs X509Certificate.verify(own key)');
  } else {
    assert.equal(ours.self_signed, false);
  }
}

test('fixture certificates agree with node:crypto (OpenSSL)', { skip }, (t) => {
  const outcomes: string[] = [];
  let compared = 0;
  for (const rel of fixtureFiles()) {
    const bytes = readFileSync(CERTS + rel);
    let found: ReturnType<typeof certificatesFromFile>;
    try {
      found = certificatesFromFile(bytes);
    } catch (e) {
      assert.fail(`${rel}: certificatesFromFile threw ${String(e)}`);
    }
    for (const e of found.errors) outcomes.push(`${rel}: error at line ${e.line ?? '-'} offset ${e.offset}: ${e.reason}`);
    assert.ok(found.certs.length > 0, `${rel}: no certificate`);
    for (const { cert } of found.certs) {
      const der = Buffer.from(cert.der!, 'base64');
      let x: X509Certificate | null = null;
      try {
        x = new X509Certificate(der);
      } catch (e) {
        outcomes.push(`${rel}: OpenSSL rejects (${(e as Error).message}); ours: ${cert.subject} [${cert.parse_warnings.join('; ') || 'no warnings'}]`);
        continue;
      }
      try {
        compareWithNode(cert, x);
      } catch (e) {
        throw new Error(`${rel}: ${(e as Error).message}`);
      }
      compared++;
      if (cert.parse_warnings.length) outcomes.push(`${rel}: agrees; warnings: ${cert.parse_warnings.join('; ')}`);
    }
  }
  for (const o of outcomes) t.diagnostic(o);
  t.diagnostic(`${compared} certificates compared field by field with OpenSSL`);
  assert.ok(compared >= 35, `only ${compared} certificates compared`);
});

test('fixture names, serials and algorithm names equal what `openssl x509` prints, byte for byte', { skip: skip || (!hasOpenssl && 'openssl CLI not found') }, () => {
  let n = 0;
  for (const rel of fixtureFiles()) {
    for (const { cert } of certificatesFromFile(readFileSync(CERTS + rel)).certs) {
      const view = opensslView(Buffer.from(cert.der!, 'base64'));
      if (!view) continue; // OpenSSL cannot read it (see the test above for what we return)
      assert.equal(cert.subject, view.subject, `${rel}: subject`);
      assert.equal(cert.issuer, view.issuer, `${rel}: issuer`);
      assert.equal(cert.serial, view.serial.toLowerCase(), `${rel}: serial`);
      assert.equal(cert.sig_alg, view.sigAlg, `${rel}: sig_alg`);
      assert.equal(cert.key_alg, view.keyAlg, `${rel}: key_alg`);
      assert.equal(cert.exponent, view.exponent, `${rel}: exponent`);
      // `-text` prints explicit parameters rather than the curve they equal; node:crypto (and
      // EC_GROUP_get_curve_name, which Zeek calls) names it, and the test above compares with that.
      if (!cert.parse_warnings.includes('EC key with explicit curve parameters')) assert.equal(cert.curve, view.curve, `${rel}: curve`);
      n++;
    }
  }
  assert.ok(n >= 35, `only ${n} compared`);
});

test('certificates OpenSSL rejects still give a record with warnings, or an X509Error', { skip }, () => {
  const cases: [string, (c: ParsedCertificate) => void][] = [
    ['pyca/invalid_utf8_common_name.pem', (c) => {
      assert.equal(c.subject, 'CN=We heart UTF8!\\E2\\84');
      assert.equal(c.common_name, 'We heart UTF8!\ufffd');
      assert.ok(c.parse_warnings.includes('invalid UTF-8 in subject CN'));
    }],
    ['pyca/name_attribute_unsupported_tag.pem', (c) => {
      assert.equal(c.subject, 'CN=#690450794341');
      assert.ok(c.parse_warnings.includes('subject CN is not a character string'));
    }],
    ['pyca/long-form-name-attribute.pem', (c) => assert.equal(c.subject, '2.5.12.13=#7F2000')],
  ];
  for (const [rel, check] of cases) {
    const found = certificatesFromFile(readFileSync(CERTS + rel));
    assert.equal(found.certs.length, 1, rel);
    assert.throws(() => new X509Certificate(Buffer.from(found.certs[0]!.cert.der!, 'base64')), `${rel}: OpenSSL now reads it`);
    check(found.certs[0]!.cert);
  }
  assert.ok(new X509Error('x', 1) instanceof Error);
});

test('fixture specifics: negative and zero serials, NUL in SAN, no-seconds UTCTime, explicit EC parameters', { skip }, () => {
  const one = (rel: string) => certificatesFromFile(readFileSync(CERTS + rel)).certs[0]!.cert;
  assert.equal(one('pyca/negative_serial.pem').serial, '-04316693ed');
  assert.ok(one('pyca/negative_serial.pem').parse_warnings.includes('negative serial number'));
  assert.equal(one('zlint/serialNumberZero.pem').serial, '00');
  assert.equal(one('zlint/serialNumberLargeDueToSignedMSB.pem').serial, '88d27cbf0003174b1c7ee0208edb668be7a06199');
  assert.deepEqual(one('zlint/SANDNSNull.pem').subject_alternative_names, ['\f\u0003\u0019\u0000\t', '*']);
  const noSeconds = one('zlint/utcNoSeconds.pem');
  assert.equal(noSeconds.not_valid_before, Date.UTC(2012, 3, 27));
  assert.ok(noSeconds.parse_warnings.includes('non-DER UTCTime in notBefore (no seconds)'));
  const ec = one('pyca/ec_no_named_curve.pem');
  assert.equal(ec.curve, 'prime256v1');
  assert.equal(ec.key_length, 256);
  assert.equal(one('pyca/badasn1time.pem').not_valid_after, null);
  assert.equal(one('zlint/generalizedAfter2050.pem').not_valid_after, Date.UTC(2057, 11, 1));
  assert.equal(one('pyca/invalid_version.pem').version, 8);
  assert.equal(one('rusticata/ed25519.der').sig_alg, 'ED25519');
  assert.equal(one('rusticata/self_signed_sha256.der').sig_alg, 'rsassaPss');
  assert.equal(one('rusticata/p521-selfsigned.der').key_length, 521);
  const unique = one('rusticata/unique_ids.der');
  assert.equal(unique.common_name, 'publishing.SES.local', 'the most specific (last in DER order) CN');
});

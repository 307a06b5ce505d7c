/**
 * Certificate parsing benchmark (run through scripts/bench.mjs):
 *
 * - x509: 100,000 certificates (10,000 with --quick) through parseCertificate, every column of
 *         the record (three fingerprints, names and parts, SANs, validity, key, extensions,
 *         self-signature of self-issued ones, base64 DER), vs node:crypto's X509Certificate
 *         extracting the same fields (subject, issuer, serial, validity, SANs, SHA-1/SHA-256
 *         fingerprints plus an MD5 of the DER, public key type and details, CA flag, base64
 *         DER, and checkIssued + verify for the self-issued ones). Target: 10x the throughput.
 *
 * The corpus cycles through the fixture certificates OpenSSL reads plus a few hundred made here:
 * real keys and signatures, real-shaped leaves (SKI/AKI, key usage, EKU, CRL DP, AIA, policies,
 * an SCT-list-sized extension, 1-30 SAN names) and malware-shaped self-signed ones.
 *
 * Runtime code comes from dist/ (`npm run bench` builds first); types come from src/.
 */
import * as crypto from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as X509Mod from '../src/x509/index.js';
import type { BenchOptions, BenchResult } from './lake.js';
import { median } from './lib/measure.js';
import { prng } from '../test/helpers/bytes.js';
import {
  ascii, ATTR, ava, basicConstraintsExt, buildCertificate, type Bytes, ext, ia5, keyPair, name, oid, printable, sanExt, seq, simpleName, tlv, utf8,
} from '../test/x509/helpers/build.js';

const { parseCertificate, certificatesFromFile } = (await import('../dist/x509/index.js' as string)) as typeof X509Mod;

export const scenarios: Record<string, (o: BenchOptions) => Promise<BenchResult>> = {
  x509: x509Bench,
};

// ---------------------------------------------------------------------------------------------
// Corpus

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/certs/', import.meta.url));

/** Fixture certificates that OpenSSL reads (the floor must not fail). */
function fixtureCerts(): Bytes[] {
  if (!existsSync(FIXTURES)) return [];
  const out: Bytes[] = [];
  for (const line of readFileSync(FIXTURES + 'MANIFEST.tsv', 'utf8').split('\n').slice(1)) {
    const rel = line.split('\t')[0];
    if (!rel || !/\.(pem|der)$/.test(rel)) continue;
    for (const { cert } of certificatesFromFile(readFileSync(FIXTURES + rel)).certs) {
      const der = Buffer.from(cert.der!, 'base64');
      try {
        new crypto.X509Certificate(der);
        out.push(der);
      } catch {
        // OpenSSL rejects it: not comparable.
      }
    }
  }
  return out;
}

interface Made {
  der: Bytes;
  kind: string;
}

function generatedCerts(n: number): Made[] {
  const rand = prng(509);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const randomBytes = (k: number) => Uint8Array.from({ length: k }, () => Math.floor(rand() * 256));
  const word = () => Array.from({ length: 4 + Math.floor(rand() * 8) }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join('');
  const rsaCa = keyPair('rsa2048', 100);
  const ecCa = keyPair('p256', 100);
  const rsaLeafKeys = [0, 1, 2, 3].map((i) => keyPair('rsa2048', i));
  const ecLeafKeys = [0, 1, 2, 3].map((i) => keyPair(i % 2 ? 'p384' : 'p256', i));
  const rsaCaName = simpleName([['C', 'US'], ['O', "Let's Encrypt"], ['CN', 'R3']]);
  const ecCaName = simpleName([['C', 'US'], ['O', 'DigiCert Inc'], ['CN', 'DigiCert Global G3 TLS ECC SHA384 2020 CA1']]);
  const leafExtensions = (host: string, sans: string[], caKey: crypto.KeyObject) => [
    ext('2.5.29.15', tlv(0x03, Uint8Array.of(5, 0xa0)), true),
    ext('2.5.29.37', seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))),
    basicConstraintsExt(false),
    ext('2.5.29.14', tlv(0x04, randomBytes(20))),
    ext('2.5.29.35', seq(tlv(0x80, crypto.createHash('sha1').update(caKey.export({ type: 'spki', format: 'der' })).digest()))),
    ext('1.3.6.1.5.5.7.1.1', seq(seq(oid('1.3.6.1.5.5.7.48.1'), tlv(0x86, ascii('http://r3.o.lencr.org'))), seq(oid('1.3.6.1.5.5.7.48.2'), tlv(0x86, ascii('http://r3.i.lencr.org/'))))),
    sanExt({ dns: [host, ...sans] }),
    ext('2.5.29.32', seq(seq(oid('2.23.140.1.2.1')))),
    ext('2.5.29.31', seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x86, ascii(`http://crl.${host}/ca.crl`))))))),
    ext('1.3.6.1.4.1.11129.2.4.2', tlv(0x04, randomBytes(240))),
  ];
  const out: Made[] = [];
  for (let i = 0; i < n; i++) {
    const host = `${word()}.${pick(['com', 'net', 'org', 'io', 'ru', 'xyz', 'top'])}`;
    const sans = Array.from({ length: Math.floor(rand() ** 3 * 30) }, () => `${word()}.${host}`);
    const notBefore = new Date(Date.UTC(2019 + Math.floor(rand() * 7), Math.floor(rand() * 12), 1 + Math.floor(rand() * 28)));
    const notAfter = new Date(notBefore.getTime() + (90 + Math.floor(rand() * 700)) * 86400000);
    const serial = BigInt('0x' + Buffer.from(randomBytes(16)).toString('hex'));
    const r = rand();
    if (r < 0.45) {
      const leaf = pick(rsaLeafKeys);
      const subject = rand() < 0.6 ? simpleName([['CN', host]]) : simpleName([['C', 'US'], ['ST', 'California'], ['L', 'San Francisco'], ['O', `${word()}, Inc.`], ['CN', host]]);
      out.push({ kind: 'RSA leaf', der: buildCertificate({ subject, issuer: rsaCaName, publicKey: leaf.publicKey, signer: rsaCa.privateKey, serial, notBefore, notAfter, extensions: leafExtensions(host, sans, rsaCa.publicKey) }) });
    } else if (r < 0.75) {
      const leaf = pick(ecLeafKeys);
      out.push({ kind: 'ECDSA leaf', der: buildCertificate({ subject: simpleName([['CN', host]]), issuer: ecCaName, publicKey: leaf.publicKey, signer: ecCa.privateKey, hash: 'sha384', serial, notBefore, notAfter, extensions: leafExtensions(host, sans, ecCa.publicKey) }) });
    } else {
      // Self-signed, shaped like what hunts look for: OpenSSL defaults, Cobalt Strike's, bare CNs.
      const key = rand() < 0.7 ? pick(rsaLeafKeys) : pick(ecLeafKeys);
      const subject = pick([
        () => simpleName([['C', 'AU'], ['ST', 'Some-State'], ['O', 'Internet Widgits Pty Ltd']]),
        () => simpleName([['C', 'US'], ['ST', 'Washington'], ['L', 'Redmond'], ['O', 'Microsoft Corporation'], ['CN', host]]),
        () => simpleName([['C', 'Earth'], ['ST', 'Cyberspace'], ['L', 'Somewhere'], ['O', 'cobaltstrike'], ['OU', 'AdvancedPenTesting'], ['CN', 'Major Cobalt Strike']]),
        () => simpleName([['CN', 'localhost']]),
        () => name([ava(ATTR.CN, utf8(host))], [ava(ATTR.emailAddress, ia5(`admin@${host}`))], [ava(ATTR.O, printable(word()))]),
      ])();
      out.push({ kind: 'self-signed', der: buildCertificate({ subject, issuer: subject, publicKey: key.publicKey, signer: key.privateKey, serial, notBefore, notAfter, extensions: rand() < 0.5 ? [basicConstraintsExt(true), sanExt({ dns: [host] })] : [] }) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The two sides

/** What a consumer reads, folded into a number so that no work can be skipped. */
let sink = 0;

function ours(batch: readonly Bytes[], options: X509Mod.ParseOptions): void {
  for (const der of batch) {
    const c = parseCertificate(der, options);
    sink += c.sha256!.length + (c.subject?.length ?? 0) + c.subject_alternative_names.length + (c.self_signed ? 1 : 0);
  }
}

function floor(batch: readonly Bytes[], checkSignature: boolean): void {
  for (const der of batch) {
    const x = new crypto.X509Certificate(der);
    const pk = x.publicKey;
    const details = pk.asymmetricKeyDetails;
    const selfSigned = checkSignature && x.checkIssued(x) ? x.verify(pk) : false;
    const md5 = crypto.hash('md5', der, 'hex');
    // (subject and issuer are undefined for empty names, whatever the typings say)
    const fields: (string | undefined)[] = [x.subject, x.issuer, x.serialNumber, x.validFrom, x.validTo, x.subjectAltName, x.fingerprint, x.fingerprint256, md5, pk.asymmetricKeyType, x.raw.toString('base64')];
    sink += fields.reduce((n, s) => n + (s?.length ?? 0), 0) + (details ? 1 : 0) + (x.ca ? 1 : 0) + (selfSigned ? 1 : 0);
  }
}

function rssMiB(): number {
  return process.memoryUsage().rss / 1048576;
}

/** Both sides over the corpus in alternated batches (neither always first); totals and batch times. */
function race(corpus: readonly Bytes[], batchSize: number, a: (b: readonly Bytes[]) => void, b: (b: readonly Bytes[]) => void) {
  const aMs: number[] = [];
  const bMs: number[] = [];
  const time = (fn: (x: readonly Bytes[]) => void, batch: readonly Bytes[], into: number[]) => {
    const t = performance.now();
    fn(batch);
    into.push(performance.now() - t);
  };
  for (let k = 0; k * batchSize < corpus.length; k++) {
    const batch = corpus.slice(k * batchSize, (k + 1) * batchSize);
    if (k % 2 === 0) {
      time(a, batch, aMs);
      time(b, batch, bMs);
    } else {
      time(b, batch, bMs);
      time(a, batch, aMs);
    }
  }
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  return { a: sum(aMs), b: sum(bMs), aMs, bMs };
}

async function x509Bench(o: BenchOptions): Promise<BenchResult> {
  const total = o.quick ? 10_000 : 100_000;
  const batchSize = 5_000;
  const t0 = performance.now();
  const fixtures = fixtureCerts();
  const made = generatedCerts(o.quick ? 300 : 600);
  const distinct = [...fixtures, ...made.map((m) => m.der)];
  const corpus = Array.from({ length: total }, (_, i) => distinct[i % distinct.length]!);
  const bytes = distinct.reduce((n, d) => n + d.length, 0);
  const kinds = new Map<string, number>();
  for (const m of made) kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
  const selfIssued = distinct.filter((d) => parseCertificate(d).self_issued).length;
  const selfIssuedPct = ((100 * selfIssued) / distinct.length).toFixed(0);
  o.log(`corpus: ${distinct.length} distinct certificates (${fixtures.length} fixtures; ${[...kinds].map(([k, v]) => `${v} ${k}`).join(', ')}), mean ${(bytes / distinct.length).toFixed(0)} bytes, ${selfIssuedPct}% self-issued; cycled to ${total.toLocaleString('en')}; made in ${((performance.now() - t0) / 1000).toFixed(1)} s, RSS ${rssMiB().toFixed(0)} MiB`);

  const fast: X509Mod.ParseOptions = { selfSigned: 'never' };
  const checked: X509Mod.ParseOptions = { selfSigned: 'self-issued' };
  // Warm-up: every distinct certificate through every variant, twice.
  for (let i = 0; i < 2; i++) {
    ours(distinct, fast);
    ours(distinct, checked);
    floor(distinct, false);
    floor(distinct, true);
  }

  // Headline: every column but self_signed (the floor has no such field either; see README).
  const main = race(corpus, batchSize, (b) => ours(b, fast), (b) => floor(b, false));
  // The self-signature check on both sides: crypto dominates, so it is an option, measured here.
  const withSig = race(corpus, batchSize, (b) => ours(b, checked), (b) => floor(b, true));
  const timed = (fn: () => void) => {
    const t = performance.now();
    fn();
    return performance.now() - t;
  };
  const noDer = timed(() => ours(corpus, { selfSigned: 'never', keepDer: false }));
  const hashesOnly = timed(() => {
    for (const der of corpus) sink += crypto.hash('sha256', der, 'hex').length + crypto.hash('sha1', der, 'hex').length + crypto.hash('md5', der, 'hex').length;
  });

  const rate = (ms: number) => `${Math.round(total / (ms / 1000)).toLocaleString('en')} certs/s`;
  const us = (ms: number) => `${((ms * 1000) / total).toFixed(2)} µs/cert`;
  const line = (label: string, ms: number, batches?: number[]) =>
    `${label.padEnd(58)} ${rate(ms).padStart(17)}  ${us(ms).padStart(14)}${batches ? `  (batch median ${median(batches).toFixed(1)} ms)` : ''}`;
  const details = [
    line('ours : parseCertificate, all columns but self_signed', main.a, main.aMs),
    line('floor: X509Certificate, same fields', main.b, main.bMs),
    `speed-up ${(main.b / main.a).toFixed(1)}x (target >= 10x)`,
    line(`ours : with self_signed (verify the ${selfIssuedPct}% self-issued)`, withSig.a, withSig.aMs),
    line('floor: same fields + checkIssued/verify', withSig.b, withSig.bMs),
    `speed-up with the signature check on both sides ${(withSig.b / withSig.a).toFixed(1)}x`,
    line('ours, all columns but self_signed, no base64 DER', noDer),
    line('of which SHA-256 + SHA-1 + MD5 (crypto.hash)', hashesOnly),
    `RSS at the end ${rssMiB().toFixed(0)} MiB (sink ${sink % 997})`,
  ];
  return {
    scenario: 'x509',
    sizes: `${total / 1000}k certs (${distinct.length} distinct, ${selfIssuedPct}% self-issued)`,
    measure: `total over ${main.aMs.length} alternated batches of ${batchSize}: parseCertificate vs X509Certificate extracting the same fields (ratio of times; target <= 0.1 = 10x throughput)`,
    unit: 'ms',
    ours: main.a,
    floor: main.b,
    target: 0.1,
    details,
    notes: `${rate(main.a)} vs ${rate(main.b)} (${(main.b / main.a).toFixed(1)}x); with self-signature check on both sides ${rate(withSig.a)} vs ${rate(withSig.b)} (${(withSig.b / withSig.a).toFixed(1)}x); hashes alone ${us(hashesOnly)}`,
  };
}

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
 * The corpus is generated (src/demo): the headline race parses N distinct certificates of
 * `certhunt generate`'s mix (ScaleModel: popular sites' EC and RSA leaves under two public
 * CAs with AIA, CRL, policy and SCT lists, partner and internal leaves, self-signed appliances
 * and the C2 shapes), whose keys OpenSSL decodes but whose signatures are random bytes; the
 * self-signature race needs signatures that verify, so it cycles through the demo's PKI
 * (`certhunt demo`'s ~175 certificates made with real keys).
 *
 * Runtime code comes from dist/ (`npm run bench` builds first); types come from src/.
 */
import * as crypto from 'node:crypto';
import type * as X509Mod from '../src/x509/index.js';
import type * as ScaleMod from '../src/demo/scale.js';
import type * as NetworkMod from '../src/demo/network.js';
import type { BenchOptions, BenchResult } from './lake.js';
import { median } from './lib/measure.js';

type Bytes = Uint8Array;
const { parseCertificate } = (await import('../dist/x509/index.js' as string)) as typeof X509Mod;
const { ScaleModel } = (await import('../dist/demo/scale.js' as string)) as typeof ScaleMod;
const { makeNetwork } = (await import('../dist/demo/network.js' as string)) as typeof NetworkMod;

export const scenarios: Record<string, (o: BenchOptions) => Promise<BenchResult>> = {
  x509: x509Bench,
};

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
  const model = new ScaleModel({ seed: 1, certificates: total, sessions: 0 });
  const corpus: Bytes[] = [];
  const kinds = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const c = model.certificateAt(i);
    corpus.push(c.der);
    kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
  }
  const bytes = corpus.reduce((n, d) => n + d.length, 0);
  const selfIssued = corpus.filter((d) => parseCertificate(d, { selfSigned: 'never' }).self_issued).length;
  const selfIssuedPct = ((100 * selfIssued) / total).toFixed(0);
  const top = [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${((100 * v) / total).toFixed(0)}% ${k}`).join(', ');
  o.log(`corpus: ${total.toLocaleString('en')} distinct generated certificates (${top}, …), mean ${(bytes / total).toFixed(0)} bytes, ${selfIssuedPct}% self-issued; made in ${((performance.now() - t0) / 1000).toFixed(1)} s, RSS ${rssMiB().toFixed(0)} MiB`);
  const t1 = performance.now();
  const real = Object.values((await makeNetwork(1)).certificates);
  const signed = Array.from({ length: total }, (_, i) => real[i % real.length]!);
  const realSelfIssued = real.filter((d) => parseCertificate(d, { selfSigned: 'never' }).self_issued).length;
  const realPct = ((100 * realSelfIssued) / real.length).toFixed(0);
  o.log(`signature race: the demo's ${real.length} certificates with real keys and signatures (${realPct}% self-issued), cycled to ${total.toLocaleString('en')}; made in ${((performance.now() - t1) / 1000).toFixed(1)} s`);

  const fast: X509Mod.ParseOptions = { selfSigned: 'never' };
  const checked: X509Mod.ParseOptions = { selfSigned: 'self-issued' };
  // Warm-up: a batch and the demo PKI through every variant, twice.
  for (let i = 0; i < 2; i++) {
    ours(corpus.slice(0, 5000), fast);
    ours(real, checked);
    floor(corpus.slice(0, 5000), false);
    floor(real, true);
  }

  // Headline: every column but self_signed (the floor has no such field either; see README).
  const main = race(corpus, batchSize, (b) => ours(b, fast), (b) => floor(b, false));
  // The self-signature check on both sides: crypto dominates, so it is an option, measured here.
  const withSig = race(signed, batchSize, (b) => ours(b, checked), (b) => floor(b, true));
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
    line(`ours : demo PKI, with self_signed (verify the ${realPct}% self-issued)`, withSig.a, withSig.aMs),
    line('floor: same fields + checkIssued/verify', withSig.b, withSig.bMs),
    `speed-up with the signature check on both sides ${(withSig.b / withSig.a).toFixed(1)}x`,
    line('ours, all columns but self_signed, no base64 DER', noDer),
    line('of which SHA-256 + SHA-1 + MD5 (crypto.hash)', hashesOnly),
    `RSS at the end ${rssMiB().toFixed(0)} MiB (sink ${sink % 997})`,
  ];
  return {
    scenario: 'x509',
    sizes: `${total / 1000}k generated certs (all distinct, ${selfIssuedPct}% self-issued)`,
    measure: `total over ${main.aMs.length} alternated batches of ${batchSize}: parseCertificate vs X509Certificate extracting the same fields (ratio of times; target <= 0.1 = 10x throughput)`,
    unit: 'ms',
    ours: main.a,
    floor: main.b,
    target: 0.1,
    details,
    notes: `${rate(main.a)} vs ${rate(main.b)} (${(main.b / main.a).toFixed(1)}x), mean ${(bytes / total).toFixed(0)} bytes; with self-signature check on both sides (demo PKI) ${rate(withSig.a)} vs ${rate(withSig.b)} (${(withSig.b / withSig.a).toFixed(1)}x); hashes alone ${us(hashesOnly)}`,
  };
}

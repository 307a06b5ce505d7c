/**
 * Key pairs that are a function of (seed, label), so the demo data set is the same byte for byte
 * on every run: node:crypto cannot seed its key generation, so the secret numbers come from the
 * demo's PRNG and node only imports them (JWK) and does the big-number work it is fast at.
 *
 * Not for real use: the PRNG is not a cryptographic one, and a seed is all it takes to rebuild
 * every private key.
 */
import { checkPrimeSync, createECDH, createPrivateKey, createPublicKey, type KeyObject, type JsonWebKey, webcrypto } from 'node:crypto';
import { Rng } from './rng.js';

export type KeySpec = { type: 'rsa'; bits: 1024 | 2048 | 3072 } | { type: 'ec'; curve: 'P-256' | 'P-384' };
export type Hash = 'sha256' | 'sha384' | 'sha1';

export interface DemoKey {
  readonly spec: KeySpec;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array<ArrayBuffer>;
  /** The public key for WebCrypto users (@peculiar/x509); RSA ones carry SHA-256, which only matters for verify. */
  readonly cryptoPublicKey: webcrypto.CryptoKey;
  /**
   * The private key for WebCrypto signing with `hash`. WebCrypto binds an RSA key to one hash at
   * import (and @peculiar/x509 takes the signature algorithm from the key), so one per hash.
   */
  signingKey(hash: Hash): Promise<webcrypto.CryptoKey>;
}

const E = 65537n;
const WEB_HASH: Record<Hash, string> = { sha256: 'SHA-256', sha384: 'SHA-384', sha1: 'SHA-1' };
const CURVES = {
  'P-256': { node: 'prime256v1', size: 32, order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n },
  'P-384': {
    node: 'secp384r1',
    size: 48,
    order: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
} as const;

/** Odd primes below 4096: the sieve bound that measured fastest with checkPrimeSync behind it. */
const SMALL_PRIMES: number[] = [];
{
  const composite = new Uint8Array(4096);
  for (let i = 3; i < 4096; i += 2) {
    if (composite[i]) continue;
    SMALL_PRIMES.push(i);
    for (let j = i * i; j < 4096; j += 2 * i) composite[j] = 1;
  }
}

export function keySpecName(spec: KeySpec): string {
  return spec.type === 'rsa' ? `rsa${spec.bits}` : spec.curve === 'P-256' ? 'p256' : 'p384';
}

const cache = new Map<string, Promise<DemoKey>>();

/** The key for (seed, label, spec); the same object every time within a process. */
export function demoKey(seed: string | number, label: string, spec: KeySpec): Promise<DemoKey> {
  const name = keySpecName(spec);
  const id = `${seed}\0${label}\0${name}`;
  let key = cache.get(id);
  if (!key) {
    key = makeKey(new Rng(seed, `key/${name}/${label}`), spec);
    cache.set(id, key);
    key.catch(() => cache.delete(id));
  }
  return key;
}

async function makeKey(rng: Rng, spec: KeySpec): Promise<DemoKey> {
  const jwk = spec.type === 'rsa' ? rsaJwk(rng, spec.bits) : ecJwk(rng, spec.curve);
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const algorithm = (hash: Hash) =>
    spec.type === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5', hash: WEB_HASH[hash] } : { name: 'ECDSA', namedCurve: spec.curve };
  const cryptoPublicKey = await webcrypto.subtle.importKey('spki', spki, algorithm('sha256'), true, ['verify']);
  const signing = new Map<Hash, Promise<webcrypto.CryptoKey>>();
  return {
    spec,
    privateKey,
    publicKey,
    spki,
    cryptoPublicKey,
    signingKey(hash) {
      let k = signing.get(hash);
      if (!k) signing.set(hash, (k = webcrypto.subtle.importKey('jwk', jwk, algorithm(hash), false, ['sign'])));
      return k;
    },
  };
}

function rsaJwk(rng: Rng, bits: number): JsonWebKey {
  let p = randomPrime(rng, bits / 2);
  let q = randomPrime(rng, bits / 2);
  while (p === q) q = randomPrime(rng, bits / 2);
  if (p < q) [p, q] = [q, p];
  // λ(n) rather than φ(n), as OpenSSL does: the smallest working d.
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const d = modInverse(E, lambda);
  return {
    kty: 'RSA',
    n: b64u(p * q),
    e: b64u(E),
    d: b64u(d),
    p: b64u(p),
    q: b64u(q),
    dp: b64u(d % (p - 1n)),
    dq: b64u(d % (q - 1n)),
    qi: b64u(modInverse(q, p)),
  };
}

/**
 * A `bits`-bit prime with its top two bits set (so p·q has exactly 2·bits bits) and p-1 prime to
 * e. Incremental search: residues by the small primes are taken once per start point, then each
 * step costs a few hundred small-number checks, and only survivors reach checkPrimeSync.
 */
function randomPrime(rng: Rng, bits: number): bigint {
  for (;;) {
    const start = rng.bytes(bits / 8);
    start[0]! |= 0xc0;
    start[start.length - 1]! |= 1;
    const base = BigInt('0x' + Buffer.from(start).toString('hex'));
    const residues = SMALL_PRIMES.map((sp) => Number(base % BigInt(sp)));
    const eResidue = Number(base % E);
    next: for (let delta = 0; delta < 1 << 20; delta += 2) {
      for (let i = 0; i < residues.length; i++) if ((residues[i]! + delta) % SMALL_PRIMES[i]! === 0) continue next;
      if ((eResidue + delta) % 65537 === 1) continue;
      const candidate = base + BigInt(delta);
      if (candidate >> BigInt(bits) !== 0n) break; // carried past the top bit: draw a new start
      if (checkPrimeSync(candidate)) return candidate;
    }
  }
}

function ecJwk(rng: Rng, curve: keyof typeof CURVES): JsonWebKey {
  const c = CURVES[curve];
  // 8 extra bytes make the bias of the reduction negligible (FIPS 186-4 B.4.1).
  const d = (BigInt('0x' + rng.hex(c.size + 8)) % (c.order - 1n)) + 1n;
  const dBytes = fixed(d, c.size);
  const ecdh = createECDH(c.node);
  ecdh.setPrivateKey(dBytes);
  const point = ecdh.getPublicKey(); // 04 || x || y
  return {
    kty: 'EC',
    crv: curve,
    x: point.subarray(1, 1 + c.size).toString('base64url'),
    y: point.subarray(1 + c.size).toString('base64url'),
    d: dBytes.toString('base64url'),
  };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError('no modular inverse');
  return ((s0 % m) + m) % m;
}

/** Big-endian, exactly `size` bytes (EC JWK members must be full length). */
function fixed(x: bigint, size: number): Buffer {
  return Buffer.from(x.toString(16).padStart(size * 2, '0'), 'hex');
}

/** Big-endian, minimal length: JWK's Base64urlUInt. */
function b64u(x: bigint): string {
  const h = x.toString(16);
  return Buffer.from(h.length % 2 ? '0' + h : h, 'hex').toString('base64url');
}

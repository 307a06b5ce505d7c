/**
 * The demo's world at any size (certhunt generate): N certificates and M sessions drawn from the
 * mix in mix.ts, in memory that grows with neither. Nothing is kept per certificate or per
 * session: certificate i is a function of (seed, i) — its kind from where i falls in the
 * layout below, the rest from Rng(seed, `generate/certificate/i`) — and the sessions come from
 * one seeded generator in start order, each naming the certificate it drew by index.
 *
 * Layout: indices go by blocks of BASIS (10,000) slots; slot p of a block holds the kind whose
 * weight range contains (p · 6181) mod 10,000. The stride, near 10,000 over the golden ratio,
 * spreads each kind evenly over the block, so the first N indices hold each kind in
 * proportion for any N, and the r-th certificate of a kind is found in O(1) from a per-kind
 * list of its slots (10,000 numbers in all).
 */
import { templateCertificate, type TemplateCertificate, type TemplateKey, type TemplateSpec } from './der.js';
import { Lru } from './lru.js';
import { BASIS, MIX, type KindId } from './mix.js';
import { Rng } from './rng.js';
import type { CertificateLookup, SessionSpec, SessionStream } from './sessions.js';

/** The demo's window (network.ts DEMO_START, DEMO_DAYS): 21 days from 1 October 2026. */
export const SCALE_START = Date.UTC(2026, 9, 1);
export const SCALE_DAYS = 21;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const days = (n: number) => n * DAY;

/** MIX's popular sites. */
const POPULAR = MIX.findIndex((k) => k.id === 'popular');

/** Coprime with BASIS: every slot gets a distinct virtual position. */
const STRIDE = 6181;

export interface ScaleOptions {
  seed: string | number;
  certificates: number;
  sessions: number;
}

/** One certificate of the data set, without its DER. */
export interface ScaleCertificate {
  index: number;
  /** How sessions name it: `cert/<index>`. */
  name: string;
  kind: KindId;
  spec: TemplateSpec;
  /** What a server sends: this certificate, then its CA's (none for a self-signed one). */
  chain: string[];
  /** The names clients ask for; null: they send no SNI. */
  sni: (string | null)[];
  /** Where it is served from; a moving one uses them in turn, a few days each. */
  addresses: string[];
  moving: boolean;
  port: number;
  clientKind: 'browser' | 'implant';
  /** Share of its sessions in TLS 1.3 (no certificate visible). */
  tls13: number;
  /** The workstations that talk to it (an implant's host), or null: any of them. */
  clients: number[] | null;
}

/** A session as the generator draws it: the spec every writer takes, with what it drew. */
export interface ScaleSession extends SessionSpec {
  kind: KindId;
  /** Index of the certificate the server has (sent or not). */
  certificate: number;
}

// ---- names ---------------------------------------------------------------------------------

const WORDS = ['cloud', 'mail', 'news', 'shop', 'video', 'photo', 'search', 'stream', 'bank', 'travel', 'maps', 'docs', 'social', 'music', 'games',
  'learn', 'health', 'weather', 'sport', 'market', 'code', 'drive', 'chat', 'pay', 'home', 'tech', 'daily', 'open', 'smart', 'fast'];
const TLDS = ['com', 'com', 'com', 'net', 'org', 'io', 'de', 'co.uk'];
const SYLLABLES = ['ba', 'be', 'bi', 'bo', 'da', 'de', 'di', 'do', 'ka', 'ke', 'ki', 'ko', 'la', 'le', 'li', 'lo',
  'ma', 'me', 'mi', 'mo', 'na', 'ne', 'ni', 'no', 'ra', 're', 'ri', 'ro', 'ta', 'te', 'ti', 'to'];
const PARTNER_TRADES = ['supply', 'logistics', 'consulting', 'payroll', 'legal', 'print'];
const INTERNAL_HOSTS = ['intranet', 'wiki', 'git', 'jira', 'hr', 'vault', 'grafana', 'mail', 'sso', 'files', 'build', 'crm'];
const APPLIANCES = ['printer', 'ilo', 'nas', 'ups', 'cam', 'switch'];
const DYNAMIC_DNS = ['duckdns.org', 'ddns.net', 'hopto.org', 'no-ip.org', 'zapto.org', 'dynu.net', 'mooo.com', 'dyndns.org'];
const SURNAMES = ['Kessler', 'Wunsch', 'Hartmann', 'Okafor', 'Lindqvist', 'Moreau', 'Brennan', 'Castillo', 'Novak', 'Tanaka'];
const STATES = [['California', 'CA', 'Oakland'], ['Texas', 'TX', 'Austin'], ['Minnesota', 'MN', 'Duluth'], ['Ohio', 'OH', 'Dayton'], ['Oregon', 'OR', 'Salem']] as const;
const CONSONANTS = 'bcdfghjklmnpqrstvwxz';

/**
 * A name unique to `n` within [0, 2^bits) for a given salt (one per seed): n scrambled
 * modulo 2^bits (a bijection, so neighbours do not look alike), then written as syllables, at
 * least `min`.
 */
function syllables(n: number, bits: number, salt: number, min = 3): string {
  const mask = bits >= 31 ? 0xffffffff : (1 << bits) - 1;
  // XOR with the seed's salt, then an odd multiplier, both modulo 2^bits: a bijection.
  let v = (Math.imul((n ^ salt) & mask, 0x2c1b3c6d) & mask) >>> 0;
  let out = '';
  for (let k = 0; k < min || v > 0; k++, v = Math.floor(v / SYLLABLES.length)) out += SYLLABLES[v % SYLLABLES.length];
  return out;
}

const capitalised = (rng: Rng, n: number) => {
  let s = String.fromCharCode(65 + rng.int(0, 25));
  for (let i = 1; i < n; i++) s += String.fromCharCode(97 + rng.int(0, 25));
  return s;
};
const lowerAlnum = (rng: Rng, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[rng.int(0, 35)];
  return s;
};
const consonantRun = (rng: Rng, n: number) => {
  let s = CONSONANTS[rng.int(0, CONSONANTS.length - 1)]!.toUpperCase();
  for (let i = 1; i < n; i++) s += CONSONANTS[rng.int(0, CONSONANTS.length - 1)];
  return s;
};

/** A public address in a hosting-like range, stable for a label. */
const hostingAddress = (rng: Rng) => `${rng.pick([45, 91, 146, 185, 193, 194, 5, 37])}.${rng.int(1, 254)}.${rng.int(0, 255)}.${rng.int(2, 250)}`;

// ---- CAs -----------------------------------------------------------------------------------

const RSA2048: TemplateKey = { type: 'rsa', bits: 2048 };
const P256: TemplateKey = { type: 'ec', curve: 'P-256' };

/** The issuing CAs sessions send after their leaves, as in the demo; roots are named, never sent. */
/** CA/B Forum's domain-validated policy: what public CAs put in a DV leaf. */
const DV = '2.23.140.1.2.1';
/**
 * Where each CA publishes: public CAs' leaves carry OCSP, CRL, the DV policy and two or three
 * SCTs as Let's Encrypt's and Sectigo's do; the corporate CA's carry OCSP and CRL only.
 */
const CAS = {
  'ca/northwind-r5': {
    subject: 'CN=Northwind TLS CA R5,O=Northwind Trust,C=US', root: 'CN=Northwind Root CA X1,O=Northwind Trust,C=US',
    publication: { ocsp: 'http://r5.o.northwind-trust.example', caIssuers: 'http://r5.i.northwind-trust.example/', crl: 'http://r5.c.northwind-trust.example/12.crl', policy: DV, scts: 2 },
  },
  'ca/helios-dv': {
    subject: 'CN=Helios DV TLS CA 2025,O=Helios Certification Ltd,L=Salford,C=GB', root: 'CN=Helios Global Root G2,O=Helios Certification Ltd,C=GB',
    publication: { ocsp: 'http://ocsp.helios-cert.example', caIssuers: 'http://crt.helios-cert.example/HeliosDVTLSCA2025.crt', crl: 'http://crl.helios-cert.example/HeliosDVTLSCA2025.crl', policy: DV, scts: 3 },
  },
  'ca/acme-issuing': {
    subject: 'CN=Acme Corp Issuing CA 01,O=Acme Corp,C=US', root: 'CN=Acme Corp Root CA,O=Acme Corp,C=US',
    publication: { ocsp: 'http://pki.corp.acme.example/ocsp', caIssuers: 'http://pki.corp.acme.example/issuing-ca-01.crt', crl: 'http://pki.corp.acme.example/issuing-ca-01.crl' },
  },
} as const;
export type CaName = keyof typeof CAS;
export const CA_NAMES = Object.keys(CAS) as CaName[];

/** 16 bytes, top bit clear, as most CAs do to keep the INTEGER at 16 bytes (pki.ts). */
function randomSerial(r: Rng): string {
  const b = r.bytes(16);
  b[0] = b[0]! & 0x7f || 0x01;
  return Buffer.from(b).toString('hex');
}

const selfSigned = (subject: string, key: TemplateKey = RSA2048) => ({ subject, issuer: subject, key, signerKey: key });
const validity = (fromDay: number, length: number) => ({ notBefore: SCALE_START + days(fromDay), notAfter: SCALE_START + days(fromDay + length) });
/** An implant's certificate is reached from one infected workstation. */
const implantClient = (r: Rng, workstations: number): Pick<ScaleCertificate, 'clientKind' | 'clients'> => ({ clientKind: 'implant', clients: [r.int(0, workstations - 1)] });
/** The odd certificates users browse to are reached from a few workstations. */
const browserClients = (r: Rng, workstations: number): Pick<ScaleCertificate, 'clientKind' | 'clients'> =>
  ({ clientKind: 'browser', clients: Array.from({ length: r.int(1, 3) }, () => r.int(0, workstations - 1)) });

// ---- the model -----------------------------------------------------------------------------

export class ScaleModel {
  readonly seed: string;
  readonly certificateCount: number;
  readonly sessionCount: number;
  /** Certificates of each kind among the N, in MIX order. */
  readonly counts: number[];
  /** Workstations sessions come from. */
  readonly workstations: number;

  private readonly kindOfSlot = new Uint8Array(BASIS);
  private readonly rankOfSlot = new Int32Array(BASIS);
  private readonly slotsOfKind: Int32Array[];
  private readonly cas = new Map<string, TemplateCertificate>();
  private readonly info = new Lru<number, ScaleCertificate>(8192);
  private readonly ders = new Lru<number, Uint8Array>(4096);
  private readonly bits: Record<string, number> = {};
  /** Makes the names differ from seed to seed. */
  private readonly salt: number;

  constructor(options: ScaleOptions) {
    for (const [what, n] of [['certificates', options.certificates], ['sessions', options.sessions]] as const) {
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what}: want a whole number >= 0, got ${n}`);
    }
    if (options.sessions > 0 && options.certificates === 0) throw new RangeError('sessions need certificates to draw from');
    this.seed = String(options.seed);
    this.certificateCount = options.certificates;
    this.sessionCount = options.sessions;

    const starts: number[] = [];
    MIX.reduce((at, k) => (starts.push(at), at + k.certificates), 0);
    const lists: number[][] = MIX.map(() => []);
    for (let p = 0; p < BASIS; p++) {
      const v = (p * STRIDE) % BASIS;
      let k = MIX.length - 1;
      while (starts[k]! > v) k--;
      this.kindOfSlot[p] = k;
      this.rankOfSlot[p] = lists[k]!.length;
      lists[k]!.push(p);
    }
    this.slotsOfKind = lists.map((l) => Int32Array.from(l));
    const blocks = Math.floor(this.certificateCount / BASIS);
    const rest = this.certificateCount % BASIS;
    this.counts = MIX.map((k, i) => blocks * k.certificates + this.slotsOfKind[i]!.filter((p) => p < rest).length);
    for (const [i, k] of MIX.entries()) this.bits[k.id] = Math.max(12, Math.ceil(Math.log2(this.counts[i]! + 1)));
    this.salt = new Rng(this.seed, 'generate/names').uint32() >>> 1;
    this.workstations = Math.min(250_000, Math.max(50, Math.ceil(this.sessionCount / 400)));

    // The CAs, from fixed labels: the same for every N.
    for (const [name, ca] of Object.entries(CAS)) {
      const rng = new Rng(this.seed, `generate/${name}`);
      const root = templateCertificate({ subject: ca.root, issuer: ca.root, serial: rng.hex(16).replace(/^./, '1'), notBefore: SCALE_START - days(3000), notAfter: SCALE_START + days(6000), key: RSA2048, signerKey: RSA2048, ca: {} }, rng);
      this.cas.set(name, templateCertificate({
        subject: ca.subject, issuer: ca.root, serial: rng.hex(16).replace(/^./, '1'), notBefore: SCALE_START - days(700), notAfter: SCALE_START + days(1100),
        key: RSA2048, signerKey: RSA2048, ca: { pathLength: 0 }, authorityKeyId: root.subjectKeyId,
      }, rng));
    }
  }

  kindOf(index: number): KindId {
    return MIX[this.kindOfSlot[index % BASIS]!]!.id;
  }

  /** The index of the r-th certificate (0-based) of kind `k` (its position in MIX). */
  indexOf(k: number, rank: number): number {
    const w = MIX[k]!.certificates;
    return Math.floor(rank / w) * BASIS + this.slotsOfKind[k]![rank % w]!;
  }

  rankOf(index: number): number {
    const p = index % BASIS;
    return Math.floor(index / BASIS) * MIX[this.kindOfSlot[p]!]!.certificates + this.rankOfSlot[p]!;
  }

  /** How many popular sites there are: the top list's length. */
  get popularSites(): number {
    return this.counts[POPULAR]!;
  }

  /** The registered domain of the popular site of rank r (0 = most visited): the top list's order. */
  popularDomain(rank: number): string {
    return `${WORDS[(rank + this.salt) % WORDS.length]}${syllables(Math.floor(rank / WORDS.length), this.bits.popular!, this.salt)}.${TLDS[(rank * 7) % TLDS.length]}`;
  }

  /** The certificate at `index` (0 ≤ index < N), its DER included. */
  certificateAt(index: number): ScaleCertificate & { der: Uint8Array } {
    const { info, rng } = this.describe(index);
    return { ...info, der: templateCertificate(info.spec, rng).der };
  }

  /** The CA certificates sessions send, by name. */
  caCertificates(): [CaName, Uint8Array][] {
    return CA_NAMES.map((n) => [n, this.cas.get(n)!.der]);
  }

  /** Certificates by the names sessions give them; DERs made on demand and a few thousand kept. */
  lookup(): CertificateLookup {
    return {
      get: (name) => {
        const ca = this.cas.get(name);
        if (ca) return ca.der;
        const m = /^cert\/(\d+)$/.exec(name);
        if (!m) return undefined;
        const i = Number(m[1]);
        if (i >= this.certificateCount) return undefined;
        return this.ders.through(i, () => this.certificateAt(i).der);
      },
    };
  }

  /** The sessions in start order, as writers take them (each iteration from the first again). */
  stream(sessions: Iterable<ScaleSession> = { [Symbol.iterator]: () => this.sessions() }): SessionStream {
    return { certificates: this.lookup(), sessions, span: { first: SCALE_START, last: SCALE_START + days(SCALE_DAYS) } };
  }

  private issuedBy(name: CaName): Pick<TemplateSpec, 'issuer' | 'signerKey' | 'authorityKeyId' | 'publication'> {
    return { issuer: CAS[name].subject, signerKey: RSA2048, authorityKeyId: this.cas.get(name)!.subjectKeyId, publication: CAS[name].publication };
  }

  private cached(index: number): ScaleCertificate {
    return this.info.through(index, () => this.describe(index).info);
  }

  /** Certificate `index` without its DER, and the generator its DER's bytes come from next. */
  private describe(index: number): { info: ScaleCertificate; rng: Rng } {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.certificateCount) throw new RangeError(`certificate ${index} is not in [0, ${this.certificateCount})`);
    const kind = this.kindOf(index);
    const rank = this.rankOf(index);
    const r = new Rng(this.seed, `generate/certificate/${index}`);
    // Helpers are module functions, not closures made per call: this runs per certificate.
    const serial = () => randomSerial(r);
    const ca = (name: CaName) => this.issuedBy(name);
    const base = { index, name: `cert/${index}`, kind, moving: false, port: 443, tls13: 0, clients: null as number[] | null };
    const implant = () => implantClient(r, this.workstations);
    const browsers = () => browserClients(r, this.workstations);
    let info: ScaleCertificate;
    switch (kind) {
      case 'popular': {
        const domain = this.popularDomain(rank);
        const northwind = r.next() < 0.6;
        const life = northwind ? 90 : 365;
        const wildcard = r.next() < 0.3;
        const from = -r.int(1, life - SCALE_DAYS - 2);
        const addresses = Array.from({ length: r.int(1, 2) }, (_, k) => `${[104, 151, 13, 52][rank % 4]}.${16 + (rank % 200)}.${r.int(0, 255)}.${10 + k}`);
        info = {
          ...base, chain: [base.name, northwind ? 'ca/northwind-r5' : 'ca/helios-dv'], sni: [domain, `www.${domain}`], addresses, clientKind: 'browser', tls13: 0.4,
          spec: { subject: `CN=${domain}`, ...ca(northwind ? 'ca/northwind-r5' : 'ca/helios-dv'), serial: serial(), ...validity(from, life), key: r.next() < 0.8 ? P256 : RSA2048, san: { dns: wildcard ? [domain, `*.${domain}`] : [domain, `www.${domain}`] } },
        };
        break;
      }
      case 'partner': {
        const host = `portal.${r.pick(WORDS)}-${PARTNER_TRADES[rank % PARTNER_TRADES.length]}${syllables(rank, this.bits.partner!, this.salt, 2)}.${r.pick(['com', 'net', 'eu'])}`;
        info = {
          ...base, chain: [base.name, 'ca/helios-dv'], sni: [host], addresses: [`185.${40 + (rank % 200)}.${r.int(0, 255)}.${r.int(2, 250)}`], clientKind: 'browser',
          spec: { subject: `CN=${host}`, ...ca('ca/helios-dv'), serial: serial(), ...validity(-r.int(30, 200), 365), key: P256, san: { dns: [host] } },
        };
        break;
      }
      case 'internal': {
        const host = `${INTERNAL_HOSTS[rank % INTERNAL_HOSTS.length]}-${syllables(rank, this.bits.internal!, this.salt, 1)}.corp.acme.example`;
        info = {
          ...base, chain: [base.name, 'ca/acme-issuing'], sni: [host], addresses: [`10.10.${(rank >> 8) & 255}.${10 + (rank % 240)}`], clientKind: 'browser',
          spec: { subject: `CN=${host},O=Acme Corp,C=US`, ...ca('ca/acme-issuing'), serial: serial(), ...validity(-200, 730), key: P256, san: { dns: [host] } },
        };
        break;
      }
      case 'appliance': {
        const host = `${APPLIANCES[rank % APPLIANCES.length]}-${syllables(rank, this.bits.appliance!, this.salt, 1)}.corp.acme.example`;
        info = {
          ...base, chain: [base.name], sni: [host, null], addresses: [`10.11.${(rank >> 8) & 255}.${10 + (rank % 240)}`], port: r.next() < 0.7 ? 443 : 8443, clientKind: 'browser',
          spec: { ...selfSigned(`CN=${host},O=Acme Corp,C=US`), serial: serial(), ...validity(-400, 3650), san: { dns: [host] } },
        };
        break;
      }
      case 'c2-cobalt-strike':
        info = {
          ...base, ...implant(), chain: [base.name], sni: [null], addresses: [hostingAddress(r)],
          spec: {
            ...selfSigned('CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth'), serial: '08BB00EE', extensions: 'keyid',
            notBefore: Date.UTC(2015, 4, 20, 15, 26, 50), notAfter: Date.UTC(2025, 7, 17, 15, 26, 50),
          },
        };
        break;
      case 'c2-covenant':
        info = { ...base, ...implant(), chain: [base.name], sni: [null], addresses: [hostingAddress(r)], port: 8443, spec: { ...selfSigned('CN=Covenant'), serial: serial(), ...validity(-r.int(1, 60), 3650) } };
        break;
      case 'c2-empire':
        info = { ...base, ...implant(), chain: [base.name], sni: [null], addresses: [hostingAddress(r)], spec: { ...selfSigned('C=US'), serial: serial(), ...validity(-r.int(1, 30), 365) } };
        break;
      case 'c2-poshc2':
        info = {
          ...base, ...implant(), chain: [base.name], sni: [null], addresses: [hostingAddress(r)],
          spec: { ...selfSigned('CN=P18055077,OU=Jethpro,O=Pajfds,L=Minnetonka,ST=Minnesota,C=US'), serial: serial(), ...validity(-r.int(1, 200), 3650) },
        };
        break;
      case 'c2-metasploit': {
        const subject = `CN=${lowerAlnum(r, r.int(6, 12))}.${r.pick(['com', 'net', 'org'])},O=${r.pick(SURNAMES)},L=${r.pick(SURNAMES)},ST=${r.pick(STATES)[1]},C=US`;
        info = { ...base, ...implant(), chain: [base.name], sni: [null], addresses: [hostingAddress(r)], port: 4444, spec: { ...selfSigned(subject), serial: serial(), ...validity(-r.int(1, 10), 720) } };
        break;
      }
      case 'c2-sliver': {
        const [state, , city] = r.pick(STATES);
        const subject = `CN=${r.pick(['multiplayer', 'localhost', 'operator', 'server'])},O=${consonantRun(r, 9)} Inc,L=${city},ST=${state},street=${r.int(100, 9999)} ${capitalised(r, 5)} St,postalCode=${r.int(10000, 99999)},C=US`;
        info = { ...base, ...implant(), chain: [base.name], sni: [null], addresses: [hostingAddress(r)], port: r.pick([443, 8888]), spec: { ...selfSigned(subject), serial: serial(), ...validity(-r.int(1, 10), 365) } };
        break;
      }
      case 'random-short-cn':
        info = { ...base, ...implant(), chain: [base.name], sni: [null], addresses: [hostingAddress(r)], spec: { ...selfSigned(`CN=${lowerAlnum(r, 8)}`), serial: serial(), ...validity(-r.int(1, 20), 400) } };
        break;
      case 'ip-cn': {
        const address = hostingAddress(r);
        info = { ...base, ...implant(), chain: [base.name], sni: [null], addresses: [address], spec: { ...selfSigned(`CN=${address}`), serial: serial(), ...validity(-r.int(1, 40), 365) } };
        break;
      }
      case 'random-fields': {
        const host = `cdn.${r.pick(WORDS)}-${syllables(rank, this.bits['random-fields']!, this.salt, 2)}.net`;
        info = {
          ...base, ...implant(), chain: [base.name], sni: [host], addresses: [hostingAddress(r)],
          spec: { ...selfSigned(`CN=${host},O=${consonantRun(r, 9)},L=${consonantRun(r, 8)},C=DE`), serial: serial(), ...validity(-r.int(1, 30), 365), san: { dns: [host] } },
        };
        break;
      }
      case 'weak': {
        const host = `vpn.${r.pick(WORDS)}-${syllables(rank, this.bits.weak!, this.salt, 2)}.com`;
        const key: TemplateKey = { type: 'rsa', bits: 1024 };
        info = { ...base, ...browsers(), chain: [base.name], sni: [host], addresses: [hostingAddress(r)], spec: { ...selfSigned(`CN=${host}`, key), hash: 'sha1', serial: serial(), ...validity(-r.int(30, 400), 1000), san: { dns: [host] } } };
        break;
      }
      case 'long-validity': {
        const host = `files.${r.pick(WORDS)}-${syllables(rank, this.bits['long-validity']!, this.salt, 2)}.biz`;
        info = { ...base, ...browsers(), chain: [base.name], sni: [host], addresses: [hostingAddress(r)], spec: { ...selfSigned(`CN=${host}`), serial: serial(), ...validity(-r.int(1, 60), 7300), san: { dns: [host] } } };
        break;
      }
      case 'short-lived': {
        const host = `${r.pick(['invoice', 'account', 'secure', 'login', 'verify'])}-${syllables(rank, this.bits['short-lived']!, this.salt, 2)}.net`;
        info = {
          ...base, ...browsers(), chain: [base.name, 'ca/northwind-r5'], sni: [host], addresses: [hostingAddress(r)],
          spec: { subject: `CN=${host}`, ...ca('ca/northwind-r5'), serial: serial(), ...validity(r.int(-3, SCALE_DAYS - 4), r.int(5, 10)), key: P256, san: { dns: [host] } },
        };
        break;
      }
      case 'dynamic-dns': {
        const host = `${lowerAlnum(r, r.int(5, 10))}.${r.pick(DYNAMIC_DNS)}`;
        info = {
          ...base, ...implant(), chain: [base.name, 'ca/northwind-r5'], sni: [host], addresses: [hostingAddress(r)],
          spec: { subject: `CN=${host}`, ...ca('ca/northwind-r5'), serial: serial(), ...validity(-r.int(1, 60), 90), key: P256, san: { dns: [host] } },
        };
        break;
      }
      case 'expired': {
        const host = `billing.${r.pick(WORDS)}-${syllables(rank, this.bits.expired!, this.salt, 2)}.com`;
        const from = -r.int(380, 420);
        info = {
          ...base, ...browsers(), chain: [base.name, 'ca/northwind-r5'], sni: [host], addresses: [hostingAddress(r)],
          spec: { subject: `CN=${host}`, ...ca('ca/northwind-r5'), serial: serial(), ...validity(from, -from - r.int(30, 60)), key: P256, san: { dns: [host] } },
        };
        break;
      }
      case 'tool-default': {
        // `openssl req -x509` with Enter pressed at every prompt but the common name.
        const host = `${lowerAlnum(r, r.int(6, 10))}.${r.pick(['com', 'net', 'xyz'])}`;
        info = {
          ...base, ...implant(), chain: [base.name], sni: [null], addresses: [hostingAddress(r)],
          spec: { ...selfSigned(`CN=${host},O=Internet Widgits Pty Ltd,ST=Some-State,C=AU`), serial: serial(), ...validity(-r.int(1, 30), 365) },
        };
        break;
      }
      case 'sni-mismatch': {
        // The name of one of the 50 most visited sites in the ClientHello, the server's own certificate in reply.
        const host = `${lowerAlnum(r, r.int(6, 10))}.${r.pick(['top', 'xyz', 'online'])}`;
        const popular = this.popularSites;
        const sni = popular > 0 ? `www.${this.popularDomain(r.int(0, Math.min(popular, 50) - 1))}` : `www.${host}`;
        info = {
          ...base, ...implant(), chain: [base.name], sni: [sni], addresses: [hostingAddress(r)],
          spec: { ...selfSigned(`CN=${host}`), serial: serial(), ...validity(-r.int(1, 30), 365), san: { dns: [host] } },
        };
        break;
      }
      case 'moving': {
        const host = `static-${r.pick(WORDS)}${syllables(rank, this.bits.moving!, this.salt, 2)}.net`;
        info = {
          ...base, ...implant(), chain: [base.name, 'ca/northwind-r5'], sni: [host], addresses: Array.from({ length: 4 }, () => hostingAddress(r)), moving: true,
          spec: { subject: `CN=${host}`, ...ca('ca/northwind-r5'), serial: serial(), ...validity(-r.int(1, 30), 90), key: P256, san: { dns: [host] } },
        };
        break;
      }
    }
    return { info, rng: r };
  }

  /**
   * The sessions in start order. Times follow a working week (busy office hours, quiet nights
   * and weekends) through the inverse of its cumulative rate, so the j-th of M sessions lands
   * in order without sorting; each draws a kind by MIX's session weights, then a certificate of
   * that kind (Zipf by rank or uniform), then client, address, version and suite.
   */
  *sessions(): Generator<ScaleSession> {
    const M = this.sessionCount;
    if (M === 0) return;
    const rng = new Rng(this.seed, 'generate/sessions');
    const hours = SCALE_DAYS * 24;
    const rate = new Float64Array(hours);
    const cumulative = new Float64Array(hours + 1);
    for (let h = 0; h < hours; h++) {
      const weekday = new Date(SCALE_START + h * HOUR).getUTCDay();
      const hour = h % 24;
      rate[h] = weekday === 0 || weekday === 6 ? 0.15 : hour >= 8 && hour < 18 ? 1 : hour >= 18 && hour < 22 ? 0.3 : 0.08;
      cumulative[h + 1] = cumulative[h]! + rate[h]!;
    }
    const total = cumulative[hours]!;
    // Kinds that have certificates, by session weight.
    const kinds = MIX.map((k, i) => [i, this.counts[i]! > 0 ? k.sessions : 0] as const).filter(([, w]) => w > 0);
    const weightSum = kinds.reduce((s, [, w]) => s + w, 0);
    let hour = 0;
    for (let j = 0; j < M; j++) {
      const q = ((j + rng.next()) / M) * total;
      while (hour < hours - 1 && cumulative[hour + 1]! <= q) hour++;
      const ts = Math.floor(SCALE_START + hour * HOUR + Math.min(1, (q - cumulative[hour]!) / rate[hour]!) * (HOUR - 1));

      let x = rng.next() * weightSum;
      let k = kinds[kinds.length - 1]![0];
      for (const [i, w] of kinds) {
        if (x < w) {
          k = i;
          break;
        }
        x -= w;
      }
      const n = this.counts[k]!;
      const zipf = MIX[k]!.skew === 'zipf';
      let c!: ScaleCertificate;
      // A short-lived certificate is drawn again (a few times) until one is valid then.
      for (let tries = 0; tries < 8; tries++) {
        // Zipf with s = 1 by the continuous inverse: P(rank r) ∝ 1/(r + 1).
        const rank = zipf ? Math.min(n - 1, Math.floor(Math.exp(rng.next() * Math.log(n + 1))) - 1) : Math.floor(rng.next() * n);
        c = this.cached(this.indexOf(k, rank));
        if (c.kind !== 'short-lived' || (ts >= c.spec.notBefore && ts < c.spec.notAfter)) break;
      }

      const client = c.clients ? c.clients[Math.floor(rng.next() * c.clients.length)]! : Math.floor(rng.next() * this.workstations);
      const address = c.moving ? c.addresses[Math.floor((ts - SCALE_START) / days(5)) % c.addresses.length]! : c.addresses[Math.floor(rng.next() * c.addresses.length)]!;
      const sni = c.sni[Math.floor(rng.next() * c.sni.length)]!;
      const tls13 = rng.next() < c.tls13;
      const u = rng.next();
      const ec = c.spec.key.type === 'ec';
      const session: ScaleSession = {
        ts, client: { ip: workstation(client), port: 49152 + (j % 15848) }, server: { ip: address, port: c.port }, sni,
        cipher: tls13 ? (u < 0.8 ? 0x1301 : u < 0.95 ? 0x1302 : 0x1303) : ec ? (u < 0.9 ? 0xc02b : 0xc02c) : u < 0.9 ? 0xc02f : 0xc030,
        chain: tls13 ? [] : c.chain, client_kind: c.clientKind, version: tls13 ? 'TLSv13' : 'TLSv12', kind: c.kind, certificate: c.index,
      };
      // Browsers resume some TLS 1.2 sessions (no certificate sent) and refuse a few certificates.
      if (!tls13 && c.clientKind === 'browser') {
        const v = rng.next();
        if (v < 0.03) {
          session.resumed = true;
          session.chain = [];
        } else if (v < 0.035) session.established = false;
      }
      yield session;
    }
  }
}

/** Workstation k: five offices' /16s (the demo's HQ, branch, lab, DMZ and guest networks), round robin. */
export function workstation(k: number): string {
  const office = ['10.20', '10.30', '10.40', '172.16', '192.168'][k % 5]!;
  const h = Math.floor(k / 5);
  return `${office}.${1 + Math.floor(h / 240)}.${10 + (h % 240)}`;
}

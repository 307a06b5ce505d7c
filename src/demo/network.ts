import { Pki, type CertSpec, type Issued } from './pki.js';
import { Rng } from './rng.js';
import type { DnsQuery, Network, SessionSpec } from './sessions.js';
import { plantThreats, type Planted } from './threats.js';

/**
 * The demo's company: about a hundred workstations in five offices, each office behind a
 * different sensor, browsing popular sites (certificates from two public CAs), partner sites no
 * top list knows, internal services under the company's own CA and a few self-signed
 * appliances; and, planted among them (threats.ts), the C2 servers and odd certificates the hunt
 * library is meant to find. Everything is drawn from a seeded generator: one seed, one data set.
 */
export const DEMO_START = Date.UTC(2026, 9, 1);
export const DEMO_DAYS = 21;
const DAY = 86_400_000;

/** Which sensor recorded an office's traffic, and in which format the demo writes it. */
export const SENSORS = {
  hq: { subnet: '10.20.1', clients: 40, format: 'zeek-json' },
  branch: { subnet: '10.30.1', clients: 20, format: 'zeek-tsv' },
  guest: { subnet: '192.168.50', clients: 15, format: 'eve' },
  lab: { subnet: '10.40.1', clients: 10, format: 'pcapng' },
  dmz: { subnet: '172.16.10', clients: 6, format: 'pcap' },
} as const;
export type SensorName = keyof typeof SENSORS;

export interface DemoData {
  /** Sessions per sensor; all share the certificates. */
  networks: Record<SensorName, Network>;
  certificates: Record<string, Uint8Array>;
  /** Certificate labels found on an analyst's disk (the PEM folder). */
  pemFolder: string[];
  /** The top list: `rank,domain` lines (Tranco's format). */
  toplist: string;
  /** abuse.ch SSL Blacklist and JA3 list, in their CSV formats. */
  sslbl: string;
  ja3bl: string;
  planted: Planted[];
}

const WORDS = ['cloud', 'mail', 'news', 'shop', 'video', 'photo', 'search', 'stream', 'bank', 'travel', 'maps', 'docs', 'social', 'music', 'games',
  'learn', 'health', 'weather', 'sport', 'market', 'code', 'drive', 'chat', 'pay', 'home', 'tech', 'daily', 'open', 'smart', 'fast'];
const TLDS = ['com', 'com', 'com', 'net', 'org', 'io', 'de', 'co.uk'];

/** What threats.ts needs to plant its certificates and sessions into the same world. */
export interface World {
  start: number;
  /** The sessions so far, per sensor. */
  sessions: Record<SensorName, SessionSpec[]>;
  publicCa: Issued;
  clientsOf(sensor: SensorName): string[];
  /** One TLS session; DNS lookup first when there is a name. */
  session(sensor: SensorName, s: Omit<SessionSpec, 'cipher'> & { cipher?: number }): void;
  issue(label: string, spec: CertSpec): Promise<Issued>;
}

const days = (n: number) => n * DAY;

export async function makeNetwork(seed: number): Promise<DemoData> {
  const rng = new Rng(seed, 'network');
  const pki = new Pki(seed);
  const start = DEMO_START;
  const certs: Record<string, Issued> = {};
  const sessions = Object.fromEntries(Object.keys(SENSORS).map((k) => [k, []])) as unknown as Record<SensorName, SessionSpec[]>;
  const dns = Object.fromEntries(Object.keys(SENSORS).map((k) => [k, []])) as unknown as Record<SensorName, DnsQuery[]>;
  const issue = async (label: string, spec: CertSpec) => (certs[label] = await pki.issue(label, spec));
  const clientsOf = (s: SensorName) => Array.from({ length: SENSORS[s].clients }, (_, i) => `${SENSORS[s].subnet}.${10 + i}`);
  let port = 49152;
  const session: World['session'] = (sensor, s) => {
    const leaf = s.chain[0] ? certs[s.chain[0]] : undefined;
    const ec = leaf?.spec.key.type === 'ec';
    const cipher = s.cipher ?? ((s.version ?? 'TLSv12') === 'TLSv13' ? 0x1301 : ec ? 0xc02b : 0xc02f);
    const validation_status = leaf ? validation(leaf, s.ts) : undefined;
    sessions[sensor].push({ ...s, cipher, client: { ip: s.client.ip, port: s.client.port || (port = port >= 65000 ? 49152 : port + 1) }, ...(validation_status ? { validation_status } : {}) });
    if (s.sni) dns[sensor].push({ ts: s.ts - 40, client: s.client.ip, resolver: `${SENSORS[sensor].subnet}.2`, query: s.sni, answers: [s.server.ip], ttl: 300 });
  };

  // What the sensors' OpenSSL says of a chain: they trust the two public roots and the company's.
  const trusted = new Set(['ca/northwind-root', 'ca/helios-root', 'ca/acme-root']);
  const validation = (leaf: Issued, ts: number): string => {
    if (ts > leaf.spec.notAfter.getTime()) return 'certificate has expired';
    if (ts < leaf.spec.notBefore.getTime()) return 'certificate is not yet valid';
    if (!leaf.spec.issuer) return 'self signed certificate';
    let root = leaf.spec.issuer;
    while (root.spec.issuer) root = root.spec.issuer;
    return trusted.has(root.label) ? 'ok' : 'self signed certificate in certificate chain';
  };

  // Public PKI: two CAs with an intermediate each (RSA, as every signing key here: see pki.ts).
  const ca = (label: string, subject: string, issuer?: Issued) =>
    issue(label, { subject, key: { type: 'rsa', bits: 2048 }, ca: issuer ? { pathLength: 0 } : {}, notBefore: new Date(start - days(issuer ? 700 : 3000)), notAfter: new Date(start + days(issuer ? 1100 : 6000)), ...(issuer ? { issuer } : {}) });
  const nwRoot = await ca('ca/northwind-root', 'CN=Northwind Root CA X1,O=Northwind Trust,C=US');
  const nwCa = await ca('ca/northwind-r5', 'CN=Northwind TLS CA R5,O=Northwind Trust,C=US', nwRoot);
  const heRoot = await ca('ca/helios-root', 'CN=Helios Global Root G2,O=Helios Certification Ltd,C=GB');
  const heCa = await ca('ca/helios-dv', 'CN=Helios DV TLS CA 2025,O=Helios Certification Ltd,L=Salford,C=GB', heRoot);
  const corpRoot = await ca('ca/acme-root', 'CN=Acme Corp Root CA,O=Acme Corp,C=US');
  const corpCa = await ca('ca/acme-issuing', 'CN=Acme Corp Issuing CA 01,O=Acme Corp,C=US', corpRoot);

  // Popular sites: ranked in the top list, one certificate each, one or two addresses.
  const names = new Set<string>();
  while (names.size < 120) names.add(`${rng.pick(WORDS)}${rng.pick(WORDS)}.${rng.pick(TLDS)}`);
  const popular = [...names];
  const ranks = new Map(popular.map((d, i) => [d, 1 + i * 37 + rng.int(0, 30)]));
  const sites: { domain: string; label: string; ips: string[]; chain: string[] }[] = [];
  for (const [i, domain] of popular.entries()) {
    const lets = rng.next() < 0.6;
    const notBefore = start - days(rng.int(1, 55));
    const label = `site/${domain}`;
    await issue(label, {
      subject: `CN=${domain}`, issuer: lets ? nwCa : heCa, key: rng.next() < 0.8 ? { type: 'ec', curve: 'P-256' } : { type: 'rsa', bits: 2048 },
      san: { dns: rng.next() < 0.3 ? [domain, `*.${domain}`] : [domain, `www.${domain}`] },
      notBefore: new Date(notBefore), notAfter: new Date(notBefore + days(lets ? 90 : 365)),
    });
    const ips = Array.from({ length: rng.int(1, 2) }, (_, k) => `${[104, 151, 13, 52][i % 4]}.${16 + (i % 200)}.${rng.int(0, 255)}.${10 + k}`);
    sites.push({ domain, label, ips, chain: [label, lets ? 'ca/northwind-r5' : 'ca/helios-dv'] });
  }
  // Partner and vendor sites: real CAs, no top-list rank, a single server each.
  const partners: typeof sites = [];
  for (let i = 0; i < 12; i++) {
    const domain = `${rng.pick(WORDS)}-${['supply', 'logistics', 'consulting', 'payroll', 'legal', 'print'][i % 6]}.${rng.pick(['com', 'net', 'eu'])}`;
    const label = `partner/${domain}`;
    if (certs[label]) continue;
    const notBefore = start - days(rng.int(30, 200));
    await issue(label, { subject: `CN=portal.${domain}`, issuer: heCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: [`portal.${domain}`] }, notBefore: new Date(notBefore), notAfter: new Date(notBefore + days(365)) });
    partners.push({ domain: `portal.${domain}`, label, ips: [`185.${40 + i}.${rng.int(0, 255)}.${rng.int(2, 250)}`], chain: [label, 'ca/helios-dv'] });
  }
  // Internal services under the company CA, and appliances that made their own certificate.
  const internal: typeof sites = [];
  for (const [i, host] of ['intranet', 'wiki', 'git', 'jira', 'hr', 'vault', 'grafana', 'mail', 'sso', 'files'].entries()) {
    const name = `${host}.corp.acme.example`;
    await issue(`internal/${host}`, { subject: `CN=${name},O=Acme Corp,C=US`, issuer: corpCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: [name] }, notBefore: new Date(start - days(200)), notAfter: new Date(start + days(530)) });
    internal.push({ domain: name, label: `internal/${host}`, ips: [`10.10.0.${10 + i}`], chain: [`internal/${host}`, 'ca/acme-issuing'] });
  }
  for (const [i, host] of ['printer-3f', 'ilo-db01', 'nas-backup'].entries()) {
    const name = `${host}.corp.acme.example`;
    await issue(`appliance/${host}`, { subject: `CN=${name},O=Acme Corp,C=US`, key: { type: 'rsa', bits: 2048 }, san: { dns: [name] }, notBefore: new Date(start - days(400)), notAfter: new Date(start + days(3250)) });
    internal.push({ domain: name, label: `appliance/${host}`, ips: [`10.10.5.${20 + i}`], chain: [`appliance/${host}`] });
  }

  // Benign browsing: working hours, popular sites by a Zipf-like weight, TLS 1.3 for 40%.
  const weights = sites.map((s, i) => [s, 1 / (i + 1)] as const);
  for (const sensor of Object.keys(SENSORS) as SensorName[]) {
    const r = rng.fork(`browse/${sensor}`);
    for (const client of clientsOf(sensor)) {
      for (let d = 0; d < DEMO_DAYS; d++) {
        if (new Date(start + days(d)).getUTCDay() % 6 === 0 && r.next() < 0.8) continue; // weekends are quiet
        const n = r.int(2, 6);
        for (let k = 0; k < n; k++) {
          const kind = r.next();
          const site = kind < 0.8 ? r.weighted(weights) : kind < 0.9 && sensor !== 'guest' ? r.pick(internal) : r.pick(partners);
          const ts = start + days(d) + (8 + r.int(0, 9)) * 3_600_000 + r.int(0, 3_599_999);
          const tls13 = site.label.startsWith('site/') && r.next() < 0.4;
          session(sensor, {
            ts, client: { ip: client, port: 0 }, server: { ip: r.pick(site.ips), port: 443 },
            sni: site.domain.includes('*') ? null : site.domain, version: tls13 ? 'TLSv13' : 'TLSv12', chain: tls13 ? [] : site.chain,
          });
        }
      }
    }
  }

  const world: World = { start, sessions, publicCa: nwCa, clientsOf, session, issue };
  const threats = await plantThreats(world);

  const certificates = Object.fromEntries(Object.entries(certs).map(([k, v]) => [k, v.der]));
  const networks = {} as Record<SensorName, Network>;
  for (const s of Object.keys(SENSORS) as SensorName[]) {
    networks[s] = { certificates, sessions: sessions[s].sort((a, b) => a.ts - b.ts), dns: dns[s].sort((a, b) => a.ts - b.ts) };
  }
  // The top list: the popular sites at their ranks among filler domains.
  const list: [number, string][] = [...ranks].map(([d, r]) => [r, d]);
  const used = new Set(list.map(([r]) => r));
  for (let r = 1; r <= 5000; r++) if (!used.has(r)) list.push([r, `site${r}.example-top.com`]);
  list.sort((a, b) => a[0] - b[0]);
  return {
    networks, certificates, pemFolder: threats.pemFolder,
    toplist: list.map(([r, d]) => `${r},${d}`).join('\n') + '\n',
    sslbl: threats.sslbl, ja3bl: threats.ja3bl, planted: threats.planted,
  };
}

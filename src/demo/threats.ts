import { createHash } from 'node:crypto';
import { implantJa3Lines, sslblLines, text } from './intel.js';
import type { World, SensorName } from './network.js';
import type { CertSpec, Issued } from './pki.js';

/**
 * What the demo hides in the company's traffic: the default certificates of C2 frameworks,
 * generated subjects, infrastructure that moves, blacklisted certificates and client hellos,
 * and the odd certificates the rest of the hunt library is about. Each planted item names the
 * hunt meant to find it and the entity that hunt reports, so the demo can say what it hid and
 * its test can check that every one is found.
 */
export interface Planted {
  hunt: string;
  /** A certificate (by label), or the literal entity the hunt reports. */
  kind: 'certificate' | 'host' | 'issuer' | 'endpoint' | 'domain' | 'subject';
  value: string;
  why: string;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/**
 * Sessions from one client to one server every `every` hours from day `from` (at `hour`) until
 * day `to`; `implant` hellos unless said otherwise.
 */
interface Beacon {
  sensor: SensorName;
  client: string;
  server: string;
  from: number;
  to: number;
  every: number;
  sni?: string;
  kind?: 'implant' | 'browser';
  hour?: number;
}

/** One planted certificate: how it is made (issuer by label, 'public' for the public CA), where it is served, what finds it. */
interface Threat {
  label: string;
  spec: Omit<CertSpec, 'issuer'> & { issuer?: string };
  beacons?: Beacon[];
  /** [hunt, why] for the certificate itself, or [hunt, why, kind, entity] for another entity. */
  finds?: ([string, string] | [string, string, Planted['kind'], string])[];
}

const rsa = { type: 'rsa', bits: 2048 } as const;
const ec = { type: 'ec', curve: 'P-256' } as const;

/** The threats in the order they are planted (the order sessions get their client ports). */
function threats(w: World): Threat[] {
  const when = (fromDay: number, days: number) => ({ notBefore: new Date(w.start + fromDay * DAY), notAfter: new Date(w.start + (fromDay + days) * DAY) });
  const named = (name: string) => ({ subject: `CN=${name}`, san: { dns: [name] } });
  const b = (sensor: SensorName, client: string, server: string, from: number, to: number, every: number, sni?: string, kind?: 'browser'): Beacon =>
    ({ sensor, client, server, from, to, every, ...(sni ? { sni } : {}), ...(kind ? { kind } : {}) });
  return [
    // C2 frameworks' default certificates.
    {
      label: 'c2/cobalt-strike',
      spec: {
        subject: 'CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth', serial: '08BB00EE', key: rsa,
        extensions: 'keyid', notBefore: new Date(Date.UTC(2015, 4, 20, 15, 26, 50)), notAfter: new Date(Date.UTC(2025, 7, 17, 15, 26, 50)),
      },
      beacons: [b('hq', '10.20.1.23', '203.0.113.10:443', 12, 21, 2)],
      finds: [
        ['default-c2-certificate', 'Cobalt Strike default keystore, beaconing from 10.20.1.23 every 2 h'],
        ['self-signed-external', 'self-signed certificate on an external server, handshakes completed'],
        ['expired-in-use', 'the default keystore expired in 2025 and is still served'],
      ],
    },
    {
      label: 'c2/covenant', spec: { subject: 'CN=Covenant', key: rsa, ...when(-30, 3650) },
      beacons: [b('branch', '10.30.1.14', '198.51.100.77:8443', 5, 21, 4)],
      finds: [['default-c2-certificate', 'Covenant listener default certificate'], ['no-sans', 'a server certificate without subject alternative names']],
    },
    {
      label: 'c2/empire', spec: { subject: 'C=US', key: rsa, ...when(-10, 365) },
      beacons: [b('guest', '192.168.50.33', '192.0.2.200:443', 3, 9, 3)],
      finds: [['default-c2-certificate', 'PowerShell Empire certificate: subject and issuer C=US only'], ['shortest-issuers', 'issuer "C=US", four characters']],
    },
    {
      label: 'c2/poshc2', spec: { subject: 'CN=P18055077,OU=Jethpro,O=Pajfds,L=Minnetonka,ST=Minnesota,C=US', key: rsa, ...when(-100, 3650) },
      beacons: [b('lab', '10.40.1.12', '203.0.113.45:443', 8, 21, 6)], finds: [['default-c2-certificate', 'PoshC2 default certificate']],
    },
    {
      label: 'c2/metasploit', spec: { subject: 'CN=ufpwlkmc.net,O=Kessler,L=Wunsch,ST=MN,C=US', key: rsa, ...when(-3, 720) },
      beacons: [b('dmz', '172.16.10.11', '198.51.100.23:4444', 15, 17, 1)],
      finds: [['default-c2-certificate', 'Metasploit-generated subject (random host, capitalised names, two-letter state)']],
    },
    {
      label: 'c2/sliver', spec: { subject: 'CN=multiplayer,O=Wrmvfkqtz Inc,L=Oakland,ST=California,street=4417 Kzrtw St,postalCode=94607,C=US', key: rsa, ...when(-2, 365) },
      beacons: [b('hq', '10.20.1.31', '203.0.113.88:8888', 6, 21, 8)], finds: [['default-c2-certificate', 'Sliver-generated subject with street address and postal code']],
    },
    // Certificates made by malware builders.
    {
      label: 'malware/random-fields', spec: { subject: 'CN=cdn.cloudsync-update.net,O=Bzlxprtdq,L=Tvrkmpsl,C=DE', san: { dns: ['cdn.cloudsync-update.net'] }, key: rsa, ...when(-12, 365) },
      beacons: [b('branch', '10.30.1.18', '192.0.2.150:443', 6, 21, 6, 'cdn.cloudsync-update.net')],
      finds: [['random-subject-fields', 'organisation "Bzlxprtdq" and locality "Tvrkmpsl" look generated']],
    },
    {
      label: 'malware/high-entropy', spec: { subject: 'CN=qz7xk2vj', key: rsa, ...when(-5, 400) },
      beacons: [b('branch', '10.30.1.22', '198.51.100.140:443', 2, 21, 12)], finds: [['high-entropy-short-names', 'short subject, random common name']],
    },
    {
      label: 'malware/ip-cn', spec: { subject: 'CN=203.0.113.99', key: rsa, ...when(-20, 365) },
      beacons: [b('dmz', '172.16.10.14', '203.0.113.99:443', 4, 21, 12)], finds: [['ip-as-common-name', 'the server names itself by its address']],
    },
    {
      label: 'malware/asyncrat', spec: { subject: 'CN=AsyncRAT Server', key: rsa, ...when(-60, 3650) },
      beacons: [b('hq', '10.20.1.27', '198.51.100.31:6606', 9, 21, 6)], finds: [['blacklisted-certificates', 'SHA-1 on the SSL Blacklist: AsyncRAT C&C']],
    },
    {
      label: 'malware/dridex', spec: { subject: 'CN=update-service.info,O=Globex Media,L=London,C=GB', san: { dns: ['update-service.info'] }, key: rsa, ...when(-15, 365) },
      beacons: [b('lab', '10.40.1.17', '192.0.2.66:443', 11, 21, 5, 'update-service.info')], finds: [['blacklisted-certificates', 'SHA-1 on the SSL Blacklist: Dridex C&C']],
    },
    // Infrastructure and hygiene.
    {
      label: 'infra/moving', spec: { ...named('static-cdn-assets.net'), issuer: 'public', key: ec, ...when(-10, 90) },
      beacons: ['203.0.113.60', '203.0.113.61', '198.51.100.62', '192.0.2.63'].map((ip, i) => b('hq', '10.20.1.40', `${ip}:443`, 1 + i * 5, 4 + i * 5, 3, 'static-cdn-assets.net')),
      finds: [['moving-infrastructure', 'one certificate on four addresses in turn, days apart']],
    },
    {
      label: 'infra/expired', spec: { ...named('billing.northpay-invoices.com'), issuer: 'public', key: ec, ...when(-400, 355) },
      beacons: [b('branch', '10.30.1.20', '198.51.100.90:443', 3, 19, 24, 'billing.northpay-invoices.com', 'browser')],
      finds: [['expired-in-use', 'expired 45 days before the first session']],
    },
    {
      label: 'infra/weak', spec: { ...named('vpn.legacy-partner.com'), key: { type: 'rsa', bits: 1024 }, hash: 'sha1', ...when(-200, 1000) },
      beacons: [b('dmz', '172.16.10.12', '185.99.1.7:443', 0, 21, 24, 'vpn.legacy-partner.com', 'browser')], finds: [['weak-key-or-signature', 'RSA 1024, SHA-1 signature']],
    },
    {
      label: 'infra/long-validity', spec: { ...named('files.secure-share.biz'), key: rsa, ...when(-30, 7300) },
      beacons: [b('guest', '192.168.50.21', '198.51.100.150:443', 2, 20, 24, 'files.secure-share.biz', 'browser')], finds: [['long-validity-self-signed', 'self-signed for twenty years']],
    },
    {
      label: 'infra/duckdns', spec: { ...named('rat-panel.duckdns.org'), issuer: 'public', key: ec, ...when(-5, 90) },
      beacons: [b('guest', '192.168.50.40', '192.0.2.77:443', 4, 14, 6, 'rat-panel.duckdns.org')],
      finds: [['dynamic-dns-wildcard', 'certificate for a Duck DNS host'], ['dynamic-dns-sni', 'SNI under duckdns.org', 'domain', 'rat-panel.duckdns.org']],
    },
    {
      label: 'infra/sni-mismatch', spec: { ...named('srv-4421.vps-hosting.net'), issuer: 'public', key: ec, ...when(-20, 90) },
      beacons: [b('lab', '10.40.1.15', '198.51.100.201:443', 6, 21, 8, 'login.microsoftonline.com')],
      finds: [['sni-mismatch', 'asks for login.microsoftonline.com, answered by srv-4421.vps-hosting.net']],
    },
    { label: 'infra/rogue-ca', spec: { subject: 'CN=Secure Login CA,O=Secure Login Ltd,C=US', key: rsa, ca: {}, ...when(-40, 3650) } },
    {
      label: 'infra/secure-login', spec: { ...named('secure-login.net'), issuer: 'public', key: ec, ...when(-30, 90) },
      beacons: [b('hq', '10.20.1.15', '185.60.7.20:443', 0, 21, 24, 'secure-login.net', 'browser')],
    },
    {
      label: 'infra/secure-login-rogue', spec: { ...named('secure-login.net'), issuer: 'infra/rogue-ca', key: ec, ...when(-2, 365) },
      beacons: [b('branch', '10.30.1.11', '198.51.100.210:443', 13, 16, 12, 'secure-login.net', 'browser')],
      finds: [
        ['subject-many-issuers', 'the same subject from Northwind and from "Secure Login CA"', 'subject', 'CN=secure-login.net'],
        ['rare-issuer', 'an issuer seen on one server only', 'issuer', 'CN=Secure Login CA,O=Secure Login Ltd,C=US'],
      ],
    },
    {
      label: 'infra/tls-on-53', spec: { ...named('resolver.fastdns-relay.net'), issuer: 'public', key: ec, ...when(-20, 90) },
      beacons: [b('hq', '10.20.1.44', '198.51.100.53:53', 7, 21, 6, 'resolver.fastdns-relay.net')],
      finds: [['tls-on-other-ports', 'TLS on the DNS port', 'endpoint', '198.51.100.53:53']],
    },
    {
      label: 'infra/short-lived', spec: { ...named('invoice-view.net'), issuer: 'public', key: ec, ...when(10, 7) },
      beacons: [b('branch', '10.30.1.25', '192.0.2.45:443', 11, 16, 8, 'invoice-view.net', 'browser')], finds: [['short-lived-unpopular', 'valid for 7 days, in no top list']],
    },
    {
      // Eight workstations, one visit each, a quarter of an hour apart on the morning of day 16.
      label: 'infra/phishing', spec: { ...named('benefits-enrolment-portal.com'), issuer: 'public', key: ec, ...when(15, 90) },
      beacons: w.clientsOf('hq').slice(0, 8).map((client, i) => ({ ...b('hq', client, '203.0.113.120:443', 16, 17, 24, 'benefits-enrolment-portal.com', 'browser'), hour: 9 + i / 4 })),
      finds: [['new-cert-many-clients', 'first seen on day 16, eight workstations reached it the same morning']],
    },
    {
      label: 'infra/tool-default', spec: { subject: 'CN=dev-api.staging-box.net,O=Internet Widgits Pty Ltd,ST=Some-State,C=AU', key: rsa, ...when(-60, 365) },
      beacons: [b('guest', '192.168.50.25', '198.51.100.170:8443', 1, 21, 24, 'dev-api.staging-box.net', 'browser')], finds: [['tool-default-subject', "OpenSSL's placeholder organisation"]],
    },
    {
      // A home-made generator: a 24-byte serial, which RFC 5280 caps at 20 and no CA issues.
      label: 'malware/long-serial', spec: { ...named('telemetry-sync.net'), serial: '7f' + '3a'.repeat(23), key: rsa, ...when(-8, 365) },
      beacons: [b('lab', '10.40.1.19', '185.225.17.40:443', 5, 21, 6, 'telemetry-sync.net')],
      finds: [['malformed-certificate', 'a 24-byte serial: RFC 5280 allows 20, CAs lint for it, home-made tooling does not']],
    },
  ];
}

export async function plantThreats(w: World): Promise<{ planted: Planted[]; sslbl: string; ja3bl: string; pemFolder: string[] }> {
  const planted: Planted[] = [];
  const plant = (hunt: string, kind: Planted['kind'], value: string, why: string) => planted.push({ hunt, kind, value, why });
  const issued = new Map<string, Issued>();
  for (const t of threats(w)) {
    const { issuer, ...spec } = t.spec;
    const c = await w.issue(t.label, { ...spec, ...(issuer ? { issuer: issuer === 'public' ? w.publicCa : issued.get(issuer)! } : {}) });
    issued.set(t.label, c);
    const chain = c.spec.issuer ? [c.label, c.spec.issuer.label] : [c.label];
    for (const x of t.beacons ?? []) {
      const [ip = '', port = '443'] = x.server.split(':');
      for (let ts = w.start + x.from * DAY + (x.hour ?? 1.5) * HOUR; ts < w.start + x.to * DAY; ts += x.every * HOUR) {
        w.session(x.sensor, { ts, client: { ip: x.client, port: 0 }, server: { ip, port: Number(port) }, sni: x.sni ?? null, chain, client_kind: x.kind ?? 'implant' });
      }
    }
    for (const [hunt, why, kind = 'certificate', value = t.label] of t.finds ?? []) plant(hunt, kind, value, why);
  }
  const asyncrat = issued.get('malware/asyncrat')!;
  const dridex = issued.get('malware/dridex')!;

  // Blacklists: the two malware certificates by SHA-1, the implants' client hellos by JA3.
  const sha1 = (c: Issued) => createHash('sha1').update(c.der).digest('hex');
  const sslbl = text(sslblLines([
    { listed: '2026-09-20 08:12:45', sha1: sha1(asyncrat), reason: 'AsyncRAT C&C' },
    { listed: '2026-09-28 17:01:09', sha1: sha1(dridex), reason: 'Dridex C&C' },
  ], 'demo data generated by certhunt demo'));
  const ja3bl = text(implantJa3Lines());
  const implantClients = new Set<string>();
  for (const sessions of Object.values(w.sessions)) for (const s of sessions) if (s.client_kind === 'implant') implantClients.add(s.client.ip);
  for (const ip of [...implantClients].sort()) plant('blacklisted-ja3', 'host', ip, 'client hello matches a JA3 the abuse.ch list ties to Tofsee');

  // Workstations that completed handshakes with external servers their sensor could not validate
  // (only Zeek logs validation): what invalid-cert-accepted reports, worked out from the sessions.
  const internal = /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/;
  const invalid = new Set<string>();
  for (const sensor of ['hq', 'branch'] as const) {
    for (const s of w.sessions[sensor]) {
      const v = s.validation_status;
      if (v && v !== 'ok' && (s.established ?? true) && !internal.test(s.server.ip)) invalid.add(s.client.ip);
    }
  }
  for (const ip of [...invalid].sort()) plant('invalid-cert-accepted', 'host', ip, 'completed handshakes with an external server whose certificate did not validate');

  return { planted, sslbl, ja3bl, pemFolder: ['c2/cobalt-strike', 'c2/poshc2', 'infra/weak', 'ca/northwind-r5'] };
}

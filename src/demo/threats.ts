import { createHash } from 'node:crypto';
import { ja3 } from './fingerprints.js';
import type { World, SensorName } from './network.js';
import type { CertSpec, Issued } from './pki.js';
import { helloShape } from './tls.js';

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

export async function plantThreats(w: World): Promise<{ planted: Planted[]; sslbl: string; ja3bl: string; pemFolder: string[] }> {
  const planted: Planted[] = [];
  const at = (day: number, hour = 0) => w.start + day * DAY + hour * HOUR;
  const when = (fromDay: number, days: number) => ({ notBefore: new Date(at(fromDay)), notAfter: new Date(at(fromDay + days)) });
  const rsa = { type: 'rsa', bits: 2048 } as const;
  const cert = (label: string, spec: CertSpec): Promise<Issued> => w.issue(label, spec);
  const chainOf = (c: Issued) => (c.spec.issuer ? [c.label, c.spec.issuer.label] : [c.label]);
  /** Sessions from one client to one server every `every` hours from day `from` to day `to`. */
  const beacon = (sensor: SensorName, client: string, server: string, c: Issued, from: number, to: number, every: number, sni: string | null = null, kind: 'implant' | 'browser' = 'implant') => {
    const [ip = '', port = '443'] = server.split(':');
    for (let t = at(from, 1.5); t < at(to); t += every * HOUR) {
      w.session(sensor, { ts: t, client: { ip: client, port: 0 }, server: { ip, port: Number(port) }, sni, chain: chainOf(c), client_kind: kind });
    }
  };
  const plant = (hunt: string, kind: Planted['kind'], value: string, why: string) => planted.push({ hunt, kind, value, why });

  // C2 frameworks' default certificates.
  const cs = await cert('c2/cobalt-strike', {
    subject: 'CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth', serial: '08BB00EE', key: rsa,
    extensions: 'keyid', notBefore: new Date(Date.UTC(2015, 4, 20, 15, 26, 50)), notAfter: new Date(Date.UTC(2025, 7, 17, 15, 26, 50)),
  });
  beacon('hq', '10.20.1.23', '203.0.113.10:443', cs, 12, 21, 2);
  plant('default-c2-certificate', 'certificate', cs.label, 'Cobalt Strike default keystore, beaconing from 10.20.1.23 every 2 h');
  plant('self-signed-external', 'certificate', cs.label, 'self-signed certificate on an external server, handshakes completed');
  plant('expired-in-use', 'certificate', cs.label, 'the default keystore expired in 2025 and is still served');
  const covenant = await cert('c2/covenant', { subject: 'CN=Covenant', key: rsa, ...when(-30, 3650) });
  beacon('branch', '10.30.1.14', '198.51.100.77:8443', covenant, 5, 21, 4);
  plant('default-c2-certificate', 'certificate', covenant.label, 'Covenant listener default certificate');
  plant('no-sans', 'certificate', covenant.label, 'a server certificate without subject alternative names');
  const empire = await cert('c2/empire', { subject: 'C=US', key: rsa, ...when(-10, 365) });
  beacon('guest', '192.168.50.33', '192.0.2.200:443', empire, 3, 9, 3);
  plant('default-c2-certificate', 'certificate', empire.label, 'PowerShell Empire certificate: subject and issuer C=US only');
  plant('shortest-issuers', 'certificate', empire.label, 'issuer "C=US", four characters');
  const posh = await cert('c2/poshc2', { subject: 'CN=P18055077,OU=Jethpro,O=Pajfds,L=Minnetonka,ST=Minnesota,C=US', key: rsa, ...when(-100, 3650) });
  beacon('lab', '10.40.1.12', '203.0.113.45:443', posh, 8, 21, 6);
  plant('default-c2-certificate', 'certificate', posh.label, 'PoshC2 default certificate');
  const msf = await cert('c2/metasploit', { subject: 'CN=ufpwlkmc.net,O=Kessler,L=Wunsch,ST=MN,C=US', key: rsa, ...when(-3, 720) });
  beacon('dmz', '172.16.10.11', '198.51.100.23:4444', msf, 15, 17, 1);
  plant('default-c2-certificate', 'certificate', msf.label, 'Metasploit-generated subject (random host, capitalised names, two-letter state)');
  const sliver = await cert('c2/sliver', { subject: 'CN=multiplayer,O=Wrmvfkqtz Inc,L=Oakland,ST=California,street=4417 Kzrtw St,postalCode=94607,C=US', key: rsa, ...when(-2, 365) });
  beacon('hq', '10.20.1.31', '203.0.113.88:8888', sliver, 6, 21, 8);
  plant('default-c2-certificate', 'certificate', sliver.label, 'Sliver-generated subject with street address and postal code');

  // Certificates made by malware builders.
  const gibberish = await cert('malware/random-fields', { subject: 'CN=cdn.cloudsync-update.net,O=Bzlxprtdq,L=Tvrkmpsl,C=DE', key: rsa, san: { dns: ['cdn.cloudsync-update.net'] }, ...when(-12, 365) });
  beacon('branch', '10.30.1.18', '192.0.2.150:443', gibberish, 6, 21, 6, 'cdn.cloudsync-update.net');
  plant('random-subject-fields', 'certificate', gibberish.label, 'organisation "Bzlxprtdq" and locality "Tvrkmpsl" look generated');
  const random = await cert('malware/high-entropy', { subject: 'CN=qz7xk2vj', key: rsa, ...when(-5, 400) });
  beacon('branch', '10.30.1.22', '198.51.100.140:443', random, 2, 21, 12);
  plant('high-entropy-short-names', 'certificate', random.label, 'short subject, random common name');
  const ipcn = await cert('malware/ip-cn', { subject: 'CN=203.0.113.99', key: rsa, ...when(-20, 365) });
  beacon('dmz', '172.16.10.14', '203.0.113.99:443', ipcn, 4, 21, 12);
  plant('ip-as-common-name', 'certificate', ipcn.label, 'the server names itself by its address');
  const asyncrat = await cert('malware/asyncrat', { subject: 'CN=AsyncRAT Server', key: rsa, ...when(-60, 3650) });
  beacon('hq', '10.20.1.27', '198.51.100.31:6606', asyncrat, 9, 21, 6);
  plant('blacklisted-certificates', 'certificate', asyncrat.label, 'SHA-1 on the SSL Blacklist: AsyncRAT C&C');
  const dridex = await cert('malware/dridex', { subject: 'CN=update-service.info,O=Globex Media,L=London,C=GB', key: rsa, san: { dns: ['update-service.info'] }, ...when(-15, 365) });
  beacon('lab', '10.40.1.17', '192.0.2.66:443', dridex, 11, 21, 5, 'update-service.info');
  plant('blacklisted-certificates', 'certificate', dridex.label, 'SHA-1 on the SSL Blacklist: Dridex C&C');

  // Infrastructure and hygiene.
  const moving = await cert('infra/moving', { subject: 'CN=static-cdn-assets.net', issuer: w.publicCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: ['static-cdn-assets.net'] }, ...when(-10, 90) });
  for (const [i, ip] of ['203.0.113.60', '203.0.113.61', '198.51.100.62', '192.0.2.63'].entries()) beacon('hq', '10.20.1.40', `${ip}:443`, moving, 1 + i * 5, 4 + i * 5, 3, 'static-cdn-assets.net');
  plant('moving-infrastructure', 'certificate', moving.label, 'one certificate on four addresses in turn, days apart');
  const expired = await cert('infra/expired', { subject: 'CN=billing.northpay-invoices.com', issuer: w.publicCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: ['billing.northpay-invoices.com'] }, ...when(-400, 355) });
  beacon('branch', '10.30.1.20', '198.51.100.90:443', expired, 3, 19, 24, 'billing.northpay-invoices.com', 'browser');
  plant('expired-in-use', 'certificate', expired.label, 'expired 45 days before the first session');
  const weak = await cert('infra/weak', { subject: 'CN=vpn.legacy-partner.com', key: { type: 'rsa', bits: 1024 }, hash: 'sha1', san: { dns: ['vpn.legacy-partner.com'] }, ...when(-200, 1000) });
  beacon('dmz', '172.16.10.12', '185.99.1.7:443', weak, 0, 21, 24, 'vpn.legacy-partner.com', 'browser');
  plant('weak-key-or-signature', 'certificate', weak.label, 'RSA 1024, SHA-1 signature');
  const longlived = await cert('infra/long-validity', { subject: 'CN=files.secure-share.biz', key: rsa, san: { dns: ['files.secure-share.biz'] }, ...when(-30, 7300) });
  beacon('guest', '192.168.50.21', '198.51.100.150:443', longlived, 2, 20, 24, 'files.secure-share.biz', 'browser');
  plant('long-validity-self-signed', 'certificate', longlived.label, 'self-signed for twenty years');
  const duck = await cert('infra/duckdns', { subject: 'CN=rat-panel.duckdns.org', issuer: w.publicCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: ['rat-panel.duckdns.org'] }, ...when(-5, 90) });
  beacon('guest', '192.168.50.40', '192.0.2.77:443', duck, 4, 14, 6, 'rat-panel.duckdns.org');
  plant('dynamic-dns-wildcard', 'certificate', duck.label, 'certificate for a Duck DNS host');
  plant('dynamic-dns-sni', 'domain', 'rat-panel.duckdns.org', 'SNI under duckdns.org');
  const fronted = await cert('infra/sni-mismatch', { subject: 'CN=srv-4421.vps-hosting.net', issuer: w.publicCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: ['srv-4421.vps-hosting.net'] }, ...when(-20, 90) });
  beacon('lab', '10.40.1.15', '198.51.100.201:443', fronted, 6, 21, 8, 'login.microsoftonline.com');
  plant('sni-mismatch', 'certificate', fronted.label, 'asks for login.microsoftonline.com, answered by srv-4421.vps-hosting.net');
  const rogueCa = await cert('infra/rogue-ca', { subject: 'CN=Secure Login CA,O=Secure Login Ltd,C=US', key: rsa, ca: {}, ...when(-40, 3650) });
  const legit = await cert('infra/secure-login', { subject: 'CN=secure-login.net', issuer: w.publicCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: ['secure-login.net'] }, ...when(-30, 90) });
  const rogue = await cert('infra/secure-login-rogue', { subject: 'CN=secure-login.net', issuer: rogueCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: ['secure-login.net'] }, ...when(-2, 365) });
  beacon('hq', '10.20.1.15', '185.60.7.20:443', legit, 0, 21, 24, 'secure-login.net', 'browser');
  beacon('branch', '10.30.1.11', '198.51.100.210:443', rogue, 13, 16, 12, 'secure-login.net', 'browser');
  plant('subject-many-issuers', 'subject', 'CN=secure-login.net', 'the same subject from Northwind and from "Secure Login CA"');
  plant('rare-issuer', 'issuer', rogueCa.subject, 'an issuer seen on one server only');
  const dot = await cert('infra/tls-on-53', { subject: 'CN=resolver.fastdns-relay.net', issuer: w.publicCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: ['resolver.fastdns-relay.net'] }, ...when(-20, 90) });
  beacon('hq', '10.20.1.44', '198.51.100.53:53', dot, 7, 21, 6, 'resolver.fastdns-relay.net');
  plant('tls-on-other-ports', 'endpoint', '198.51.100.53:53', 'TLS on the DNS port');
  const brief = await cert('infra/short-lived', { subject: 'CN=invoice-view.net', issuer: w.publicCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: ['invoice-view.net'] }, ...when(10, 7) });
  beacon('branch', '10.30.1.25', '192.0.2.45:443', brief, 11, 16, 8, 'invoice-view.net', 'browser');
  plant('short-lived-unpopular', 'certificate', brief.label, 'valid for 7 days, in no top list');
  const phish = await cert('infra/phishing', { subject: 'CN=benefits-enrolment-portal.com', issuer: w.publicCa, key: { type: 'ec', curve: 'P-256' }, san: { dns: ['benefits-enrolment-portal.com'] }, ...when(15, 90) });
  for (const [i, client] of w.clientsOf('hq').slice(0, 8).entries()) {
    w.session('hq', { ts: at(16, 9 + i / 4), client: { ip: client, port: 0 }, server: { ip: '203.0.113.120', port: 443 }, sni: 'benefits-enrolment-portal.com', chain: chainOf(phish), client_kind: 'browser' });
  }
  plant('new-cert-many-clients', 'certificate', phish.label, 'first seen on day 16, eight workstations reached it the same morning');
  const widgits = await cert('infra/tool-default', { subject: 'CN=dev-api.staging-box.net,O=Internet Widgits Pty Ltd,ST=Some-State,C=AU', key: rsa, ...when(-60, 365) });
  beacon('guest', '192.168.50.25', '198.51.100.170:8443', widgits, 1, 21, 24, 'dev-api.staging-box.net', 'browser');
  plant('tool-default-subject', 'certificate', widgits.label, "OpenSSL's placeholder organisation");

  // Blacklists: the two malware certificates by SHA-1, the implants' client hellos by JA3.
  const sha1 = (c: Issued) => createHash('sha1').update(c.der).digest('hex');
  const sslbl = [
    '################################################################',
    '# abuse.ch SSLBL SSL Certificate Blacklist (SHA1 Fingerprints)  #',
    '# (demo data generated by certhunt demo)                        #',
    '################################################################',
    '#',
    '# Listingdate,SHA1,Listingreason',
    `2026-09-20 08:12:45,${sha1(asyncrat)},AsyncRAT C&C`,
    `2026-09-28 17:01:09,${sha1(dridex)},Dridex C&C`,
    '# END (2 entries)',
  ].join('\n') + '\n';
  const implantJa3 = [...new Set([null, 'x'].map((sni) => ja3(helloShape({ sni, client_kind: 'implant' } as never)).md5))];
  const ja3bl = ['# ja3_md5,Firstseen,Lastseen,Listingreason', ...implantJa3.map((h) => `${h},2026-08-01 10:00:00,2026-09-30 12:00:00,Tofsee`)].join('\n') + '\n';
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

  return { planted, sslbl, ja3bl, pemFolder: [cs.label, posh.label, weak.label, 'ca/northwind-r5'] };
}

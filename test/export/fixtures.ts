/**
 * Findings as the lead's CLI will hand them to the exporters: the Cobalt Strike default
 * certificate flagged by two hunts, C2 addresses, a JA3, a domain, a certificate known only by
 * SHA-256, and a certificate whose every text field an attacker wrote to break exports.
 */
import type { ExportFinding } from '../../src/export/record.js';

export const NOW = new Date('2026-11-20T08:00:00.000Z');

/** Cobalt Strike's default "Major Cobalt Strike" certificate (teamservers that kept the keystore). */
export const CS = {
  sha1: '6ece5ece4192683d2d84e25b0ba7e04f9cb7eb7c',
  sha256: '87f2085c32b6a2cc709b365f55873e207a9caa10bffecf2fd16d3cf9d94d390c',
  md5: '950098276a495286eb2a2556fbab6d83',
  serial: '8bb00ee',
  subject: 'CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth',
};

export const HOSTILE_CN = 'evil\t"quoted";\\back\x1b[31mred\u202egnp.exe\r\nIntel::ADDR';

export function csDefault(): ExportFinding {
  return {
    hunt_id: 'default-c2-certificate',
    title: 'Default C2 framework certificate',
    description: 'A certificate shipped with a C2 framework and never replaced.',
    attack: ['T1573.002', 'T1587.003'],
    severity: 'critical',
    score: 95,
    entity_type: 'certificate',
    entity: CS.sha256,
    first_seen: '2026-11-02T10:15:00.000Z',
    last_seen: '2026-11-18 22:01:07',
    run_id: 'run-2026-11-19',
    evidence: { profile: 'cobalt-strike', dest_ips: ['203.0.113.9', '198.51.100.23'], dest_port: 50050 },
    certificate: {
      sha256: CS.sha256,
      sha1: CS.sha1,
      md5: CS.md5,
      serial: CS.serial,
      subject: CS.subject,
      issuer: CS.subject,
      common_name: 'Major Cobalt Strike',
      subject_alternative_names: [],
      not_valid_before: '2015-05-20T18:26:24Z',
      not_valid_after: '2025-05-17T18:26:24Z',
    },
    ips: ['203.0.113.9', '198.51.100.23'],
  };
}

export function csBlacklisted(): ExportFinding {
  return {
    ...csDefault(),
    hunt_id: 'blacklisted-certificates',
    title: 'Certificates on the abuse.ch SSL Blacklist',
    description: undefined,
    attack: ['T1071.001', 'T1573.002', 'T1587.003'],
    score: 90,
    entity: CS.sha256,
    first_seen: '2026-11-01T00:00:00Z',
    last_seen: '2026-11-18T22:01:07Z',
    evidence: { listing_reason: 'CobaltStrike C&C' },
    ips: ['203.0.113.9'],
  };
}

export function c2Ip(): ExportFinding {
  return {
    hunt_id: 'c2-addresses',
    title: 'Addresses serving C2 certificates',
    attack: ['T1071.001'],
    severity: 'high',
    score: 80,
    entity_type: 'ip',
    entity: '203.0.113.9',
    first_seen: '2026-11-02T10:15:00Z',
    last_seen: '2026-11-18T22:01:07Z',
    run_id: 'run-2026-11-19',
    evidence: { certificates: 1 },
  };
}

export function c2Ipv6(): ExportFinding {
  return { ...c2Ip(), entity: '2001:DB8::BAD', evidence: {} };
}

export function ja3(): ExportFinding {
  return {
    hunt_id: 'known-c2-ja3',
    title: 'Client fingerprint of a C2 implant',
    attack: ['T1071.001'],
    severity: 'high',
    score: 75,
    entity_type: 'ja3',
    entity: '72A589DA586844D7F0818CE684948EEA',
    first_seen: '2026-11-03T00:00:00Z',
    last_seen: '2026-11-04T00:00:00Z',
    run_id: 'run-2026-11-19',
    evidence: { clients: ['10.1.2.3'] },
  };
}

export function domain(): ExportFinding {
  return {
    hunt_id: 'dga-sni',
    title: 'Algorithmically generated server names',
    attack: ['T1568.002'],
    severity: 'medium',
    score: 60,
    entity_type: 'domain',
    entity: 'Xkq3vbn7tlz.example.net',
    first_seen: '2026-11-05T00:00:00Z',
    last_seen: null,
    run_id: 'run-2026-11-19',
    evidence: {},
  };
}

/** Known only by SHA-256 (Zeek's default x509 hash): nothing for CERT_HASH or tls.cert_fingerprint. */
export function sha256Only(): ExportFinding {
  return {
    hunt_id: 'self-signed-recent',
    title: 'Recently issued self-signed certificate',
    attack: ['T1587.003'],
    severity: 'low',
    score: 30,
    entity_type: 'certificate',
    entity: 'a'.repeat(64),
    first_seen: null,
    last_seen: null,
    run_id: 'run-2026-11-19',
    evidence: {},
    certificate: {
      sha256: 'a'.repeat(64),
      sha1: null,
      md5: null,
      serial: '01',
      subject: 'CN=update.microsoft-cdn.example',
      issuer: 'CN=update.microsoft-cdn.example',
      common_name: 'update.microsoft-cdn.example',
      subject_alternative_names: ['update.microsoft-cdn.example'],
      not_valid_before: null,
      not_valid_after: null,
    },
  };
}

/** Every text field written to break a format: tabs, newlines, ANSI escapes, quotes, bidi. */
export function hostile(): ExportFinding {
  return {
    hunt_id: 'high-entropy-short-names',
    title: 'Short random-looking names "x";\\\t\n',
    description: 'line one\nline two\x1b]0;pwned\x07',
    attack: ['T1573.002', 'not-a-technique', 'T1'],
    severity: 'high',
    score: 70,
    entity_type: 'certificate',
    entity: 'b'.repeat(64),
    first_seen: '2026-11-10T00:00:00Z',
    last_seen: '2026-11-10T00:00:00Z',
    run_id: 'run-2026-11-19',
    evidence: { common_name: HOSTILE_CN, note: '=HYPERLINK("http://evil.example","click")' },
    certificate: {
      sha256: 'b'.repeat(64),
      sha1: 'c'.repeat(40),
      md5: null,
      serial: '00ff',
      subject: `CN=${HOSTILE_CN},O=x\\,y`,
      issuer: "CN=it's\\ me",
      common_name: HOSTILE_CN,
      subject_alternative_names: ['*.Evil.Example', 'evil.example\tIntel::ADDR', 'localhost', '1.2.3.4', 'good.example', 'bad\x1b[31m.example', 'www.microsoft.com'],
      not_valid_before: '2026-11-09T00:00:00Z',
      not_valid_after: '2027-11-09T00:00:00Z',
    },
    ips: ['192.0.2.77', 'not an ip', '192.0.2.77\n'],
  };
}

export function all(): ExportFinding[] {
  return [csDefault(), csBlacklisted(), c2Ip(), c2Ipv6(), ja3(), domain(), sha256Only(), hostile()];
}

/** A deterministic shuffle (seeded) so tests can feed the same set in another order. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * What a generated data set is made of (certhunt generate): the share of the certificates and
 * of the sessions each kind of server takes. The one place these weights live; scale.ts draws
 * from them and generate.json reports them.
 *
 * How it mirrors the demo (network.ts, threats.ts):
 * - popular: the demo's 120 top-list sites. Northwind (90 days) or Helios (1 year) at 60/40,
 *   EC P-256 80% / RSA 2048 20%, SANs name + www (or the name and its wildcard, 30%), one or two
 *   addresses each; 80% of the demo's browsing goes to them, Zipf-like by rank (a few very
 *   popular), 40% of it TLS 1.3.
 * - partner: the demo's partner and vendor portals, in no top list, one address each, and
 *   internal: its services under the company CA, on 10.10/16; 10% of the browsing each in the
 *   demo, less here where the population is large.
 * - appliance: its self-signed printers and iLOs.
 * - the rest: one kind per certificate shape threats.ts plants, with the certificate hunt meant
 *   to find it; three of them are on the generated SSL Blacklist too, as the demo's malware
 *   certificates are. Not modelled here: the demo's plants found by address, host or subject
 *   (TLS on port 53, a rogue CA's clone of a public subject, validation failures accepted, a
 *   phishing site a whole floor visits in one morning). The demo
 *   plants one of each among ~150 certificates (14%) and ~15% of its sessions; at scale they
 *   are a few per cent of both, as a hunter would rather meet them.
 *
 * Weights are basis points (each column sums to 10,000). Certificates are laid out by weight
 * over their indices (see scale.ts), so any N holds each kind in proportion within a
 * certificate or so; sessions draw a kind by weight, then a certificate of that kind.
 */
export interface Kind {
  id: string;
  /** Share of the certificates, basis points. */
  certificates: number;
  /** Share of the sessions, basis points. */
  sessions: number;
  /** A planted threat shape (counted in generate.json), or the benign population. */
  threat: boolean;
  /** The hunt meant to find it (threat shapes). */
  hunt?: string;
  /** A few certificates take most of the sessions (Zipf by rank), or every one alike. */
  skew: 'zipf' | 'uniform';
  what: string;
  /** Listed on the generated SSL Blacklist with this reason (every certificate of the kind), as abuse.ch lists C2 servers. */
  sslbl?: string;
}

export const MIX = [
  { id: 'popular', certificates: 7950, sessions: 7781, threat: false, skew: 'zipf', what: 'popular sites: public CAs, 90-day and 1-year, EC and RSA, SANs name + www' },
  { id: 'partner', certificates: 700, sessions: 700, threat: false, skew: 'zipf', what: 'partner portals under a public CA, in no top list' },
  { id: 'internal', certificates: 600, sessions: 900, threat: false, skew: 'zipf', what: 'internal services under the corporate CA' },
  { id: 'appliance', certificates: 300, sessions: 200, threat: false, skew: 'uniform', what: 'self-signed appliances (printers, iLO, NAS)' },
  { id: 'c2-cobalt-strike', certificates: 15, sessions: 12, threat: true, hunt: 'default-c2-certificate', skew: 'uniform', what: "Cobalt Strike's default keystore (its DN and serial; expired 2025)", sslbl: 'Cobalt Strike C&C' },
  { id: 'c2-covenant', certificates: 15, sessions: 12, threat: true, hunt: 'default-c2-certificate', skew: 'uniform', what: 'Covenant listener default: CN=Covenant, no SANs' },
  { id: 'c2-empire', certificates: 15, sessions: 12, threat: true, hunt: 'default-c2-certificate', skew: 'uniform', what: 'Empire: subject and issuer C=US' },
  { id: 'c2-poshc2', certificates: 15, sessions: 12, threat: true, hunt: 'default-c2-certificate', skew: 'uniform', what: "PoshC2's default DN" },
  { id: 'c2-metasploit', certificates: 25, sessions: 18, threat: true, hunt: 'default-c2-certificate', skew: 'uniform', what: 'Metasploit-shaped subject: random host, capitalised names, two-letter state' },
  { id: 'c2-sliver', certificates: 25, sessions: 18, threat: true, hunt: 'default-c2-certificate', skew: 'uniform', what: 'Sliver-shaped subject with street and postal code', sslbl: 'Sliver C&C' },
  { id: 'random-short-cn', certificates: 40, sessions: 30, threat: true, hunt: 'high-entropy-short-names', skew: 'uniform', what: 'short subject, random common name', sslbl: 'Dridex C&C' },
  { id: 'ip-cn', certificates: 30, sessions: 22, threat: true, hunt: 'ip-as-common-name', skew: 'uniform', what: 'the server named by its own address' },
  { id: 'random-fields', certificates: 25, sessions: 19, threat: true, hunt: 'random-subject-fields', skew: 'uniform', what: 'generated organisation and locality' },
  { id: 'weak', certificates: 30, sessions: 22, threat: true, hunt: 'weak-key-or-signature', skew: 'uniform', what: 'RSA 1024 with a SHA-1 signature' },
  { id: 'long-validity', certificates: 30, sessions: 22, threat: true, hunt: 'long-validity-self-signed', skew: 'uniform', what: 'self-signed for twenty years' },
  { id: 'short-lived', certificates: 40, sessions: 30, threat: true, hunt: 'short-lived-unpopular', skew: 'uniform', what: 'valid for a week, in no top list' },
  { id: 'dynamic-dns', certificates: 40, sessions: 30, threat: true, hunt: 'dynamic-dns-wildcard', skew: 'uniform', what: 'a dynamic-DNS host name (Duck DNS, No-IP, Dynu...)' },
  { id: 'expired', certificates: 30, sessions: 22, threat: true, hunt: 'expired-in-use', skew: 'uniform', what: 'expired weeks before it is served' },
  { id: 'tool-default', certificates: 25, sessions: 19, threat: true, hunt: 'tool-default-subject', skew: 'uniform', what: "OpenSSL's placeholder subject (Internet Widgits Pty Ltd, Some-State), self-signed" },
  { id: 'sni-mismatch', certificates: 25, sessions: 19, threat: true, hunt: 'sni-mismatch', skew: 'uniform', what: "an implant asking for a popular site's name, answered by its own certificate" },
  // An implant beacons to it all along: ~20 sessions a certificate at M = 5N, else few are seen on three addresses.
  { id: 'moving', certificates: 25, sessions: 100, threat: true, hunt: 'moving-infrastructure', skew: 'uniform', what: 'one certificate on four addresses in turn, days apart' },
] as const satisfies readonly Kind[];

export type KindId = (typeof MIX)[number]['id'];

/** The whole of a weight column. */
export const BASIS = 10_000;

/**
 * One network, written the way each sensor would have recorded it: a packet capture (pcap or
 * pcapng) with real TLS 1.2 and TLS 1.3 handshakes, Zeek logs (x509, ssl, dns; JSON or TSV),
 * Suricata eve.json and PEM files. The network is described once (certificates as DER, sessions
 * naming the chain each server sent, DNS lookups), so whatever differs between lakes built from
 * the representations is the pipeline's doing, not the input's.
 *
 * Independence from what the output is meant to test: TLS records are built byte by byte from
 * the RFCs (tls.ts), JA3/JA3S/JA4 are computed from the hello fields tls.ts chose
 * (fingerprints.ts), Suricata's certificate fields come from node:crypto's X509Certificate
 * (eve.ts); only Zeek's x509 columns come from parseCertificate, which is specified to print
 * them as Zeek does. Framing (Ethernet/IPv4/TCP, pcap and pcapng blocks) is src/net/writer.ts.
 *
 * Every writer has a streaming form that yields per session (captureChunks, zeekLines, eveLines)
 * and a whole-file convenience (toPcap, toPcapng, toZeek, toEve). They take a Network held whole
 * or a SessionStream (sessions made in start order, certificates looked up by name: how certhunt
 * generate writes millions), and keep per-certificate facts in bounded caches either way.
 */
import { digest } from './bytes.js';
import type { Network } from './sessions.js';

export { captureChunks, toPcap, toPcapng, type CaptureFormat } from './capture.js';
export { eveLines, toEve, type EveOptions } from './eve.js';
export type { Fingerprint } from './fingerprints.js';
export {
  eachSession, sessionFacts, CERTIFICATE_CACHE, MSS, PACKET_GAP_MS,
  type CertificateLookup, type ClientKind, type DnsQuery, type Endpoint, type Network, type SessionFacts, type SessionSpec, type SessionStream,
  type SessionTimes, type TlsVersion, type Traffic,
} from './sessions.js';
export { CIPHER_NAMES, CLIENT_ALERT, helloShape, serverExtensions, tlsExchange, tlsTurns, type HelloShape, type TlsExchange } from './tls.js';
export { DNS_RTT_MS, RELOG_ENTRIES, toZeek, zeekLines, zeekSessionLines, type ZeekLog, type ZeekOptions } from './zeek.js';

export function pem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

/**
 * PEM files: one per certificate, except that the names in `bundles` (file name → certificate
 * names) go together into one file, as a CA bundle would.
 */
export function toPemFiles(net: Network, bundles: Record<string, string[]> = {}): { name: string; text: string }[] {
  const bundled = new Set(Object.values(bundles).flat());
  const files = Object.entries(bundles).map(([name, certs]) => ({
    name,
    text: certs.map((c) => {
      const der = net.certificates[c];
      if (!der) throw new Error(`bundle ${name} names unknown certificate ${c}`);
      return pem(der);
    }).join(''),
  }));
  for (const [name, der] of Object.entries(net.certificates)) if (!bundled.has(name)) files.push({ name: `${name}.pem`, text: pem(der) });
  return files;
}

/** Fingerprints, for naming a certificate by hash. */
export const sha256Of = (der: Uint8Array): string => digest('sha256', der);
export const sha1Of = (der: Uint8Array): string => digest('sha1', der);

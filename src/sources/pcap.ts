import { createHash } from 'node:crypto';
import { captureKind } from '../net/capture.js';
import { tlsSessions, type CaptureSummary, type TlsSession } from '../net/session.js';
import { completeCertificate } from './certfile.js';
import { emptyCertificate, type SourceItem } from './record.js';
import { emptyObservation } from './values.js';

/**
 * Packet captures (pcap, pcapng; gzip undone upstream) as a source: one observation per TLS
 * session and one certificate per certificate it carried, parsed in full from the DER. Positions
 * are packet numbers (as Wireshark counts them) of the connection's first packet.
 */
export const PCAP = 'pcap';

export function looksLikeCapture(head: Uint8Array): boolean {
  return captureKind(head) !== null;
}

/** Zeek-like connection id, stable across runs for the same capture (Zeek's are random). */
function uid(s: TlsSession): string {
  const h = createHash('sha256').update(`${s.ts} ${s.client.ip} ${s.client.port} ${s.server.ip} ${s.server.port}`).digest('base64url');
  return 'C' + h.replace(/[-_]/g, '').slice(0, 17);
}

const sha256 = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');

export function sessionItems(s: TlsSession): SourceItem[] {
  const obs = emptyObservation(s.ts);
  obs.uid = uid(s);
  obs.src_ip = s.client.ip;
  obs.src_port = s.client.port;
  obs.dest_ip = s.server.ip;
  obs.dest_port = s.server.port;
  obs.server_name = s.serverName;
  obs.tls_version = s.version;
  obs.cipher = s.cipher;
  obs.ja3 = s.ja3;
  obs.ja3s = s.ja3s;
  obs.ja4 = s.ja4;
  obs.established = s.established;
  obs.chain_sha256 = s.serverCertificates.map(sha256);
  obs.cert_sha256 = obs.chain_sha256[0] ?? null;
  const raw = {
    uid: obs.uid, first_packet: s.index, ja3_string: s.ja3Text, ja3s_string: s.ja3sText, alpn: s.alpn,
    client_chain_sha256: s.clientCertificates.map(sha256), tls_starts_at: s.upgradedAt, end: s.end, problems: s.problems,
  };
  const items: SourceItem[] = [{ kind: 'observation', pos: s.index, obs, raw }];
  for (const [chain, client] of [[s.serverCertificates, false], [s.clientCertificates, true]] as const) {
    for (const [i, der] of chain.entries()) {
      const cert = emptyCertificate();
      cert.der = Buffer.from(der).toString('base64');
      cert.ts = s.ts;
      // As Zeek's x509.log: host_cert marks the end-host certificate, the first of its chain.
      cert.host_cert = i === 0;
      cert.client_cert = client;
      items.push({ kind: 'certificate', pos: s.index, cert: completeCertificate(cert), raw: { uid: obs.uid, first_packet: s.index } });
    }
  }
  return items;
}

export async function* readCapture(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SourceItem, CaptureSummary> {
  const events = tlsSessions(chunks);
  for (;;) {
    const next = await events.next();
    if (next.done) {
      // Undecodable packets are counted, not stored one by one: a snaplen of 96 makes every
      // packet of a capture one.
      for (const [reason, n] of Object.entries(next.value.undecodable)) {
        yield { kind: 'reject', reject: { position: next.value.packets, reason: `${n} packet(s) not decoded: ${reason}`, excerpt: '' } };
      }
      return next.value;
    }
    const e = next.value;
    if (e.kind === 'issue') {
      yield { kind: 'reject', reject: { position: e.packet, reason: `packet ${e.packet}: ${e.issue.reason}`, excerpt: '' } };
    } else yield* sessionItems(e.session);
  }
}

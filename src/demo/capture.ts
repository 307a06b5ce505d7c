/**
 * The network as a packet capture, pcap or pcapng: every session a whole TCP connection
 * (src/net/writer.ts frames it) carrying the handshake tls.ts builds. Connections are written
 * one after another in start order, each whole, as a capture filtered per flow would hold them.
 */
import { pcapHeader, pcapngHeader, pcapngRecord, pcapRecord, tcpConnection } from '../net/writer.js';
import { MSS, PACKET_GAP_MS, sessionExchanges, type Network, type Traffic } from './sessions.js';

export type CaptureFormat = 'pcap' | 'pcapng';

/** The capture in pieces: the file header, then one buffer per session (all its packets). */
export function* captureChunks(net: Traffic, format: CaptureFormat = 'pcap'): Generator<Buffer> {
  yield format === 'pcap' ? pcapHeader() : pcapngHeader();
  const record = format === 'pcap' ? pcapRecord : (ts: number, frame: Uint8Array) => pcapngRecord(ts, frame);
  for (const { facts: f, exchange } of sessionExchanges(net)) {
    const { turns } = exchange;
    const isn: [number, number] = [(f.index * 7919 + 1000) >>> 0, (f.index * 104729 + 5000) >>> 0];
    const packets: Buffer[] = [];
    for (const { ts, frame } of tcpConnection(f.spec.client, f.spec.server, turns, { ts: f.spec.ts, gapMs: PACKET_GAP_MS, mss: MSS, isn })) {
      packets.push(record(ts, frame));
    }
    yield Buffer.concat(packets);
  }
}

export function toPcap(net: Network): Buffer {
  return Buffer.concat([...captureChunks(net, 'pcap')]);
}

export function toPcapng(net: Network): Buffer {
  return Buffer.concat([...captureChunks(net, 'pcapng')]);
}

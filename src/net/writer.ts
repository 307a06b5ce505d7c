/**
 * Writing captures: classic pcap (µs) or pcapng with Ethernet/IPv4/TCP frames, and whole TCP
 * connections synthesised from the bytes each side sends. Used to build benchmark captures,
 * test inputs and the demo's traffic; the bytes inside the TCP streams are whatever the caller
 * gives (real TLS handshakes, application data).
 */
export interface Endpoint {
  ip: string;
  port: number;
}

export interface Turn {
  from: 'client' | 'server';
  bytes: Uint8Array;
}

export const LINKTYPE_ETHERNET = 1;

/** The 24-byte pcap global header (little-endian, µs, Ethernet). */
export function pcapHeader(snaplen = 262144, linkType = LINKTYPE_ETHERNET): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(0xa1b2c3d4, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeUInt32LE(snaplen, 16);
  b.writeUInt32LE(linkType, 20);
  return b;
}

/** One pcap record: header + frame. `ts` is epoch milliseconds. */
export function pcapRecord(ts: number, frame: Uint8Array): Buffer {
  const b = Buffer.alloc(16 + frame.length);
  const sec = Math.floor(ts / 1000);
  b.writeUInt32LE(sec, 0);
  b.writeUInt32LE(Math.round((ts - sec * 1000) * 1000) % 1_000_000, 4);
  b.writeUInt32LE(frame.length, 8);
  b.writeUInt32LE(frame.length, 12);
  b.set(frame, 16);
  return b;
}

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_IDB = 1;
const PCAPNG_EPB = 6;

/**
 * A pcapng file's start (little-endian): a Section Header Block of unknown section length, then
 * one Interface Description Block (`linkType`, if_tsresol 6: µs). Packets follow as
 * pcapngRecord blocks on interface 0.
 */
export function pcapngHeader(snaplen = 262144, linkType = LINKTYPE_ETHERNET): Buffer {
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(PCAPNG_SHB, 0);
  shb.writeUInt32LE(28, 4);
  shb.writeUInt32LE(0x1a2b3c4d, 8);
  shb.writeUInt16LE(1, 12);
  shb.writeUInt16LE(0, 14);
  shb.writeBigInt64LE(-1n, 16);
  shb.writeUInt32LE(28, 24);
  const idb = Buffer.alloc(32);
  idb.writeUInt32LE(PCAPNG_IDB, 0);
  idb.writeUInt32LE(32, 4);
  idb.writeUInt16LE(linkType, 8);
  idb.writeUInt32LE(snaplen, 12);
  // if_tsresol (9), 1 byte, padded to 4; then opt_endofopt.
  idb.writeUInt16LE(9, 16);
  idb.writeUInt16LE(1, 18);
  idb[20] = 6;
  idb.writeUInt32LE(32, 28);
  return Buffer.concat([shb, idb]);
}

/** One Enhanced Packet Block: `ts` is epoch milliseconds, written in the IDB's µs. */
export function pcapngRecord(ts: number, frame: Uint8Array, iface = 0): Buffer {
  const length = 32 + ((frame.length + 3) & ~3);
  const b = Buffer.alloc(length);
  b.writeUInt32LE(PCAPNG_EPB, 0);
  b.writeUInt32LE(length, 4);
  b.writeUInt32LE(iface, 8);
  const us = Math.round(ts * 1000);
  b.writeUInt32LE(Math.floor(us / 2 ** 32), 12);
  b.writeUInt32LE(us % 2 ** 32, 16);
  b.writeUInt32LE(frame.length, 20);
  b.writeUInt32LE(frame.length, 24);
  b.set(frame, 28);
  b.writeUInt32LE(length, length - 4);
  return b;
}

function ipv4Bytes(ip: string): number[] {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`not an IPv4 address: ${ip}`);
  return parts;
}

function checksum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) % 2 === 1) sum += b[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet II + IPv4 + TCP frame with valid IP and TCP checksums. */
export function tcpFrame(src: Endpoint, dst: Endpoint, seq: number, ack: number, flags: number, payload: Uint8Array = new Uint8Array(), ipId = 0): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20 + payload.length);
  f.set([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa, 0x08, 0x00], 0);
  const ip = 14;
  const total = 40 + payload.length;
  f.set([0x45, 0, total >> 8, total & 0xff, (ipId >> 8) & 0xff, ipId & 0xff, 0x40, 0, 64, 6, 0, 0], ip);
  f.set(ipv4Bytes(src.ip), ip + 12);
  f.set(ipv4Bytes(dst.ip), ip + 16);
  const c = checksum(f, ip, ip + 20);
  f[ip + 10] = c >> 8;
  f[ip + 11] = c & 0xff;
  const t = ip + 20;
  const v = new DataView(f.buffer, f.byteOffset);
  v.setUint16(t, src.port);
  v.setUint16(t + 2, dst.port);
  v.setUint32(t + 4, seq >>> 0);
  v.setUint32(t + 8, ack >>> 0);
  f[t + 12] = 5 << 4;
  f[t + 13] = flags;
  v.setUint16(t + 14, 65535);
  f.set(payload, t + 20);
  // Pseudo-header: addresses, protocol, TCP length.
  let pseudo = 6 + 20 + payload.length;
  for (let i = 12; i < 20; i += 2) pseudo += (f[ip + i]! << 8) | f[ip + i + 1]!;
  const tc = checksum(f, t, f.length, pseudo);
  f[t + 16] = tc >> 8;
  f[t + 17] = tc & 0xff;
  return f;
}

const SYN = 2;
const ACK = 16;
const PSH = 8;
const FIN = 1;

/**
 * The frames of one TCP connection: three-way handshake, each turn cut into `mss`-sized
 * segments, FIN both ways. Each frame comes with its time, `gapMs` after the previous one.
 */
export function* tcpConnection(
  client: Endpoint,
  server: Endpoint,
  turns: Turn[],
  options: { ts: number; gapMs?: number; mss?: number; isn?: [number, number] } = { ts: 0 },
): Generator<{ ts: number; frame: Uint8Array }> {
  const gap = options.gapMs ?? 0.05;
  const mss = options.mss ?? 1448;
  let ts = options.ts;
  let [cseq, sseq] = options.isn ?? [1000, 5000];
  let id = 1;
  const next = () => (ts += gap);
  yield { ts, frame: tcpFrame(client, server, cseq, 0, SYN, undefined, id++) };
  cseq++;
  yield { ts: next(), frame: tcpFrame(server, client, sseq, cseq, SYN | ACK, undefined, id++) };
  sseq++;
  yield { ts: next(), frame: tcpFrame(client, server, cseq, sseq, ACK, undefined, id++) };
  for (const turn of turns) {
    const fromClient = turn.from === 'client';
    for (let off = 0; off < turn.bytes.length; off += mss) {
      const seg = turn.bytes.subarray(off, Math.min(off + mss, turn.bytes.length));
      if (fromClient) {
        yield { ts: next(), frame: tcpFrame(client, server, cseq, sseq, ACK | PSH, seg, id++) };
        cseq += seg.length;
      } else {
        yield { ts: next(), frame: tcpFrame(server, client, sseq, cseq, ACK | PSH, seg, id++) };
        sseq += seg.length;
      }
    }
  }
  yield { ts: next(), frame: tcpFrame(client, server, cseq, sseq, FIN | ACK, undefined, id++) };
  cseq++;
  yield { ts: next(), frame: tcpFrame(server, client, sseq, cseq, FIN | ACK, undefined, id++) };
  sseq++;
  yield { ts: next(), frame: tcpFrame(client, server, cseq, sseq, ACK, undefined, id++) };
}

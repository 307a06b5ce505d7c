/**
 * Link layer → IP → TCP: what a TLS reassembler needs from each captured packet.
 *
 * - Link types: Ethernet (stacked 802.1Q/802.1ad tags, MPLS labels, PPPoE sessions), Linux
 *   cooked captures v1 and v2, BSD loopback (NULL and LOOP, family in either byte order) and raw
 *   IP. Anything else is 'other' with its link type in the reason.
 * - IPv4 and IPv6 (extension headers walked); fragments of TCP datagrams are reassembled (first
 *   copy of an overlapped byte wins), bounded in bytes and in capture time.
 * - A TCP segment whose bytes were cut by the snaplen is an 'error', never a short segment: a
 *   stream reassembler would take the missing bytes for the end of the data.
 * - Hostile input: every length is checked against the captured bytes, loops are bounded, and a
 *   last-resort catch turns any slip into an 'error'. Checksums are not verified: captures taken
 *   on the sending host carry unfinished checksums (offloading).
 */
import type { RawPacket } from './capture.js';

export interface TcpSegment {
  /** IPv4 dotted quad; IPv6 RFC 5952 text (lowercase, longest zero run as ::, e.g. 2400:cb00:2048:1::6813:c266); IPv4-mapped as ::ffff:1.2.3.4. */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** uint32 */
  seq: number;
  /** uint32 */
  ack: number;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128). */
  flags: number;
  /** May be a view: consumers copy what they keep. */
  payload: Uint8Array;
  /** The packet's ts. */
  ts: number;
  /** The packet's index. */
  index: number;
  ipVersion: 4 | 6;
  /** VLAN ids outermost first, [] if none. */
  vlan: number[];
  /**
   * The connection's key, the same in both directions: addresses and ports as 16-bit code
   * units, lower endpoint first. Built from the raw bytes, it spares the flow table a string
   * concatenation per packet (bench/pcap.ts). Compare with `flowKeyOf` for hand-made segments.
   */
  flowKey?: string;
}

/** The key of a connection from address text and ports, for segments without `flowKey`. */
export function flowKeyOf(s: Pick<TcpSegment, 'src' | 'dst' | 'srcPort' | 'dstPort'>): string {
  const aFirst = s.src < s.dst || (s.src === s.dst && s.srcPort <= s.dstPort);
  return aFirst ? `${s.src} ${s.srcPort} ${s.dst} ${s.dstPort}` : `${s.dst} ${s.dstPort} ${s.src} ${s.srcPort}`;
}

export type Decoded =
  | { kind: 'tcp'; segment: TcpSegment }
  /** Valid but not TCP (UDP, ARP, ICMP...): not an error. */
  | { kind: 'other'; reason: string }
  /** An IP fragment kept for reassembly. */
  | { kind: 'pending' }
  /** Malformed or truncated (snaplen): counted by the caller. */
  | { kind: 'error'; reason: string };

export interface PacketDecoderOptions {
  /** Payload bytes held across all datagrams awaiting fragments; default 16 MiB. */
  maxFragmentBytes?: number;
  /** A datagram still incomplete this long (capture time) after its first fragment is dropped; default 30 s. */
  fragmentTimeoutMs?: number;
}

/** `fragmentsPending` and `fragmentsDropped` count fragments (packets), not datagrams. */
export interface DecoderStats {
  packets: number;
  tcp: number;
  other: number;
  errors: number;
  fragmentsPending: number;
  fragmentsDropped: number;
}

const TCP = 6;
const LINK_NULL = 0;
const LINK_ETHERNET = 1;
const LINK_RAW_BSD = 12;
const LINK_RAW_OPENBSD = 14;
const LINK_RAW = 101;
const LINK_LOOP = 108;
const LINK_SLL = 113;
const LINK_IPV4 = 228;
const LINK_IPV6 = 229;
const LINK_SLL2 = 276;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_MPLS = 0x8847;
const ETH_MPLS_MULTICAST = 0x8848;
const ETH_PPPOE_SESSION = 0x8864;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

const MAX_VLAN_TAGS = 8;
const MAX_MPLS_LABELS = 16;
const MAX_EXTENSION_HEADERS = 16;
/** Fragments one datagram may take; a 64 KiB datagram over a 576-byte MTU needs ~120. */
const MAX_FRAGMENTS_PER_DATAGRAM = 1024;
/** Bookkeeping charged per held piece on top of its bytes, so tiny fragments cannot dodge the cap. */
const PIECE_OVERHEAD = 64;

const TRUNCATED = 'truncated by snaplen';
const EMPTY = new Uint8Array(0);

const PROTOCOL_NAMES: Record<number, string> = {
  1: 'ICMP',
  2: 'IGMP',
  4: 'IPv4-in-IP',
  17: 'UDP',
  41: 'IPv6-in-IP',
  47: 'GRE',
  50: 'ESP',
  51: 'AH',
  58: 'ICMPv6',
  89: 'OSPF',
  103: 'PIM',
  112: 'VRRP',
  132: 'SCTP',
};

const ETHERTYPE_NAMES: Record<number, string> = {
  0x0806: 'ARP',
  0x8035: 'RARP',
  0x88cc: 'LLDP',
  0x888e: 'EAPOL',
  0x8863: 'PPPoE discovery',
  0x88e5: 'MACsec',
  0x8906: 'FCoE',
  0x88f7: 'PTP',
};

/** IPv6 headers after which a fragment can still hold TCP: worth reassembling. */
function mayCarryTcp(nextHeader: number): boolean {
  return nextHeader === TCP || nextHeader === 0 || nextHeader === 43 || nextHeader === 60 || nextHeader === 51;
}

interface Piece {
  start: number;
  end: number;
  data: Uint8Array;
}

interface Datagram {
  key: string;
  /** Capture time of the first fragment, for the timeout. */
  ts: number;
  fragments: number;
  /** Bytes charged against maxFragmentBytes. */
  charged: number;
  /** Length of the whole payload, -1 until the last fragment is seen. */
  total: number;
  /** Held bytes, sorted by start, never overlapping. */
  pieces: Piece[];
  /** IPv6: the header the reassembled payload starts with. IPv4: the protocol. */
  nextHeader: number;
}

export class PacketDecoder {
  readonly stats: DecoderStats = { packets: 0, tcp: 0, other: 0, errors: 0, fragmentsPending: 0, fragmentsDropped: 0 };
  private readonly maxFragmentBytes: number;
  private readonly fragmentTimeoutMs: number;
  /** Datagrams awaiting fragments, oldest first (Map keeps insertion order). */
  private readonly datagrams = new Map<string, Datagram>();
  private fragmentBytes = 0;
  /** Capture time after which the oldest pending datagram times out. */
  private expireAt = Infinity;
  // The packet being decoded: set once per decode instead of threaded through every call.
  private packet: RawPacket | null = null;
  private vlan: number[] | null = null;
  /** The IP datagram extends past the captured bytes (snaplen). */
  private cut = false;
  private addrBuf: Uint8Array = EMPTY;
  private addrOff = 0;
  private ipVersion: 4 | 6 = 4;
  /** Set with a completed datagram: the IPv6 header its payload starts with. */
  private completedNextHeader = 0;

  constructor(options: PacketDecoderOptions = {}) {
    this.maxFragmentBytes = options.maxFragmentBytes ?? 16 * 1024 * 1024;
    this.fragmentTimeoutMs = options.fragmentTimeoutMs ?? 30_000;
  }

  decode(packet: RawPacket): Decoded {
    const stats = this.stats;
    stats.packets++;
    if (packet.ts > this.expireAt) this.expire(packet.ts);
    let result: Decoded;
    try {
      this.packet = packet;
      this.vlan = null;
      this.cut = false;
      result = this.link(packet);
    } catch (err) {
      result = { kind: 'error', reason: `internal error: ${err instanceof Error ? err.message : String(err)}` };
    }
    // Hold no reference to the caller's buffers between packets.
    this.packet = null;
    this.addrBuf = EMPTY;
    if (result.kind === 'tcp') stats.tcp++;
    else if (result.kind === 'other') stats.other++;
    else if (result.kind === 'error') stats.errors++;
    return result;
  }

  // ---- link layer ----------------------------------------------------------------------------

  private link(packet: RawPacket): Decoded {
    const b = packet.data;
    const n = b.length;
    switch (packet.linkType) {
      case LINK_ETHERNET:
        if (n < 14) return this.short('Ethernet header');
        return this.etherType(b, 14, n, u16(b, 12));
      case LINK_SLL:
        if (n < 16) return this.short('Linux cooked header');
        return this.etherType(b, 16, n, u16(b, 14));
      case LINK_SLL2:
        if (n < 20) return this.short('Linux cooked v2 header');
        return this.etherType(b, 20, n, u16(b, 0));
      case LINK_NULL:
      case LINK_LOOP: {
        if (n < 4) return this.short('loopback header');
        // NULL writes the family in the capturing host's byte order, LOOP in network order.
        let family = u32le(b, 0);
        if (family > 0xffff) family = u32(b, 0);
        if (family === 2) return this.ipv4(b, 4, n);
        if (family === 24 || family === 28 || family === 30) return this.ipv6(b, 4, n);
        return other(`loopback address family ${family}`);
      }
      case LINK_RAW:
      case LINK_RAW_BSD:
      case LINK_RAW_OPENBSD:
        return this.ipByVersion(b, 0, n);
      case LINK_IPV4:
        return this.ipv4(b, 0, n);
      case LINK_IPV6:
        return this.ipv6(b, 0, n);
      default:
        return other(`link type ${packet.linkType} not decoded`);
    }
  }

  private etherType(b: Uint8Array, off: number, end: number, type: number): Decoded {
    for (let tags = 0; type === 0x8100 || type === 0x88a8 || type === 0x9100 || type === 0x9200; tags++) {
      if (tags === MAX_VLAN_TAGS) return error(`more than ${MAX_VLAN_TAGS} VLAN tags`);
      if (off + 4 > end) return this.short('VLAN tag');
      (this.vlan ??= []).push(u16(b, off) & 0x0fff);
      type = u16(b, off + 2);
      off += 4;
    }
    if (type === ETH_IPV4) return this.ipv4(b, off, end);
    if (type === ETH_IPV6) return this.ipv6(b, off, end);
    if (type === ETH_MPLS || type === ETH_MPLS_MULTICAST) return this.mpls(b, off, end);
    if (type === ETH_PPPOE_SESSION) return this.pppoe(b, off, end);
    if (type < 0x0600) return other('802.3 frame (LLC)');
    return other(ETHERTYPE_NAMES[type] ?? `EtherType 0x${type.toString(16).padStart(4, '0')}`);
  }

  private mpls(b: Uint8Array, off: number, end: number): Decoded {
    for (let labels = 0; ; labels++) {
      if (labels === MAX_MPLS_LABELS) return error(`more than ${MAX_MPLS_LABELS} MPLS labels`);
      if (off + 4 > end) return this.short('MPLS label');
      const bottom = b[off + 2]! & 1;
      off += 4;
      if (bottom) break;
    }
    // MPLS does not say what it carries; IP is told by its version nibble (pseudowires are not).
    if (off >= end) return this.short('MPLS payload');
    const version = b[off]! >> 4;
    if (version === 4 || version === 6) return this.ipByVersion(b, off, end);
    return other('MPLS payload other than IP');
  }

  private pppoe(b: Uint8Array, off: number, end: number): Decoded {
    if (off + 8 > end) return this.short('PPPoE header');
    if (b[off] !== 0x11 || b[off + 1] !== 0) return other('PPPoE session frame of an unknown version or code');
    // The PPPoE length counts the PPP protocol field and the payload; the rest is padding.
    const limit = off + 6 + u16(b, off + 4);
    const protocol = u16(b, off + 6);
    const payloadEnd = Math.min(end, limit);
    if (protocol === PPP_IPV4) return this.ipv4(b, off + 8, payloadEnd);
    if (protocol === PPP_IPV6) return this.ipv6(b, off + 8, payloadEnd);
    return other(`PPP protocol 0x${protocol.toString(16).padStart(4, '0')}`);
  }

  private ipByVersion(b: Uint8Array, off: number, end: number): Decoded {
    if (off >= end) return this.short('IP header');
    const version = b[off]! >> 4;
    if (version === 4) return this.ipv4(b, off, end);
    if (version === 6) return this.ipv6(b, off, end);
    return error(`IP version ${version}`);
  }

  // ---- IP ------------------------------------------------------------------------------------

  private ipv4(b: Uint8Array, off: number, end: number): Decoded {
    const avail = end - off;
    if (avail < 20) return this.short('IPv4 header');
    const version = b[off]! >> 4;
    if (version !== 4) return error(`IP version ${version} where IPv4 was announced`);
    const ihl = (b[off]! & 0x0f) * 4;
    if (ihl < 20) return error(`IPv4 header length ${ihl} under 20`);
    if (ihl > avail) return this.short('IPv4 options');
    let total = u16(b, off + 2);
    // Captures taken on a host sending with TCP segmentation offload show total length 0.
    if (total === 0) total = avail;
    if (total < ihl) return error(`IPv4 total length ${total} under the header length ${ihl}`);
    const protocol = b[off + 9]!;
    if (total > avail) {
      if (!this.truncated()) return error(`IPv4 total length ${total} over the ${avail} bytes captured`);
      if (protocol !== TCP) return other(protocolName(protocol));
      return error(TRUNCATED);
    }
    const fragment = u16(b, off + 6);
    const more = (fragment & 0x2000) !== 0;
    const fragOffset = (fragment & 0x1fff) * 8;
    if (protocol !== TCP) return other(more || fragOffset > 0 ? `${protocolName(protocol)} fragment` : protocolName(protocol));
    this.ipVersion = 4;
    this.addrBuf = b;
    this.addrOff = off + 12;
    if (!more && fragOffset === 0) return this.tcp(b, off + ihl, off + total);
    const src = ipv4Text(b, off + 12);
    const dst = ipv4Text(b, off + 16);
    const key = `4 ${src} ${dst} ${protocol} ${u16(b, off + 4)}`;
    const whole = this.fragment(key, fragOffset, more, b.subarray(off + ihl, off + total), TCP);
    if (whole === null) return { kind: 'pending' };
    if (typeof whole === 'string') return error(whole);
    // The completing fragment's header holds the same addresses (they are part of the key).
    return this.tcp(whole, 0, whole.length);
  }

  private ipv6(b: Uint8Array, off: number, end: number): Decoded {
    const avail = end - off;
    if (avail < 40) return this.short('IPv6 header');
    const version = b[off]! >> 4;
    if (version !== 6) return error(`IP version ${version} where IPv6 was announced`);
    const payloadLength = u16(b, off + 4);
    const nextHeader = b[off + 6]!;
    // A zero payload length with a hop-by-hop header is a jumbogram (RFC 2675).
    if (payloadLength === 0 && nextHeader === 0) return other('IPv6 jumbogram');
    let ipEnd = off + 40 + payloadLength;
    if (ipEnd > end) {
      if (!this.truncated()) return error(`IPv6 payload length ${payloadLength} over the ${avail - 40} bytes captured`);
      // Walk what was captured: the datagram may not be TCP, and then the cut does not matter.
      this.cut = true;
      ipEnd = end;
    }
    this.ipVersion = 6;
    this.addrBuf = b;
    this.addrOff = off + 8;
    return this.ipv6Headers(b, off + 40, ipEnd, nextHeader, true);
  }

  private ipv6Headers(b: Uint8Array, p: number, end: number, nextHeader: number, outer: boolean): Decoded {
    for (let headers = 0; headers < MAX_EXTENSION_HEADERS; headers++) {
      switch (nextHeader) {
        case TCP:
          return this.tcp(b, p, end);
        case 0: // hop-by-hop options
        case 43: // routing
        case 60: // destination options
        case 51: {
          if (p + 8 > end) return this.short('IPv6 extension header');
          // AH counts 4-byte units minus 2; the others 8-byte units minus 1.
          const length = nextHeader === 51 ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
          if (p + length > end) return this.short('IPv6 extension header');
          nextHeader = b[p]!;
          p += length;
          break;
        }
        case 44: {
          if (p + 8 > end) return this.short('IPv6 fragment header');
          const field = u16(b, p + 2);
          const fragOffset = field & 0xfff8;
          const more = (field & 1) !== 0;
          const inner = b[p]!;
          const id = u32(b, p + 4);
          p += 8;
          // An atomic fragment (RFC 6946) is a whole datagram.
          if (fragOffset === 0 && !more) {
            nextHeader = inner;
            break;
          }
          if (!outer) return error('IPv6 fragment header inside a reassembled datagram');
          if (!mayCarryTcp(inner)) return other(`${protocolName(inner)} fragment`);
          if (this.cut) return error(TRUNCATED);
          const key = `6 ${ipv6Text(this.addrBuf, this.addrOff)} ${ipv6Text(this.addrBuf, this.addrOff + 16)} ${id}`;
          const whole = this.fragment(key, fragOffset, more, b.subarray(p, end), inner);
          if (whole === null) return { kind: 'pending' };
          if (typeof whole === 'string') return error(whole);
          return this.ipv6Headers(whole, 0, whole.length, this.completedNextHeader, false);
        }
        case 59:
          return other('IPv6 with no next header');
        default:
          return other(protocolName(nextHeader));
      }
    }
    return error(`more than ${MAX_EXTENSION_HEADERS} IPv6 extension headers`);
  }

  // ---- TCP -----------------------------------------------------------------------------------

  private tcp(b: Uint8Array, p: number, end: number): Decoded {
    if (p + 20 > end) return this.short('TCP header');
    const dataOffset = (b[p + 12]! >> 4) * 4;
    if (dataOffset < 20) return error(`TCP data offset ${dataOffset} under 20`);
    if (p + dataOffset > end) return this.short('TCP options');
    if (this.cut) return error(TRUNCATED);
    const packet = this.packet!;
    const v4 = this.ipVersion === 4;
    const a = this.addrBuf;
    const o = this.addrOff;
    const srcPort = u16(b, p);
    const dstPort = u16(b, p + 2);
    const segment: TcpSegment = {
      src: v4 ? ipv4Text(a, o) : ipv6Text(a, o),
      dst: v4 ? ipv4Text(a, o + 4) : ipv6Text(a, o + 16),
      srcPort,
      dstPort,
      flowKey: rawFlowKey(a, o, v4 ? 4 : 16, srcPort, dstPort),
      seq: u32(b, p + 4),
      ack: u32(b, p + 8),
      flags: b[p + 13]!,
      payload: b.subarray(p + dataOffset, end),
      ts: packet.ts,
      index: packet.index,
      ipVersion: this.ipVersion,
      vlan: this.vlan ?? [],
    };
    return { kind: 'tcp', segment };
  }

  // ---- fragments -----------------------------------------------------------------------------

  /**
   * Holds one fragment's payload. Returns the whole payload once complete, null while pending,
   * or a reason when the fragment is refused.
   */
  private fragment(key: string, start: number, more: boolean, data: Uint8Array, nextHeader: number): Uint8Array | string | null {
    const end = start + data.length;
    if (end > 65535) return `IP fragment ends at byte ${end}, past 65535`;
    const ts = this.packet!.ts;
    let d = this.datagrams.get(key);
    if (d === undefined) {
      d = { key, ts, fragments: 0, charged: 0, total: -1, pieces: [], nextHeader };
      this.datagrams.set(key, d);
      if (this.datagrams.size === 1) this.expireAt = ts + this.fragmentTimeoutMs;
    }
    if (start === 0) d.nextHeader = nextHeader;
    if (!more && d.total < 0) d.total = end;
    d.fragments++;
    this.stats.fragmentsPending++;
    const added = addPiece(d, start, data);
    d.charged += added;
    this.fragmentBytes += added;
    if (d.fragments > MAX_FRAGMENTS_PER_DATAGRAM) {
      this.drop(d);
      return `IP datagram in more than ${MAX_FRAGMENTS_PER_DATAGRAM} fragments dropped`;
    }
    const whole = assemble(d);
    if (whole !== null) {
      this.completedNextHeader = d.nextHeader;
      this.release(d);
      return whole;
    }
    if (this.fragmentBytes > this.maxFragmentBytes) {
      for (const old of this.datagrams.values()) {
        if (this.fragmentBytes <= this.maxFragmentBytes) break;
        if (old !== d) this.drop(old);
      }
      if (this.fragmentBytes > this.maxFragmentBytes) {
        this.drop(d);
        return 'IP fragment dropped: reassembly memory limit reached';
      }
    }
    return null;
  }

  private expire(ts: number): void {
    const limit = ts - this.fragmentTimeoutMs;
    for (const d of this.datagrams.values()) {
      if (d.ts >= limit) break;
      this.drop(d);
    }
    const oldest = this.datagrams.values().next();
    this.expireAt = oldest.done ? Infinity : oldest.value.ts + this.fragmentTimeoutMs;
  }

  private drop(d: Datagram): void {
    this.stats.fragmentsDropped += d.fragments;
    this.release(d);
  }

  private release(d: Datagram): void {
    this.datagrams.delete(d.key);
    this.stats.fragmentsPending -= d.fragments;
    this.fragmentBytes -= d.charged;
    if (this.datagrams.size === 0) this.expireAt = Infinity;
  }

  // ---- helpers -------------------------------------------------------------------------------

  private truncated(): boolean {
    const packet = this.packet!;
    return packet.data.length < packet.origLen;
  }

  /** A header runs past the captured bytes: the snaplen's doing, or a malformed packet. */
  private short(what: string): Decoded {
    return error(this.truncated() ? TRUNCATED : `${what} truncated`);
  }
}

/** Copies the bytes of [start, start+len) not held yet (the first copy wins); returns bytes charged. */
function addPiece(d: Datagram, start: number, data: Uint8Array): number {
  const end = start + data.length;
  const pieces = d.pieces;
  let charged = 0;
  let at = start;
  let i = 0;
  while (i < pieces.length && pieces[i]!.end <= at) i++;
  while (at < end) {
    const next = pieces[i];
    const gapEnd = next === undefined ? end : Math.min(end, next.start);
    if (gapEnd > at) {
      pieces.splice(i, 0, { start: at, end: gapEnd, data: data.slice(at - start, gapEnd - start) });
      charged += gapEnd - at + PIECE_OVERHEAD;
      i++;
    }
    if (next === undefined) break;
    at = Math.max(at, next.end);
    i++;
  }
  return charged;
}

function assemble(d: Datagram): Uint8Array | null {
  if (d.total < 0) return null;
  let at = 0;
  for (const piece of d.pieces) {
    if (piece.start > at) return null;
    at = piece.end;
    if (at >= d.total) break;
  }
  if (at < d.total) return null;
  const whole = new Uint8Array(d.total);
  for (const piece of d.pieces) {
    if (piece.start >= d.total) break;
    whole.set(piece.end > d.total ? piece.data.subarray(0, d.total - piece.start) : piece.data, piece.start);
  }
  return whole;
}

function other(reason: string): Decoded {
  return { kind: 'other', reason };
}

function error(reason: string): Decoded {
  return { kind: 'error', reason };
}

function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? `IP protocol ${protocol}`;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * Dotted-quad text, from a bounded cache: a capture talks to few addresses over and over, and a
 * new string per packet and address was a visible share of garbage collection (bench/pcap.ts).
 */
const V4_TEXT = new Map<number, string>();
const V4_TEXT_MAX = 1 << 16;

export function ipv4Text(b: Uint8Array, o: number): string {
  const n = u32(b, o);
  let t = V4_TEXT.get(n);
  if (t === undefined) {
    if (V4_TEXT.size >= V4_TEXT_MAX) V4_TEXT.clear();
    t = `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
    V4_TEXT.set(n, t);
  }
  return t;
}

/** See TcpSegment.flowKey: src address at o, dst at o + len; lower (address, port) first. */
function rawFlowKey(b: Uint8Array, o: number, len: number, srcPort: number, dstPort: number): string {
  let cmp = 0;
  for (let i = 0; i < len && cmp === 0; i++) cmp = b[o + i]! - b[o + len + i]!;
  if (cmp === 0) cmp = srcPort - dstPort;
  const first = cmp <= 0 ? o : o + len;
  const second = cmp <= 0 ? o + len : o;
  const units: number[] = [];
  for (let i = 0; i < len; i += 2) units.push((b[first + i]! << 8) | b[first + i + 1]!);
  units.push(cmp <= 0 ? srcPort : dstPort);
  for (let i = 0; i < len; i += 2) units.push((b[second + i]! << 8) | b[second + i + 1]!);
  units.push(cmp <= 0 ? dstPort : srcPort);
  return String.fromCharCode.apply(null, units);
}

/** RFC 5952: lowercase, no leading zeros, the longest run (first if tied) of two or more zero groups as "::". */
export function ipv6Text(b: Uint8Array, o: number): string {
  if (u32(b, o) === 0 && u32(b, o + 4) === 0 && u16(b, o + 8) === 0 && u16(b, o + 10) === 0xffff) {
    return `::ffff:${ipv4Text(b, o + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (u16(b, o + 2 * i) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && u16(b, o + 2 * j) === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLen - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += u16(b, o + 2 * i).toString(16);
  }
  return text;
}

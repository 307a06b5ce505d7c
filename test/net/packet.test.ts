import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { readCapture, type RawPacket } from '../../src/net/capture.js';
import { ipv6Text, PacketDecoder, type Decoded, type TcpSegment } from '../../src/net/packet.js';
import { prng as mulberry32 } from '../helpers/bytes.js';
import { globSync } from 'tinyglobby';

const FIXTURES = '/work/shared/fixtures/pcap';
const SKIP_REAL = existsSync(FIXTURES) ? false : `${FIXTURES} is absent (a checkout without ../shared)`;

// ---- builders --------------------------------------------------------------------------------

const cat = (...parts: Array<Uint8Array | number[]>): Uint8Array => Uint8Array.from(Buffer.concat(parts.map((p) => Uint8Array.from(p))));
const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const le32 = (v: number) => be32(v).reverse();

/** Full-form IPv6 text (8 groups) to bytes. */
function v6(text: string): number[] {
  const groups = text.split(':');
  assert.equal(groups.length, 8);
  return groups.flatMap((g) => be16(parseInt(g, 16)));
}

const SRC4 = [192, 0, 2, 1];
const DST4 = [198, 51, 100, 7];
const SRC6 = v6('2001:0db8:0000:0000:0000:0000:0000:0001');
const DST6 = v6('2400:cb00:2048:0001:0000:0000:6813:c266');

function tcp(payload: Uint8Array, opts: { options?: number[]; flags?: number } = {}): Uint8Array {
  const options = opts.options ?? [];
  assert.equal(options.length % 4, 0);
  const header = [
    ...be16(51234), ...be16(443), ...be32(0xfedcba98), ...be32(0x01020304),
    ((20 + options.length) / 4) << 4, opts.flags ?? 0x18, ...be16(65535), 0, 0, 0, 0, ...options,
  ];
  return cat(header, payload);
}

function ipv4(payload: Uint8Array, opts: { proto?: number; id?: number; more?: boolean; offset?: number; options?: number[]; totalLen?: number } = {}): Uint8Array {
  const options = opts.options ?? [];
  const ihl = 20 + options.length;
  const frag = (opts.more ? 0x2000 : 0) | ((opts.offset ?? 0) / 8);
  return cat(
    [0x40 | (ihl / 4), 0, ...be16(opts.totalLen ?? ihl + payload.length), ...be16(opts.id ?? 0x1234), ...be16(frag), 64, opts.proto ?? 6, 0, 0, ...SRC4, ...DST4, ...options],
    payload,
  );
}

function ipv6(nextHeader: number, payload: Uint8Array, opts: { payloadLength?: number; src?: number[]; dst?: number[] } = {}): Uint8Array {
  return cat([0x60, 0, 0, 0, ...be16(opts.payloadLength ?? payload.length), nextHeader, 64, ...(opts.src ?? SRC6), ...(opts.dst ?? DST6)], payload);
}

/** An IPv6 extension header in 8-byte units (hop-by-hop, routing, destination options). */
function ext(next: number, body: number[]): number[] {
  const len = 2 + body.length;
  assert.equal(len % 8, 0);
  return [next, len / 8 - 1, ...body];
}

function ethernet(type: number, payload: Uint8Array, tags: Array<[number, number]> = []): Uint8Array {
  const macs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  return cat(macs, ...tags.map(([tpid, id]) => [...be16(tpid), ...be16(0x2000 | id)]), be16(type), payload);
}

function raw(linkType: number, data: Uint8Array, origLen = data.length, index = 1, ts = 1000): RawPacket {
  return { index, ts, linkType, data, origLen, interfaceId: 0, offset: 0 };
}

const PAYLOAD = Uint8Array.from({ length: 100 }, (_, i) => (i * 7 + 3) & 0xff);

function segmentOf(r: Decoded): TcpSegment {
  assert.equal(r.kind, 'tcp', JSON.stringify(r));
  return (r as { segment: TcpSegment }).segment;
}

/** Fields that do not depend on which packet carried the segment. */
function essence(s: TcpSegment): unknown {
  const { ts: _ts, index: _index, payload, ...rest } = s;
  return { ...rest, payload: Buffer.from(payload).toString('hex') };
}


// ---- tests -----------------------------------------------------------------------------------

describe('PacketDecoder: link layers', () => {
  const v4tcp = ipv4(tcp(PAYLOAD));
  const v6tcp = ipv6(6, tcp(PAYLOAD));

  it('decodes Ethernet + IPv4 + TCP, every field', () => {
    const d = new PacketDecoder();
    const s = segmentOf(d.decode(raw(1, ethernet(0x0800, v4tcp), undefined, 42, 1700000000123.5)));
    assert.deepEqual(s, {
      src: '192.0.2.1',
      dst: '198.51.100.7',
      srcPort: 51234,
      dstPort: 443,
      seq: 0xfedcba98,
      ack: 0x01020304,
      flags: 0x18,
      payload: s.payload,
      ts: 1700000000123.5,
      index: 42,
      ipVersion: 4,
      vlan: [],
      // Lower endpoint first (192.0.2.1 < 198.51.100.7), as 16-bit units: address, port, address, port.
      flowKey: String.fromCharCode(0xc000, 0x0201, 51234, 0xc633, 0x6407, 443),
    });
    assert.deepEqual(Buffer.from(s.payload), Buffer.from(PAYLOAD));
    assert.deepEqual(d.stats, { packets: 1, tcp: 1, other: 0, errors: 0, fragmentsPending: 0, fragmentsDropped: 0 });
  });

  it('skips TCP and IPv4 options, and trims Ethernet padding by the IP total length', () => {
    const small = ipv4(tcp(Uint8Array.of(1, 2, 3), { options: [2, 4, 5, 0xb4, 1, 1, 4, 2] }), { options: [1, 1, 1, 0] });
    const padded = cat(ethernet(0x0800, small), new Array(8).fill(0xee));
    const s = segmentOf(new PacketDecoder().decode(raw(1, padded)));
    assert.deepEqual([...s.payload], [1, 2, 3]);
  });

  it('collects stacked VLAN tags outermost first: 802.1Q, QinQ (0x88a8, 0x9100)', () => {
    const d = new PacketDecoder();
    assert.deepEqual(segmentOf(d.decode(raw(1, ethernet(0x0800, v4tcp, [[0x8100, 100]])))).vlan, [100]);
    const qinq = segmentOf(d.decode(raw(1, ethernet(0x86dd, v6tcp, [[0x88a8, 7], [0x8100, 4094]]))));
    assert.deepEqual(qinq.vlan, [7, 4094]);
    assert.equal(qinq.ipVersion, 6);
    assert.deepEqual(segmentOf(d.decode(raw(1, ethernet(0x0800, v4tcp, [[0x9100, 1], [0x9100, 2], [0x8100, 3]])))).vlan, [1, 2, 3]);
    assert.deepEqual(essence(segmentOf(d.decode(raw(1, ethernet(0x0800, v4tcp, [[0x8100, 5]]))))), {
      ...(essence(segmentOf(d.decode(raw(1, ethernet(0x0800, v4tcp))))) as object),
      vlan: [5],
    });
  });

  it('skips MPLS labels and PPPoE session headers', () => {
    const d = new PacketDecoder();
    const labels = [...be32((1000 << 12) | 64), ...be32((2000 << 12) | 0x100 | 64)]; // bottom of stack on the second
    assert.equal(segmentOf(d.decode(raw(1, ethernet(0x8847, cat(labels, v4tcp))))).dstPort, 443);
    assert.equal(segmentOf(d.decode(raw(1, ethernet(0x8847, cat(labels, v6tcp))))).ipVersion, 6);
    const pppoe = (proto: number, body: Uint8Array) => cat([0x11, 0, ...be16(0x1234), ...be16(body.length + 2), ...be16(proto)], body);
    assert.equal(segmentOf(d.decode(raw(1, ethernet(0x8864, pppoe(0x0021, v4tcp))))).src, '192.0.2.1');
    assert.equal(segmentOf(d.decode(raw(1, ethernet(0x8864, pppoe(0x0057, v6tcp))))).src, '2001:db8::1');
    assert.deepEqual(d.decode(raw(1, ethernet(0x8864, pppoe(0xc021, Uint8Array.of(1, 2, 3, 4))))), { kind: 'other', reason: 'PPP protocol 0xc021' });
  });

  it('decodes Linux cooked captures, v1 (113) and v2 (276)', () => {
    const d = new PacketDecoder();
    const sll = (proto: number, body: Uint8Array) => cat([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, ...be16(proto)], body);
    const sll2 = (proto: number, body: Uint8Array) => cat([...be16(proto), 0, 0, ...be32(2), 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0], body);
    assert.equal(segmentOf(d.decode(raw(113, sll(0x0800, v4tcp)))).dst, '198.51.100.7');
    assert.equal(segmentOf(d.decode(raw(113, sll(0x86dd, v6tcp)))).dst, '2400:cb00:2048:1::6813:c266');
    assert.equal(segmentOf(d.decode(raw(276, sll2(0x0800, v4tcp)))).dst, '198.51.100.7');
    assert.equal(segmentOf(d.decode(raw(276, sll2(0x86dd, v6tcp)))).dst, '2400:cb00:2048:1::6813:c266');
    assert.deepEqual(segmentOf(d.decode(raw(113, sll(0x8100, cat([0, 9, 8, 0], v4tcp))))).vlan, [9]);
    assert.deepEqual(d.decode(raw(113, sll(0x0806, new Uint8Array(28)))), { kind: 'other', reason: 'ARP' });
  });

  it('decodes BSD loopback (NULL in either byte order, LOOP) and raw IP link types', () => {
    const d = new PacketDecoder();
    assert.equal(segmentOf(d.decode(raw(0, cat(le32(2), v4tcp)))).ipVersion, 4);
    assert.equal(segmentOf(d.decode(raw(0, cat(be32(2), v4tcp)))).ipVersion, 4);
    for (const family of [24, 28, 30]) {
      assert.equal(segmentOf(d.decode(raw(0, cat(le32(family), v6tcp)))).ipVersion, 6);
      assert.equal(segmentOf(d.decode(raw(108, cat(be32(family), v6tcp)))).ipVersion, 6);
    }
    assert.deepEqual(d.decode(raw(0, cat(le32(7), v4tcp))), { kind: 'other', reason: 'loopback address family 7' });
    for (const lt of [101, 12, 14]) {
      assert.equal(segmentOf(d.decode(raw(lt, v4tcp))).ipVersion, 4);
      assert.equal(segmentOf(d.decode(raw(lt, v6tcp))).ipVersion, 6);
    }
    assert.equal(segmentOf(d.decode(raw(228, v4tcp))).ipVersion, 4);
    assert.equal(segmentOf(d.decode(raw(229, v6tcp))).ipVersion, 6);
    assert.equal(d.decode(raw(228, v6tcp)).kind, 'error');
  });

  it('says what a valid non-TCP packet is, and which link types it does not decode', () => {
    const d = new PacketDecoder();
    assert.deepEqual(d.decode(raw(1, ethernet(0x0800, ipv4(new Uint8Array(12), { proto: 17 })))), { kind: 'other', reason: 'UDP' });
    assert.deepEqual(d.decode(raw(1, ethernet(0x86dd, ipv6(58, new Uint8Array(8))))), { kind: 'other', reason: 'ICMPv6' });
    assert.deepEqual(d.decode(raw(1, ethernet(0x0806, new Uint8Array(28)))), { kind: 'other', reason: 'ARP' });
    assert.deepEqual(d.decode(raw(1, ethernet(0x0026, new Uint8Array(38)))), { kind: 'other', reason: '802.3 frame (LLC)' });
    assert.deepEqual(d.decode(raw(1, ethernet(0x1234, new Uint8Array(38)))), { kind: 'other', reason: 'EtherType 0x1234' });
    assert.deepEqual(d.decode(raw(105, new Uint8Array(40))), { kind: 'other', reason: 'link type 105 not decoded' });
    assert.deepEqual(d.decode(raw(229, ipv6(59, new Uint8Array(0)))), { kind: 'other', reason: 'IPv6 with no next header' });
    assert.deepEqual(d.decode(raw(229, ipv6(0, new Uint8Array(0), { payloadLength: 0 }))), { kind: 'other', reason: 'IPv6 jumbogram' });
    assert.deepEqual(d.stats, { packets: 8, tcp: 0, other: 8, errors: 0, fragmentsPending: 0, fragmentsDropped: 0 });
  });
});

describe('PacketDecoder: IPv6 extension headers and addresses', () => {
  it('walks hop-by-hop, routing, destination options and AH before TCP', () => {
    const d = new PacketDecoder();
    const t = tcp(PAYLOAD);
    const plain = essence(segmentOf(d.decode(raw(229, ipv6(6, t)))));
    const hbh = ext(60, [5, 2, 0, 0, 1, 0]); // router alert + PadN
    const dst = ext(6, [1, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]); // PadN, Pad1s: 16 bytes
    assert.deepEqual(essence(segmentOf(d.decode(raw(229, ipv6(0, cat(hbh, dst, t)))))), plain);
    const routing = ext(51, [0, 0, 0, 0, 0, 0]);
    const ah = [6, 4, 0, 0, ...be32(0x100), ...be32(1), ...new Array(12).fill(0xaa)]; // (4+2)*4 = 24 bytes
    assert.deepEqual(essence(segmentOf(d.decode(raw(229, ipv6(43, cat(routing, ah, t)))))), plain);
    assert.equal(d.decode(raw(229, ipv6(0, cat(hbh.slice(0, 4))))).kind, 'error');
  });

  it('formats addresses as RFC 5952 says', () => {
    const cases: Array<[string, string]> = [
      ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
      ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // tie: the first run
      ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1'], // one zero group stays
      ['2001:0000:0000:0001:0000:0000:0000:0001', '2001:0:0:1::1'], // the longest run
      ['0000:0000:0000:0000:0000:ffff:0102:0304', '::ffff:1.2.3.4'],
      ['FE80:0000:0000:0000:0000:0000:0000:0000', 'fe80::'],
      ['2400:cb00:2048:0001:0000:0000:6813:c266', '2400:cb00:2048:1::6813:c266'],
      ['0001:0000:0000:0000:0000:0000:0000:0000', '1::'],
      ['abcd:0000:ef01:0000:2345:0000:6789:0000', 'abcd:0:ef01:0:2345:0:6789:0'],
    ];
    for (const [full, text] of cases) assert.equal(ipv6Text(Uint8Array.from(v6(full)), 0), text, full);
    const d = new PacketDecoder();
    const s = segmentOf(d.decode(raw(229, ipv6(6, tcp(PAYLOAD), { src: v6('0:0:0:0:0:ffff:0102:0304'), dst: v6('0:0:0:0:0:0:0:1') }))));
    assert.equal(s.src, '::ffff:1.2.3.4');
    assert.equal(s.dst, '::1');
  });
});

describe('PacketDecoder: fragments', () => {
  const whole = tcp(Uint8Array.from({ length: 1200 }, (_, i) => (i * 13) & 0xff));
  const v4frag = (start: number, end: number, more: boolean, opts: { id?: number; ts?: number; junk?: boolean } = {}) => {
    const part = Uint8Array.from(whole.subarray(start, end));
    if (opts.junk) part.fill(0x99, start === 0 ? 20 : 0); // junk after the TCP header
    return raw(1, ethernet(0x0800, ipv4(part, { id: opts.id ?? 77, offset: start, more })), undefined, 9, opts.ts ?? 5000);
  };

  it('reassembles IPv4 fragments out of order and overlapping into the unfragmented segment', () => {
    const d = new PacketDecoder();
    const expected = essence(segmentOf(d.decode(raw(1, ethernet(0x0800, ipv4(whole))))));
    assert.deepEqual(d.decode(v4frag(400, 880, true)), { kind: 'pending' });
    assert.deepEqual(d.decode(v4frag(800, whole.length, false)), { kind: 'pending' }); // overlaps the middle's tail
    assert.equal(d.stats.fragmentsPending, 2);
    const s = segmentOf(d.decode(v4frag(0, 480, true))); // overlaps the middle's head
    assert.deepEqual(essence(s), expected);
    assert.equal(s.index, 9);
    assert.deepEqual(d.stats, { packets: 4, tcp: 2, other: 0, errors: 0, fragmentsPending: 0, fragmentsDropped: 0 });
  });

  it('keeps the first copy of overlapping bytes', () => {
    const d = new PacketDecoder();
    d.decode(v4frag(400, 880, true));
    d.decode(v4frag(800, whole.length, false));
    const s = segmentOf(d.decode(v4frag(0, 480, true, { junk: true })));
    const payload = whole.subarray(20); // the TCP header is 20 bytes
    assert.equal(s.payload.length, payload.length);
    assert.deepEqual(Buffer.from(s.payload.subarray(400 - 20)), Buffer.from(payload.subarray(400 - 20)), 'held bytes win');
    assert.ok(s.payload.subarray(0, 400 - 20).every((x) => x === 0x99), 'the late copy fills only the gap');
  });

  it('reassembles IPv6 fragments, with a destination options header before the fragment header', () => {
    const d = new PacketDecoder();
    const expected = essence(segmentOf(d.decode(raw(229, ipv6(6, whole)))));
    const frag = (start: number, end: number, more: boolean) => {
      const header = [6, 0, ...be16(start | (more ? 1 : 0)), ...be32(0xabcdef01)];
      return raw(229, ipv6(60, cat(ext(44, [1, 4, 0, 0, 0, 0]), header, whole.subarray(start, end))));
    };
    assert.deepEqual(d.decode(frag(600, whole.length, false)), { kind: 'pending' });
    assert.deepEqual(essence(segmentOf(d.decode(frag(0, 600, true)))), expected);
    // An atomic fragment (offset 0, no more) is a whole datagram.
    assert.deepEqual(essence(segmentOf(d.decode(frag(0, whole.length, false)))), expected);
    // Fragments of other protocols are not held.
    const udp = raw(229, ipv6(44, cat([17, 0, 0, 1, 0, 0, 0, 5], new Uint8Array(16))));
    assert.deepEqual(d.decode(udp), { kind: 'other', reason: 'UDP fragment' });
    assert.deepEqual(d.decode(raw(228, ipv4(new Uint8Array(16), { proto: 17, more: true }))), { kind: 'other', reason: 'UDP fragment' });
    assert.equal(d.stats.fragmentsPending, 0);
  });

  it('drops the oldest pending datagrams past the memory cap, and counts them', () => {
    // Each head holds 800 bytes plus 64 of bookkeeping; the cap takes two heads and a tail.
    const d = new PacketDecoder({ maxFragmentBytes: 2300 });
    assert.deepEqual(d.decode(v4frag(0, 800, true, { id: 1 })), { kind: 'pending' });
    assert.deepEqual(d.decode(v4frag(0, 800, true, { id: 2 })), { kind: 'pending' });
    assert.deepEqual(d.decode(v4frag(0, 800, true, { id: 3 })), { kind: 'pending' });
    assert.equal(d.stats.fragmentsPending, 2);
    assert.equal(d.stats.fragmentsDropped, 1);
    assert.deepEqual(d.decode(v4frag(800, whole.length, false, { id: 1 })), { kind: 'pending' }, 'datagram 1 was dropped');
    assert.equal(d.decode(v4frag(800, whole.length, false, { id: 2 })).kind, 'tcp');
    assert.deepEqual(d.stats, { packets: 5, tcp: 1, other: 0, errors: 0, fragmentsPending: 2, fragmentsDropped: 1 });
    // One datagram bigger than the whole cap is refused outright.
    const tiny = new PacketDecoder({ maxFragmentBytes: 500 });
    assert.deepEqual(tiny.decode(v4frag(0, 800, true)), { kind: 'error', reason: 'IP fragment dropped: reassembly memory limit reached' });
    assert.deepEqual(tiny.stats, { packets: 1, tcp: 0, other: 0, errors: 1, fragmentsPending: 0, fragmentsDropped: 1 });
  });

  it('drops datagrams still incomplete after the timeout, by capture time', () => {
    const d = new PacketDecoder({ fragmentTimeoutMs: 30_000 });
    assert.deepEqual(d.decode(v4frag(0, 800, true, { ts: 1000 })), { kind: 'pending' });
    d.decode(raw(1, ethernet(0x0800, ipv4(whole)), undefined, 2, 31_000)); // not yet
    assert.equal(d.stats.fragmentsPending, 1);
    d.decode(raw(1, ethernet(0x0800, ipv4(whole)), undefined, 3, 31_001));
    assert.equal(d.stats.fragmentsPending, 0);
    assert.equal(d.stats.fragmentsDropped, 1);
    assert.deepEqual(d.decode(v4frag(800, whole.length, false, { ts: 31_002 })), { kind: 'pending' });
  });

  it('survives a flood of random fragments within its bounds', () => {
    const rand = mulberry32(7);
    const d = new PacketDecoder({ maxFragmentBytes: 64 * 1024 });
    const started = Date.now();
    for (let i = 0; i < 20_000; i++) {
      const start = Math.floor(rand() * 8000) * 8;
      const len = 8 * (1 + Math.floor(rand() * 20));
      const r = d.decode(raw(228, ipv4(new Uint8Array(len), { id: Math.floor(rand() * 50), offset: start, more: rand() < 0.9 }), undefined, i, i));
      assert.ok(r.kind === 'pending' || r.kind === 'tcp' || r.kind === 'error', r.kind);
      if (r.kind === 'error') assert.doesNotMatch(r.reason, /internal/);
    }
    assert.ok(d.stats.fragmentsPending <= (64 * 1024) / 64, `${d.stats.fragmentsPending} pending`);
    assert.ok(d.stats.fragmentsDropped > 0, 'some dropped');
    assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
  });
});

describe('PacketDecoder: truncated and hostile packets', () => {
  const frame4 = ethernet(0x0800, ipv4(tcp(PAYLOAD)));
  const frame6 = ethernet(0x86dd, ipv6(0, cat(ext(6, [1, 4, 0, 0, 0, 0]), tcp(PAYLOAD))));

  it('returns an error, never a short segment, when the snaplen cut the TCP payload', () => {
    const d = new PacketDecoder();
    for (const frame of [frame4, frame6]) {
      for (let cut = 0; cut < frame.length; cut++) {
        const r = d.decode(raw(1, frame.subarray(0, cut), frame.length));
        assert.deepEqual(r, { kind: 'error', reason: 'truncated by snaplen' }, `cut ${cut}`);
      }
      assert.equal(d.decode(raw(1, frame, frame.length)).kind, 'tcp');
    }
    const udp = ethernet(0x0800, ipv4(new Uint8Array(200), { proto: 17 }));
    assert.deepEqual(d.decode(raw(1, udp.subarray(0, 64), udp.length)), { kind: 'other', reason: 'UDP' }, 'a cut matters only for TCP');
  });

  it('tells a malformed length from a snaplen cut', () => {
    const d = new PacketDecoder();
    const cut = frame4.subarray(0, 100);
    assert.deepEqual(d.decode(raw(1, cut)), { kind: 'error', reason: 'IPv4 total length 140 over the 86 bytes captured' });
    assert.deepEqual(d.decode(raw(1, ethernet(0x0800, ipv4(tcp(PAYLOAD), { totalLen: 10 })))), { kind: 'error', reason: 'IPv4 total length 10 under the header length 20' });
    const badOffset = Uint8Array.from(frame4);
    badOffset[14 + 20 + 12] = 0x40;
    assert.deepEqual(d.decode(raw(1, badOffset)), { kind: 'error', reason: 'TCP data offset 16 under 20' });
    assert.deepEqual(d.decode(raw(1, frame6.subarray(0, 70))), { kind: 'error', reason: 'IPv6 payload length 128 over the 16 bytes captured' });
    assert.equal(d.stats.errors, 4);
  });

  it('never throws on random bytes or mutated packets, whatever the link type', () => {
    const rand = mulberry32(99);
    const d = new PacketDecoder({ maxFragmentBytes: 1 << 20 });
    const linkTypes = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276];
    const seeds = [frame4, frame6, ethernet(0x8847, cat(be32(0x100), ipv4(tcp(PAYLOAD)))), ethernet(0x0800, ipv4(tcp(PAYLOAD), { more: true }), [[0x8100, 3]])];
    const kinds = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      let data: Uint8Array;
      let linkType: number;
      if (i % 2 === 0) {
        data = Uint8Array.from({ length: Math.floor(rand() * 120) }, () => Math.floor(rand() * 256));
        if (data.length > 20 && rand() < 0.5) data[14] = rand() < 0.5 ? 0x45 : 0x60; // reach the IP parsers
        linkType = linkTypes[Math.floor(rand() * linkTypes.length)]!;
      } else {
        data = Uint8Array.from(seeds[Math.floor(rand() * seeds.length)]!);
        for (let k = 0; k < 3; k++) data[Math.floor(rand() * data.length)] = Math.floor(rand() * 256);
        linkType = 1;
      }
      const r = d.decode(raw(linkType, data, rand() < 0.5 ? data.length : data.length + 10, i, i));
      kinds.add(r.kind);
      if (r.kind === 'error') assert.doesNotMatch(r.reason, /internal/);
      if (r.kind === 'tcp') assert.ok(r.segment.payload.length < 65536, `packet ${i}`);
    }
    assert.deepEqual([...kinds].sort(), ['error', 'other', 'pending', 'tcp']);
  });
});

describe('PacketDecoder: real captures', () => {
  const findPcaps = (dir: string): string[] => globSync('**/*.pcap', { cwd: dir, absolute: true }).sort();

  async function decodeFile(path: string): Promise<{ results: Decoded[]; decoder: PacketDecoder }> {
    const decoder = new PacketDecoder();
    const results: Decoded[] = [];
    async function* once() {
      yield readFileSync(path);
    }
    for await (const item of readCapture(once())) {
      assert.equal(item.kind, 'packet', path);
      if (item.kind === 'packet') results.push(decoder.decode(item.packet));
    }
    return { results, decoder };
  }

  it('decodes every packet of every fixture pcap without an error', async (t) => {
    if (SKIP_REAL) return t.skip(SKIP_REAL);
    const files = findPcaps(FIXTURES);
    assert.ok(files.length >= 20, `${files.length} fixture pcaps`);
    let tcpCount = 0;
    for (const f of files) {
      const { results, decoder } = await decodeFile(f);
      const errors = results.filter((r) => r.kind === 'error');
      assert.deepEqual(errors, [], f);
      assert.equal(decoder.stats.errors, 0);
      // These traces hold nothing but the TLS (and STARTTLS) connections.
      assert.equal(decoder.stats.tcp, results.length, f);
      tcpCount += decoder.stats.tcp;
    }
    assert.equal(tcpCount, 889);
  });

  it("finds each Arkime session's endpoints in its first TCP packet (IPv4 and IPv6, Ethernet and NULL)", async (t) => {
    if (SKIP_REAL) return t.skip(SKIP_REAL);
    const dir = join(FIXTURES, 'arkime');
    const names = readdirSync(dir).filter((n) => n.endsWith('.test'));
    assert.ok(names.includes('openssl-tls1_2.test') && names.includes('tls13.test') && names.includes('ssl-selfsign.test'), names.join(' '));
    for (const name of names) {
      const expected = JSON.parse(readFileSync(join(dir, name), 'utf8')) as {
        sessions3: Array<{ body: { source: { ip: string; port: number }; destination: { ip: string; port: number } } }>;
      };
      const session = expected.sessions3[0]!.body;
      const { results } = await decodeFile(join(dir, name.replace(/\.test$/, '.pcap')));
      const first = results.find((r) => r.kind === 'tcp');
      const s = segmentOf(first!);
      assert.deepEqual(
        { src: s.src, srcPort: s.srcPort, dst: s.dst, dstPort: s.dstPort },
        { src: session.source.ip, srcPort: session.source.port, dst: session.destination.ip, dstPort: session.destination.port },
        name,
      );
      assert.equal(s.flags & 0x12, 0x02, `${name}: the first packet is the SYN`);
    }
  });
});

test('the flow key is the same in both directions and differs between connections', async () => {
  const { tcpFrame } = await import('../../src/net/writer.js');
  const d = new PacketDecoder();
  const key = (src: { ip: string; port: number }, dst: { ip: string; port: number }) => {
    const r = d.decode({ index: 1, ts: 0, linkType: 1, data: tcpFrame(src, dst, 1, 1, 0x18, Uint8Array.of(1)), origLen: 0, interfaceId: 0, offset: 0 });
    assert.equal(r.kind, 'tcp', 'decodes');
    return (r as { segment: TcpSegment }).segment.flowKey;
  };
  const a = { ip: '10.0.0.1', port: 50000 };
  const b = { ip: '10.0.0.2', port: 443 };
  assert.equal(key(a, b), key(b, a));
  assert.notEqual(key(a, b), key({ ...a, port: 50001 }, b));
  // Same address on both ends: the port decides the order.
  assert.equal(key({ ip: '10.0.0.1', port: 1 }, { ip: '10.0.0.1', port: 2 }), key({ ip: '10.0.0.1', port: 2 }, { ip: '10.0.0.1', port: 1 }));
});

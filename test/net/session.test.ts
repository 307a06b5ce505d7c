/**
 * The TCP and session layers (src/net/tcp.ts, src/net/session.ts) under what real networks and
 * captures do to a connection: reordering, retransmissions, overlaps, losses, missing SYNs,
 * STARTTLS-style upgrades, port reuse, floods of flows, and corrupt captures.
 *
 * Every capture here carries the bytes of a real TLS 1.2 handshake, taken from
 * ../shared/fixtures/pcap/arkime/openssl-tls1_2.pcap and rewritten into new connections with
 * src/net/writer.ts. The expected session is what tlsSessions reads from the original capture,
 * which fixtures.test.ts holds against Arkime's own output.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { readCapture } from '../../src/net/capture.js';
import { PacketDecoder, type TcpSegment } from '../../src/net/packet.js';
import { tlsSessions, type CaptureSummary, type TlsSession } from '../../src/net/session.js';
import { ACK, FIN, SYN, TcpReassembler, type Flow, type StreamConsumer, type TcpOptions } from '../../src/net/tcp.js';
import { TlsConnection } from '../../src/net/tls.js';
import { pcapHeader, pcapRecord, tcpConnection, tcpFrame, type Endpoint, type Turn } from '../../src/net/writer.js';
import { ascii, cat, prng } from '../helpers/bytes.js';
import { globSync } from 'tinyglobby';

const ROOT = new URL('../../../shared/fixtures/pcap/', import.meta.url).pathname;
const HAVE = existsSync(ROOT);
const skip = !HAVE && 'needs ../shared/fixtures/pcap';

const PSH = 8;
/** 2014-10-15, the fixture's own day. */
const T0 = 1413337896000;
const CLIENT: Endpoint = { ip: '10.1.0.1', port: 50123 };
const SERVER: Endpoint = { ip: '10.2.0.2', port: 443 };

// ---- bytes and randomness ----------------------------------------------------------------------


const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');


function randomBytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

/** Capture-side reordering: each frame lands fewer than `window` places from where it was sent. */
function shuffleWithin<T>(items: T[], window: number, seed: number): T[] {
  const r = prng(seed);
  return items.map((item, i) => ({ item, key: i + r() * window })).sort((a, b) => a.key - b.key).map((x) => x.item);
}

// ---- frames and captures -----------------------------------------------------------------------

/** What a frame built by tcpFrame carries (fixed layout: Ethernet, 20-byte IPv4, 20-byte TCP). */
function frameInfo(f: Uint8Array): { srcPort: number; seq: number; flags: number; payload: Uint8Array } {
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  return { srcPort: v.getUint16(34), seq: v.getUint32(38), flags: f[47]!, payload: f.subarray(54) };
}

const framesOf = (client: Endpoint, server: Endpoint, turns: Turn[], options: { mss?: number; isn?: [number, number]; ts?: number } = {}): Uint8Array[] =>
  [...tcpConnection(client, server, turns, { ts: options.ts ?? T0, ...options })].map((f) => f.frame);

/** A capture of frames in the given order, timestamps rising in that order (as a capture records arrival). */
function capture(frames: Iterable<Uint8Array>, start = T0, stepMs = 0.05): Buffer {
  const parts: Buffer[] = [pcapHeader()];
  let ts = start;
  for (const f of frames) {
    parts.push(pcapRecord(ts, f));
    ts += stepMs;
  }
  return Buffer.concat(parts);
}

async function* chunksOf(b: Uint8Array, size = 65536): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, Math.min(b.length, i + size));
}

interface Run {
  sessions: TlsSession[];
  issues: string[];
  summary: CaptureSummary;
}

async function run(input: Uint8Array | AsyncIterable<Uint8Array>, options?: TcpOptions, onSession?: (s: TlsSession) => void): Promise<Run> {
  const events = tlsSessions(input instanceof Uint8Array ? chunksOf(input) : input, options);
  const out: Run = { sessions: [], issues: [], summary: undefined as unknown as CaptureSummary };
  for (;;) {
    const next = await events.next();
    if (next.done) {
      out.summary = next.value;
      return out;
    }
    const e = next.value;
    if (e.kind === 'issue') out.issues.push(e.issue.reason);
    else if (onSession) onSession(e.session);
    else out.sessions.push(e.session);
  }
}

// ---- the reference handshake -------------------------------------------------------------------

/** What a session says about the TLS connection (not where or when it was). */
function fingerprint(s: TlsSession) {
  return {
    serverName: s.serverName, version: s.version, cipher: s.cipher, alpn: s.alpn, ja3: s.ja3, ja3s: s.ja3s, ja4: s.ja4,
    established: s.established, chain: s.serverCertificates.map(sha256), clientChain: s.clientCertificates.map(sha256), problems: s.problems,
  };
}
type Fingerprint = ReturnType<typeof fingerprint>;

interface Reference {
  turns: Turn[];
  /** Each direction's whole stream. */
  up: Uint8Array;
  down: Uint8Array;
  expected: Fingerprint;
}

let reference: Promise<Reference> | undefined;
const ref = (): Promise<Reference> => (reference ??= loadReference());

async function loadReference(): Promise<Reference> {
  const file = join(ROOT, 'arkime/openssl-tls1_2.pcap');
  const bytes = readFileSync(file);
  const decoder = new PacketDecoder();
  const turns: Turn[] = [];
  let client = '';
  const next = new Map<string, number>();
  for await (const item of readCapture(chunksOf(bytes))) {
    if (item.kind !== 'packet') continue;
    const d = decoder.decode(item.packet);
    if (d.kind !== 'tcp') continue;
    const s = d.segment;
    const from = `${s.src} ${s.srcPort}`;
    if (s.flags & SYN && !(s.flags & ACK)) client = from;
    if (s.payload.length === 0) continue;
    // The capture is clean: every payload continues its direction exactly.
    const want = next.get(from);
    assert.ok(want === undefined || want === s.seq, `fixture: segment at ${s.seq} does not continue ${from} at ${want}`);
    next.set(from, (s.seq + s.payload.length) >>> 0);
    const side = from === client ? 'client' : 'server';
    const last = turns.at(-1);
    if (last?.from === side) last.bytes = cat(last.bytes, s.payload);
    else turns.push({ from: side, bytes: s.payload.slice() });
  }
  const { sessions, issues } = await run(bytes);
  assert.deepEqual(issues, [], 'fixture: capture issues');
  assert.equal(sessions.length, 1, 'fixture: one session');
  const expected = fingerprint(sessions[0]!);
  // The handshake is whole: a three-certificate chain, fingerprints, established.
  assert.equal(expected.chain.length, 3, 'fixture: chain length');
  assert.ok(expected.ja3 && expected.ja4 && expected.ja3s && expected.established, 'fixture: fingerprints and established');
  const side = (from: Turn['from']) => cat(...turns.filter((t) => t.from === from).map((t) => t.bytes));
  return { turns, up: side('client'), down: side('server'), expected };
}

/** The one session of a run is the reference one, between these endpoints. */
function assertReference(r: Run, expected: Fingerprint, what: string, client = CLIENT, server = SERVER, end = 'done'): TlsSession {
  assert.deepEqual(r.issues, [], `${what}: capture issues`);
  assert.equal(r.sessions.length, 1, `${what}: ${r.sessions.length} sessions`);
  const s = r.sessions[0]!;
  assert.deepEqual(fingerprint(s), expected, `${what}: session`);
  assert.deepEqual([s.client, s.server], [client, server], `${what}: endpoints`);
  assert.equal(s.end, end, `${what}: end`);
  return s;
}

// ---- the reassembler on its own ----------------------------------------------------------------

/** Same test as session.ts: a record header opening a ClientHello, or an SSLv2 one. */
function looksLikeClientHello(b: Uint8Array): boolean {
  if (b.length >= 6 && b[0] === 0x16 && b[1] === 3 && b[5] === 1) return true;
  return b.length >= 3 && (b[0]! & 0x80) !== 0 && b[2] === 1;
}

/** Keeps every byte it is given: the streams as the reassembler delivered them. */
class Recorder implements StreamConsumer {
  readonly up: Uint8Array[] = [];
  readonly down: Uint8Array[] = [];
  readonly gaps: boolean[] = [];
  done = false;
  data(fromClient: boolean, bytes: Uint8Array): void {
    (fromClient ? this.up : this.down).push(bytes.slice());
  }
  gap(fromClient: boolean): void {
    this.gaps.push(fromClient);
  }
}

function segmentsOf(frames: Iterable<Uint8Array>, start = T0): TcpSegment[] {
  const decoder = new PacketDecoder();
  const out: TcpSegment[] = [];
  let index = 0;
  for (const data of frames) {
    index++;
    const d = decoder.decode({ index, ts: start + index * 0.05, linkType: 1, data, origLen: data.length, interfaceId: 0, offset: 0 });
    assert.equal(d.kind, 'tcp', `frame ${index} decodes`);
    if (d.kind === 'tcp') out.push(d.segment);
  }
  return out;
}

function reassemble(segments: Iterable<TcpSegment>, options?: TcpOptions) {
  const closed: Flow<Recorder>[] = [];
  const tcp = new TcpReassembler<Recorder>(() => new Recorder(), (f) => closed.push(f), looksLikeClientHello, options);
  for (const s of segments) tcp.push(s);
  tcp.end();
  return { tcp, closed };
}

const joined = (parts: Uint8Array[]) => Buffer.from(cat(...parts));

// ---- 1. reordering -----------------------------------------------------------------------------

test('out-of-order delivery: frames shuffled within a window of 8 give the same streams and session', { skip }, async () => {
  const { turns, up, down, expected } = await ref();
  let reordered = 0;
  for (const mss of [1448, 536, 97]) {
    // Every third run with sequence numbers that wrap around 2^32 inside the handshake.
    const plain = framesOf(CLIENT, SERVER, turns, { mss });
    const wrapping = framesOf(CLIENT, SERVER, turns, { mss, isn: [0xffffff80, 0xfffff000] });
    for (let seed = 1; seed <= 60; seed++) {
      const frames = seed % 3 === 0 ? wrapping : plain;
      const shuffled = shuffleWithin(frames, 8, seed * 7919 + mss);
      if (shuffled.some((f, i) => f !== frames[i])) reordered++;
      const what = `mss ${mss} seed ${seed}${seed % 3 === 0 ? ' (wrapping)' : ''}`;
      const { tcp, closed } = reassemble(segmentsOf(shuffled));
      assert.equal(closed.length, 1, `${what}: one flow`);
      const flow = closed[0]!;
      assert.deepEqual([flow.client, flow.server, flow.reason], [CLIENT, SERVER, 'closed'], `${what}: flow`);
      assert.ok(joined(flow.consumer.up).equals(up), `${what}: client stream`);
      assert.ok(joined(flow.consumer.down).equals(down), `${what}: server stream`);
      assert.deepEqual([flow.consumer.gaps, tcp.stats.gaps], [[], 0], `${what}: no gap`);
      assertReference(await run(capture(shuffled)), expected, what);
    }
  }
  assert.ok(reordered >= 170, `only ${reordered} of 180 runs were reordered`);
});

// ---- 2. retransmissions ------------------------------------------------------------------------

test('retransmissions: every data frame twice, some again later: same session, retransmits counted', { skip }, async () => {
  const { turns, up, down, expected } = await ref();
  for (const mss of [1448, 300]) {
    const frames = framesOf(CLIENT, SERVER, turns, { mss });
    const fins = frames.findIndex((f) => frameInfo(f).flags & FIN);
    const r = prng(mss);
    const out: Uint8Array[] = [];
    let copies = 0;
    frames.forEach((f, i) => {
      out.push(f);
      if (frameInfo(f).payload.length === 0) return;
      out.push(f);
      copies++;
      // A later retransmission of some earlier data frame (a lost ACK, a spurious RTO), before the close.
      if (i % 3 === 0 && i < fins) {
        const earlier = frames.slice(0, i + 1).filter((g) => frameInfo(g).payload.length > 0);
        out.push(earlier[(r() * earlier.length) | 0]!);
        copies++;
      }
    });
    const what = `mss ${mss}`;
    const { tcp, closed } = reassemble(segmentsOf(out));
    assert.equal(closed.length, 1, `${what}: one flow`);
    assert.ok(joined(closed[0]!.consumer.up).equals(up) && joined(closed[0]!.consumer.down).equals(down), `${what}: streams`);
    assert.equal(tcp.stats.retransmitted, copies, `${what}: retransmissions counted`);
    assert.equal(tcp.stats.flows, 1, `${what}: flows`);
    assertReference(await run(capture(out)), expected, what);
  }
});

// ---- 3. overlaps -------------------------------------------------------------------------------

/**
 * A connection whose data segments are the given [start, end) ranges of each direction's
 * stream, sent in the given order (a retransmission may repacketise, so ranges can overlap).
 */
function rangedConnection(up: Uint8Array, down: Uint8Array, order: { fromClient: boolean; start: number; end: number }[], isn: [number, number] = [1000, 5000]): Uint8Array[] {
  const [c, s] = isn;
  const frames = [tcpFrame(CLIENT, SERVER, c, 0, SYN), tcpFrame(SERVER, CLIENT, s, c + 1, SYN | ACK), tcpFrame(CLIENT, SERVER, c + 1, s + 1, ACK)];
  for (const { fromClient, start, end } of order) {
    const bytes = (fromClient ? up : down).subarray(start, end);
    frames.push(fromClient ? tcpFrame(CLIENT, SERVER, c + 1 + start, s + 1, ACK | PSH, bytes) : tcpFrame(SERVER, CLIENT, s + 1 + start, c + 1, ACK | PSH, bytes));
  }
  frames.push(tcpFrame(CLIENT, SERVER, c + 1 + up.length, s + 1 + down.length, FIN | ACK));
  frames.push(tcpFrame(SERVER, CLIENT, s + 1 + down.length, c + 2 + up.length, FIN | ACK));
  return frames;
}

/** The turns as ranges of their direction's stream, each cut by `cut`. */
function turnRanges(turns: Turn[], cut: (fromClient: boolean, start: number, end: number) => [number, number][]) {
  const at = { client: 0, server: 0 };
  const out: { fromClient: boolean; start: number; end: number }[] = [];
  for (const t of turns) {
    const start = at[t.from];
    at[t.from] += t.bytes.length;
    for (const [a, b] of cut(t.from === 'client', start, at[t.from])) out.push({ fromClient: t.from === 'client', start: a, end: b });
  }
  return out;
}

test('overlapping segments: re-segmented with overlaps (identical bytes) give the same session', { skip }, async () => {
  const { turns, up, down, expected } = await ref();
  // Segment k covers [k*1000-200, k*1000+1000) of the turn: every segment repeats the last 200
  // bytes of the one before.
  const overlapping = (_: boolean, start: number, end: number): [number, number][] => {
    const out: [number, number][] = [];
    for (let k = 0; start + k * 1000 < end; k++) out.push([Math.max(start, start + k * 1000 - 200), Math.min(end, start + k * 1000 + 1000)]);
    return out;
  };
  const plain = (_: boolean, start: number, end: number): [number, number][] => [[start, end]];
  const variants = {
    'server overlapping': turnRanges(turns, (fromClient, a, b) => (fromClient ? plain(fromClient, a, b) : overlapping(fromClient, a, b))),
    'both overlapping': turnRanges(turns, overlapping),
    // Later segments first: the overlaps meet in the out-of-order queue.
    'server overlapping, reversed': turnRanges(turns, (fromClient, a, b) => (fromClient ? plain(fromClient, a, b) : overlapping(fromClient, a, b).reverse())),
    // A big retransmission covering several earlier segments and reaching past them.
    'repacketised': turnRanges(turns, (fromClient, a, b) => (fromClient || b - a < 3000 ? plain(fromClient, a, b) : [[a, a + 500], [a + 500, a + 1000], [a, a + 2500], [a + 2500, b]])),
  };
  for (const [what, order, isn] of [
    ...Object.entries(variants).map(([w, o]) => [w, o, undefined] as const),
    ['both overlapping, wrapping 2^32', variants['both overlapping'], [0xffffff80, 0xfffff000]] as const,
  ]) {
    const frames = rangedConnection(up, down, order, isn && [...isn]);
    const { tcp, closed } = reassemble(segmentsOf(frames));
    assert.equal(closed.length, 1, `${what}: one flow`);
    assert.ok(joined(closed[0]!.consumer.up).equals(up) && joined(closed[0]!.consumer.down).equals(down), `${what}: streams`);
    assert.equal(tcp.stats.gaps, 0, `${what}: gaps`);
    assertReference(await run(capture(frames)), expected, what);
  }
  // The first copy wins: an overlap carrying different bytes does not change what was delivered.
  const liar = rangedConnection(up, down, [{ fromClient: true, start: 0, end: up.length }]);
  const forged = tcpFrame(CLIENT, SERVER, 1001 + 100, 5001, ACK | PSH, new Uint8Array(100).fill(0xee));
  const { closed } = reassemble(segmentsOf([...liar.slice(0, 4), forged, ...liar.slice(4)]));
  assert.ok(joined(closed[0]!.consumer.up).equals(up), 'first copy wins');
});

// ---- 4. a gap ----------------------------------------------------------------------------------

/** [start, end) of the server's Certificate message in its stream (records walked, handshake messages joined). */
function certificateRange(down: Uint8Array): [number, number] {
  const hs: number[] = [];
  for (let p = 0; p + 5 <= down.length; ) {
    const len = (down[p + 3]! << 8) | down[p + 4]!;
    if (down[p] !== 22) break;
    for (let i = p + 5; i < p + 5 + len; i++) hs.push(i);
    p += 5 + len;
  }
  for (let m = 0; m + 4 <= hs.length; ) {
    const len = (down[hs[m + 1]!]! << 16) | (down[hs[m + 2]!]! << 8) | down[hs[m + 3]!]!;
    if (down[hs[m]!] === 11) return [hs[m]!, hs[m + 3 + len]! + 1];
    m += 4 + len;
  }
  throw new Error('no Certificate message');
}

/** The reference connection with the server segment holding the middle of the chain lost; `lostAt` is its stream offset. */
function lostInCertificate(turns: Turn[], down: Uint8Array, client = CLIENT): { frames: Uint8Array[]; lostAt: number } {
  const [certStart, certEnd] = certificateRange(down);
  assert.ok(certEnd - certStart > 2000, 'the chain spans several segments');
  const frames = framesOf(client, SERVER, turns, { mss: 500 });
  // The server's isn is 5000: stream offset = seq - 5001.
  const mid = (certStart + certEnd) >> 1;
  const lost = frames.findIndex((f) => {
    const i = frameInfo(f);
    const off = i.seq - 5001;
    return i.srcPort === SERVER.port && i.payload.length > 0 && off <= mid && mid < off + i.payload.length;
  });
  const lostAt = frameInfo(frames[lost]!).seq - 5001;
  assert.ok(lostAt > certStart && lostAt + 500 < certEnd, 'the lost segment is inside the Certificate message');
  return { frames: frames.filter((_, i) => i !== lost), lostAt };
}

test('a gap in the Certificate message: the session is still reported, without the broken chain', { skip }, async () => {
  const { turns, up, down, expected } = await ref();
  const { frames: holed, lostAt } = lostInCertificate(turns, down);

  const { tcp, closed } = reassemble(segmentsOf(holed));
  assert.equal(closed.length, 1, 'one flow');
  const flow = closed[0]!;
  assert.ok(joined(flow.consumer.up).equals(up), 'client stream whole');
  assert.ok(joined(flow.consumer.down).equals(Buffer.from(down.subarray(0, lostAt))), 'server stream up to the hole');
  assert.deepEqual(flow.consumer.gaps, [false], 'one gap, server side');
  assert.equal(tcp.stats.gaps, 1, 'gap counted');
  assert.equal(tcp.size, 0, 'nothing left in the table');

  const r = await run(capture(holed));
  assert.equal(r.sessions.length, 1, 'one session');
  const s = r.sessions[0]!;
  const got = fingerprint(s);
  // What the client said is all there; the server's hello came before the hole.
  assert.deepEqual([got.serverName, got.ja3, got.ja4, got.version, got.cipher], [expected.serverName, expected.ja3, expected.ja4, expected.version, expected.cipher], 'hello data');
  assert.deepEqual(got.chain, [], 'no certificate from the broken direction');
  assert.equal(s.established, false, 'not established: the server\'s Finished was never read');
  assert.equal(r.summary.gaps, 1, 'summary: one gap');
  // Both FINs came but the hole did not fill: the flow waited for a retransmission until the
  // capture ended (in a longer capture, the next idle sweep closes it: see the idle test).
  assert.equal(s.end, 'end', 'given up at the end of the capture');
});

// ---- 5. no SYN ---------------------------------------------------------------------------------

test('no SYN: the client is found from the ClientHello, whoever speaks first', { skip }, async () => {
  const { turns, expected } = await ref();
  for (const server of [SERVER, { ip: SERVER.ip, port: 8443 }, { ip: '10.0.0.9', port: 52000 }]) {
    const frames = framesOf(CLIENT, server, turns, { mss: 700 }).slice(3);
    assert.ok(frames.every((f) => !(frameInfo(f).flags & SYN)), 'no SYN left');
    const firstServer = frames.findIndex((f) => frameInfo(f).srcPort === server.port && frameInfo(f).payload.length > 0);
    const serverFirst = [frames[firstServer]!, ...frames.filter((_, i) => i !== firstServer)];
    for (const [what, fs] of [['in order', frames], ['server first', serverFirst]] as const) {
      assertReference(await run(capture(fs)), expected, `port ${server.port}, ${what}`, CLIENT, server);
    }
  }
  // A capture that starts after the handshake: both sides' encrypted close_notify (the client's
  // last 31 bytes, a server's is the same shape), a record header at each segment start. That is
  // no session: nothing says where the connection began.
  const alert = turns.at(-1)!.bytes;
  assert.deepEqual([...alert.subarray(0, 5)], [0x15, 3, 3, 0, 26], 'the fixture ends with an encrypted alert');
  const late = framesOf(CLIENT, SERVER, [{ from: 'server', bytes: alert }, { from: 'client', bytes: alert }]).slice(3);
  const r = await run(capture(late));
  assert.deepEqual([r.sessions.length, r.summary.flows], [0, 1], 'mid-connection: no session');
});

test('TCP Fast Open: a ClientHello carried in the SYN', { skip }, async () => {
  const { turns, expected } = await ref();
  const frames = framesOf(CLIENT, SERVER, turns);
  const hello = turns[0]!.bytes;
  // The SYN carries the ClientHello in place of the data segment that carried it.
  const helloAt = frames.findIndex((f) => frameInfo(f).payload.length > 0);
  const tfo = [tcpFrame(CLIENT, SERVER, 1000, 0, SYN, hello), ...frames.slice(1, helloAt), ...frames.slice(helloAt + 1)];
  assertReference(await run(capture(tfo)), expected, 'TFO');
});

// ---- 9. port reuse -----------------------------------------------------------------------------

test('port reuse: a new SYN on the same four-tuple is a new connection', { skip }, async () => {
  const { turns, expected } = await ref();
  const first = framesOf(CLIENT, SERVER, turns, { isn: [1000, 5000] });
  const second = framesOf(CLIENT, SERVER, turns, { isn: [3_000_000_000, 77] });
  const both = await run(capture([...first, ...second]));
  assert.equal(both.sessions.length, 2, 'two sessions after a clean close');
  for (const s of both.sessions) assert.deepEqual(fingerprint(s), expected, 'each is the reference session');
  assert.ok(both.sessions[0]!.ts < both.sessions[1]!.ts, 'in connection order');
  // The first connection never finished (no answer, no FIN): the SYN still starts a new one.
  const abandoned = first.filter((f) => frameInfo(f).srcPort === CLIENT.port && !(frameInfo(f).flags & FIN)).slice(0, 3);
  const r = await run(capture([...abandoned, ...second]));
  assert.equal(r.sessions.length, 2, 'two sessions after an abandoned one');
  assert.deepEqual([r.sessions[0]!.ja3, r.sessions[0]!.version, r.sessions[0]!.end], [expected.ja3, null, 'closed'], 'the abandoned one: its ClientHello');
  assert.deepEqual(fingerprint(r.sessions[1]!), expected, 'the second: the reference session');
});

// ---- 6. STARTTLS-style upgrades ----------------------------------------------------------------

/** BER TLV with a short-form length (every element here is under 128 bytes). */
function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = cat(...content);
  assert.ok(body.length < 128, 'short-form BER length');
  return cat(Uint8Array.of(tag, body.length), body);
}

const le = (v: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);
/** MySQL packet: 3-byte little-endian length, sequence id, payload. */
const mysqlPacket = (seq: number, payload: Uint8Array): Uint8Array => cat(le(payload.length, 3), Uint8Array.of(seq), payload);
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH = 0x80000;

const STARTTLS_OID = ascii('1.3.6.1.4.1.1466.20037');

/** Plaintext each protocol exchanges before TLS, in order, and its usual port. */
const UPGRADES: Record<string, { port: number; turns: Turn[] }> = {
  smtp: {
    port: 587,
    turns: [
      { from: 'server', bytes: ascii('220 mail.example.com ESMTP Postfix\r\n') },
      { from: 'client', bytes: ascii('EHLO client.example.com\r\n') },
      { from: 'server', bytes: ascii('250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n') },
      { from: 'client', bytes: ascii('STARTTLS\r\n') },
      { from: 'server', bytes: ascii('220 2.0.0 Ready to start TLS\r\n') },
    ],
  },
  imap: {
    port: 143,
    turns: [
      { from: 'server', bytes: ascii('* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.\r\n') },
      { from: 'client', bytes: ascii('a001 STARTTLS\r\n') },
      { from: 'server', bytes: ascii('a001 OK Begin TLS negotiation now\r\n') },
    ],
  },
  pop3: {
    port: 110,
    turns: [
      { from: 'server', bytes: ascii('+OK Dovecot ready.\r\n') },
      { from: 'client', bytes: ascii('STLS\r\n') },
      { from: 'server', bytes: ascii('+OK Begin TLS negotiation\r\n') },
    ],
  },
  ftp: {
    port: 21,
    turns: [
      { from: 'server', bytes: ascii('220 (vsFTPd 3.0.5)\r\n') },
      { from: 'client', bytes: ascii('AUTH TLS\r\n') },
      { from: 'server', bytes: ascii('234 Proceed with negotiation.\r\n') },
    ],
  },
  xmpp: {
    port: 5222,
    turns: [
      { from: 'client', bytes: ascii("<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>") },
      {
        from: 'server',
        bytes: ascii(
          "<?xml version='1.0'?><stream:stream from='example.com' id='c2s_123' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" +
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
        ),
      },
      { from: 'client', bytes: ascii("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") },
      { from: 'server', bytes: ascii("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") },
    ],
  },
  ldap: {
    port: 389,
    turns: [
      // LDAPMessage { messageID 1, ExtendedRequest [APPLICATION 23] { requestName [0] StartTLS OID } } (RFC 4511 §4.14.1).
      { from: 'client', bytes: tlv(0x30, tlv(0x02, Uint8Array.of(1)), tlv(0x77, tlv(0x80, STARTTLS_OID))) },
      // ExtendedResponse [APPLICATION 24] { resultCode success, matchedDN "", diagnosticMessage "", responseName [10] OID }.
      { from: 'server', bytes: tlv(0x30, tlv(0x02, Uint8Array.of(1)), tlv(0x78, tlv(0x0a, Uint8Array.of(0)), tlv(0x04), tlv(0x04), tlv(0x8a, STARTTLS_OID))) },
    ],
  },
  postgresql: {
    port: 5432,
    turns: [
      { from: 'client', bytes: Uint8Array.of(0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f) },
      { from: 'server', bytes: ascii('S') },
    ],
  },
  mysql: {
    port: 3306,
    turns: [
      {
        // Protocol::HandshakeV10 announcing CLIENT_SSL.
        from: 'server',
        bytes: mysqlPacket(
          0,
          cat(
            Uint8Array.of(10), ascii('8.0.36\0'), le(42, 4), ascii('abcdefgh'), Uint8Array.of(0),
            le((CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION | 0x000f) & 0xffff, 2), Uint8Array.of(0xff), le(0x0002, 2),
            le(CLIENT_PLUGIN_AUTH >>> 16, 2), Uint8Array.of(21), new Uint8Array(10), ascii('ijklmnopqrst\0'), ascii('caching_sha2_password\0'),
          ),
        ),
      },
      // Protocol::SSLRequest: capabilities, max packet size, charset, 23 zero bytes; then the ClientHello.
      { from: 'client', bytes: mysqlPacket(1, cat(le(CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | 0x000f, 4), le(1 << 24, 4), Uint8Array.of(0xff), new Uint8Array(23))) },
    ],
  },
  'http-connect': {
    port: 3128,
    turns: [
      { from: 'client', bytes: ascii('CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\nUser-Agent: curl/8.5.0\r\n\r\n') },
      { from: 'server', bytes: ascii('HTTP/1.1 200 Connection established\r\n\r\n') },
    ],
  },
};

test('STARTTLS-style upgrades through the whole stack: the session after the plaintext, upgradedAt where TLS began', { skip }, async () => {
  const { turns, expected } = await ref();
  assert.equal(UPGRADES.ldap!.turns[0]!.bytes.length, 31, 'LDAP StartTLS request is 31 bytes of BER');
  assert.equal(UPGRADES.mysql!.turns[1]!.bytes.length, 36, 'MySQL SSLRequest is a 32-byte packet');
  for (const [name, { port, turns: preamble }] of Object.entries(UPGRADES)) {
    const server = { ip: SERVER.ip, port };
    const clientPlain = preamble.filter((t) => t.from === 'client').reduce((n, t) => n + t.bytes.length, 0);
    for (const mss of [1448, 7]) {
      const what = `${name} (mss ${mss})`;
      const s = assertReference(await run(capture(framesOf(CLIENT, server, [...preamble, ...turns], { mss }))), expected, what, CLIENT, server);
      assert.equal(s.upgradedAt, clientPlain, `${what}: upgradedAt`);
    }
  }
});

// ---- memory and lazily built captures ----------------------------------------------------------

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Live heap after a full collection. */
function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
const MB = 1024 * 1024;

/** A capture built while it is read, in ~1 MB chunks: [ts, frame] records. */
async function* lazyCapture(records: Iterable<[number, Uint8Array]>): AsyncGenerator<Uint8Array> {
  yield pcapHeader();
  let batch: Buffer[] = [];
  let size = 0;
  for (const [ts, frame] of records) {
    const rec = pcapRecord(ts, frame);
    batch.push(rec);
    size += rec.length;
    if (size >= MB) {
      yield Buffer.concat(batch);
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) yield Buffer.concat(batch);
}

/**
 * One connection whose turns are produced lazily (bulk data is never held whole): handshake,
 * turns cut in `mss` segments, FINs. Frames are 0.01 ms apart from `ts`.
 */
function* lazyConnection(client: Endpoint, server: Endpoint, turns: Iterable<Turn>, ts = T0, mss = 1448): Generator<[number, Uint8Array]> {
  let [c, s] = [1000, 5000];
  const t = () => (ts += 0.01);
  yield [t(), tcpFrame(client, server, c++, 0, SYN)];
  yield [t(), tcpFrame(server, client, s++, c, SYN | ACK)];
  yield [t(), tcpFrame(client, server, c, s, ACK)];
  for (const turn of turns) {
    for (let off = 0; off < turn.bytes.length; off += mss) {
      const seg = turn.bytes.subarray(off, Math.min(off + mss, turn.bytes.length));
      if (turn.from === 'client') {
        yield [t(), tcpFrame(client, server, c, s, ACK | PSH, seg)];
        c += seg.length;
      } else {
        yield [t(), tcpFrame(server, client, s, c, ACK | PSH, seg)];
        s += seg.length;
      }
    }
  }
  yield [t(), tcpFrame(client, server, c, s, FIN | ACK)];
  yield [t(), tcpFrame(server, client, s, c + 1, FIN | ACK)];
}

/** `total` bytes from one side in 64 KiB turns of seeded noise, with the heap sampled after `warmup` bytes and at the end. */
function* bulk(from: Turn['from'] | 'both', total: number, seed: number, heap: number[], warmup = 5 * MB): Generator<Turn> {
  const noise = randomBytes(1 << 20, seed);
  for (let sent = 0, k = 0; sent < total; sent += 65536, k++) {
    if (sent === warmup) heap.push(heapUsed());
    const at = (k * 65536 * 7) % (noise.length - 65536);
    yield { from: from === 'both' ? (k % 2 === 0 ? 'client' : 'server') : from, bytes: noise.subarray(at, at + 65536) };
  }
  heap.push(heapUsed());
}

// ---- 7. not TLS --------------------------------------------------------------------------------

/** The consumer session.ts uses, here to watch what the reassembler still hands it. */
class TlsConsumer implements StreamConsumer {
  readonly tls = new TlsConnection();
  calls = 0;
  callsAfterDone = 0;
  data(fromClient: boolean, bytes: Uint8Array): void {
    this.calls++;
    if (this.tls.done) this.callsAfterDone++;
    if (fromClient) this.tls.client(bytes);
    else this.tls.server(bytes);
  }
  gap(fromClient: boolean): void {
    if (fromClient) this.tls.clientGap();
    else this.tls.serverGap();
  }
  get done(): boolean {
    return this.tls.done;
  }
}

test('not TLS: plain HTTP, SSH, random bulk give no session, and 50 MB more costs no memory', { skip }, async (t) => {
  const cases: Record<string, (heap: number[]) => Iterable<Turn>> = {
    http: (heap) => [
      { from: 'client', bytes: ascii('GET /big.iso HTTP/1.1\r\nHost: mirror.example.com\r\nAccept: */*\r\n\r\n') },
      { from: 'server', bytes: ascii('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 52428800\r\n\r\n') },
      ...bulk('server', 50 * MB, 1, heap),
    ],
    ssh: (heap) => [
      { from: 'server', bytes: ascii('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n') },
      { from: 'client', bytes: ascii('SSH-2.0-OpenSSH_9.6\r\n') },
      ...bulk('both', 50 * MB, 2, heap),
    ],
    random: (heap) => bulk('client', 50 * MB, 3, heap),
  };
  for (const [name, turns] of Object.entries(cases)) {
    const heap: number[] = [];
    const server = { ip: SERVER.ip, port: name === 'http' ? 80 : name === 'ssh' ? 22 : 9000 };
    const r = await run(lazyCapture(lazyConnection(CLIENT, server, turns(heap))));
    assert.deepEqual([r.sessions.length, r.summary.tlsSessions, r.summary.flows, r.summary.gaps], [0, 0, 1, 0], `${name}: no session, one flow`);
    assert.equal(heap.length, 2, `${name}: heap sampled`);
    const growth = heap[1]! - heap[0]!;
    t.diagnostic(`${name}: heap ${(growth / MB).toFixed(2)} MB over 45 MB of bulk`);
    assert.ok(growth < 4 * MB, `${name}: heap grew ${(growth / MB).toFixed(1)} MB over 45 MB of bulk`);
  }

  // Random bytes are given up as not TLS after the 64 KiB preamble scan: the flow is done and
  // leaves the table; its other packets are dropped unseen.
  const closed: Flow<TlsConsumer>[] = [];
  const tcp = new TcpReassembler<TlsConsumer>(() => new TlsConsumer(), (f) => closed.push(f), looksLikeClientHello);
  const decoder = new PacketDecoder();
  let index = 0;
  let sizeAfterDone = -1;
  for (const [ts, data] of lazyConnection(CLIENT, { ip: SERVER.ip, port: 9000 }, bulk('client', 8 * MB, 4, []))) {
    const d = decoder.decode({ index: ++index, ts, linkType: 1, data, origLen: data.length, interfaceId: 0, offset: 0 });
    if (d.kind === 'tcp') tcp.push(d.segment);
    if (closed.length === 1 && sizeAfterDone < 0) sizeAfterDone = tcp.size;
  }
  tcp.end();
  assert.equal(closed.length, 1, 'one flow closed');
  const f = closed[0]!;
  assert.deepEqual([f.reason, f.consumer.tls.state.isTls, sizeAfterDone, f.consumer.callsAfterDone], ['done', false, 0, 0], 'done, not TLS, out of the table, nothing delivered after');
  assert.ok(f.consumer.calls <= 64 * 1024 / 1448 + 2, `${f.consumer.calls} deliveries: only the preamble scan`);
});

// ---- 8. bounded memory -------------------------------------------------------------------------

test('bounded memory: 300,000 unfinished flows with maxFlows 10,000 are evicted and still reported', { skip }, async (t) => {
  const { turns } = await ref();
  const hello = turns[0]!.bytes;
  const N = 300_000;
  const heap: number[] = [];
  function* flows(): Generator<[number, Uint8Array]> {
    for (let i = 0; i < N; i++) {
      if (i === 30_000 || i === N - 1) heap.push(heapUsed());
      const client = { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 20000 + (i % 40000) };
      const ts = T0 + i * 0.01;
      yield [ts, tcpFrame(client, SERVER, 1000, 0, SYN)];
      yield [ts + 0.001, tcpFrame(client, SERVER, 1001, 5001, ACK | PSH, hello)];
    }
  }
  const ends = new Map<string, number>();
  const r = await run(lazyCapture(flows()), { maxFlows: 10_000 }, (s) => {
    ends.set(s.end, (ends.get(s.end) ?? 0) + 1);
    assert.ok(s.ja3 !== null && s.version === null, 'a ClientHello, no answer');
  });
  assert.equal(r.summary.flows, N, 'flows');
  assert.equal(r.summary.evicted, N - 10_000, 'evicted');
  assert.deepEqual(Object.fromEntries(ends), { evicted: N - 10_000, end: 10_000 }, 'every flow reported, evicted ones as such');
  const growth = heap[1]! - heap[0]!;
  t.diagnostic(`heap ${(heap[0]! / MB).toFixed(1)} MB at 30,000 flows, ${(heap[1]! / MB).toFixed(1)} MB at 300,000`);
  assert.ok(growth < 16 * MB, `heap grew ${(growth / MB).toFixed(1)} MB from 30,000 to 300,000 flows`);
});

test('bounded memory: finished flows keep nothing but a tombstone', { skip }, async (t) => {
  const { turns, expected } = await ref();
  const N = 12_000;
  const heap: number[] = [];
  function* flows(): Generator<[number, Uint8Array]> {
    for (let i = 0; i < N; i++) {
      if (i === 2_000 || i === N - 1) heap.push(heapUsed());
      const client = { ip: `10.9.${(i >> 8) & 255}.${i & 255}`, port: 30000 + (i % 30000) };
      for (const f of tcpConnection(client, SERVER, turns, { ts: T0 + i })) yield [f.ts, f.frame];
    }
  }
  let n = 0;
  const r = await run(lazyCapture(flows()), {}, (s) => {
    n++;
    if (n % 1000 === 0) assert.deepEqual(fingerprint(s), expected, `session ${n}`);
  });
  assert.deepEqual([n, r.summary.flows], [N, N], 'one session per connection');
  // Each finished flow used to keep its TLS state (its certificate chain: ~4 KB here) until idle.
  const perFlow = (heap[1]! - heap[0]!) / (N - 2_000);
  t.diagnostic(`${perFlow.toFixed(0)} bytes kept per finished flow`);
  assert.ok(perFlow < 600, `${perFlow.toFixed(0)} bytes kept per finished flow`);
});

test('bounded memory: a server sending only data far ahead hits the pending cap; a gap is reported', { skip }, async (t) => {
  const { turns } = await ref();
  const heap: number[] = [];
  // The server's first 10,000 bytes never come; 20 MB after them does.
  function* ahead(): Generator<[number, Uint8Array]> {
    let ts = T0;
    yield [ts, tcpFrame(CLIENT, SERVER, 1000, 0, SYN)];
    yield [(ts += 1), tcpFrame(SERVER, CLIENT, 5000, 1001, SYN | ACK)];
    yield [(ts += 1), tcpFrame(CLIENT, SERVER, 1001, 5001, ACK)];
    yield [(ts += 1), tcpFrame(CLIENT, SERVER, 1001, 5001, ACK | PSH, turns[0]!.bytes)];
    const noise = randomBytes(1448, 5);
    for (let off = 10_000; off < 20 * MB; off += 1448) {
      if (off === 10_000 + 1448 * 2000) heap.push(heapUsed());
      yield [(ts += 0.01), tcpFrame(SERVER, CLIENT, 5001 + off, 1001 + turns[0]!.bytes.length, ACK, noise)];
    }
    heap.push(heapUsed());
  }
  const r = await run(lazyCapture(ahead()));
  assert.equal(r.summary.gaps, 1, 'one gap');
  assert.equal(r.sessions.length, 1, 'the ClientHello is still reported');
  assert.deepEqual([r.sessions[0]!.version, r.sessions[0]!.serverCertificates.length], [null, 0], 'nothing from the server');
  const growth = heap[1]! - heap[0]!;
  t.diagnostic(`heap ${(growth / MB).toFixed(2)} MB over 17 MB of data ahead`);
  assert.ok(growth < 4 * MB, `heap grew ${(growth / MB).toFixed(1)} MB`);

  // Tiny segments in reverse order cannot make the out-of-order queue long (nor draining it slow).
  const segs: TcpSegment[] = [];
  const seg = (src: Endpoint, dst: Endpoint, seq: number, flags: number, payload = new Uint8Array(0)): TcpSegment => ({
    src: src.ip, dst: dst.ip, srcPort: src.port, dstPort: dst.port, seq, ack: 0, flags, payload, ts: T0, index: 0, ipVersion: 4, vlan: [],
  });
  segs.push(seg(CLIENT, SERVER, 1000, SYN), seg(SERVER, CLIENT, 5000, SYN | ACK));
  const one = Uint8Array.of(0x41);
  for (let off = 200_000; off >= 0; off--) segs.push(seg(SERVER, CLIENT, 5001 + off, ACK, one));
  const started = performance.now();
  const { tcp, closed } = reassemble(segs);
  const ms = performance.now() - started;
  t.diagnostic(`200,000 one-byte segments in reverse order: ${ms.toFixed(0)} ms`);
  assert.ok(ms < 2000, `200,000 one-byte segments in reverse order took ${ms.toFixed(0)} ms`);
  assert.equal(tcp.stats.gaps, 1, 'the pending cap counts segments, not just bytes');
  assert.equal(closed[0]!.consumer.down.length, 0, 'nothing delivered past the hole');
});

test('idle flows are finished by capture time; a finished flow still talking is not reopened', { skip }, async () => {
  const { turns, down, expected } = await ref();
  const idleMs = 60_000;
  const other = { ip: '10.3.0.3', port: 40001 };
  const filler = tcpFrame({ ip: '10.7.0.7', port: 1234 }, { ip: '10.8.0.8', port: 80 }, 1, 1, ACK);
  // Bare ACKs of no flow: enough packets for an idle sweep.
  function* sweepAt(ts: number): Generator<[number, Uint8Array]> {
    for (let i = 0; i < 70_000; i++) yield [ts, filler];
  }
  const frames = framesOf(CLIENT, SERVER, turns);
  const fins = frames.findIndex((f) => frameInfo(f).flags & FIN);
  const lastData = frameInfo(frames[fins - 1]!);
  const holedClient = { ip: '10.4.0.4', port: 40002 };
  const holed = lostInCertificate(turns, down, holedClient).frames;
  function* capture(): Generator<[number, Uint8Array]> {
    // A ClientHello that is never answered.
    yield [T0, tcpFrame(other, SERVER, 1000, 0, SYN)];
    yield [T0 + 1, tcpFrame(other, SERVER, 1001, 5001, ACK | PSH, turns[0]!.bytes)];
    // A connection that closed with a hole in it.
    for (const f of holed) yield [T0 + 1.5, f];
    // A whole handshake (done), then the connection goes on with application data for longer than idleMs.
    for (const [i, f] of frames.slice(0, fins).entries()) yield [T0 + 2 + i, f];
    yield* sweepAt(T0 + 40_000);
    yield [T0 + 45_000, tcpFrame(CLIENT, SERVER, lastData.seq + lastData.payload.length, 9999, ACK | PSH, randomBytes(100, 6).fill(0x17, 0, 1))];
    yield* sweepAt(T0 + 90_000);
    // Its server sends an encrypted alert: a record header at the start of a segment.
    yield [T0 + 95_000, tcpFrame(SERVER, CLIENT, 77777, 8888, ACK | PSH, Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x1a, ...randomBytes(26, 7)))];
  }
  const ends: string[] = [];
  const r = await run(lazyCapture(capture()), { idleMs }, (s) => {
    ends.push(`${s.client.ip} ${s.end}`);
    if (s.client.ip === CLIENT.ip) assert.deepEqual(fingerprint(s), expected, 'the whole handshake');
  });
  // In the order they were finished: the whole one at its handshake's end; the holed one at the
  // first sweep (40 s: closed both ways, nothing came to fill the hole); the unanswered hello at
  // the second (90 s: idle over 60 s). None at the end of the capture, and no ghost.
  assert.deepEqual(ends, [`${CLIENT.ip} done`, `${holedClient.ip} closed`, `${other.ip} idle`], 'sessions: no ghost from the late alert');
  assert.equal(r.summary.flows, 3, 'no flow reopened');
  assert.equal(r.summary.gaps, 1, 'the hole reported');
});

// ---- 10. fuzzing the whole extraction ----------------------------------------------------------

/** Every fixture capture, as its global header and records (pcap, either byte order). */
function fixtureCaptures(): { name: string; header: Buffer; records: Buffer[] }[] {
  return globSync('**/*.pcap', { cwd: ROOT, absolute: true }).sort().map((file) => {
    const b = readFileSync(file);
    const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
    const records: Buffer[] = [];
    for (let p = 24; p + 16 <= b.length; ) {
      const len = 16 + (le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8));
      records.push(b.subarray(p, p + len));
      p += len;
    }
    return { name: file.slice(ROOT.length), header: b.subarray(0, 24), records };
  });
}

/** 1–4 seeded mutations of a capture: byte flips (headers and payloads), duplicated, dropped and swapped records, a cut. */
function mutate(c: { header: Buffer; records: Buffer[] }, seed: number): { bytes: Buffer; what: string[] } {
  const r = prng(seed);
  const pick = (n: number) => (r() * n) | 0;
  const flip = (b: Buffer, i: number) => (b[i] = b[i]! ^ (1 + pick(255)));
  const records = c.records.map((x) => Buffer.from(x));
  const header = Buffer.from(c.header);
  const what: string[] = [];
  let cutShort = false;
  for (let ops = 1 + pick(4); ops > 0 && records.length > 0; ops--) {
    const k = pick(records.length);
    const rec = records[k]!;
    switch (pick(7)) {
      case 0:
      case 1: {
        // Mostly into the first 70 bytes: the record header, Ethernet, IP and TCP headers.
        const at = r() < 0.6 ? pick(Math.min(rec.length, 70)) : pick(rec.length);
        for (let n = 1 + pick(3); n > 0; n--) flip(rec, Math.min(rec.length - 1, at + n - 1));
        what.push(`flip record ${k} byte ${at}`);
        break;
      }
      case 2: {
        const to = Math.min(records.length, Math.max(0, k + pick(9) - 4 + (r() < 0.2 ? pick(records.length) : 0)));
        records.splice(to, 0, Buffer.from(rec));
        what.push(`duplicate record ${k} at ${to}`);
        break;
      }
      case 3:
        records.splice(k, 1);
        what.push(`drop record ${k}`);
        break;
      case 4: {
        const j = Math.min(records.length - 1, k + 1 + pick(3));
        [records[k], records[j]] = [records[j]!, rec];
        what.push(`swap records ${k} ${j}`);
        break;
      }
      case 5:
        cutShort = true;
        break;
      default:
        if (r() < 0.1) {
          flip(header, pick(24));
          what.push('flip global header');
        } else {
          // A record header's lengths or time.
          flip(rec, pick(16));
          what.push(`flip record ${k} header`);
        }
    }
  }
  const bytes = Buffer.concat([header, ...records]);
  if (!cutShort) return { bytes, what };
  const cut = 24 + pick(bytes.length - 24);
  return { bytes: bytes.subarray(0, cut), what: [...what, `cut at ${cut}`] };
}

/**
 * A worker runs tlsSessions on each mutant so that a hang is caught (and named) instead of
 * stalling the test runner: the main thread times every run out.
 */
const FUZZ_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  (await import(workerData.tsx)).register();
  const { tlsSessions } = await import(workerData.session);
  parentPort.on('message', async ({ bytes, chunk }) => {
    try {
      const events = tlsSessions((async function* () {
        for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
      })());
      let sessions = 0;
      for (;;) {
        const r = await events.next();
        if (r.done) return parentPort.postMessage({ ok: true, sessions, summary: r.value });
        if (r.value.kind === 'session') {
          sessions++;
          JSON.stringify(r.value.session, (_, v) => (v instanceof Uint8Array ? v.length : v));
        }
      }
    } catch (e) {
      parentPort.postMessage({ ok: false, error: String((e && e.stack) || e) });
    }
  });
  parentPort.postMessage({ ready: true });
})();
`;

test('fuzz: seeded mutations of every fixture capture never throw or hang', { skip, timeout: 120_000 }, async (t) => {
  const captures = fixtureCaptures();
  assert.ok(captures.length >= 20, `${captures.length} fixture captures`);
  const worker = new Worker(FUZZ_WORKER, {
    eval: true,
    workerData: { tsx: import.meta.resolve('tsx/esm/api'), session: new URL('../../src/net/session.ts', import.meta.url).href },
  });
  type Reply = { ready?: true; ok?: boolean; error?: string; sessions?: number };
  let waiting: ((m: Reply) => void) | null = null;
  let failed: Error | null = null;
  worker.on('message', (m: Reply) => waiting?.(m));
  worker.on('error', (e) => (failed = e));
  const next = (ms: number) =>
    new Promise<Reply | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), ms);
      waiting = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
  try {
    assert.deepEqual(await next(30_000), { ready: true }, `fuzz worker started${failed ? `: ${failed}` : ''}`);
    const started = performance.now();
    let runs = 0;
    let sessions = 0;
    for (let seed = 1; runs < 3000 && performance.now() - started < 20_000; seed++) {
      const c = captures[seed % captures.length]!;
      const { bytes, what } = mutate(c, seed);
      const reply = next(10_000);
      worker.postMessage({ bytes, chunk: [65536, 4096, 1000, 37][seed % 4] });
      const m = await reply;
      const at = `${c.name} seed ${seed} (${what.join(', ')})`;
      assert.notEqual(m, 'timeout', `${at}: no answer in 10 s`);
      assert.ok(m !== 'timeout' && m.ok, `${at}: ${m !== 'timeout' && m.error}`);
      sessions += (m as Reply).sessions!;
      runs++;
    }
    t.diagnostic(`${runs} mutants of ${captures.length} captures in ${((performance.now() - started) / 1000).toFixed(1)} s, ${sessions} sessions`);
    assert.ok(runs >= 500, `only ${runs} mutants in 20 s`);
    assert.ok(sessions > runs / 2, `${sessions} sessions over ${runs} mutants: most mutants still hold one`);
  } finally {
    await worker.terminate();
  }
});

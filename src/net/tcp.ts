import { flowKeyOf, type TcpSegment } from './packet.js';

/**
 * TCP reassembly, one byte stream per direction, for the start of each connection only: a
 * consumer says when it has learnt what it needs (the TLS handshake), after which the flow
 * costs two map lookups per packet (live flows, then tombstones) and no buffering. Memory is
 * bounded three ways: out-of-order bytes per direction (segments counted too), flows in the
 * table (oldest evicted), and idle flows (by capture time). A finished flow leaves only a small
 * tombstone, its state going with the close callback, so that the rest of its packets are
 * dropped rather than taken for a new connection.
 *
 * Capture order is not sending order: taps, bonded links and multi-queue NICs deliver packets
 * of one flow a few places apart. So a direction whose SYN was not seen is held back (REORDER
 * packets of its flow at most) before its lowest sequence number is taken as its start, and a
 * FIN closes a direction only once the bytes before it are in.
 */
export const FIN = 1;
export const SYN = 2;
export const RST = 4;
export const ACK = 16;

/**
 * Packets of a flow a direction without SYN is held for. When every packet is captured fewer
 * than 8 places from where it was sent (test/net/session.test.ts shuffles that way), the first
 * byte of a direction shows up at most 14 packets after the first packet captured of it.
 */
const REORDER = 16;
/** Charged per held segment on top of its bytes, so that tiny segments cannot make the queue long. */
const SEGMENT_OVERHEAD = 64;
/** Packets between idle sweeps. */
const SWEEP_EVERY = 65_536;
/** Capture time a flow closed in both directions waits for the bytes of a hole (a retransmission, a late packet). */
const CLOSE_GRACE_MS = 5_000;

export interface StreamConsumer {
  /** In-order bytes of one direction (a view: copy what you keep). */
  data(fromClient: boolean, bytes: Uint8Array): void;
  /** Bytes were lost in one direction; nothing more will come from it. */
  gap(fromClient: boolean): void;
  /** True once nothing more is wanted from this connection. */
  readonly done: boolean;
}

export interface Flow<C extends StreamConsumer = StreamConsumer> {
  /** May be swapped, before any byte is delivered, when a guess from the ports is contradicted. */
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  /** First packet seen of the connection. */
  readonly ts: number;
  readonly index: number;
  lastTs: number;
  consumer: C;
  /** Why the flow left the table: 'done', 'closed', 'evicted', 'idle' or 'end'. */
  reason?: string;
  /** A SYN or SYN-ACK of the connection was seen: its start was in the capture. */
  sawSyn: boolean;
  /** The client was guessed from the ports alone. */
  guessed: boolean;
  packets: number;
  up: Direction;
  down: Direction;
}

interface Direction {
  /** Sequence number of stream byte 0; null until the SYN, or while held back (see REORDER). */
  base: number | null;
  /** Stream offset of the next byte to deliver. */
  next: number;
  /** Out-of-order segments sorted by offset; raw sequence numbers (in arrival order) while held back. */
  pending: { at: number; bytes: Uint8Array }[];
  /** Bytes pending plus SEGMENT_OVERHEAD per segment. */
  pendingBytes: number;
  /** flow.packets when the first held segment arrived. */
  heldSince: number;
  /** Sequence number of the FIN, null until one is seen. */
  fin: number | null;
  broken: boolean;
}

/** What is kept of a finished flow so that its late packets are not taken for a new one. */
interface Tombstone {
  lastTs: number;
  /** The client's stream start: a SYN just before it is a late copy, not a new connection. */
  clientBase: number | null;
}

export interface TcpOptions {
  /** Out-of-order bytes kept per direction before the stream is given up as having a gap. */
  maxPendingBytes?: number;
  maxFlows?: number;
  /** A flow idle this long (capture time, ms) is finished. */
  idleMs?: number;
}

/** Decides which side is the client when no SYN was seen, from the first payload bytes. */
export type LooksLikeClient = (bytes: Uint8Array) => boolean;

export class TcpReassembler<C extends StreamConsumer> {
  private readonly flows = new Map<string, Flow<C>>();
  /** Finished flows, oldest first, at most maxFlows (kept apart: they never push out a live flow). */
  private readonly finished = new Map<string, Tombstone>();
  // Where eviction got to in each map. Iterating a Map from its start walks every deleted entry
  // still in its table (V8 compacts on resize only): a fresh iterator per eviction made a flood
  // of 300,000 flows over maxFlows 10,000 spend seconds skipping holes.
  private oldestFlow = this.flows.keys();
  private oldestFinished = this.finished.keys();
  private readonly maxPending: number;
  private readonly maxFlows: number;
  private readonly idleMs: number;
  private packetsSinceSweep = 0;
  readonly stats = { flows: 0, evicted: 0, gaps: 0, retransmitted: 0 };

  constructor(
    private readonly open: (flow: Omit<Flow<C>, 'consumer'>) => C,
    /** Called once per flow when it leaves the table (done, closed, evicted, idle or end). */
    private readonly close: (flow: Flow<C>) => void,
    private readonly looksLikeClient: LooksLikeClient,
    options: TcpOptions = {},
  ) {
    this.maxPending = options.maxPendingBytes ?? 256 * 1024;
    this.maxFlows = Math.max(1, options.maxFlows ?? 200_000);
    this.idleMs = options.idleMs ?? 10 * 60_000;
  }

  /** Live flows (finished ones are not counted). */
  get size(): number {
    return this.flows.size;
  }

  push(s: TcpSegment): void {
    // Every packet counts, those of finished flows too: they are most packets of a capture.
    if (++this.packetsSinceSweep >= SWEEP_EVERY) {
      this.packetsSinceSweep = 0;
      this.sweep(s.ts);
    }
    const key = s.flowKey ?? flowKeyOf(s);
    const newSyn = (s.flags & (SYN | ACK)) === SYN;
    let flow = this.flows.get(key);
    if (!flow) {
      const t = this.finished.get(key);
      if (t) {
        // A new SYN is a new connection on the same ports; anything else is the old one's.
        if (!newSyn || (t.clientBase !== null && this.belongs(s.seq, t.clientBase))) {
          t.lastTs = s.ts;
          return;
        }
        this.finished.delete(key);
      }
    } else if (newSyn && this.startsAnother(flow, s)) {
      // The ports were reused before this flow was seen to end (its FINs lost or never sent).
      this.finish(key, flow, 'closed');
      this.finished.delete(key);
      flow = undefined;
    }
    if (!flow) {
      // A bare ACK/RST/FIN without payload does not open a flow: nothing to learn from it.
      if (!(s.flags & SYN) && s.payload.length === 0) return;
      flow = this.start(s);
      this.flows.set(key, flow);
      this.stats.flows++;
      if (this.flows.size > this.maxFlows) this.evictOldest();
    }
    flow.lastTs = s.ts;
    flow.packets++;
    let fromClient = s.src === flow.client.ip && s.srcPort === flow.client.port;
    if (flow.guessed && flow.up.next === 0 && flow.down.next === 0 && this.contradicts(fromClient, s)) {
      // Nothing delivered yet: the roles can still be put right.
      [flow.client, flow.server, flow.up, flow.down] = [flow.server, flow.client, flow.down, flow.up];
      flow.guessed = false;
      fromClient = !fromClient;
    }
    const dir = fromClient ? flow.up : flow.down;
    if (s.flags & SYN) {
      flow.sawSyn = true;
      flow.guessed = false;
      if (dir.base === null) this.settle(flow, fromClient, dir, (s.seq + 1) >>> 0);
      // A SYN-ACK acknowledges the client's SYN: the client's stream starts at its ack.
      if (!fromClient && s.flags & ACK && flow.up.base === null) this.settle(flow, true, flow.up, s.ack);
      // TCP Fast Open (RFC 7413): the SYN carries the first bytes, the ClientHello among them.
      if (s.payload.length > 0) this.segment(flow, fromClient, dir, (s.seq + 1) >>> 0, s.payload);
    } else if (s.payload.length > 0) this.segment(flow, fromClient, dir, s.seq, s.payload);
    if (s.flags & FIN && dir.fin === null) dir.fin = (s.seq + s.payload.length) >>> 0;
    // Held long enough, or both sides said goodbye: what came first is the start.
    const closing = flow.up.fin !== null && flow.down.fin !== null;
    if (flow.up.base === null && (closing || flow.packets - flow.up.heldSince >= REORDER)) this.settleHeld(flow, true, flow.up);
    if (flow.down.base === null && (closing || flow.packets - flow.down.heldSince >= REORDER)) this.settleHeld(flow, false, flow.down);
    if (flow.consumer.done) this.finish(key, flow, 'done');
    else if (s.flags & RST || (complete(flow.up) && complete(flow.down))) this.finish(key, flow, 'closed');
  }

  /** Finish every flow still open (end of capture). */
  end(): void {
    for (const [key, flow] of this.flows) this.finish(key, flow, 'end');
    this.flows.clear();
    this.finished.clear();
  }

  private start(s: TcpSegment): Flow<C> {
    const a = { ip: s.src, port: s.srcPort };
    const b = { ip: s.dst, port: s.dstPort };
    let guessed = false;
    let senderIsClient: boolean;
    if (s.flags & SYN) senderIsClient = !(s.flags & ACK); // SYN from the client, SYN-ACK from the server
    else if (this.looksLikeClient(s.payload)) senderIsClient = true;
    else {
      guessed = true;
      senderIsClient = !(s.srcPort < 1024 && s.dstPort >= 1024);
    }
    const client = senderIsClient ? a : b;
    const server = senderIsClient ? b : a;
    const dir = (): Direction => ({ base: null, next: 0, pending: [], pendingBytes: 0, heldSince: 0, fin: null, broken: false });
    const shell = { client, server, ts: s.ts, index: s.index, lastTs: s.ts, sawSyn: false, guessed, packets: 0, up: dir(), down: dir() };
    return { ...shell, consumer: this.open(shell) };
  }

  /** The packet says its sender is not what a guess from the ports made it. */
  private contradicts(fromClient: boolean, s: TcpSegment): boolean {
    if (s.flags & SYN) return !(s.flags & ACK) !== fromClient;
    return !fromClient && s.payload.length > 0 && this.looksLikeClient(s.payload);
  }

  /** A SYN at or shortly before its sender's stream start is a copy of this connection's (late or retransmitted). */
  private belongs(synSeq: number, start: number): boolean {
    return ((start - synSeq - 1) >>> 0) <= this.maxPending;
  }

  private startsAnother(flow: Flow<C>, s: TcpSegment): boolean {
    const dir = s.src === flow.client.ip && s.srcPort === flow.client.port ? flow.up : flow.down;
    const start = dir.base ?? (dir.pending.length > 0 ? lowest(dir) : null);
    return start !== null && !this.belongs(s.seq, start);
  }

  /** The stream start is known: held segments go through as if they arrived now, in their order. */
  private settle(flow: Flow<C>, fromClient: boolean, dir: Direction, base: number): void {
    dir.base = base;
    const held = dir.pending;
    dir.pending = [];
    dir.pendingBytes = 0;
    for (const p of held) {
      if (flow.consumer.done) return;
      this.segment(flow, fromClient, dir, p.at, p.bytes);
    }
  }

  private settleHeld(flow: Flow<C>, fromClient: boolean, dir: Direction): void {
    if (dir.pending.length > 0) this.settle(flow, fromClient, dir, lowest(dir));
    else if (dir.fin !== null) dir.base = dir.fin;
  }

  private segment(flow: Flow<C>, fromClient: boolean, dir: Direction, seq: number, payload: Uint8Array): void {
    if (dir.broken) return;
    if (dir.base === null) {
      if (dir.pendingBytes + payload.length + SEGMENT_OVERHEAD <= this.maxPending) {
        if (dir.pending.length === 0) dir.heldSince = flow.packets;
        dir.pending.push({ at: seq, bytes: payload.slice() });
        dir.pendingBytes += payload.length + SEGMENT_OVERHEAD;
        return;
      }
      dir.pending.push({ at: seq, bytes: payload });
      this.settle(flow, fromClient, dir, lowest(dir));
      return;
    }
    let at = (seq - dir.base) >>> 0;
    // More than 2 GiB ahead is a sequence number from before the base: an old retransmission.
    if (at > 0x7fffffff) {
      this.stats.retransmitted++;
      return;
    }
    let bytes = payload;
    if (at < dir.next) {
      if (at + bytes.length <= dir.next) {
        this.stats.retransmitted++;
        return;
      }
      // Overlap with what was delivered: the first copy wins, as in most stacks.
      bytes = bytes.subarray(dir.next - at);
      at = dir.next;
    }
    if (at === dir.next) {
      dir.next += bytes.length;
      flow.consumer.data(fromClient, bytes);
      if (dir.pending.length > 0 && dir.pending[0]!.at <= dir.next) this.drain(flow, fromClient, dir);
      return;
    }
    const cost = bytes.length + SEGMENT_OVERHEAD;
    if (dir.pendingBytes + cost > this.maxPending) {
      this.gap(flow, fromClient, dir);
      return;
    }
    // Sorted insert, after equal offsets so that the first copy wins; usually an append.
    const p = dir.pending;
    let lo = 0;
    let hi = p.length;
    if (hi > 0 && p[hi - 1]!.at <= at) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (p[mid]!.at <= at) lo = mid + 1;
      else hi = mid;
    }
    p.splice(lo, 0, { at, bytes: bytes.slice() });
    dir.pendingBytes += cost;
  }

  private drain(flow: Flow<C>, fromClient: boolean, dir: Direction): void {
    const p = dir.pending;
    let i = 0;
    while (i < p.length && !flow.consumer.done) {
      const { at, bytes } = p[i]!;
      if (at > dir.next) break;
      i++;
      dir.pendingBytes -= bytes.length + SEGMENT_OVERHEAD;
      if (at + bytes.length <= dir.next) {
        this.stats.retransmitted++;
        continue;
      }
      const rest = bytes.subarray(dir.next - at);
      dir.next += rest.length;
      flow.consumer.data(fromClient, rest);
    }
    p.splice(0, i);
  }

  private gap(flow: Flow<C>, fromClient: boolean, dir: Direction): void {
    dir.broken = true;
    dir.pending = [];
    dir.pendingBytes = 0;
    this.stats.gaps++;
    flow.consumer.gap(fromClient);
  }

  private finish(key: string, flow: Flow<C>, reason: string): void {
    for (const [fromClient, dir] of [[true, flow.up], [false, flow.down]] as const) {
      if (dir.base === null) this.settleHeld(flow, fromClient, dir);
    }
    // Bytes still waiting behind a hole will never be delivered.
    for (const [fromClient, dir] of [[true, flow.up], [false, flow.down]] as const) {
      if (dir.pending.length > 0 && !dir.broken && !flow.consumer.done) this.gap(flow, fromClient, dir);
      dir.pending = [];
      dir.pendingBytes = 0;
    }
    flow.reason = reason;
    this.flows.delete(key);
    // The rest of its packets are dropped rather than mistaken for a new connection.
    if (reason !== 'end') {
      this.finished.set(key, { lastTs: flow.lastTs, clientBase: flow.up.base });
      if (this.finished.size > this.maxFlows) {
        let k = this.oldestFinished.next();
        if (k.done) k = (this.oldestFinished = this.finished.keys()).next();
        this.finished.delete(k.value!);
      }
    }
    this.close(flow);
  }

  private evictOldest(): void {
    while (this.flows.size > this.maxFlows) {
      let k = this.oldestFlow.next();
      if (k.done) k = (this.oldestFlow = this.flows.keys()).next();
      this.stats.evicted++;
      this.finish(k.value!, this.flows.get(k.value!)!, 'evicted');
    }
  }

  private sweep(now: number): void {
    for (const [key, flow] of this.flows) {
      // Both FINs seen but a hole left: what reordering would bring has come by now, and the
      // capture lost the rest; holding the flow (and its pending bytes) until idle is waste.
      const closing = flow.up.fin !== null && flow.down.fin !== null;
      if (closing && now - flow.lastTs >= Math.min(this.idleMs, CLOSE_GRACE_MS)) this.finish(key, flow, 'closed');
      else if (now - flow.lastTs >= this.idleMs) this.finish(key, flow, 'idle');
    }
    for (const [key, t] of this.finished) if (now - t.lastTs >= this.idleMs) this.finished.delete(key);
  }
}

/** The lowest sequence number held (serial arithmetic, from the first one held). */
function lowest(dir: Direction): number {
  const first = dir.pending[0]!.at;
  let min = 0;
  for (const p of dir.pending) min = Math.min(min, (p.at - first) | 0);
  return (first + min) >>> 0;
}

/** Everything up to its FIN was delivered (or it broke: nothing more will be). */
function complete(dir: Direction): boolean {
  if (dir.broken) return true;
  if (dir.fin === null || dir.base === null) return false;
  return ((dir.fin - dir.base) >>> 0) <= dir.next;
}

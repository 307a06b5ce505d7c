import type { TcpSegment } from './packet.js';

/**
 * TCP reassembly, one byte stream per direction, for the start of each connection only: a
 * consumer says when it has learnt what it needs (the TLS handshake), after which the flow
 * costs one map lookup per packet and no buffering. Memory is bounded three ways: out-of-order
 * bytes per direction, flows in the table (oldest evicted), and idle flows (by capture time).
 */
export const FIN = 1;
export const SYN = 2;
export const RST = 4;
export const ACK = 16;

export interface StreamConsumer {
  /** In-order bytes of one direction (a view: copy what you keep). */
  data(fromClient: boolean, bytes: Uint8Array): void;
  /** Bytes were lost in one direction; nothing more will come from it. */
  gap(fromClient: boolean): void;
  /** True once nothing more is wanted from this connection. */
  readonly done: boolean;
}

export interface Flow<C extends StreamConsumer = StreamConsumer> {
  readonly client: { ip: string; port: number };
  readonly server: { ip: string; port: number };
  /** First packet seen of the connection. */
  readonly ts: number;
  readonly index: number;
  lastTs: number;
  consumer: C;
  /** Why the flow left the table: 'done', 'closed', 'evicted', 'idle' or 'end'. */
  reason?: string;
  /** True when the client was decided from a SYN (else from the first payload or the ports). */
  sawSyn: boolean;
  packets: number;
  readonly up: Direction;
  readonly down: Direction;
}

interface Direction {
  /** Sequence number of stream byte 0; null until the first SYN or data. */
  base: number | null;
  /** Stream offset of the next byte to deliver. */
  next: number;
  pending: { at: number; bytes: Uint8Array }[];
  pendingBytes: number;
  fin: boolean;
  broken: boolean;
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
    this.maxFlows = options.maxFlows ?? 200_000;
    this.idleMs = options.idleMs ?? 10 * 60_000;
  }

  get size(): number {
    return this.flows.size;
  }

  push(s: TcpSegment): void {
    const aFirst = s.src < s.dst || (s.src === s.dst && s.srcPort <= s.dstPort);
    const key = aFirst ? `${s.src} ${s.srcPort} ${s.dst} ${s.dstPort}` : `${s.dst} ${s.dstPort} ${s.src} ${s.srcPort}`;
    let flow = this.flows.get(key);
    if (flow?.reason) {
      // Finished, kept only so that its late packets are not taken for a new flow; a new SYN
      // is a new connection on the same ports.
      if (!(s.flags & SYN) || s.flags & ACK) return;
      this.flows.delete(key);
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
    const fromClient = s.src === flow.client.ip && s.srcPort === flow.client.port;
    const dir = fromClient ? flow.up : flow.down;
    if (s.flags & SYN) {
      if (dir.base === null) dir.base = (s.seq + 1) >>> 0;
    } else if (s.payload.length > 0 || s.flags & FIN) {
      if (dir.base === null) dir.base = s.seq;
      if (s.payload.length > 0) this.segment(flow, fromClient, dir, s.seq, s.payload);
    }
    if (s.flags & (FIN | RST)) {
      dir.fin = true;
      if (s.flags & RST || (flow.up.fin && flow.down.fin)) this.finish(key, flow, 'closed');
    }
    if (!flow.reason && flow.consumer.done) this.finish(key, flow, 'done');
    if (++this.packetsSinceSweep >= 65_536) {
      this.packetsSinceSweep = 0;
      this.sweep(s.ts);
    }
  }

  /** Finish every flow still open (end of capture). */
  end(): void {
    for (const [key, flow] of this.flows) if (!flow.reason) this.finish(key, flow, 'end');
    this.flows.clear();
  }

  private start(s: TcpSegment): Flow<C> {
    const a = { ip: s.src, port: s.srcPort };
    const b = { ip: s.dst, port: s.dstPort };
    let sawSyn = false;
    let senderIsClient: boolean;
    if (s.flags & SYN) {
      sawSyn = true;
      senderIsClient = !(s.flags & ACK); // SYN from the client, SYN-ACK from the server
    } else if (this.looksLikeClient(s.payload)) senderIsClient = true;
    else senderIsClient = !(s.srcPort < 1024 && s.dstPort >= 1024);
    const client = senderIsClient ? a : b;
    const server = senderIsClient ? b : a;
    const dir = (): Direction => ({ base: null, next: 0, pending: [], pendingBytes: 0, fin: false, broken: false });
    const shell = { client, server, ts: s.ts, index: s.index, lastTs: s.ts, sawSyn, packets: 0, up: dir(), down: dir() };
    return { ...shell, consumer: this.open(shell) };
  }

  private segment(flow: Flow<C>, fromClient: boolean, dir: Direction, seq: number, payload: Uint8Array): void {
    if (dir.broken || dir.base === null) return;
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
      this.drain(flow, fromClient, dir);
      return;
    }
    if (dir.pendingBytes + bytes.length > this.maxPending) {
      this.gap(flow, fromClient, dir);
      return;
    }
    dir.pending.push({ at, bytes: bytes.slice() });
    dir.pendingBytes += bytes.length;
  }

  private drain(flow: Flow<C>, fromClient: boolean, dir: Direction): void {
    while (dir.pending.length > 0 && !flow.consumer.done) {
      let progressed = false;
      for (let i = 0; i < dir.pending.length; i++) {
        const p = dir.pending[i]!;
        if (p.at > dir.next) continue;
        dir.pending.splice(i, 1);
        dir.pendingBytes -= p.bytes.length;
        i--;
        if (p.at + p.bytes.length <= dir.next) continue;
        const bytes = p.bytes.subarray(dir.next - p.at);
        dir.next += bytes.length;
        flow.consumer.data(fromClient, bytes);
        progressed = true;
      }
      if (!progressed) break;
    }
  }

  private gap(flow: Flow<C>, fromClient: boolean, dir: Direction): void {
    dir.broken = true;
    dir.pending = [];
    dir.pendingBytes = 0;
    this.stats.gaps++;
    flow.consumer.gap(fromClient);
  }

  private finish(key: string, flow: Flow<C>, reason: string): void {
    // Bytes still waiting behind a hole will never be delivered.
    for (const [fromClient, dir] of [[true, flow.up], [false, flow.down]] as const) {
      if (dir.pending.length > 0 && !dir.broken && !flow.consumer.done) this.gap(flow, fromClient, dir);
      dir.pending = [];
      dir.pendingBytes = 0;
    }
    flow.reason = reason;
    this.close(flow);
    // A closed flow leaves now; a done one stays as a tombstone until idle, so that the rest of
    // its packets are dropped rather than mistaken for a new connection.
    if (reason !== 'done') this.flows.delete(key);
  }

  private evictOldest(): void {
    for (const [key, flow] of this.flows) {
      this.flows.delete(key);
      this.stats.evicted++;
      if (!flow.reason) this.finish(key, flow, 'evicted');
      if (this.flows.size <= this.maxFlows) return;
    }
  }

  private sweep(now: number): void {
    for (const [key, flow] of this.flows) {
      if (now - flow.lastTs < this.idleMs) continue;
      if (flow.reason) this.flows.delete(key);
      else this.finish(key, flow, 'idle');
    }
  }
}

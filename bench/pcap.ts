/**
 * Capture benchmark (run through scripts/bench.mjs):
 *
 * - pcap: TLS session and certificate extraction from a ≥ 1 GB capture (≈ 120 MB with --quick)
 *   built from generated TLS handshakes mixed with bulk transfer, against
 *   `tshark -r FILE -Y "tls.handshake.type == 11" -T fields -e tls.handshake.certificate`
 *   (Debian's tshark, installed by scripts/tshark-deps.sh when missing). Both run as child
 *   processes under /usr/bin/time (wall, max RSS), alternated; ratio of medians, target: ours
 *   at most 1/20 of tshark's time (≥ 20× its throughput). Ours is also run on a quarter of the
 *   capture: its peak RSS must not grow with the capture's size.
 *
 * The capture: connections replayed from the handshakes of `certhunt generate`'s sessions (its
 * mix: TLS 1.2 and 1.3, resumed and refused sessions, browsers' and implants' hellos, chains
 * of one or two certificates shaped like real ones; every byte each side sent, as its capture
 * writer builds it), re-framed as Ethernet/IPv4/TCP with fresh addresses, ports and sequence
 * numbers, 64 of them interleaved at a time, about half of them followed by a bulk download of TLS application
 * data records, and plain (non-TLS) bulk flows in between: about 5% of the bytes are handshakes.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions, BenchResult } from './lake.js';
import { median, timed, type Timed } from './lib/measure.js';
import { prng } from '../test/helpers/bytes.js';
import type * as ScaleMod from '../src/demo/scale.js';
import type * as SessionsMod from '../src/demo/sessions.js';
import type * as WriterMod from '../src/net/writer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ScaleModel } = (await import('../dist/demo/scale.js' as string)) as typeof ScaleMod;
const { sessionExchanges } = (await import('../dist/demo/sessions.js' as string)) as typeof SessionsMod;
const { pcapHeader, pcapRecord, tcpConnection } = (await import('../dist/net/writer.js' as string)) as typeof WriterMod;

export const scenarios: Record<string, (o: BenchOptions) => Promise<BenchResult>> = { pcap: pcapBench };

type Turn = WriterMod.Turn;

/** The byte turns of the first `n` sessions `certhunt generate` makes (seed 1), each a TCP connection's worth. */
function templates(n: number): Turn[][] {
  const model = new ScaleModel({ seed: 1, certificates: Math.max(1000, n * 4), sessions: n });
  return [...sessionExchanges(model.stream())].map(({ exchange }) => exchange.turns.map((t) => ({ from: t.from, bytes: t.bytes })));
}

interface Made {
  file: string;
  bytes: number;
  connections: number;
  tlsConnections: number;
  handshakeBytes: number;
}

async function makeCapture(o: BenchOptions, tpl: Turn[][], targetBytes: number, name: string): Promise<Made> {
  const file = path.join(o.workDir, name);
  const rand = prng(7);
  const out = createWriteStream(file, { highWaterMark: 4 << 20 });
  const write = async (b: Buffer) => {
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  await write(pcapHeader());
  let bytes = 24;
  let connections = 0;
  let tlsConnections = 0;
  let handshakeBytes = 0;
  let ts = Date.UTC(2026, 0, 5, 9) as number;
  const record = (len: number): Uint8Array => {
    const r = new Uint8Array(5 + len);
    r.set([0x17, 0x03, 0x03, len >> 8, len & 0xff]);
    for (let i = 5; i < r.length; i += 97) r[i] = (i * 31) & 0xff;
    return r;
  };
  const bulk = (n: number, tls: boolean): Uint8Array => {
    const parts: Uint8Array[] = [];
    let left = n;
    while (left > 0) {
      const len = Math.min(16384, left);
      parts.push(tls ? record(len) : new Uint8Array(len).fill(0x41 + (left % 26)));
      left -= len;
    }
    return Buffer.concat(parts);
  };
  const newConnection = () => {
    connections++;
    const client = { ip: `10.${(connections >> 16) & 255}.${(connections >> 8) & 255}.${connections & 255}`, port: 1024 + Math.floor(rand() * 60000) };
    const server = { ip: `198.51.${Math.floor(rand() * 200)}.${1 + Math.floor(rand() * 250)}`, port: rand() < 0.8 ? 443 : 8443 };
    let turns: Turn[];
    if (rand() < 0.7) {
      tlsConnections++;
      turns = [...tpl[Math.floor(rand() * tpl.length)]!];
      handshakeBytes += turns.reduce((n, t) => n + t.bytes.length, 0);
      if (rand() < 0.5) turns.push({ from: 'server', bytes: bulk(Math.floor(rand() * 400_000), true) });
    } else {
      turns = [
        { from: 'client', bytes: Buffer.from('GET /download HTTP/1.1\r\nHost: mirror.example\r\n\r\n') },
        { from: 'server', bytes: bulk(Math.floor(rand() * 600_000), false) },
      ];
      server.port = 80;
    }
    return tcpConnection(client, server, turns, { ts, gapMs: 0.02, isn: [Math.floor(rand() * 2 ** 32), Math.floor(rand() * 2 ** 32)] });
  };
  const active = Array.from({ length: 64 }, newConnection);
  let i = 0;
  while (bytes < targetBytes) {
    const slot = i++ % active.length;
    const next = active[slot]!.next();
    if (next.done) {
      active[slot] = newConnection();
      continue;
    }
    ts += 0.01;
    const rec = pcapRecord(ts, next.value.frame);
    bytes += rec.length;
    await write(rec);
  }
  // Finish the connections in flight so every handshake in the file is whole.
  for (const g of active) for (const f of g) await write(pcapRecord((ts += 0.01), f.frame));
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return { file, bytes: (await fs.stat(file)).size, connections, tlsConnections, handshakeBytes };
}

const EXTRACT = `
  import { createReadStream } from 'node:fs';
  const { tlsSessions } = await import(${JSON.stringify(path.join(ROOT, 'dist/net/session.js'))});
  const { sessionItems } = await import(${JSON.stringify(path.join(ROOT, 'dist/sources/pcap.js'))});
  let sessions = 0, certificates = 0, messages = 0, issues = 0;
  for await (const e of tlsSessions(createReadStream(process.argv[1], { highWaterMark: 1 << 20 }))) {
    if (e.kind === 'issue') { issues++; continue; }
    sessions++;
    // Certificates parsed in full (src/x509), as an ingest does.
    for (const item of sessionItems(e.session)) if (item.kind === 'certificate') certificates++;
    messages += (e.session.serverCertificates.length > 0 ? 1 : 0) + (e.session.clientCertificates.length > 0 ? 1 : 0);
  }
  process.stdout.write(JSON.stringify({ sessions, certificates, messages, issues }));`;

function ours(file: string, heapMiB?: number): Promise<Timed> {
  return timed(process.execPath, [...(heapMiB ? [`--max-old-space-size=${heapMiB}`] : []), '--input-type=module', '-e', EXTRACT, file], { cwd: ROOT });
}

function tshark(file: string): Promise<Timed> {
  // tshark prints one line per Certificate message: counted, not kept.
  return timed('tshark', ['-r', file, '-Y', 'tls.handshake.type == 11', '-T', 'fields', '-e', 'tls.handshake.certificate'], { cwd: ROOT, countLines: true });
}

function ensureTshark(o: BenchOptions): void {
  if (spawnSync('tshark', ['--version']).status === 0) return;
  o.log('tshark not found: installing it (scripts/tshark-deps.sh) …');
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/tshark-deps.sh')], { stdio: 'inherit' });
  if (r.status !== 0 || spawnSync('tshark', ['--version']).status !== 0) throw new Error('tshark could not be installed');
}

/** Distinct handshakes the capture cycles through (each connection picks one at random). */
const TEMPLATES = 5000;

async function pcapBench(o: BenchOptions): Promise<BenchResult> {
  ensureTshark(o);
  const target = o.quick ? 120e6 : 1.05e9;
  o.log(`building a ${(target / 1e9).toFixed(2)} GB capture …`);
  // Both captures cycle through the same handshakes (made once: a few seconds of TLS bytes).
  const tpl = templates(TEMPLATES);
  const cap = await makeCapture(o, tpl, target, 'bench.pcap');
  const small = await makeCapture(o, tpl, target / 4, 'bench-quarter.pcap');
  o.log(`  ${cap.connections.toLocaleString('en')} connections (${cap.tlsConnections.toLocaleString('en')} TLS), ${(cap.bytes / 1e9).toFixed(2)} GB`);
  const pairs = 3;
  const mine: Timed[] = [];
  const theirs: Timed[] = [];
  for (let i = 0; i < pairs; i++) {
    const a = async () => {
      const r = await ours(cap.file);
      mine.push(r);
      o.log(`  ours   ${(r.ms / 1000).toFixed(2)} s  ${r.rssMiB.toFixed(0)} MiB  ${r.stdout}`);
    };
    const b = async () => {
      const r = await tshark(cap.file);
      theirs.push(r);
      o.log(`  tshark ${(r.ms / 1000).toFixed(2)} s  ${r.rssMiB.toFixed(0)} MiB  ${r.stdout} certificate messages`);
    };
    if (i % 2 === 0) {
      await a();
      await b();
    } else {
      await b();
      await a();
    }
  }
  const quarter = await ours(small.file);
  // Live memory is what must stay flat; RSS also holds whatever garbage V8 lets pile up before
  // collecting. A run with the JS heap capped at 64 MiB shows the live part fits whatever the size.
  const capped = await ours(cap.file, 64);
  const oursMed = median(mine.map((r) => r.ms));
  const theirMed = median(theirs.map((r) => r.ms));
  const got = JSON.parse(mine[0]!.stdout) as { sessions: number; certificates: number; messages: number; issues: number };
  const tsharkMessages = Number(theirs[0]!.stdout);
  const rss = median(mine.map((r) => r.rssMiB));
  const mbps = (ms: number) => (cap.bytes / 1e6 / (ms / 1000)).toFixed(0);
  const details = [
    `capture: ${(cap.bytes / 1e9).toFixed(2)} GB, ${cap.connections.toLocaleString('en')} connections, ${cap.tlsConnections.toLocaleString('en')} TLS (${((cap.handshakeBytes / cap.bytes) * 100).toFixed(1)}% of bytes in handshakes)`,
    `ours:   median ${(oursMed / 1000).toFixed(2)} s (${mbps(oursMed)} MB/s), ${got.sessions.toLocaleString('en')} TLS sessions, ${got.certificates.toLocaleString('en')} certificates parsed, ${got.messages.toLocaleString('en')} Certificate messages, ${got.issues} issues; peak RSS ${rss.toFixed(0)} MiB (quarter-size capture: ${quarter.rssMiB.toFixed(0)} MiB; full capture with the JS heap capped at 64 MiB: completes, ${capped.rssMiB.toFixed(0)} MiB, ${(capped.ms / 1000).toFixed(2)} s)`,
    `tshark: median ${(theirMed / 1000).toFixed(2)} s (${mbps(theirMed)} MB/s), ${tsharkMessages.toLocaleString('en')} Certificate messages; peak RSS ${median(theirs.map((r) => r.rssMiB)).toFixed(0)} MiB`,
    `${got.messages === tsharkMessages ? 'same' : 'DIFFERENT'} number of Certificate messages found (ours ${got.messages}, tshark ${tsharkMessages})`,
  ];
  return {
    scenario: 'pcap',
    sizes: `${(cap.bytes / 1e9).toFixed(2)} GB, ${cap.tlsConnections.toLocaleString('en')} TLS of ${cap.connections.toLocaleString('en')} connections`,
    measure: `median of ${pairs}: session + certificate extraction (child, wall) vs tshark -Y "tls.handshake.type == 11" -e tls.handshake.certificate`,
    unit: 's',
    ours: oursMed,
    floor: theirMed,
    target: 1 / 20,
    details,
    notes:
      `${mbps(oursMed)} vs ${mbps(theirMed)} MB/s (${(theirMed / oursMed).toFixed(1)}× tshark); certificate messages ours ${got.messages} / tshark ${tsharkMessages}; ` +
      `ours peak RSS ${rss.toFixed(0)} MiB at ${(cap.bytes / 1e9).toFixed(2)} GB, ${quarter.rssMiB.toFixed(0)} MiB at a quarter of it; completes with a 64 MiB JS heap (${capped.rssMiB.toFixed(0)} MiB RSS)`,
  };
}

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { captureKind, readCapture, type CaptureIssue, type CaptureItem, type RawPacket } from '../../src/net/capture.js';
import { prng as mulberry32 } from '../helpers/bytes.js';
import { globSync } from 'tinyglobby';

const FIXTURES = '/work/shared/fixtures/pcap';
const SKIP_REAL = existsSync(FIXTURES) ? false : `${FIXTURES} is absent (a checkout without ../shared)`;

// ---- writers ---------------------------------------------------------------------------------

class Bytes {
  private parts: number[] = [];
  constructor(private readonly le: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.le ? this.u8(v).u8(v >> 8) : this.u8(v >> 8).u8(v);
  }
  u32(v: number): this {
    const b = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    for (const x of this.le ? b.reverse() : b) this.u8(x);
    return this;
  }
  u64(v: bigint): this {
    const hi = Number((v >> 32n) & 0xffffffffn);
    const lo = Number(v & 0xffffffffn);
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  /** pcapng timestamps: high 32 bits first, each half in the section's byte order. */
  ts(v: bigint): this {
    return this.u32(Number((v >> 32n) & 0xffffffffn)).u32(Number(v & 0xffffffffn));
  }
  bytes(b: Uint8Array | number[]): this {
    for (const x of b) this.u8(x);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.u8(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

interface PcapRecord {
  sec: number;
  frac: number;
  data: Uint8Array;
  origLen?: number;
}

function pcapFile(opts: { le?: boolean; nano?: boolean; linkType?: number; snaplen?: number }, records: PcapRecord[]): Uint8Array {
  const le = opts.le ?? true;
  const w = new Bytes(le)
    .u32(opts.nano ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(opts.snaplen ?? 65535)
    .u32(opts.linkType ?? 1);
  for (const r of records) w.u32(r.sec).u32(r.frac).u32(r.data.length).u32(r.origLen ?? r.data.length).bytes(r.data);
  return w.done();
}

function block(le: boolean, type: number, body: (w: Bytes) => void): Uint8Array {
  const inner = new Bytes(le);
  body(inner);
  inner.pad4();
  const len = inner.length + 12;
  return new Bytes(le).u32(type).u32(len).bytes(inner.done()).u32(len).done();
}

const ng = {
  shb: (le: boolean) => block(le, 0x0a0d0d0a, (w) => w.u32(0x1a2b3c4d).u16(1).u16(0).u64(0xffffffffffffffffn)),
  idb: (le: boolean, linkType: number, snaplen: number, opts: { tsresol?: number; tsoffset?: bigint } = {}) =>
    block(le, 1, (w) => {
      w.u16(linkType).u16(0).u32(snaplen);
      if (opts.tsresol !== undefined) w.u16(9).u16(1).u8(opts.tsresol).pad4();
      if (opts.tsoffset !== undefined) w.u16(14).u16(8).u64(opts.tsoffset);
      if (opts.tsresol !== undefined || opts.tsoffset !== undefined) w.u16(0).u16(0);
    }),
  epb: (le: boolean, iface: number, ts: bigint, data: Uint8Array, origLen = data.length) =>
    block(le, 6, (w) => w.u32(iface).ts(ts).u32(data.length).u32(origLen).bytes(data).pad4().u16(0).u16(0)),
  opb: (le: boolean, iface: number, ts: bigint, data: Uint8Array) =>
    block(le, 2, (w) => w.u16(iface).u16(0).ts(ts).u32(data.length).u32(data.length).bytes(data)),
  spb: (le: boolean, origLen: number, data: Uint8Array) => block(le, 3, (w) => w.u32(origLen).bytes(data)),
};

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

function bytesOf(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

// ---- reading ---------------------------------------------------------------------------------

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function readAll(data: Uint8Array, chunkSize = data.length || 1): Promise<{ packets: RawPacket[]; issues: CaptureIssue[]; items: CaptureItem[] }> {
  const items: CaptureItem[] = [];
  for await (const item of readCapture(chunked(data, chunkSize))) items.push(item);
  const packets = items.flatMap((i) => (i.kind === 'packet' ? [i.packet] : []));
  const issues = items.flatMap((i) => (i.kind === 'issue' ? [i.issue] : []));
  return { packets, issues, items };
}

/** A comparable form of the items; data as hex, so a reused buffer would show. */
function summary(items: CaptureItem[]): unknown[] {
  return items.map((i) =>
    i.kind === 'issue' ? { issue: i.issue } : { ...i.packet, data: Buffer.from(i.packet.data).toString('hex') },
  );
}


function findPcaps(dir: string): string[] {
  return globSync('**/*.pcap', { cwd: dir, absolute: true }).sort();
}

/** Deliberately simple and independent: the whole file in memory, records walked one by one. */
function simplePcapRecords(file: Uint8Array): Array<{ offset: number; caplen: number }> {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
  const out: Array<{ offset: number; caplen: number }> = [];
  for (let o = 24; o + 16 <= file.length; ) {
    const caplen = dv.getUint32(o + 8, le);
    out.push({ offset: o, caplen });
    o += 16 + caplen;
  }
  return out;
}

// ---- tests -----------------------------------------------------------------------------------

const smallRecords: PcapRecord[] = [
  { sec: 1700000000, frac: 1, data: bytesOf(60, 1) },
  { sec: 1700000001, frac: 999999, data: bytesOf(14, 2), origLen: 1514 },
  { sec: 1700000002, frac: 500000, data: new Uint8Array(0) },
];

describe('captureKind', () => {
  it('tells pcap and pcapng by magic, in either byte order, and nothing else', () => {
    const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
    assert.equal(captureKind(hex('a1b2c3d4')), 'pcap');
    assert.equal(captureKind(hex('d4c3b2a1')), 'pcap');
    assert.equal(captureKind(hex('a1b23c4d')), 'pcap');
    assert.equal(captureKind(hex('4d3cb2a1')), 'pcap');
    assert.equal(captureKind(ng.shb(true)), 'pcapng');
    assert.equal(captureKind(ng.shb(false)), 'pcapng');
    assert.equal(captureKind(hex('0a0d0d0a1c000000deadbeef')), null); // bad byte-order magic
    assert.equal(captureKind(hex('0a0d0d0a')), null); // too short to check the byte-order magic
    assert.equal(captureKind(hex('a1b2c3')), null);
    assert.equal(captureKind(Buffer.from('hello world!')), null);
    assert.equal(captureKind(hex('1f8b0800')), null); // gzip: the caller decompresses first
  });
});

describe('readCapture: pcap', () => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      it(`reads ${le ? 'little' : 'big'}-endian ${nano ? 'ns' : 'µs'} records`, async () => {
        const records = smallRecords.map((r) => ({ ...r, frac: nano ? r.frac * 1000 + 7 : r.frac }));
        const file = pcapFile({ le, nano, linkType: 0x10000000 | 113, snaplen: 96 }, records);
        const { packets, issues } = await readAll(file);
        assert.deepEqual(issues, []);
        assert.equal(packets.length, 3);
        let offset = 24;
        packets.forEach((p, i) => {
          const r = records[i]!;
          assert.equal(p.index, i + 1);
          assert.equal(p.linkType, 113, 'FCS bits above the low 16 are masked off');
          assert.equal(p.interfaceId, 0);
          assert.equal(p.offset, offset);
          assert.equal(p.origLen, r.origLen ?? r.data.length);
          assert.deepEqual(Buffer.from(p.data), Buffer.from(r.data));
          assert.equal(p.ts, r.sec * 1000 + r.frac / (nano ? 1e6 : 1e3));
          offset += 16 + r.data.length;
        });
        assert.equal(packets[0]!.ts, nano ? 1700000000000.001007 : 1700000000000.001);
      });
    }
  }

  it('keeps nanosecond precision within a microsecond', async () => {
    const { packets } = await readAll(pcapFile({ nano: true }, [{ sec: 1700000000, frac: 123456789, data: bytesOf(4, 0) }]));
    assert.ok(Math.abs(packets[0]!.ts - 1700000000123.456789) < 1e-3, String(packets[0]!.ts));
  });

  it('reads every pcap fixture with no issue, record for record like a simple whole-file reader', async (t) => {
    if (SKIP_REAL) return t.skip(SKIP_REAL);
    const files = findPcaps(FIXTURES);
    assert.ok(files.length >= 20, `${files.length} fixture pcaps`);
    for (const f of files) {
      const file = readFileSync(f);
      const { packets, issues } = await readAll(file, 65536);
      assert.deepEqual(issues, [], f);
      const simple = simplePcapRecords(file);
      assert.ok(simple.length > 0, f);
      assert.deepEqual(
        packets.map((p) => ({ offset: p.offset, caplen: p.data.length })),
        simple,
        f,
      );
      assert.deepEqual(
        packets.map((p) => p.index),
        simple.map((_, i) => i + 1),
      );
    }
  });

  it("finds every packet Arkime's expected sessions list, at the same offset and length", async (t) => {
    if (SKIP_REAL) return t.skip(SKIP_REAL);
    const dir = join(FIXTURES, 'arkime');
    const tests = readdirSync(dir).filter((n) => n.endsWith('.test'));
    assert.ok(tests.length >= 8, `${tests.length} Arkime .test files`);
    for (const name of tests) {
      const expected = JSON.parse(readFileSync(join(dir, name), 'utf8')) as {
        sessions3: Array<{ body: { packetPos: number[]; packetLen: number[] } }>;
      };
      const { packets, issues } = await readAll(readFileSync(join(dir, name.replace(/\.test$/, '.pcap'))));
      assert.deepEqual(issues, []);
      // Arkime's packetLen is the record: 16-byte header plus captured bytes.
      const ours = new Map(packets.map((p) => [p.offset, 16 + p.data.length]));
      let checked = 0;
      for (const s of expected.sessions3) {
        s.body.packetPos.forEach((pos, i) => {
          if (pos < 0) return; // a file number, in Arkime's encoding
          assert.equal(ours.get(pos), s.body.packetLen[i], `${name}: packet at ${pos}`);
          checked++;
        });
      }
      assert.ok(checked > 0, name);
    }
  });

  it('gives identical results for 1-byte, 7-byte and 64 KiB chunks (a real file)', async (t) => {
    if (SKIP_REAL) return t.skip(SKIP_REAL);
    const file = readFileSync(join(FIXTURES, 'arkime', 'tls-split-client-hello.pcap'));
    const whole = summary((await readAll(file, 65536)).items);
    assert.equal(whole.length, 35);
    assert.deepEqual(summary((await readAll(file, 1)).items), whole);
    assert.deepEqual(summary((await readAll(file, 7)).items), whole);
    assert.deepEqual(summary((await readAll(file, 1514)).items), whole);
  });

  it('reports a file cut at any byte, keeping every complete packet before the cut', async () => {
    const file = pcapFile({}, smallRecords);
    const ends = [24, 24 + 16 + 60, 24 + 16 + 60 + 16 + 14, file.length]; // record boundaries
    for (let cut = 0; cut <= file.length; cut++) {
      for (const size of [1, 5, 4096]) {
        const { packets, issues } = await readAll(file.subarray(0, cut), size);
        const complete = ends.filter((e) => e <= cut).length - 1;
        assert.equal(packets.length, Math.max(0, complete), `cut ${cut}`);
        if (ends.includes(cut)) {
          assert.deepEqual(issues, [], `cut ${cut}`);
          continue;
        }
        assert.equal(issues.length, 1, `cut ${cut}`);
        const issue = issues[0]!;
        if (cut === 0) {
          assert.match(issue.reason, /empty file/);
        } else if (cut < 24) {
          assert.equal(issue.reason, `truncated file header at offset 0: need ${cut < 4 ? 4 : 24} bytes, have ${cut}`);
        } else {
          const start = ends[complete]!;
          const need = cut - start < 16 ? 16 : 16 + smallRecords[complete]!.data.length;
          assert.equal(issue.reason, `truncated record at offset ${start}: need ${need} bytes, have ${cut - start}`);
          assert.equal(issue.offset, start);
        }
      }
    }
  });

  it('reports a corrupt record header by offset and resynchronises on the next record', async () => {
    const records: PcapRecord[] = Array.from({ length: 6 }, (_, i) => ({ sec: 1700000000 + i, frac: i, data: bytesOf(40 + i * 10, i) }));
    const file = pcapFile({ snaplen: 65535 }, records);
    const offsets = (await readAll(file)).packets.map((p) => p.offset);
    const third = offsets[2]!;
    const bad = Uint8Array.from(file);
    new DataView(bad.buffer).setUint32(third + 8, 0x7fffffff, true); // caplen
    for (const size of [1, 7, 65536]) {
      const { packets, issues, items } = await readAll(bad, size);
      assert.equal(issues.length, 1);
      assert.equal(issues[0]!.offset, third);
      assert.equal(
        issues[0]!.reason,
        `corrupt record header at offset ${third} (captured length 2147483647 over the limit of 262144); ` +
          `skipped ${offsets[3]! - third} bytes to the next plausible record at offset ${offsets[3]}`,
      );
      assert.deepEqual(
        packets.map((p) => p.offset),
        [offsets[0], offsets[1], offsets[3], offsets[4], offsets[5]],
      );
      assert.deepEqual(
        packets.map((p) => p.index),
        [1, 2, 3, 4, 5],
      );
      assert.equal(items[2]!.kind, 'issue', 'the issue comes where the corrupt record was');
      assert.deepEqual(Buffer.from(packets[2]!.data), Buffer.from(records[3]!.data));
    }
  });

  it('resynchronises past garbage between records, and on the last record of the file', async () => {
    const records: PcapRecord[] = Array.from({ length: 4 }, (_, i) => ({ sec: 1700000000, frac: i, data: bytesOf(50, i) }));
    const file = pcapFile({}, records);
    const second = 24 + 66;
    const garbage = Uint8Array.from({ length: 37 }, (_, i) => (i * 97 + 13) | 0x80);
    const spliced = concat(file.subarray(0, second), garbage, file.subarray(second));
    const { packets, issues } = await readAll(spliced, 7);
    assert.equal(packets.length, 4);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.offset, second);
    assert.match(issues[0]!.reason, new RegExp(`skipped 37 bytes to the next plausible record at offset ${second + 37}$`));

    // Corrupting the last record's header: the scan finds nothing before the end.
    const last = 24 + 3 * 66;
    const bad = Uint8Array.from(file);
    new DataView(bad.buffer).setUint32(last + 8, 0xfffffff0, true);
    for (const size of [1, 64, 65536]) {
      const end = await readAll(bad, size);
      assert.equal(end.packets.length, 3);
      assert.equal(end.issues.length, 1);
      assert.equal(
        end.issues[0]!.reason,
        'corrupt record header at offset 222 (captured length 4294967280 over the limit of 262144); ' +
          'no plausible record after it (none before the end of the file), reading stopped',
      );
    }
  });

  it('reads writer quirks as they are: a fraction out of range, a captured length over the original', async () => {
    const { packets, issues } = await readAll(
      pcapFile({}, [
        { sec: 10, frac: 1_500_000, data: bytesOf(10, 1) },
        { sec: 11, frac: 0, data: bytesOf(10, 2), origLen: 4 },
      ]),
    );
    assert.deepEqual(issues, []);
    assert.deepEqual(
      packets.map((p) => [p.ts, p.data.length, p.origLen]),
      [
        [11500, 10, 10],
        [11000, 10, 4],
      ],
    );
  });

  it('gives up after scanning a bounded number of bytes', async () => {
    const file = pcapFile({}, [{ sec: 1700000000, frac: 0, data: bytesOf(20, 0) }]);
    const junk = new Uint8Array(9 * 1024 * 1024).fill(0xff);
    const started = Date.now();
    const { packets, issues } = await readAll(concat(file, junk), 65536);
    assert.equal(packets.length, 1);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.reason, /no plausible record after it \(none in the next 8388608 bytes\), reading stopped/);
    assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
  });

  it('refuses a record over max(snaplen, 256 KiB), and accepts one under it', async () => {
    const big = new Uint8Array(300_000);
    const over = await readAll(pcapFile({ snaplen: 65535 }, [{ sec: 1, frac: 0, data: big }]));
    assert.equal(over.packets.length, 0);
    assert.match(over.issues[0]!.reason, /captured length 300000 over the limit of 262144/);
    const under = await readAll(pcapFile({ snaplen: 400_000 }, [{ sec: 1, frac: 0, data: big }]), 4096);
    assert.deepEqual(under.issues, []);
    assert.equal(under.packets[0]!.data.length, 300_000);
  });

  it('says so when the input is not a capture', async () => {
    const { packets, issues } = await readAll(Buffer.from('#separator \\x09\n#fields ts uid\n'));
    assert.equal(packets.length, 0);
    assert.deepEqual(issues, [{ offset: 0, reason: 'not a pcap or pcapng file (starts with 0x23736570)' }]);
    assert.deepEqual((await readAll(new Uint8Array(0))).issues, [{ offset: 0, reason: 'empty file: no pcap or pcapng header' }]);
  });
});

describe('readCapture: pcapng', () => {
  const d1 = bytesOf(60, 1);
  const d2 = bytesOf(41, 2);
  const d3 = bytesOf(33, 3);
  const d4 = bytesOf(20, 4);
  const d5 = bytesOf(70, 5);
  const unknown = block(true, 0x00000bad + 0x1000, (w) => w.bytes(bytesOf(13, 9)));
  const section1 = concat(
    ng.shb(true),
    ng.idb(true, 1, 0), // Ethernet, default µs, no snaplen
    ng.idb(true, 101, 64, { tsresol: 9, tsoffset: 3600n }), // raw IP, ns, an hour's offset
    ng.epb(true, 0, 1700000000123456n, d1),
    unknown,
    ng.epb(true, 1, 1700000000987654321n, d2, 1500),
    ng.spb(true, 33, d3), // interface 0, no timestamp
    ng.opb(true, 1, 1700000001000000001n, d4),
  );
  const section2 = concat(
    ng.shb(false), // big-endian now; interfaces start again
    ng.idb(false, 113, 16, { tsresol: 0x80 | 20 }), // Linux cooked, 2^-20 s, snaplen 16
    ng.epb(false, 0, (1700000002n << 20n) + (1n << 19n), d5.subarray(0, 16), 70),
    ng.spb(false, 70, d5.subarray(0, 16)), // caplen = min(orig 70, room 16, snaplen 16)
    ng.spb(false, 5, d5.subarray(0, 8)), // caplen = orig 5 (the rest is padding)
    ng.epb(false, 1, 0n, d5), // interface 1 belonged to the previous section
    ng.epb(false, 0, 1n << 20n, d5.subarray(0, 4)),
  );
  const file = concat(section1, section2);

  it('reads two sections of different byte orders, interfaces of different link types and resolutions, EPB/SPB/OPB', async () => {
    const { packets, issues, items } = await readAll(file);
    const view = packets.map((p) => ({ index: p.index, linkType: p.linkType, interfaceId: p.interfaceId, origLen: p.origLen, data: Buffer.from(p.data).toString('hex') }));
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    assert.deepEqual(view, [
      { index: 1, linkType: 1, interfaceId: 0, origLen: 60, data: hex(d1) },
      { index: 2, linkType: 101, interfaceId: 1, origLen: 1500, data: hex(d2) },
      { index: 3, linkType: 1, interfaceId: 0, origLen: 33, data: hex(d3) },
      { index: 4, linkType: 101, interfaceId: 1, origLen: 20, data: hex(d4) },
      { index: 5, linkType: 113, interfaceId: 0, origLen: 70, data: hex(d5.subarray(0, 16)) },
      { index: 6, linkType: 113, interfaceId: 0, origLen: 70, data: hex(d5.subarray(0, 16)) },
      { index: 7, linkType: 113, interfaceId: 0, origLen: 5, data: hex(d5.subarray(0, 5)) },
      { index: 8, linkType: 113, interfaceId: 0, origLen: 4, data: hex(d5.subarray(0, 4)) },
    ]);
    const ts = packets.map((p) => p.ts);
    assert.equal(ts[0], 1700000000123.456);
    assert.ok(Math.abs(ts[1]! - (1700003600987 + 0.654321)) < 1e-3, `ns with offset: ${ts[1]}`);
    assert.equal(ts[2], ts[1], 'a simple packet block takes the previous packet’s time');
    assert.ok(Math.abs(ts[3]! - (1700003601000 + 0.000001)) < 1e-3, String(ts[3]));
    assert.equal(ts[4], 1700000002500);
    assert.equal(ts[5], 1700000002500);
    assert.equal(ts[7], 1000);
    // Offsets: blocks in the file.
    assert.equal(packets[0]!.offset, ng.shb(true).length + ng.idb(true, 1, 0).length + ng.idb(true, 101, 64, { tsresol: 9, tsoffset: 3600n }).length);
    assert.equal(packets[4]!.offset, section1.length + ng.shb(false).length + ng.idb(false, 113, 16, { tsresol: 0x80 | 20 }).length);
    // The packet block of an interface from the previous section is skipped with an issue.
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.reason, /^enhanced packet block names interface 1, but the section describes 1 \(block at offset \d+\)$/);
    assert.equal(issues[0]!.index, 8);
    assert.equal(items[items.length - 2]!.kind, 'issue');
  });

  it('gives identical results for 1-byte, 7-byte and 64 KiB chunks', async () => {
    const whole = summary((await readAll(file, 65536)).items);
    assert.equal(whole.length, 9);
    assert.deepEqual(summary((await readAll(file, 1)).items), whole);
    assert.deepEqual(summary((await readAll(file, 7)).items), whole);
  });

  it('keeps nanosecond timestamps exact past 2^53 units', async () => {
    const f = concat(ng.shb(true), ng.idb(true, 1, 0, { tsresol: 9 }), ng.epb(true, 0, 4102444800123456789n, d1));
    const { packets } = await readAll(f);
    // 2100-01-01T00:00:00.123456789Z. A double of epoch ms holds about half a microsecond there.
    assert.ok(Math.abs(packets[0]!.ts - 4102444800123.456789) < 1e-3, String(packets[0]!.ts));
    // Picoseconds (finer than 2^37 units a second): 2^64 ps is 213 days, so with an offset.
    const ps = concat(ng.shb(true), ng.idb(true, 1, 0, { tsresol: 12, tsoffset: 1700000000n }), ng.epb(true, 0, 10000123456789012n, d1));
    const tsPs = (await readAll(ps)).packets[0]!.ts;
    assert.ok(Math.abs(tsPs - 1700010000123.456789) < 1e-3, String(tsPs));
    // Binary resolution: 2^-30 s.
    const bin = concat(ng.shb(true), ng.idb(true, 1, 0, { tsresol: 0x80 | 30 }), ng.epb(true, 0, (1700000000n << 30n) + (1n << 28n), d1));
    assert.equal((await readAll(bin)).packets[0]!.ts, 1700000000250);
  });

  it('reports a file cut at any byte, keeping every complete packet before the cut', async () => {
    const blocks = [ng.shb(true), ng.idb(true, 1, 0), ng.epb(true, 0, 1n, d1), ng.spb(true, 33, d3), ng.epb(true, 0, 2n, d2)];
    const f = concat(...blocks);
    const ends: number[] = [];
    blocks.reduce((at, b) => (ends.push(at + b.length), at + b.length), 0);
    for (let cut = 1; cut <= f.length; cut++) {
      const { packets, issues } = await readAll(f.subarray(0, cut), 3);
      const complete = ends.filter((e) => e <= cut).length;
      assert.equal(packets.length, Math.max(0, complete - 2), `cut ${cut}`);
      if (ends.includes(cut)) {
        assert.deepEqual(issues, [], `cut ${cut}`);
      } else if (cut < 4) {
        assert.equal(issues.length, 1);
      } else {
        const start = complete === 0 ? 0 : ends[complete - 1]!;
        const need = cut - start < 12 ? 12 : blocks[complete]!.length;
        assert.deepEqual(issues, [{ offset: start, reason: `truncated block at offset ${start}: need ${need} bytes, have ${cut - start}` }], `cut ${cut}`);
      }
    }
  });

  it('resynchronises on the section header that follows a corrupt block', async () => {
    const bad = Uint8Array.from(file);
    const lastOfSection1 = section1.length - ng.opb(true, 1, 1700000001000000001n, d4).length;
    new DataView(bad.buffer).setUint32(lastOfSection1 + 4, 0xffff, true);
    for (const size of [5, 65536]) {
      const { packets, issues } = await readAll(bad, size);
      assert.deepEqual(
        packets.map((p) => p.index),
        [1, 2, 3, 4, 5, 6, 7],
      );
      assert.deepEqual(
        packets.map((p) => p.linkType),
        [1, 101, 1, 113, 113, 113, 113],
      );
      assert.equal(issues.length, 2);
      assert.equal(issues[0]!.reason, `corrupt block header at offset ${lastOfSection1} (block length 65535 invalid); skipped ${section1.length - lastOfSection1} bytes to the next plausible block at offset ${section1.length}`);
    }
  });

  it('keeps interface ids in step past an unreadable interface description', async () => {
    const f = concat(ng.shb(true), block(true, 1, (w) => w.u32(0)), ng.idb(true, 228, 0), ng.epb(true, 1, 5n, d1), ng.epb(true, 0, 5n, d1));
    const { packets, issues } = await readAll(f);
    assert.deepEqual(
      packets.map((p) => [p.linkType, p.interfaceId]),
      [[228, 1]],
    );
    assert.equal(issues.length, 2);
    assert.match(issues[0]!.reason, /^interface description block of 16 bytes is too short/);
    assert.match(issues[1]!.reason, /^enhanced packet block names interface 0, whose description block was unreadable/);
  });

  it('resynchronises on the next block after a corrupt length, and after a bad trailer', async () => {
    const epbs = [d1, d2, d3, d4, d5].map((d, i) => ng.epb(true, 0, BigInt(i), d));
    const head = concat(ng.shb(true), ng.idb(true, 1, 0));
    const f = concat(head, ...epbs);
    const offsets: number[] = [];
    epbs.reduce((at, b) => (offsets.push(at), at + b.length), head.length);
    for (const [field, value, reason] of [
      [4, 0x00ffff01, 'block length 16776961 invalid'],
      [4, 0x40000000, 'block length 1073741824 invalid'],
      [4, 48, `block length 48 but trailing length`],
    ] as const) {
      const bad = Uint8Array.from(f);
      new DataView(bad.buffer).setUint32(offsets[2]! + field, value, true);
      for (const size of [1, 7, 65536]) {
        const { packets, issues } = await readAll(bad, size);
        assert.deepEqual(
          packets.map((p) => p.offset),
          [offsets[0], offsets[1], offsets[3], offsets[4]],
        );
        assert.equal(issues.length, 1);
        assert.equal(issues[0]!.offset, offsets[2]);
        assert.ok(issues[0]!.reason.startsWith(`corrupt block header at offset ${offsets[2]} (${reason}`), issues[0]!.reason);
        assert.ok(issues[0]!.reason.endsWith(`to the next plausible block at offset ${offsets[3]}`), issues[0]!.reason);
      }
    }
  });
});

describe('readCapture: hostile input', () => {
  it('never throws or hangs on 2,000 randomly mutated captures', async () => {
    const rand = mulberry32(20240601);
    const pcap = pcapFile(
      { snaplen: 256 },
      Array.from({ length: 12 }, (_, i) => ({ sec: 1700000000 + i, frac: i * 1000, data: bytesOf(20 + i * 9, i) })),
    );
    const pcapng = concat(
      ng.shb(true),
      ng.idb(true, 1, 0, { tsresol: 9, tsoffset: -5n }),
      ...Array.from({ length: 6 }, (_, i) => ng.epb(true, 0, BigInt(i) * 1000n, bytesOf(30 + i * 7, i))),
      ng.spb(true, 40, bytesOf(40, 1)),
      ng.shb(false),
      ng.idb(false, 113, 128),
      ng.epb(false, 0, 5n, bytesOf(50, 3)),
    );
    const started = Date.now();
    let packets = 0;
    for (let round = 0; round < 2000; round++) {
      const base = round % 2 === 0 ? pcap : pcapng;
      const m = Uint8Array.from(base);
      const flips = 1 + Math.floor(rand() * 6);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(rand() * m.length);
        m[at] = rand() < 0.5 ? m[at]! ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
      }
      const cut = rand() < 0.2 ? Math.floor(rand() * m.length) : m.length;
      const size = 1 + Math.floor(rand() * 300);
      const { packets: got, items } = await readAll(m.subarray(0, cut), size);
      packets += got.length;
      got.forEach((p, i) => {
        assert.equal(p.index, i + 1);
        assert.ok(p.offset >= 0 && p.offset + p.data.length <= cut, `round ${round}`);
        assert.ok(Number.isFinite(p.ts), `round ${round}: ts ${p.ts}`);
      });
      assert.ok(items.length < 200, `round ${round}: ${items.length} items`);
    }
    assert.ok(packets > 5000, `${packets} packets read`);
    assert.ok(Date.now() - started < 10_000, `${Date.now() - started} ms`);
  });
});

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { queryJson } from '../../src/lake/parquet.js';
import type { IngestOptions, IngestReport } from '../../src/pipeline/ingest.js';
import { MAX_CONTEXT_LINES } from '../../src/pipeline/blocks.js';
import { LONG_BLOCK_BYTES, MAX_INFLIGHT_BYTES, ReaderPool, ReaderThreadError, readParallel } from '../../src/pipeline/parallel.js';
import { zeekX509 } from '../../src/sources/zeek.js';
import type { Lake } from '../../src/pipeline/lake.js';
import { run } from '../helpers/cli.js';
import { tableRows, testLakes } from '../helpers/lakes.js';

/**
 * Reading on reader threads (src/pipeline/parallel.ts) must land what reading on the main
 * thread lands: the same bronze rows and rejects, in the same commits, and so the same silver.
 * Tiny blocks make every file many blocks, split across the threads.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const brim = join(root, '..', 'shared', 'fixtures', 'zeek-logs', 'brimdata');
const noShared = existsSync(brim) ? false : '../shared/fixtures not found';
const lakes = testLakes('parallel');
const { ingestWith } = lakes;

/**
 * Each commit of a table as the lines it holds (rows, first and last position, from its files'
 * stats): the batches a re-run skips by version must hold the same records.
 */
function commits(lake: Lake, layer: 'bronze' | 'silver', name: string): string[] {
  const log = join(lake.location, layer, name, '_delta_log');
  if (!existsSync(log)) return [];
  return readdirSync(log).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const adds = readFileSync(join(log, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { add?: { stats?: string } }).flatMap((a) => (a.add?.stats ? [JSON.parse(a.add.stats)] : []));
    return adds.map((st: { numRecords: number; minValues?: { _source_pos?: number }; maxValues?: { _source_pos?: number } }) => `${st.numRecords}@${st.minValues?._source_pos}-${st.maxValues?._source_pos}`).join(',');
  });
}

async function sameAsOneThread(files: string[], extra: IngestOptions = {}, maxLineBytes?: number): Promise<{ lake: Lake; report: IngestReport; threaded: number }> {
  // Progress as a TTY would show it: every 10,000 records, whichever way they were read.
  const progress = { serial: [] as number[], parallel: [] as number[] };
  const serial = await ingestWith(files, { ...extra, readers: { threads: 0 }, onProgress: (p) => progress.serial.push(Math.floor(p.records / 10_000)) }, maxLineBytes);
  let threaded = 0;
  const parallel = await ingestWith(
    files,
    { ...extra, readers: { threads: 2, blockBytes: 600, minBytes: 0, onBlock: (n) => (threaded += n) }, onProgress: (p) => progress.parallel.push(Math.floor(p.records / 10_000)) },
    maxLineBytes,
  );
  assert.deepEqual(progress.parallel, progress.serial, 'progress at the same ten thousands');
  assert.deepEqual(parallel.report.files, serial.report.files, 'same counts per file');
  assert.deepEqual(parallel.report.rejectReasons, serial.report.rejectReasons, 'same reject reasons');
  assert.deepEqual(parallel.report.silver, serial.report.silver, 'same silver result');
  const bronze = [...new Set(parallel.report.files.map((f) => f.format).filter((f): f is string => f !== null))];
  for (const name of [...bronze, 'rejects']) {
    assert.deepEqual(await tableRows(parallel.lake, 'bronze', name), await tableRows(serial.lake, 'bronze', name), `bronze.${name}: same rows`);
    assert.deepEqual(commits(parallel.lake, 'bronze', name), commits(serial.lake, 'bronze', name), `bronze.${name}: same commits`);
  }
  // Observations carry their run's id, which differs between the two runs (tableRows leaves it out).
  for (const name of ['certificates', 'observations']) {
    assert.deepEqual(await tableRows(parallel.lake, 'silver', name), await tableRows(serial.lake, 'silver', name), `silver.${name}: same rows`);
  }
  return { ...parallel, threaded };
}

test('Zeek JSON logs (brimdata) land the same on reader threads as on one', { skip: noShared }, async () => {
  const files = ['zeek-json_x509.json.gz', 'zeek-json_ssl.json.gz', 'zeek-json_known_certs.json.gz'].map((f) => join(brim, f));
  const { report, threaded } = await sameAsOneThread(files, { batchSize: 2000 });
  const lines = files.reduce((n, f) => n + gunzipSync(readFileSync(f)).toString('utf8').split('\n').filter(Boolean).length, 0);
  assert.equal(threaded, lines, 'every line read on threads');
  assert.ok(lines > 20_000, `enough lines for progress reports (${lines})`);
  assert.ok(report.files.every((f) => f.status === 'ingested' && f.certificates + f.observations > 0), 'every log read');
  assert.ok(report.silver.certificates.inserted >= 348, `silver has the fixture's certificates (${report.silver.certificates.inserted})`);
});

test('small files are read on the main thread until the run has read minBytes, then on the threads', { skip: noShared }, async () => {
  const lines = gunzipSync(readFileSync(join(brim, 'zeek-json_x509.json.gz'))).toString('utf8').split('\n').filter(Boolean);
  const per = Math.floor(lines.length / 4);
  const files = [0, 1, 2, 3].map((i) => {
    const f = join(lakes.dir, `hour-${i}.log`);
    writeFileSync(f, lines.slice(i * per, (i + 1) * per).join('\n') + '\n');
    return f;
  });
  const size = readFileSync(files[0]!).length;
  let threaded = 0;
  // Each file is smaller than minBytes; two of them are not.
  const { report } = await ingestWith(files, { readers: { threads: 2, blockBytes: 4096, minBytes: Math.ceil(size * 1.5), onBlock: (n) => (threaded += n) } });
  assert.equal(threaded, 2 * per, 'the third and fourth files on the threads, the first two not');
  assert.deepEqual(report.files.map((f) => f.certificates), [per, per, per, per]);
});

test('Zeek TSV logs (brimdata) land the same on reader threads, each block read after its header', { skip: noShared }, async () => {
  const files = ['zeek-default_x509.log.gz', 'zeek-default_ssl.log.gz', 'zeek-default_known_certs.log.gz'].map((f) => join(brim, f));
  const { report, threaded } = await sameAsOneThread(files, { batchSize: 2000 });
  const rowLines = files.reduce((n, f) => n + gunzipSync(readFileSync(f)).toString('utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')).length, 0);
  assert.equal(threaded, rowLines, 'every row read on threads, the directives with each block');
  assert.ok(report.silver.certificates.inserted >= 348, `silver has the fixture's certificates (${report.silver.certificates.inserted})`);
});

test('concatenated TSV logs whose headers differ, and a header of too many directives', async () => {
  const header = (fields: string[], sep = '\t') => [
    `#separator ${sep === '\t' ? '\\x09' : sep}`, `#set_separator${sep},`, `#empty_field${sep}(empty)`, `#unset_field${sep}-`, `#path${sep}x509`,
    `#fields${sep}${fields.join(sep)}`, `#types${sep}${fields.map(() => 'string').join(sep)}`,
  ];
  const fp = (i: number) => (i % 256).toString(16).padStart(2, '0').repeat(32);
  const a = ['ts', 'fingerprint', 'certificate.subject', 'certificate.issuer', 'san.dns'];
  const b = ['fingerprint', 'ts', 'san.dns', 'certificate.issuer', 'certificate.subject']; // another order
  const lines = [
    ...header(a),
    // 10 rows of ~120 bytes: a 600-byte block takes the end of them and the next header's directives.
    ...Array.from({ length: 10 }, (_, i) => [`${1_700_000_000 + i}.5`, fp(i), `CN=a${i}`, 'CN=CA', `a${i}.example,www.a${i}.example`].join('\t')),
    '#close\t2026-01-01-00-00-00',
    ...header(b, '|'),
    ...Array.from({ length: 8 }, (_, i) => [fp(100 + i), `${1_700_100_000 + i}`, `(empty)`, 'CN=CA', `CN=b${i}`].join('|')),
    // Comments pile up without a new #separator: past MAX_CONTEXT_LINES the rest reads on one thread.
    ...Array.from({ length: MAX_CONTEXT_LINES }, (_, i) => `#comment ${i}`),
    ...Array.from({ length: 5 }, (_, i) => [fp(200 + i), `${1_700_200_000 + i}`, '-', 'CN=CA', `CN=c${i}`].join('|')),
  ];
  const file = join(lakes.dir, 'concatenated-x509.log');
  writeFileSync(file, lines.join('\n') + '\n');
  const { report, threaded, lake } = await sameAsOneThread([file], { batchSize: 5 });
  assert.equal(report.files[0]!.certificates, 23, 'every row of the three parts');
  assert.equal(report.files[0]!.rejects, 0, 'no row misread under the wrong header');
  assert.equal(threaded, 18, 'the rows of both headers on threads; those after the pile of comments on one');
  const plan = await (await lake.table('silver', 'certificates')).scan();
  const b3 = await queryJson(lake.conn, `SELECT subject, subject_alternative_names AS sans FROM (${plan.sql}) WHERE sha256 = '${fp(103)}'`);
  assert.deepEqual(b3, [{ subject: 'CN=b3', sans: [] }], 'the second header\'s field order and (empty) applied');
});

test('a log of JSON lines, bad lines and then a TSV header block: all on threads, the header read ahead of the blocks after it', async () => {
  const json = (i: number) => JSON.stringify({
    ts: 1_700_000_000 + i, fingerprint: (i.toString(16).padStart(2, '0')).repeat(32), 'certificate.version': 3, 'certificate.serial': `0${i}`,
    'certificate.subject': `CN=host${i}.example.com,O=Ex\\, Inc.`, 'certificate.issuer': 'CN=Example CA,O=Example,C=US',
    'certificate.not_valid_before': 1_600_000_000, 'certificate.not_valid_after': 1_800_000_000, 'san.dns': [`host${i}.example.com`],
  });
  const lines = [
    ...Array.from({ length: 10 }, (_, i) => json(i)),
    '{"ts": 1700000000, "fingerprint": "not hex"}', // a reject from the mapper
    '{not json', // a reject from the parser
    'x'.repeat(5000), // longer than maxLineBytes (4096): a line error
    '',
    `{"ts":1,"certificate.subject":"CN=a\u0000b"}`, // NUL byte
    Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('latin1'), // stands in below for invalid UTF-8
    ...Array.from({ length: 7 }, (_, i) => json(20 + i)),
    '#separator \\x09',
    '#fields\tts\tfingerprint\tcertificate.version\tcertificate.serial\tcertificate.subject\tcertificate.issuer',
    '#types\ttime\tstring\tcount\tstring\tstring\tstring',
    `1700000100.0\t${'ab'.repeat(32)}\t3\t0a\tCN=tsv.example.com\tCN=Example CA,O=Example,C=US`,
    json(40), // JSON after the header reads as JSON all the same
    `1700000101.0\t${'cd'.repeat(32)}\t3\t0b\tCN=tsv2.example.com`, // short row
  ];
  const text = Buffer.concat(lines.map((l, i) => Buffer.concat([i === 15 ? Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) : Buffer.from(l, 'utf8'), Buffer.from('\n')])));
  const file = join(lakes.dir, 'mixed-x509.log');
  writeFileSync(file, text);
  const { report, lake, threaded } = await sameAsOneThread([file], { batchSize: 4 }, 4096);
  assert.equal(threaded, 26, 'the 23 lines before the header and the 3 after it read on threads');
  const f = report.files[0]!;
  assert.equal(f.certificates, 19, 'JSON and TSV certificates');
  assert.equal(f.rejects, 6, 'mapper, parser, over-long, NUL, invalid UTF-8 and short-row rejects');
  const rejects = await tableRows(lake, 'bronze', 'rejects');
  assert.deepEqual(rejects.map((r) => Number((r as { _source_pos: string })._source_pos)), [11, 12, 13, 15, 16, 29], 'each reject at its line');
});

test('a line past the cap that spans several reads is skipped on the main thread, as on one thread', async () => {
  // Reads are 1 MiB: the 3 MB line ends no read, so the block cutter skips it itself.
  const json = (i: number) => JSON.stringify({ ts: 1_700_000_000 + i, fingerprint: (i % 256).toString(16).padStart(2, '0').repeat(32), 'certificate.subject': `CN=l${i}` });
  const lines = [...Array.from({ length: 30 }, (_, i) => json(i)), `{"x":"${'y'.repeat(3_000_000)}"}`, ...Array.from({ length: 30 }, (_, i) => json(100 + i))];
  const file = join(lakes.dir, 'long-line-x509.log');
  writeFileSync(file, lines.join('\n') + '\n');
  const { report, lake, threaded } = await sameAsOneThread([file], { batchSize: 20 }, 4096);
  assert.equal(threaded, 61, 'every line on threads, the long one as its error item');
  assert.equal(report.files[0]!.certificates, 60, 'the lines around it');
  const rejects = (await tableRows(lake, 'bronze', 'rejects')) as { _source_pos: string; reason: string; excerpt: string }[];
  assert.deepEqual(rejects.map((r) => [Number(r._source_pos), r.reason]), [[31, 'line 31 is longer than 4096 bytes']], 'one reject, at its line');
  assert.ok(rejects[0]!.excerpt.startsWith('{"x":"yyy') && rejects[0]!.excerpt.length <= 201, `its start as the excerpt (${rejects[0]!.excerpt.length} chars)`);
});

test('a truncated gzip read on threads keeps what came before the break, like one thread', async () => {
  const body = Array.from({ length: 400 }, (_, i) => JSON.stringify({ ts: 1_700_000_000 + i, fingerprint: (i % 256).toString(16).padStart(2, '0').repeat(32), 'certificate.subject': `CN=h${i}` })).join('\n') + '\n';
  const gz = gzipSync(Buffer.from(body));
  const file = join(lakes.dir, 'cut-x509.json.gz');
  writeFileSync(file, gz.subarray(0, Math.floor(gz.length * 0.6)));
  const { report, threaded } = await sameAsOneThread([file]);
  const f = report.files[0]!;
  assert.ok(threaded > 0, 'read on threads');
  assert.ok(f.certificates > 0 && f.certificates < 400, `some certificates before the cut (${f.certificates})`);
  assert.ok(f.error, 'the break is reported');
});

test('Suricata eve.json lands the same on reader threads as on one', async () => {
  const out = join(lakes.dir, 'gen');
  const r = await run('generate', '--certificates', '300', '--observations', '2000', '--format', 'eve', '--out', out, '--seed', '3');
  assert.equal(r.code, 0, r.err);
  const eve = join(out, 'eve.json');
  assert.ok(readFileSync(eve, 'utf8').includes('"event_type":"tls"'), 'the generator wrote TLS events');
  const { report, threaded } = await sameAsOneThread([eve], { batchSize: 500 });
  assert.equal(threaded, readFileSync(eve, 'utf8').split('\n').filter(Boolean).length, 'every line read on threads');
  assert.ok(report.files[0]!.observations >= 2000, `sessions read (${report.files[0]!.observations})`);
});

test('a log that grew: the second run reads only its new lines, on threads as on one', async () => {
  const line = (i: number) => JSON.stringify({ ts: 1_700_000_000 + i, fingerprint: (i % 256).toString(16).padStart(2, '0').repeat(32), 'certificate.subject': `CN=g${i}` });
  const grown = async (threads: number) => {
    const file = join(lakes.dir, `grown-${threads}-x509.log`);
    writeFileSync(file, Array.from({ length: 25 }, (_, i) => line(i)).join('\n') + '\n');
    const lake = lakes.newLake();
    const readers = { threads, blockBytes: 300, minBytes: 0 };
    const once = async () => lakes.ingestInto(lake, [file], { readers, batchSize: 6 });
    await once();
    writeFileSync(file, Array.from({ length: 40 }, (_, i) => line(i)).join('\n') + '\n');
    const second = await once();
    return { second, rows: await tableRows(lake, 'bronze', 'zeek_x509'), commits: commits(lake, 'bronze', 'zeek_x509') };
  };
  const serial = await grown(0);
  const parallel = await grown(2);
  assert.equal(parallel.second.files[0]?.status, 'grown');
  assert.equal(parallel.second.files[0]?.certificates, 15, 'the 15 new lines only');
  assert.equal(parallel.rows.length, 40, 'no line twice');
  assert.deepEqual(parallel.commits, serial.commits, 'the same commits');
  assert.deepEqual(parallel.rows.map((r) => (r as { _source_pos: string })._source_pos), serial.rows.map((r) => (r as { _source_pos: string })._source_pos));
});

test('a reader thread that fails is an error of its own kind, not a broken input', async () => {
  const pool = new ReaderPool(1);
  try {
    const line = { text: '{}', pos: 1, byteOffset: 0 };
    await assert.rejects(pool.read({ format: 'no-such-format', options: {}, source: 'x', context: [], block: { items: [line] } }), (e: unknown) => e instanceof ReaderThreadError && /unknown format no-such-format/.test(e.message));
    const ok = await pool.read({ format: 'suricata_tls', options: {}, source: 'x', context: [], block: { items: [line] } });
    assert.equal(ok.kinds.length, 0, 'the thread goes on after a failed block (an object with no event_type is skipped)');
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.read({ format: 'suricata_tls', options: {}, source: 'x', context: [], block: { items: [] } }), ReaderThreadError, 'closed');
});

test('long lines go to one thread and a few at a time: spread over 4 threads, 15 MB lines passed 1 GiB', async () => {
  const sends: { thread: number; bytes: number }[] = [];
  let inflight = 0;
  let most = 0;
  const real = new ReaderPool(3, (thread, bytes) => sends.push({ thread, bytes }));
  // The real pool, its bytes in flight watched from the dispatch to the block's return.
  const pool = {
    size: real.size,
    read: async (...args: Parameters<ReaderPool['read']>) => {
      const bytes = args[2] ?? 0;
      inflight += bytes;
      most = Math.max(most, inflight);
      try {
        return await real.read(...args);
      } finally {
        inflight -= bytes;
      }
    },
  } as unknown as ReaderPool;
  const line = (i: number, sans: number) =>
    JSON.stringify({ ts: 1700000000, fingerprint: i.toString(16).padStart(64, '0'), 'certificate.serial': '01', 'certificate.subject': `CN=c${i}`, 'san.dns': Array.from({ length: sans }, (_, k) => `h${k}.example.com`) });
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) lines.push(line(i, i % 2000 === 7 ? 300_000 : 1)); // ten lines of ~5 MB
  const text = Buffer.from(lines.join('\n') + '\n');
  const chunks = (async function* () {
    for (let at = 0; at < text.length; at += 1 << 20) yield text.subarray(at, at + (1 << 20));
  })();
  let rows = 0;
  try {
    for await (const b of readParallel(chunks, { format: zeekX509, options: {} }, { source: 'test', format: 'zeek_x509' }, pool)) rows += 'kinds' in b ? b.kinds.length : 1;
  } finally {
    await real.close();
  }
  assert.equal(rows, 20_000, 'every line read');
  const long = sends.filter((s) => s.bytes > LONG_BLOCK_BYTES);
  assert.equal(long.length, 10, `the ten long lines are blocks of their own: ${JSON.stringify(long)}`);
  assert.deepEqual([...new Set(long.map((s) => s.thread))], [0], 'all on the first thread');
  assert.ok(new Set(sends.map((s) => s.thread)).size === 3, 'the other blocks on every thread');
  const largest = Math.max(...sends.map((s) => s.bytes));
  assert.ok(most <= MAX_INFLIGHT_BYTES + largest, `at most MAX_INFLIGHT_BYTES and one block in flight: ${most}`);
  assert.ok(most < 4 * largest, `fewer than four long lines in flight at once: ${most} bytes, lines of ${largest}`);
});

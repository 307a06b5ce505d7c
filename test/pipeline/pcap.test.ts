import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { run, sql } from '../helpers/cli.js';

/**
 * `certhunt ingest` of packet captures into the lake: sessions become observations, the
 * certificates they carried become silver certificates (parsed from the DER), and the usual
 * lake rules hold (idempotent, grown files read on, bad input set aside, gzip transparent).
 */
const FIX = new URL('../../../shared/fixtures/pcap/', import.meta.url).pathname;
const HAVE = existsSync(FIX);
const skip = !HAVE && 'needs ../shared/fixtures/pcap';
const dir = mkdtempSync(join(tmpdir(), 'certhunt-pcap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TLS12 = join(FIX, 'arkime/openssl-tls1_2.pcap');
const STARTTLS = join(FIX, 'arkime/smtp-starttls.pcap');

/** SHA-1s of the certificates Arkime found in a capture (its .test document). */
function arkimeSha1s(pcap: string): string[] {
  const doc = JSON.parse(readFileSync(pcap.replace(/\.pcap$/, '.test'), 'utf8')) as { sessions3: { body: { cert?: { hash: string }[] } }[] };
  return doc.sessions3.flatMap((s) => (s.body.cert ?? []).map((c) => c.hash.replace(/:/g, '')));
}

test('a capture lands as observations and parsed certificates', { skip }, async () => {
  const lake = join(dir, 'lake1');
  const r = await run('ingest', TLS12, STARTTLS, '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out);
  assert.deepEqual(report.files.map((f: { format: string }) => f.format), ['pcap', 'pcap']);
  const obs = await sql(lake, 'SELECT src_ip, dest_ip, dest_port, tls_version, cert_id, chain_sha256, source FROM observations ORDER BY dest_port');
  assert.equal(obs.length, 2);
  assert.deepEqual(obs.map((o) => [o.dest_port, o.tls_version, o.source]), [[25, 'TLSv10', 'pcap'], [443, 'TLSv12', 'pcap']]);
  // The certificates the lake holds are those Arkime found (a STARTTLS session's handshake
  // starts after the SMTP dialogue and is found too).
  const expected = [...new Set([...arkimeSha1s(TLS12), ...arkimeSha1s(STARTTLS)])].sort();
  assert.ok(expected.length >= 4, `Arkime lists ${expected.length} certificates`);
  const certs = await sql(lake, 'SELECT cert_id, sha1, subject, der IS NOT NULL AS has_der, sources FROM certificates ORDER BY sha1');
  assert.deepEqual(certs.map((c) => c.sha1), expected);
  assert.ok(certs.every((c) => c.has_der === true && typeof c.subject === 'string' && (c.sources as string[]).includes('pcap')), JSON.stringify(certs));
  // Every observation's leaf is a certificate of the lake.
  const ids = certs.map((c) => c.cert_id);
  for (const o of obs) assert.ok(ids.includes(o.cert_id), `leaf ${o.cert_id}`);
});

test('re-ingesting a capture adds nothing; a grown capture adds only its new sessions', { skip }, async () => {
  const lake = join(dir, 'lake2');
  const file = join(dir, 'growing.pcap');
  const first = readFileSync(TLS12);
  writeFileSync(file, first);
  assert.equal((await run('ingest', file, '--lake', lake)).code, 0);
  assert.equal((await run('ingest', file, '--lake', lake)).code, 0);
  assert.deepEqual(await sql(lake, 'SELECT count(*)::INT AS n FROM observations'), [{ n: 1 }]);
  // Same link type and byte order: the second capture's records appended to the first.
  const more = readFileSync(join(FIX, 'arkime/openssl-tls1.pcap'));
  assert.deepEqual(more.subarray(0, 4), first.subarray(0, 4));
  writeFileSync(file, Buffer.concat([first, more.subarray(24)]));
  const r = await run('ingest', file, '--lake', lake, '--format', 'json');
  assert.equal(JSON.parse(r.out).files[0].status, 'grown');
  const rows = await sql(lake, 'SELECT tls_version FROM observations ORDER BY ts');
  assert.deepEqual(rows.map((x) => x.tls_version).sort(), ['TLSv10', 'TLSv12']);
});

test('gzip captures are read; a truncated capture keeps its complete sessions and sets the break aside', { skip }, async () => {
  const lake = join(dir, 'lake3');
  const gz = join(dir, 'c.pcap.gz');
  writeFileSync(gz, gzipSync(readFileSync(STARTTLS)));
  const whole = readFileSync(TLS12);
  const cut = join(dir, 'cut.pcap');
  // Two captures back to back, cut inside the second one's last record.
  const both = Buffer.concat([readFileSync(join(FIX, 'arkime/openssl-tls1.pcap')), whole.subarray(24)]);
  writeFileSync(cut, both.subarray(0, both.length - 7));
  const r = await run('ingest', gz, cut, '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out);
  assert.deepEqual(report.files.map((f: { format: string }) => f.format), ['pcap', 'pcap']);
  const rejects = await sql(lake, "SELECT _source, reason FROM bronze.rejects");
  assert.equal(rejects.length, 1);
  assert.match(String(rejects[0]!.reason), /truncated/);
  assert.match(String(rejects[0]!._source), /cut\.pcap$/);
  const versions = (await sql(lake, 'SELECT tls_version FROM observations')).map((x) => x.tls_version).sort();
  // The STARTTLS (gzip) and TLS 1.0 sessions are whole; the TLS 1.2 one lost its last packet
  // only, after its handshake.
  assert.deepEqual(versions, ['TLSv10', 'TLSv10', 'TLSv12']);
});

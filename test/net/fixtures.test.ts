import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tlsSessions, type TlsSession } from '../../src/net/session.js';
import { readCapture } from '../../src/net/capture.js';
import { PacketDecoder } from '../../src/net/packet.js';
import { readLines } from '../../src/sources/index.js';
import { sessionItems } from '../../src/sources/pcap.js';
import type { CertificateRecord, ObservationRecord } from '../../src/sources/record.js';
import { zeekSsl, zeekX509 } from '../../src/sources/zeek.js';

/**
 * Every capture in ../shared/fixtures/pcap against the tools that made the expected outputs:
 * Zeek's ssl.log/x509.log baselines and Arkime's .test session documents.
 */
const ROOT = new URL('../../../shared/fixtures/pcap/', import.meta.url).pathname;
const HAVE = existsSync(ROOT);

async function* chunksOf(file: string, size = 65536): AsyncGenerator<Uint8Array> {
  const b = readFileSync(file);
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

interface Ours {
  sessions: TlsSession[];
  certs: CertificateRecord[];
  issues: string[];
}

async function ours(file: string): Promise<Ours> {
  const out: Ours = { sessions: [], certs: [], issues: [] };
  for await (const e of tlsSessions(chunksOf(file))) {
    if (e.kind === 'issue') out.issues.push(e.issue.reason);
    else {
      out.sessions.push(e.session);
      for (const item of sessionItems(e.session)) if (item.kind === 'certificate') out.certs.push(item.cert);
    }
  }
  return out;
}

/** 4-tuples of every TCP connection in a capture, decoded independently of the TLS layer. */
async function tcpTuples(file: string): Promise<Set<string>> {
  const decoder = new PacketDecoder();
  const seen = new Set<string>();
  for await (const item of readCapture(chunksOf(file))) {
    if (item.kind !== 'packet') continue;
    const d = decoder.decode(item.packet);
    if (d.kind !== 'tcp') continue;
    const s = d.segment;
    seen.add(`${s.src} ${s.srcPort} ${s.dst} ${s.dstPort}`);
  }
  return seen;
}

async function zeekLog<T>(file: string, format: typeof zeekSsl): Promise<T[]> {
  const out: T[] = [];
  for await (const item of readLines(format, chunksOf(file))) {
    if (item.kind === 'observation') out.push(item.obs as T);
    else if (item.kind === 'certificate') out.push(item.cert as T);
  }
  return out;
}

const key = (ip: string, port: number | null, rip: string, rport: number | null) => `${ip} ${port} ${rip} ${rport}`;

test('Zeek fixtures: sessions and certificates equal Zeek\'s ssl.log and x509.log', { skip: !HAVE && 'needs ../shared/fixtures/pcap' }, async () => {
  const dirs = readdirSync(join(ROOT, 'zeek'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(ROOT, 'zeek', d.name));
  let compared = 0;
  let certsCompared = 0;
  for (const dir of dirs) {
    const pcaps = readdirSync(dir).filter((f) => f.endsWith('.pcap')).map((f) => join(dir, f));
    const sessions: TlsSession[] = [];
    const certs = new Map<string, CertificateRecord>();
    const tuples = new Set<string>();
    for (const p of pcaps) {
      const r = await ours(p);
      assert.deepEqual(r.issues, [], `${p}: capture issues`);
      sessions.push(...r.sessions);
      for (const c of r.certs) if (c.sha256) certs.set(c.sha256, c);
      for (const t of await tcpTuples(p)) tuples.add(t);
    }
    const expected = join(dir, 'expected');
    for (const name of ['ssl.log', 'ssl-all.log']) {
      const f = join(expected, name);
      if (!existsSync(f)) continue;
      for (const z of await zeekLog<ObservationRecord>(f, zeekSsl)) {
        const k = key(z.src_ip!, z.src_port, z.dest_ip!, z.dest_port);
        // ssl-log-ext's baseline also covers captures that are not in the fixture folder.
        if (!tuples.has(k)) continue;
        const s = sessions.find((x) => key(x.client.ip, x.client.port, x.server.ip, x.server.port) === k);
        assert.ok(s, `${f}: no session for ${k}`);
        const at = `${f} ${k}`;
        assert.equal(s.version, z.tls_version, `${at}: version`);
        assert.equal(s.cipher, z.cipher, `${at}: cipher`);
        assert.equal(s.serverName, z.server_name, `${at}: server_name`);
        assert.equal(s.established, z.established, `${at}: established`);
        const chain = s.serverCertificates.map((d) => sha256(d));
        assert.deepEqual(chain, z.chain_sha256, `${at}: cert_chain_fps`);
        compared++;
      }
    }
    const x509 = join(expected, 'x509.log');
    if (existsSync(x509)) {
      for (const z of await zeekLog<CertificateRecord>(x509, zeekX509)) {
        const c = certs.get(z.sha256!);
        assert.ok(c, `${x509}: certificate ${z.sha256} not extracted`);
        for (const f of ['serial', 'subject', 'issuer', 'not_valid_before', 'not_valid_after', 'key_alg', 'sig_alg', 'key_type', 'key_length', 'exponent', 'curve', 'is_ca', 'host_cert', 'client_cert'] as const) {
          assert.deepEqual(c[f], z[f], `${x509} ${z.sha256}: ${f}`);
        }
        assert.deepEqual(c.subject_alternative_names, z.subject_alternative_names, `${x509} ${z.sha256}: san.dns`);
        certsCompared++;
      }
    }
  }
  assert.ok(compared >= 10, `only ${compared} Zeek ssl.log rows compared`);
  assert.ok(certsCompared >= 10, `only ${certsCompared} Zeek x509.log rows compared`);
});

/** Arkime spells versions TLSv1.2, TLSv1, SSLv3, TLSv1.3-draft-18. */
function arkimeVersion(zeek: string | null): string | null {
  if (!zeek) return null;
  const m = /^TLSv1(\d)(?:-draft(\d+))?$/.exec(zeek);
  if (!m) return zeek;
  const v = m[1] === '0' ? 'TLSv1' : `TLSv1.${m[1]}`;
  return m[2] ? `${v}-draft-${m[2]}` : v;
}

function sha256(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

interface ArkimeCert { hash: string; serial: string; notBefore: number; notAfter: number; alt?: string[]; subjectCN?: string[]; issuerCN?: string[] }

test('Arkime fixtures: sessions and certificates equal Arkime\'s .test documents', { skip: !HAVE && 'needs ../shared/fixtures/pcap' }, async () => {
  const dir = join(ROOT, 'arkime');
  let compared = 0;
  for (const t of readdirSync(dir).filter((f) => f.endsWith('.test'))) {
    const pcap = join(dir, t.replace(/\.test$/, '.pcap'));
    if (!existsSync(pcap)) continue;
    const doc = JSON.parse(readFileSync(join(dir, t), 'utf8')) as { sessions3: { body: Record<string, any> }[] };
    const r = await ours(pcap);
    assert.deepEqual(r.issues, [], `${pcap}: capture issues`);
    for (const { body } of doc.sessions3) {
      const tls = body.tls as Record<string, string[]> | undefined;
      if (!tls) continue;
      const k = key(body.source.ip, body.source.port, body.destination.ip, body.destination.port);
      const s = r.sessions.find((x) => key(x.client.ip, x.client.port, x.server.ip, x.server.port) === k);
      assert.ok(s, `${t}: no session for ${k}`);
      const at = `${t} ${k}`;
      if (tls.ja3) assert.deepEqual([s.ja3], tls.ja3, `${at}: ja3`);
      if (tls.ja3string) assert.deepEqual([s.ja3Text], tls.ja3string, `${at}: ja3 string`);
      if (tls.ja3s) assert.deepEqual([s.ja3s], tls.ja3s, `${at}: ja3s`);
      if (tls.ja4) assert.deepEqual([s.ja4], tls.ja4, `${at}: ja4`);
      if (tls.cipher) assert.deepEqual([s.cipher], tls.cipher, `${at}: cipher`);
      if (tls.version) assert.deepEqual([arkimeVersion(s.version)], tls.version, `${at}: version`);
      // Arkime sorts its certificates; compare as sets keyed by SHA-1.
      // Arkime keeps the DER sign byte of a serial (`00b27e…`); Zeek, and so we, drop it.
      const theirs = ((body.cert ?? []) as ArkimeCert[]).map((c) => ({
        sha1: c.hash.replace(/:/g, ''), serial: c.serial.replace(/^(00)+(?=..)/, ''), notBefore: c.notBefore, notAfter: c.notAfter, alt: c.alt ?? [],
        subjectCN: c.subjectCN ?? [], issuerCN: c.issuerCN ?? [],
      }));
      // Arkime lists the server's chain only (ssl-selfsign.pcap also carries a client certificate).
      const mine = s.serverCertificates.map((der) => {
        const c = r.certs.find((x) => x.sha256 === sha256(der))!;
        return {
          sha1: c.sha1, serial: c.serial, notBefore: c.not_valid_before, notAfter: c.not_valid_after,
          // Arkime lowercases names and sorts SANs.
          alt: [...c.subject_alternative_names].map((n) => n.toLowerCase()).sort(),
          subjectCN: cnsOf(c.subject), issuerCN: cnsOf(c.issuer),
        };
      });
      const bySha = (a: { sha1: string | null }, b: { sha1: string | null }) => String(a.sha1).localeCompare(String(b.sha1));
      assert.deepEqual(
        mine.sort(bySha).map((c) => ({ ...c, alt: [...c.alt].sort() })),
        theirs.sort(bySha).map((c) => ({ ...c, alt: [...c.alt].map((n) => n.toLowerCase()).sort() })),
        `${at}: certificates`,
      );
      compared++;
    }
  }
  assert.ok(compared >= 8, `only ${compared} Arkime sessions compared`);
});

function cnsOf(dn: string | null): string[] {
  if (!dn) return [];
  return [...dn.matchAll(/(?:^|,)CN=((?:[^,\\]|\\.)*)/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1').toLowerCase());
}

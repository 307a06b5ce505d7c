import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { LineItem } from '../../src/sources/format.js';
import type { CertificateRecord, ObservationRecord, SourceItem } from '../../src/sources/record.js';
import { suricataTls } from '../../src/sources/suricata.js';
import { scanCerts, scanExport, scanHosts } from '../../src/sources/scan.js';
import { zeekKnownCerts, zeekSsl, zeekX509 } from '../../src/sources/zeek.js';

/** ../shared/fixtures next to the project (absent in a user's checkout: those tests skip). */
const SHARED_FIXTURES = fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));

const BRIM = join(SHARED_FIXTURES, 'zeek-logs', 'brimdata');
const PCAP = join(SHARED_FIXTURES, 'pcap', 'zeek');
const skip = existsSync(SHARED_FIXTURES) ? false : '../shared/fixtures not found: fixture tests skipped';

/** Lines as the plumbing hands them over: 1-based pos, no trailing empty line. */
async function* linesOf(text: string): AsyncGenerator<LineItem> {
  const parts = text.split('\n');
  if (parts.at(-1) === '') parts.pop();
  let byteOffset = 0;
  for (const [i, t] of parts.entries()) {
    yield { text: t, pos: i + 1, byteOffset };
    byteOffset += Buffer.byteLength(t) + 1;
  }
}

async function collect(gen: AsyncIterable<SourceItem>) {
  const certs: (CertificateRecord & { _pos: number })[] = [];
  const obs: (ObservationRecord & { _pos: number })[] = [];
  const rejects: { position: number; reason: string; excerpt: string }[] = [];
  for await (const it of gen) {
    if (it.kind === 'certificate') certs.push({ ...it.cert, _pos: it.pos });
    else if (it.kind === 'observation') obs.push({ ...it.obs, _pos: it.pos });
    else rejects.push(it.reject);
  }
  return { certs, obs, rejects };
}

const read = (fmt: typeof zeekX509, text: string) => collect(fmt.read(linesOf(text)));
const gz = (name: string) => gunzipSync(readFileSync(join(BRIM, name))).toString('utf8');

/** Independent TSV split: header `#fields` and data rows, nothing from src/. */
function tsvTable(text: string): Record<string, string>[] {
  let fields: string[] = [];
  const rows: Record<string, string>[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#fields\t')) fields = line.split('\t').slice(1);
    else if (line !== '' && !line.startsWith('#')) rows.push(Object.fromEntries(line.split('\t').map((v, i) => [fields[i], v])));
  }
  return rows;
}
const dataLines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
const strip = <T extends { _pos: number }>(r: T) => {
  const { _pos, ...rest } = r;
  return rest;
};

describe('zeek: brimdata logs (Zeek 6.2, TSV and JSON of the same traffic)', { skip }, () => {
  for (const [fmt, base, key] of [
    [zeekX509, 'x509', (r: CertificateRecord) => `${r.sha256}@${r.ts}`],
    [zeekSsl, 'ssl', (r: ObservationRecord) => r.uid ?? ''],
    [zeekKnownCerts, 'known_certs', (r: ObservationRecord | CertificateRecord) => `${r.ts}/${'dest_ip' in r ? r.dest_ip : r.serial}`],
  ] as const) {
    test(`${base}: TSV and JSON readings give the same records, one per line, no rejects`, async () => {
      const tsvText = gz(`zeek-default_${base}.log.gz`);
      const jsonText = gz(`zeek-json_${base}.json.gz`);
      const tsv = await read(fmt, tsvText);
      const json = await read(fmt, jsonText);
      assert.deepEqual(tsv.rejects, []);
      assert.deepEqual(json.rejects, []);
      const rows = dataLines(tsvText);
      assert.equal(rows, jsonText.split('\n').filter((l) => l.trim() !== '').length);
      const records = (r: typeof tsv) => [...r.certs, ...r.obs].map(strip);
      assert.equal(records(tsv).length, base === 'known_certs' ? 2 * rows : rows);
      const byKey = new Map(records(json).map((r) => [`${'uid' in r ? 'o' : 'c'}:${(key as (x: unknown) => string)(r)}`, r]));
      assert.equal(byKey.size, records(json).length, 'keys are unique');
      for (const r of records(tsv)) assert.deepEqual(r, byKey.get(`${'uid' in r ? 'o' : 'c'}:${(key as (x: unknown) => string)(r)}`));
    });
  }

  test('x509: 348 certificates whose columns match the raw TSV', async () => {
    const text = gz('zeek-default_x509.log.gz');
    const raw = tsvTable(text);
    const { certs } = await read(zeekX509, text);
    assert.equal(certs.length, raw.length);
    assert.equal(new Set(certs.map((c) => c.sha256)).size, 348);
    for (const [i, c] of certs.entries()) {
      const r = raw[i] as Record<string, string>;
      assert.equal(c.sha256, r.fingerprint);
      assert.equal(c.serial, r['certificate.serial']?.toLowerCase());
      assert.equal(c.subject, r['certificate.subject']?.replaceAll('\\\\', '\\'));
      assert.equal(c.key_length, r['certificate.key_length'] === '-' ? null : Number(r['certificate.key_length']));
      assert.ok(Math.abs((c.not_valid_after as number) - Number(r['certificate.not_valid_after']) * 1000) < 1e-3);
      assert.deepEqual(c.subject_alternative_names, r['san.dns'] === '-' ? [] : (r['san.dns'] as string).split(','));
      assert.equal(c.is_ca, r['basic_constraints.ca'] === '-' ? null : r['basic_constraints.ca'] === 'T');
    }
  });

  test('escaped commas in DNs: O=VMware\\, Inc stays escaped, the CN is found past it', async () => {
    const text = gz('zeek-default_x509.log.gz');
    const { certs } = await read(zeekX509, text);
    // In the TSV the backslash itself is escaped: `O=VMware\\, Inc`.
    const rows = tsvTable(text).map((r, i) => [r, certs[i]] as const).filter(([r]) => r['certificate.subject']?.includes('O=VMware\\\\, Inc'));
    assert.ok(rows.length > 0);
    for (const [, c] of rows) {
      assert.match(c?.subject as string, /(^|,)O=VMware\\, Inc/);
      assert.equal(c?.common_name, /(?:^|,)CN=((?:[^,\\]|\\.)*)/.exec(c?.subject as string)?.[1]);
    }
    assert.ok(rows.some(([, c]) => c?.subject?.startsWith('unstructuredName=1315656901\\,564d') && c.common_name === 'localhost.localdomain'));
  });

  test('ssl: cert_chain_fps resolve against x509 exactly where the raw text says so', async () => {
    const x509 = await read(zeekX509, gz('zeek-default_x509.log.gz'));
    const sslText = gz('zeek-default_ssl.log.gz');
    const ssl = await read(zeekSsl, sslText);
    const known = new Set(x509.certs.map((c) => c.sha256));
    const chainFps = new Set(ssl.obs.flatMap((o) => o.chain_sha256));
    // Computed on the raw text, not with src/: every distinct chain entry and which x509 lacks.
    const rawFps = new Set(tsvTable(sslText).flatMap((r) => (/^[0-9a-f,]+$/.test(r.cert_chain_fps ?? '') ? (r.cert_chain_fps as string).split(',') : [])));
    const rawX509 = new Set(tsvTable(gz('zeek-default_x509.log.gz')).map((r) => r.fingerprint));
    assert.deepEqual([...chainFps].sort(), [...rawFps].sort());
    const unresolved = [...chainFps].filter((fp) => !known.has(fp)).sort();
    assert.deepEqual(unresolved, [...rawFps].filter((fp) => !rawX509.has(fp)).sort());
    // Zeek logs a certificate in x509.log once; most chains resolve (the rest were not logged).
    assert.ok(unresolved.length < chainFps.size / 4, `${unresolved.length} of ${chainFps.size} unresolved`);
    for (const o of ssl.obs) if (o.chain_sha256.length > 0) assert.equal(o.cert_sha256, o.chain_sha256[0]);
  });

  test('known_certs: an observation (host:port) and a hash-less certificate per row', async () => {
    const text = gz('zeek-default_known_certs.log.gz');
    const raw = tsvTable(text);
    const { obs, certs } = await read(zeekKnownCerts, text);
    assert.equal(obs.length, raw.length);
    for (const [i, o] of obs.entries()) {
      const r = raw[i] as Record<string, string>;
      const c = certs[i] as CertificateRecord & { _pos: number };
      assert.equal(o.dest_ip, r.host);
      assert.equal(o.dest_port, Number(r.port_num));
      assert.equal(o.issuer, r.issuer_subject?.replaceAll('\\\\', '\\'));
      assert.equal(c._pos, o._pos);
      assert.equal(c.serial, r.serial?.toLowerCase());
      assert.equal(c.sha256, null);
      assert.equal(c.self_issued, r.subject === r.issuer_subject);
    }
  });

  test('detect: each log is recognised by its own format only', () => {
    const all = [zeekX509, zeekSsl, zeekKnownCerts, suricataTls, scanExport, scanCerts, scanHosts];
    for (const base of ['x509', 'ssl', 'known_certs']) {
      for (const f of [`zeek-default_${base}.log.gz`, `zeek-json_${base}.json.gz`]) {
        const head = gz(f).split('\n').slice(0, 20);
        assert.deepEqual(all.filter((fmt) => fmt.detect(head)).map((fmt) => fmt.name), [`zeek_${base}`], f);
      }
    }
  });
});

describe('zeek: btest baselines from zeek/zeek (expected/ of each capture)', { skip }, () => {
  const cases = skip ? [] : readdirSync(PCAP).flatMap((d) =>
    ['x509.log', 'ssl.log', 'ssl-all.log'].filter((f) => existsSync(join(PCAP, d, 'expected', f))).map((f) => [d, f] as const));

  test('there are baselines to read', () => assert.ok(cases.length >= 10));
  for (const [dir, file] of cases) {
    test(`${dir}/${file}: no rejects, columns land in the records`, async () => {
      const text = readFileSync(join(PCAP, dir, 'expected', file), 'utf8');
      const raw = tsvTable(text);
      const x509 = file === 'x509.log';
      const { certs, obs, rejects } = await read(x509 ? zeekX509 : zeekSsl, text);
      assert.deepEqual(rejects, []);
      const records = x509 ? certs : obs;
      assert.equal(records.length, raw.length);
      for (const [i, r] of raw.entries()) {
        if (x509) {
          const c = certs[i] as CertificateRecord;
          assert.equal(c.sha256, r.fingerprint);
          assert.equal(c.serial, r['certificate.serial']?.toLowerCase());
          assert.equal(c.issuer, r['certificate.issuer']);
          assert.equal(c.not_valid_before, Number(r['certificate.not_valid_before']) * 1000);
          assert.equal(c.ts, null, 'btest masks ts as XXXXXXXXXX.XXXXXX');
          assert.equal(c.host_cert, r.host_cert === 'T');
          if (r.cert !== undefined) {
            const der = Buffer.from(r.cert, 'base64');
            assert.equal(c.der, r.cert);
            assert.equal(createHash('sha256').update(der).digest('hex'), r.fingerprint, 'the baseline itself: fingerprint = sha256(cert)');
            assert.equal(c.sha1, createHash('sha1').update(der).digest('hex'));
            assert.deepEqual(c.parse_warnings, []);
          }
        } else {
          const o = obs[i] as ObservationRecord;
          assert.equal(o.uid, r.uid);
          assert.equal(o.src_ip, r['id.orig_h']);
          assert.equal(o.dest_port, Number(r['id.resp_p']));
          assert.equal(o.tls_version, r.version);
          assert.equal(o.cipher, r.cipher);
          assert.equal(o.server_name, r.server_name === '-' ? null : r.server_name);
          assert.equal(o.cert_sha256, r.cert_chain_fps === '-' ? null : r.cert_chain_fps?.split(',')[0]);
          if (r.validation_status !== undefined) assert.equal(o.validation_status, r.validation_status);
        }
      }
    });
  }
});

const HEADER = (path: string, fields: string[], types: string[]) => [
  '#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', `#path\t${path}`,
  '#open\t2020-09-01-20-39-33', `#fields\t${fields.join('\t')}`, `#types\t${types.join('\t')}`,
].join('\n');
const X509_FIELDS = ['ts', 'fingerprint', 'certificate.version', 'certificate.serial', 'certificate.subject', 'certificate.issuer', 'certificate.not_valid_before', 'certificate.not_valid_after', 'san.dns', 'basic_constraints.ca'];
const X509_TYPES = ['time', 'string', 'count', 'string', 'string', 'string', 'time', 'time', 'vector[string]', 'bool'];
const FP = 'a'.repeat(64);
const x509Line = (...v: string[]) => v.join('\t');

describe('zeek: TSV edge cases (hand-written)', () => {
  test('escapes, (empty) vs -, escaped separators in vectors, several header blocks', async () => {
    const text = [
      HEADER('x509', X509_FIELDS, X509_TYPES),
      x509Line('1598992773.5', FP, '3', '00AB', 'CN=tab\\x09here,O=back\\\\slash', '(empty)', '1.0', '2.0', 'a.example,b\\x2cc.example', 'T'),
      x509Line('1598992774', 'b'.repeat(64), '-', '-', '-', '-', '-', '-', '(empty)', '-'),
      '#close\t2020-09-01-20-40-00',
      // A second file concatenated: other column order, no #close (a partial log).
      HEADER('x509', ['fingerprint', 'ts', 'certificate.subject'], ['string', 'time', 'string']),
      ['c'.repeat(64), '1598992775', 'CN=\\xc3\\xa9t\\xc3\\xa9'].join('\t'),
    ].join('\n');
    const { certs, rejects } = await read(zeekX509, text);
    assert.deepEqual(rejects, []);
    const [a, b, c] = certs;
    assert.equal(a?.subject, 'CN=tab\there,O=back\\slash');
    assert.equal(a?.common_name, 'tab\there');
    assert.equal(a?.issuer, '');
    assert.deepEqual(a?.subject_alternative_names, ['a.example', 'b,c.example']);
    assert.equal(a?.serial, '00ab');
    assert.equal(a?.ts, 1598992773500);
    assert.equal(a?.is_ca, true);
    assert.equal(b?.version, null);
    assert.equal(b?.subject, null);
    assert.deepEqual(b?.subject_alternative_names, []);
    assert.equal(c?.sha256, 'c'.repeat(64));
    assert.equal(c?.subject, 'CN=été');
    assert.equal(c?.ts, 1598992775000);
  });

  test('wrong column counts and a truncated last line are rejected with expected vs got; reading goes on', async () => {
    const text = [
      HEADER('x509', X509_FIELDS, X509_TYPES),
      x509Line('1598992773', FP, '3'),
      x509Line('1598992773', FP, '3', '01', 'CN=x', 'CN=x', '1', '2', '-', 'F', 'extra'),
      x509Line('1598992773', FP, '3', '01', 'CN=ok', 'CN=x', '1', '2', '-', 'F'),
      x509Line('1598992773', FP, '3', '01', 'CN=cut', 'CN='),
    ].join('\n');
    const { certs, rejects } = await read(zeekX509, text);
    assert.deepEqual(certs.map((c) => c.subject), ['CN=ok']);
    assert.deepEqual(rejects.map((r) => r.position), [9, 10, 12]);
    assert.match(rejects[0]?.reason ?? '', /expected 10 fields.*got 3/);
    assert.match(rejects[1]?.reason ?? '', /expected 10 fields.*got 11/);
    assert.match(rejects[2]?.reason ?? '', /truncated/);
  });

  test('NUL bytes: raw ones reject the line, escaped \\x00 is data; U+FFFD passes through', async () => {
    const text = [
      HEADER('x509', X509_FIELDS, X509_TYPES),
      x509Line('1598992773', FP, '3', '01', 'CN=nul\0inside', 'CN=x', '1', '2', '-', 'F'),
      '\0\0\0\0\0\0\0\0',
      x509Line('1598992773', FP, '3', '01', 'CN=www.paypal.com\\x00.evil.example', 'CN=x', '1', '2', '-', 'F'),
      x509Line('1598992773', FP, '3', '01', 'CN=bad\uFFFDutf8', 'CN=x', '1', '2', '-', 'F'),
    ].join('\n');
    const { certs, rejects } = await read(zeekX509, text);
    assert.equal(rejects.length, 2);
    assert.match(rejects[0]?.reason ?? '', /NUL/);
    assert.ok(!rejects[0]?.excerpt.includes('\0'), 'excerpt is printable');
    assert.deepEqual(certs.map((c) => c.common_name), ['www.paypal.com\0.evil.example', 'bad\uFFFDutf8']);
  });

  test('splitter errors (a line of many MB) pass through as rejects', async () => {
    async function* lines(): AsyncGenerator<LineItem> {
      yield* linesOf(HEADER('x509', X509_FIELDS, X509_TYPES));
      yield { error: 'line longer than 16 MiB', pos: 9, byteOffset: 1000, excerpt: '1598992773\\x09aaaa' };
      yield { text: x509Line('1598992773', FP, '3', '01', 'CN=after', 'CN=x', '1', '2', '-', 'F'), pos: 10, byteOffset: 17_000_000 };
    }
    const { certs, rejects } = await collect(zeekX509.read(lines()));
    assert.deepEqual(rejects, [{ position: 9, reason: 'line longer than 16 MiB', excerpt: '1598992773\\x09aaaa' }]);
    assert.deepEqual(certs.map((c) => c.subject), ['CN=after']);
  });

  test('data before any header, and wrong types, are rejects naming the field', async () => {
    const text = [
      x509Line('1598992773', FP),
      HEADER('x509', X509_FIELDS, X509_TYPES),
      x509Line('yesterday', FP, '3', '01', 'CN=x', 'CN=x', '1', '2', '-', 'F'),
      x509Line('1598992773', FP, 'three', '01', 'CN=x', 'CN=x', '1', '2', '-', 'F'),
      x509Line('1598992773', FP, '3', '01', 'CN=x', 'CN=x', '1', '2', '-', 'maybe'),
      x509Line('1598992773', 'not-hex', '3', '01', 'CN=x', 'CN=x', '1', '2', '-', 'F'),
    ].join('\n');
    const { certs, rejects } = await read(zeekX509, text);
    assert.equal(certs.length, 0);
    assert.match(rejects[0]?.reason ?? '', /no #fields header/);
    assert.match(rejects[1]?.reason ?? '', /^ts: not a time/);
    assert.match(rejects[2]?.reason ?? '', /^certificate.version: not a count/);
    assert.match(rejects[3]?.reason ?? '', /^basic_constraints.ca: not a bool/);
    assert.match(rejects[4]?.reason ?? '', /^fingerprint:/);
  });

  test('X509::hash_function=sha1_hash: 40-digit fingerprints go to sha1, in x509 and ssl chains', async () => {
    const sha1 = 'd'.repeat(40);
    const x = await read(zeekX509, [HEADER('x509', ['ts', 'fingerprint'], ['time', 'string']), `1.0\t${sha1.toUpperCase()}`].join('\n'));
    assert.equal(x.certs[0]?.sha1, sha1);
    assert.equal(x.certs[0]?.sha256, null);
    const s = await read(zeekSsl, [HEADER('ssl', ['ts', 'uid', 'cert_chain_fps'], ['time', 'string', 'vector[string]']), `1.0\tC1\t${sha1},${'e'.repeat(40)}`].join('\n'));
    assert.equal(s.obs[0]?.cert_sha1, sha1);
    assert.equal(s.obs[0]?.cert_sha256, null);
    assert.deepEqual(s.obs[0]?.chain_sha256, []);
  });

  test('pre-4.1 logs: x509 keyed by file id, ssl with cert_chain_fuids, subject and issuer, ja3/ja3s', async () => {
    // Column sets of Zeek 3.x/4.0 (x509 `id`; ssl subject/issuer and fuids) plus the ja3 package.
    const x = await read(zeekX509, [
      HEADER('x509', ['ts', 'id', 'certificate.version', 'certificate.serial', 'certificate.subject', 'certificate.issuer', 'san.dns', 'basic_constraints.ca', 'basic_constraints.path_len'],
        ['time', 'string', 'count', 'string', 'string', 'string', 'vector[string]', 'bool', 'count']),
      '1598992773.291339\tFxulet2GsFuEn0Uik4\t3\t0E16C5D81F53C6E5C0A5D8A5A7E6D3A8\tCN=login.live.com,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US\tCN=DigiCert SHA2 Secure Server CA,O=DigiCert Inc,C=US\tlogin.live.com,login.microsoftonline.com\tF\t-',
    ].join('\n'));
    assert.deepEqual(x.rejects, []);
    assert.equal(x.certs[0]?.sha256, null);
    assert.equal(x.certs[0]?.common_name, 'login.live.com');
    const s = await read(zeekSsl, [
      HEADER('ssl', ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'version', 'cipher', 'curve', 'server_name', 'resumed', 'last_alert', 'next_protocol', 'established', 'cert_chain_fuids', 'client_cert_chain_fuids', 'subject', 'issuer', 'client_subject', 'client_issuer', 'validation_status', 'ja3', 'ja3s'],
        ['time', 'string', 'addr', 'port', 'addr', 'port', 'string', 'string', 'string', 'string', 'bool', 'string', 'string', 'bool', 'vector[string]', 'vector[string]', 'string', 'string', 'string', 'string', 'string', 'string', 'string']),
      '1598992773.193883\tCRUIstLprtERqs8c8\t10.9.1.101\t49816\t40.90.22.186\t443\tTLSv12\tTLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\tsecp256r1\tlogin.live.com\tF\t-\th2\tT\tFxulet2GsFuEn0Uik4,FjJx5d2slh18Zneyg1\t(empty)\tCN=login.live.com,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US\tCN=DigiCert SHA2 Secure Server CA,O=DigiCert Inc,C=US\t-\t-\tok\t51c64c77e60f3980eea90869b68c58a8\tae4edc6faf64d08308082ad26be60767',
    ].join('\n'));
    assert.deepEqual(s.rejects, []);
    const o = s.obs[0] as ObservationRecord;
    assert.deepEqual(o.chain_fuids, ['Fxulet2GsFuEn0Uik4', 'FjJx5d2slh18Zneyg1']);
    assert.equal(o.cert_sha256, null);
    assert.equal(o.subject, 'CN=login.live.com,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US');
    assert.equal(o.issuer, 'CN=DigiCert SHA2 Secure Server CA,O=DigiCert Inc,C=US');
    assert.equal(o.ja3, '51c64c77e60f3980eea90869b68c58a8');
    assert.equal(o.ja3s, 'ae4edc6faf64d08308082ad26be60767');
    assert.equal(o.validation_status, 'ok');
    assert.equal(o.ts, 1598992773193.883);
  });
});

/** A record's raw as bronze keeps it: text as it is, an object as JSON. */
const rawText = (raw: unknown) => (typeof raw === 'string' ? raw : JSON.stringify(raw));

describe('zeek: JSON edge cases (hand-written)', () => {
  const row = { ts: 1598992773.193883, uid: 'C1', 'id.orig_h': '10.0.0.1', 'id.orig_p': 5000, 'id.resp_h': '10.0.0.2', 'id.resp_p': 443, cert_chain_fps: [FP] };

  test('a JSON line reaches bronze as it was read, a TSV line as an object of its fields', async () => {
    // Spacing, key order, a number's spelling and an escape a re-serialisation would change.
    const line = `{ "ts": 1598992773.100000, "fingerprint": "${'ab'.repeat(32)}", "certificate.subject": "CN=caf\\u00e9" }`;
    const items: SourceItem[] = [];
    for await (const it of zeekX509.read(linesOf(line + '\n'))) items.push(it);
    assert.equal(items.length, 1, JSON.stringify(items));
    const it = items[0]!;
    assert.ok(it.kind === 'certificate', `a certificate: ${it.kind}`);
    assert.equal(it.raw, line, 'the line itself');
    assert.equal(it.cert.subject, 'CN=café', 'and parsed all the same');
    const tsv = ['#separator \\x09', '#path\tx509', '#fields\tts\tfingerprint\tcertificate.subject', `1598992773.1\t${'ab'.repeat(32)}\tCN=x`, ''].join('\n');
    const tsvItems: SourceItem[] = [];
    for await (const x of zeekX509.read(linesOf(tsv))) tsvItems.push(x);
    const t = tsvItems[0];
    assert.ok(t?.kind === 'certificate', `a certificate from TSV: ${JSON.stringify(tsvItems)}`);
    assert.equal(t.cert.subject, 'CN=x');
    assert.equal(rawText(t.raw), JSON.stringify({ ts: '1598992773.1', fingerprint: 'ab'.repeat(32), 'certificate.subject': 'CN=x' }));
  });

  test('a TSV row\'s raw JSON is what an object of its fields gives, whatever the header', async () => {
    // Written as text when it can be; names an object reorders (array indexes) or drops
    // (__proto__), and repeated names, must come out as the object has them.
    const headers = [
      ['ts', 'fingerprint', 'certificate.subject', 'note'],
      ['ts', 'fingerprint', 'certificate.subject', '7', 'note'],
      ['ts', 'fingerprint', 'certificate.subject', 'note', 'note'],
      ['ts', 'fingerprint', 'certificate.subject', '__proto__'],
      ['ts', 'fingerprint', 'certificate.subject', '0x1', '4294967295'],
    ];
    for (const fields of headers) {
      const values = ['1598992773.1', 'ab'.repeat(32), 'CN=a\\x2cb "q" \u00e9', ...fields.slice(3).map((_, i) => `v${i}\\"é\u0001`)];
      const tsv = ['#separator \\x09', '#path\tx509', `#fields\t${fields.join('\t')}`, values.join('\t'), ''].join('\n');
      const items: SourceItem[] = [];
      for await (const x of zeekX509.read(linesOf(tsv))) items.push(x);
      const it = items[0];
      assert.ok(it?.kind === 'certificate', `${fields.join(',')}: a certificate (${JSON.stringify(items)})`);
      const byObject: Record<string, unknown> = {};
      fields.forEach((f, i) => (byObject[f] = values[i]));
      assert.equal(rawText(it.raw), JSON.stringify(byObject), `${fields.join(',')}: raw as the object gives it`);
    }
  });

  test('ts as epoch float, ISO-8601 or TS_MILLIS, flat or nested id.*, all read the same', async () => {
    const lines = [
      JSON.stringify(row),
      JSON.stringify({ ...row, ts: '2020-09-01T20:39:33.193883Z' }),
      JSON.stringify({ ...row, ts: 1598992773193.883 }),
      JSON.stringify({ ts: row.ts, uid: 'C1', id: { orig_h: '10.0.0.1', orig_p: 5000, resp_h: '10.0.0.2', resp_p: 443 }, cert_chain_fps: [FP] }),
    ];
    const { obs, rejects } = await read(zeekSsl, lines.join('\n'));
    assert.deepEqual(rejects, []);
    assert.equal(obs.length, 4);
    for (const o of obs) assert.deepEqual(strip(o), strip(obs[0] as ObservationRecord & { _pos: number }));
    assert.equal(obs[0]?.ts, 1598992773193.883);
    assert.equal(obs[3]?.src_port, 5000);
  });

  test('not an object, not JSON, wrong types and other logs in the stream', async () => {
    const lines = [
      '[1,2,3]', '"just a string"', 'null', '{"ts": 1.0, "uid": ', JSON.stringify({ ...row, ts: 'abcdef' }),
      JSON.stringify({ ...row, 'id.resp_p': 'https' }), JSON.stringify({ ...row, cert_chain_fps: 'notalist' }),
      JSON.stringify({ _path: 'conn', ts: 1, uid: 'C9' }), JSON.stringify({ ...row, _path: 'ssl' }),
    ];
    const gen = zeekSsl.read(linesOf(lines.join('\n')));
    const items: SourceItem[] = [];
    let r = await gen.next();
    for (; !r.done; r = await gen.next()) items.push(r.value);
    const reasons = items.flatMap((i) => (i.kind === 'reject' ? [i.reject.reason] : []));
    assert.match(reasons[0] ?? '', /array, not an object/);
    assert.match(reasons[1] ?? '', /string, not an object/);
    assert.match(reasons[2] ?? '', /null, not an object/);
    assert.match(reasons[3] ?? '', /not JSON/);
    assert.match(reasons[4] ?? '', /^ts: not a time/);
    assert.match(reasons[5] ?? '', /^id.resp_p: not a count/);
    assert.match(reasons[6] ?? '', /^cert_chain_fps: not a list/);
    assert.equal(items.filter((i) => i.kind === 'observation').length, 1);
    assert.deepEqual(r.value, { skipped: { conn: 1 } });
  });
});

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const certs = join(root, '..', 'shared', 'fixtures', 'certs');
const base64Log = join(root, '..', 'shared', 'fixtures', 'pcap', 'zeek', 'scripts.policy.protocols.ssl.log-certs-base64', 'expected', 'x509.log');
const skip = existsSync(certs) ? false : '../shared/fixtures not found';
const dir = mkdtempSync(join(tmpdir(), 'certhunt-certfiles-'));
after(() => rmSync(dir, { recursive: true, force: true }));


function files(d: string): string[] {
  return readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? files(join(d, n)) : [join(d, n)]));
}

test('a folder of certificate files: every certificate OpenSSL reads lands in silver with its fingerprints and names', { skip }, async () => {
  const lake = join(dir, 'lake');
  const r = await run('ingest', certs, '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const q = await run('sql', 'SELECT sha256, sha1, md5, subject, issuer, sources FROM silver.certificates', '--lake', lake, '--format', 'json');
  const rows = new Map((JSON.parse(q.out) as Record<string, any>[]).map((x) => [x.sha256, x]));
  let checked = 0;
  for (const f of files(certs)) {
    const bytes = readFileSync(f);
    const pems = bytes.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    const ders = pems.length ? pems : f.endsWith('.der') ? [bytes] : [];
    for (const d of ders) {
      let x: X509Certificate;
      try {
        x = new X509Certificate(d);
      } catch {
        continue; // OpenSSL rejects it: the x509 tests cover what we make of those
      }
      const sha256 = x.fingerprint256.replace(/:/g, '').toLowerCase();
      const row = rows.get(sha256);
      assert.ok(row, `${f}: ${sha256} not in silver`);
      assert.equal(row.sha1, x.fingerprint.replace(/:/g, '').toLowerCase());
      assert.deepEqual(row.sources, ['cert_files']);
      assert.equal(row.md5.length, 32);
      checked++;
    }
  }
  assert.ok(checked >= 30, `only ${checked} certificates compared`);
  const rejects = await run('sql', 'SELECT _source, reason FROM bronze.rejects', '--lake', lake, '--format', 'json');
  assert.ok(JSON.parse(rejects.out).some((x: any) => /no_end\.pem$/.test(x._source) && /without END/.test(x.reason)), 'the truncated PEM is reported');
});

test("Zeek's logged DER (log-certs-base64) is parsed in full: SHA-1 and MD5 for blacklist matching", { skip }, async () => {
  const lake = join(dir, 'lake2');
  const r = await run('ingest', base64Log, '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).coverage.withoutSha1, 0);
  const q = await run('sql', 'SELECT sha256, sha1, der, subject_cn FROM silver.certificates', '--lake', lake, '--format', 'json');
  for (const row of JSON.parse(q.out)) {
    const x = new X509Certificate(Buffer.from(row.der, 'base64'));
    assert.equal(row.sha256, x.fingerprint256.replace(/:/g, '').toLowerCase());
    assert.equal(row.sha1, x.fingerprint.replace(/:/g, '').toLowerCase());
    assert.ok(row.subject_cn && x.subject.includes(`CN=${row.subject_cn}`), row.subject_cn);
  }
});

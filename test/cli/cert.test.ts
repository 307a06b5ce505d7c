import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MAX_SHOWN } from '../../src/cli/cert.js';
import { run } from '../helpers/cli.js';

/**
 * `certhunt cert` prints what an attacker wrote into a certificate: controls escaped in every
 * format, and fields too long for a terminal cut in the detail view (JSON keeps them whole).
 */
const dir = mkdtempSync(join(tmpdir(), 'certhunt-cert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// C1 CSI (a terminal escape on its own), a right-to-left override, a BEL.
const SUBJECT = 'CN=evil\u009b31m\u202egnp.exe\u0007,O=X';
const SERIAL = 'ab'.repeat(2500);
const SANS = Array.from({ length: 400 }, (_, i) => `host${i}.example.net`);
const FP = 'c'.repeat(64);

test('cert escapes controls in table and JSON, and cuts long fields in the table only', async () => {
  const log = join(dir, 'x509.log');
  const line = { ts: 1700000000, fingerprint: FP, 'certificate.version': 3, 'certificate.serial': SERIAL, 'certificate.subject': SUBJECT, 'certificate.issuer': 'CN=Issuer', 'san.dns': SANS };
  writeFileSync(log, JSON.stringify(line) + '\n');
  const lake = join(dir, 'lake');
  const ingest = await run('ingest', log, '--lake', lake);
  assert.equal(ingest.code, 0, ingest.err);

  const json = await run('cert', FP, '--lake', lake, '--format', 'json');
  assert.equal(json.code, 0, json.err);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(json.out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, 'no control character reaches the terminal as itself');
  const doc = JSON.parse(json.out) as { certificate: { subject: string; serial: string; subject_alternative_names: string[] } };
  assert.equal(doc.certificate.subject, SUBJECT, 'JSON escapes keep the subject exactly');
  assert.equal(doc.certificate.serial, SERIAL, 'JSON keeps the whole serial');
  assert.deepEqual(doc.certificate.subject_alternative_names, SANS, 'and every SAN');

  const table = await run('cert', FP, '--lake', lake);
  assert.equal(table.code, 0, table.err);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(table.out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, 'no control character in the detail view');
  const field = (name: string) => table.out.split('\n').find((l) => l.startsWith(name + ' '))?.slice(name.length).trim();
  assert.equal(field('subject'), 'CN=evil\\x9b31m\\u202egnp.exe\\x07,O=X', 'controls shown as escapes');
  assert.equal(field('serial'), `${SERIAL.slice(0, MAX_SHOWN)}… (${SERIAL.length} characters in all: --format json shows them)`, 'a long serial is cut, saying how long it is');
  const sans = SANS.join(', ');
  assert.ok(sans.length > MAX_SHOWN, 'the SANs are longer than a field shows');
  assert.equal(field('subject_alternative_names'), `${sans.slice(0, MAX_SHOWN)}… (${SANS.length} entries in all: --format json shows them)`, 'long lists say how many entries');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sourceReader } from '../../src/sources/index.js';

/** A file whose head() requests are recorded. */
function file(text: string) {
  const bytes = Buffer.from(text);
  const asked: number[] = [];
  return { asked, head: async (n: number) => (asked.push(n), new Uint8Array(bytes.subarray(0, n))) };
}

test('a head that names no format is read again larger only where the format may lie past it', async () => {
  const reader = sourceReader();
  const conn = ['#separator \\x09', '#path\tconn', '#fields\tts\tuid\tid.orig_h', ...Array.from({ length: 5000 }, (_, i) => `1700000000.${i}\tC${i}\t10.0.0.1`)].join('\n');
  const other = file(conn);
  assert.equal(await reader.detect(other), undefined, "Zeek's conn.log is none of ours");
  assert.deepEqual(other.asked, [64 * 1024], 'read once: a log of another kind names itself in its first lines');
  const small = file('hello\n'.repeat(100));
  assert.equal(await reader.detect(small), undefined, 'a small file of no format');
  assert.deepEqual(small.asked, [64 * 1024], 'read once: it is all in the head');
  const pem = file(`${'text before the certificate\n'.repeat(5000)}-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n`);
  assert.equal((await reader.detect(pem))?.name, 'cert_files', 'PEM after 140 kB of text');
  assert.equal(pem.asked.length, 2, `read again, larger: ${pem.asked.join(', ')}`);
  assert.ok(pem.asked[1]! > 16 * 1024 * 1024, 'as far as the line cap');
});

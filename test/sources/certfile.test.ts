import assert from 'node:assert/strict';
import { test } from 'node:test';
import { completeCertificate, shannonEntropy } from '../../src/sources/certfile.js';
import { emptyCertificate } from '../../src/sources/record.js';

/** The definition: counts per code point in first-seen order, summed in that order. */
function entropyByDefinition(text: string): number {
  const counts = new Map<string, number>();
  let n = 0;
  for (const ch of text) {
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
    n++;
  }
  let h = 0;
  for (const c of counts.values()) h -= (c / n) * Math.log2(c / n);
  return h === 0 ? 0 : h;
}

test('shannonEntropy gives the very bits of its definition, ASCII or not', () => {
  let seed = 7;
  const rand = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k);
  const alphabets = ['abc', 'abcdefghijklmnopqrstuvwxyz0123456789.-', 'aé€😀', '\u0000\u007f\u0080x'];
  for (let i = 0; i < 3000; i++) {
    const chars = [...alphabets[i % alphabets.length]!];
    const text = Array.from({ length: 1 + rand(40) }, () => chars[rand(chars.length)]!).join('');
    assert.equal(shannonEntropy(text), entropyByDefinition(text), `entropy of ${JSON.stringify(text)}`);
  }
  assert.equal(shannonEntropy(null), null);
  assert.equal(shannonEntropy(''), null);
  assert.equal(shannonEntropy('aaaa'), 0);
  assert.equal(shannonEntropy('ab'), 1);
  // A non-ASCII character after ASCII ones: the ASCII counts must not leak into the next call.
  assert.equal(shannonEntropy('aab€'), entropyByDefinition('aab€'));
  assert.equal(shannonEntropy('ab'), 1);
});

test('name parts come from each name, also when a name is seen again', () => {
  const cert = (subject: string | null, issuer: string | null) => {
    const c = emptyCertificate();
    c.subject = subject;
    c.issuer = issuer;
    return completeCertificate(c) as unknown as Record<string, unknown>;
  };
  const issuer = 'CN=Example CA,O=Example\\, Inc.,C=US';
  for (let round = 0; round < 2; round++) {
    const a = cert('CN=a.example.com,OU=Web+OU=Ops,O=A,L=Springfield,ST=IL,C=US,emailAddress=x@a.example.com', issuer);
    assert.deepEqual(
      [a.subject_cn, a.subject_o, a.subject_ou, a.subject_c, a.subject_l, a.subject_st, a.subject_email],
      ['a.example.com', 'A', 'Web', 'US', 'Springfield', 'IL', 'x@a.example.com'],
      `subject parts, round ${round}`,
    );
    assert.deepEqual([a.issuer_cn, a.issuer_o, a.issuer_c, a.issuer_ou], ['Example CA', 'Example, Inc.', 'US', null], `issuer parts, round ${round}`);
    const b = cert(null, 'O=Only');
    assert.deepEqual([b.subject_cn, b.subject_o, b.issuer_cn, b.issuer_o], [null, null, null, 'Only'], `absent parts, round ${round}`);
  }
  // A long name (past the cache's limit) gives its parts all the same, twice.
  const long = `CN=${'x'.repeat(5000)},O=Long`;
  assert.equal(cert(long, long).subject_o, 'Long');
  assert.equal(cert(long, long).issuer_cn, 'x'.repeat(5000));
});

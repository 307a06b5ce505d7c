import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFrom, loadConfig } from '../../src/hunts/config.js';
import { AllowRules, combine, severityOf } from './rules.js';

test('the shipped example config is valid', async () => {
  const c = await loadConfig(new URL('../../certhunt.example.yaml', import.meta.url).pathname);
  assert.equal(c.weights['stack-issuers'], 0.5);
  assert.deepEqual(c.allowlist.ips, ['10.10.0.0/16']);
});

test('combined scores: noisy-OR of weighted scores, never past 100', () => {
  assert.equal(combine([{ hunt: 'a', score: 50 }], {}), 50);
  // 1 - (0.5 * 0.5) = 0.75
  assert.equal(combine([{ hunt: 'a', score: 50 }, { hunt: 'b', score: 50 }], {}), 75);
  assert.equal(combine([{ hunt: 'a', score: 50 }], { a: 0.5 }), 25);
  assert.equal(combine([{ hunt: 'a', score: 90 }, { hunt: 'b', score: 90 }], { a: 3 }), 100);
  const t = { critical: 90, high: 70, medium: 40, low: 15 };
  assert.deepEqual([95, 70, 69.9, 40, 15, 14.9].map((s) => severityOf(s, t)), ['critical', 'high', 'medium', 'medium', 'low', 'info']);
});

test('allowlists: domains cover subdomains, wildcards their base, CIDRs both families', () => {
  const a = new AllowRules({ fingerprints: ['6ece5ece4192683d2d84e25b0ba7e04f9cb7eb7c'], domains: ['*.x.com', 'corp.example'], ips: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'], issuers: ['CN=Corp CA'] });
  assert.deepEqual(['x.com', 'a.x.com', 'a.b.x.com', '*.x.com', 'evilx.com', 'x.com.evil.net', 'corp.example', 'www.corp.example'].map((d) => a.domain(d)), [true, true, true, true, false, false, true, true]);
  assert.deepEqual(['10.1.2.3', '11.0.0.1', '2001:db8::1', '2001:db9::1', '192.0.2.7', '192.0.2.8', 'not-an-ip'].map((ip) => a.ip(ip)), [true, false, true, false, true, false, false]);
  assert.equal(a.fingerprint('6ECE5ECE4192683D2D84E25B0BA7E04F9CB7EB7C'), true);
  assert.equal(a.issuer('CN=Corp CA'), true);
  assert.equal(a.issuer('CN=Corp CA,O=x'), false);
});

test('bad configs name the field', () => {
  assert.throws(() => configFrom('c.yaml', { weights: { a: -1 } }), /c\.yaml: weights\.a: must be a number from 0 to 10/);
  assert.throws(() => configFrom('c.yaml', { thresholds: { low: 50, medium: 40 } }), /thresholds: must rise/);
  assert.throws(() => configFrom('c.yaml', { allowlist: { ips: ['10.0.0.0/33'] } }), /allowlist\.ips: "10\.0\.0\.0\/33" is not an address or CIDR block/);
  assert.throws(() => configFrom('c.yaml', { allowlist: { fingerprints: ['abc'] } }), /allowlist\.fingerprints/);
  assert.throws(() => configFrom('c.yaml', { scoring: {} }), /c\.yaml: scoring: unknown field/);
});

test('hunt SQL: a ; inside a comment or string is fine, a second statement is not', async () => {
  const { huntFrom } = await import('../../src/hunts/hunt.js');
  const base = { id: 'x-y', title: 't', description: 'd', attack: ['T1573'], severity: 'low', score: 1, entity: 'certificate', tests: [{ given: {}, expect: [] }] };
  assert.equal(huntFrom('f.yaml', { ...base, sql: "SELECT 'a;b' AS entity -- one; two\n/* three; */" }).id, 'x-y');
  assert.throws(() => huntFrom('f.yaml', { ...base, sql: 'SELECT 1 AS entity; DROP TABLE x' }), /f\.yaml: sql: must be a single statement/);
});

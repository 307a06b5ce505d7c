import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  EXPORT_FORMATS,
  exportFindings,
  exportWithReport,
  filterFindings,
  isExportFormat,
  ZEEK_INTEL_HEADER,
  type ExportFormat,
} from '../../src/export/index.js';
import { all, c2Ip, csBlacklisted, csDefault, domain, ja3, NOW, sha256Only } from './fixtures.js';

describe('exportFindings', () => {
  test('every format produces its kind of text', () => {
    const findings = all();
    const text = (to: ExportFormat): string => exportFindings(findings, to, { now: NOW });
    assert.equal((JSON.parse(text('stix')) as { type: string }).type, 'bundle');
    assert.ok(text('zeek-intel').startsWith(`${ZEEK_INTEL_HEADER}\n`), 'zeek intel header');
    assert.match(text('suricata'), /^alert tls any any -> any any \(msg:"certhunt /m);
    assert.ok(text('csv').startsWith('hunt_id,title,severity,score,'), 'csv header');
    assert.equal((JSON.parse(text('json')) as unknown[]).length, findings.length);
    assert.equal(text('ndjson').trimEnd().split('\n').length, findings.length);
  });

  test('the report counts indicators and names what a format could not express', () => {
    const r = exportWithReport([csDefault(), csBlacklisted(), ja3(), sha256Only()], 'zeek-intel', { now: NOW });
    assert.equal(r.exported, 4, 'CERT_HASH, the two served-from addresses, the SHA-256-only certificate\'s name');
    assert.deepEqual(
      r.skipped.map((s) => s.hunt_id),
      ['known-c2-ja3', 'self-signed-recent'],
    );
    assert.equal(exportWithReport([csDefault(), csBlacklisted()], 'stix', { now: NOW }).exported, 1, 'one indicator for one certificate');
    assert.equal(exportWithReport([csDefault(), csBlacklisted()], 'csv', { now: NOW }).exported, 2, 'one row per finding');
  });

  test('format names', () => {
    assert.deepEqual([...EXPORT_FORMATS], ['stix', 'zeek-intel', 'suricata', 'csv', 'json', 'ndjson']);
    assert.equal(isExportFormat('zeek-intel'), true);
    assert.equal(isExportFormat('yaml'), false);
    assert.throws(() => exportFindings([], 'yaml' as ExportFormat, { now: NOW }), TypeError);
  });
});

describe('filterFindings', () => {
  const findings = all();

  test('minScore keeps findings at or above the score', () => {
    const kept = filterFindings(findings, { minScore: 80 });
    assert.deepEqual(
      kept.map((f) => `${f.hunt_id}:${f.score}`),
      ['default-c2-certificate:95', 'blacklisted-certificates:90', 'c2-addresses:80', 'c2-addresses:80'],
    );
    assert.equal(filterFindings([{ ...c2Ip(), score: Number.NaN }], { minScore: 0 }).length, 0, 'NaN never passes');
  });

  test('since compares last_seen, else first_seen; findings with neither are dropped', () => {
    const since = new Date('2026-11-05T00:00:00Z');
    const kept = filterFindings(findings, { since }).map((f) => f.hunt_id);
    assert.ok(kept.includes('default-c2-certificate'), 'last seen 2026-11-18');
    assert.ok(kept.includes('dga-sni'), 'no last_seen; first seen exactly at since');
    assert.ok(!kept.includes('known-c2-ja3'), 'last seen 2026-11-04');
    assert.ok(!kept.includes('self-signed-recent'), 'never seen: no time to compare');
    assert.deepEqual(
      filterFindings([domain()], { since: new Date('2026-11-05T00:00:00.001Z') }),
      [],
    );
    assert.throws(() => filterFindings(findings, { since: new Date('nope') }), RangeError);
  });

  test('hunts keeps the listed hunt ids; filters combine', () => {
    assert.deepEqual(
      filterFindings(findings, { hunts: ['known-c2-ja3', 'dga-sni'] }).map((f) => f.hunt_id),
      ['known-c2-ja3', 'dga-sni'],
    );
    assert.deepEqual(filterFindings(findings, { hunts: [] }), []);
    assert.deepEqual(
      filterFindings(findings, { hunts: ['c2-addresses', 'dga-sni'], minScore: 70, since: new Date('2026-11-10T00:00:00Z') }).map((f) => f.entity),
      ['203.0.113.9', '2001:DB8::BAD'],
    );
    assert.equal(filterFindings(findings, {}).length, findings.length);
  });
});

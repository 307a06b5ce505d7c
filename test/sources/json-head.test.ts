import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headObject } from '../../src/sources/json-head.js';

test('a whole line parses as it is; a cut one keeps every key before the cut', () => {
  const line = JSON.stringify({ ts: 1.5, 'certificate.serial': 'AB\\"C', 'san.dns': ['a.example', 'b.example'], nested: { k: [1, { x: 'y' }] } });
  assert.deepEqual(headObject(line), JSON.parse(line), 'whole: unchanged');
  const cuts: [number, Record<string, unknown>][] = [];
  for (let n = 1; n < line.length; n++) cuts.push([n, headObject(line.slice(0, n)) ?? {}]);
  // Cut anywhere, the result is an object whose keys are a prefix of the line's keys.
  const keys = Object.keys(JSON.parse(line));
  for (const [n, o] of cuts) assert.deepEqual(Object.keys(o), keys.slice(0, Object.keys(o).length), `cut at ${n}: ${JSON.stringify(o)}`);
  const at = (text: string) => headObject(line.slice(0, line.indexOf(text)));
  assert.deepEqual(at('b.example'), { ts: 1.5, 'certificate.serial': 'AB\\"C', 'san.dns': ['a.example', ''] }, 'inside a list: the open string closed, the list kept');
  assert.deepEqual(headObject('{"ts":1.5,"certificate.serial":"AB\\'), { ts: 1.5, 'certificate.serial': 'AB' }, 'a cut escape is dropped');
  assert.deepEqual(headObject('{"ts":1.5,"certificate.serial":"AB\\u00'), { ts: 1.5, 'certificate.serial': 'AB' }, 'a cut \\u escape too');
  assert.deepEqual(headObject('{"ts":1.5,"certificate.ser'), { ts: 1.5 }, 'a cut key is dropped');
  assert.deepEqual(headObject('{"ts":1.5,"n":12'), { ts: 1.5, n: 12 }, 'a number at the cut is kept as read');
  assert.deepEqual(headObject('{"ts":1.5,"b":tr'), { ts: 1.5 }, 'a cut literal is dropped');
  assert.equal(headObject('Jan 01 garbage {'), null, 'not JSON: null');
  assert.equal(headObject('[1,2'), null, 'not an object: null');
});

test("a head that is one cut line names its format from the keys before the cut (Zeek's, eve's)", async () => {
  const { LINE_FORMATS } = await import('../../src/sources/index.js');
  const detected = (line: string) => LINE_FORMATS.filter((f) => f.detect([line.slice(0, 64 * 1024)])).map((f) => f.name);
  const sans = Array.from({ length: 50_000 }, (_, i) => `h${i}.example.com`);
  const zeek = JSON.stringify({ ts: 1.5, fingerprint: 'a'.repeat(64), 'certificate.version': 3, 'certificate.serial': '01', 'certificate.subject': 'CN=a', 'san.dns': sans });
  const serial = JSON.stringify({ ts: 1.5, fingerprint: 'a'.repeat(64), 'certificate.version': 3, 'certificate.serial': 'ab'.repeat(100_000), 'certificate.subject': 'CN=a' });
  const eve = JSON.stringify({ timestamp: '2024-01-01T00:00:00.000000+0000', flow_id: 1, event_type: 'tls', tls: { sni: 'x'.repeat(100_000) } });
  assert.deepEqual([detected(zeek), detected(serial), detected(eve)], [['zeek_x509'], ['zeek_x509'], ['suricata_tls']], 'each found from its cut line alone');
});

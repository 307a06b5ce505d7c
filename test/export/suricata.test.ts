import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allocateSids, DEFAULT_SID_RANGE, exportSuricata, ruleMsg, suricataRules } from '../../src/export/suricata.js';
import type { ExportFinding } from '../../src/export/record.js';
import { all, c2Ip, c2Ipv6, CS, csBlacklisted, csDefault, domain, hostile, ja3, NOW, sha256Only, shuffled } from './fixtures.js';

// Rule shapes from the Suricata user guide ("Rules Format", "SSL/TLS Keywords", "JA3/JA4 Keywords",
// "Meta Keywords"): action proto src port -> dst port (options), options `name:value;` or `name;`.
const MSG = '"(?:[ -!#-:<-\\[\\]-~])*"'; // printable ASCII without " ; \
const TAIL = `(?: reference:url,attack\\.mitre\\.org/techniques/T\\d{4}(?:/\\d{3})?/;)* classtype:(?:trojan-activity|bad-unknown|misc-activity); metadata:[A-Za-z0-9_. ,-]+; sid:(\\d+); rev:1;\\)$`;
const CERT_RULE = new RegExp(`^alert tls any any -> any any \\(msg:${MSG}; tls\\.cert_fingerprint; content:"(?:[0-9a-f]{2}:){19}[0-9a-f]{2}";${TAIL}`);
const JA3_RULE = new RegExp(`^alert tls any any -> any any \\(msg:${MSG}; ja3\\.hash; content:"[0-9a-f]{32}";${TAIL}`);
const IP_RULE = new RegExp(`^alert ip any any -> \\[[0-9a-f.:]+\\] any \\(msg:${MSG};${TAIL}`);

function rulesOf(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
}

/** Splits a rule's options the way Suricata's parser does: on ';' outside quotes, honouring '\' escapes. */
function options(rule: string): [string, string | undefined][] {
  const body = rule.slice(rule.indexOf('(') + 1, rule.lastIndexOf(')'));
  const out: [string, string | undefined][] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      cur += c + (body[i + 1] ?? '');
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      cur += c;
    } else if (c === ';' && !quoted) {
      const t = cur.trim();
      const colon = t.indexOf(':');
      out.push(colon < 0 ? [t, undefined] : [t.slice(0, colon), t.slice(colon + 1)]);
      cur = '';
    } else cur += c;
  }
  assert.equal(quoted, false, 'quotes balance');
  assert.equal(cur.trim(), '', 'every option ends with ;');
  return out;
}

function sidsOf(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rulesOf(text)) {
    const opts = new Map(options(r));
    const content = opts.get('content') ?? r.split(' -> ')[1]!.split(' ')[0]!;
    out.set(content, Number(opts.get('sid')));
  }
  return out;
}

describe('Suricata rules', () => {
  test('the Cobalt Strike certificate: tls.cert_fingerprint with the lowercase colon-separated SHA-1', () => {
    const rules = rulesOf(suricataRules([csDefault(), csBlacklisted()], { now: NOW }));
    assert.equal(rules.length, 1, 'one rule for two hunts on one certificate');
    const rule = rules[0]!;
    assert.match(rule, CERT_RULE);
    const opts = options(rule);
    assert.deepEqual(opts.slice(0, 3), [
      ['msg', '"certhunt Default C2 framework certificate Major Cobalt Strike"'],
      ['tls.cert_fingerprint', undefined],
      ['content', '"6e:ce:5e:ce:41:92:68:3d:2d:84:e2:5b:0b:a7:e0:4f:9c:b7:eb:7c"'],
    ]);
    assert.deepEqual(
      opts.filter(([k]) => k === 'reference').map(([, v]) => v),
      ['url,attack.mitre.org/techniques/T1071/001/', 'url,attack.mitre.org/techniques/T1573/002/', 'url,attack.mitre.org/techniques/T1587/003/'],
    );
    assert.equal(new Map(opts).get('classtype'), 'trojan-activity');
    assert.match(new Map(opts).get('metadata')!, /certhunt_hunt default-c2-certificate, certhunt_hunt blacklisted-certificates, certhunt_score 95/);
    const sid = Number(new Map(opts).get('sid'));
    assert.ok(sid >= DEFAULT_SID_RANGE.min && sid <= DEFAULT_SID_RANGE.max, `sid ${sid} in the default range`);
    assert.deepEqual(opts.slice(-2).map(([k]) => k), ['sid', 'rev'], 'sid and rev last');
    assert.equal(CS.sha1.length, 40);
  });

  test('JA3 and IP rules have their shapes; domains and SHA-256-only certificates are reported as skipped', () => {
    const r = exportSuricata([ja3(), c2Ip(), c2Ipv6(), domain(), sha256Only()], { now: NOW });
    const rules = rulesOf(r.text);
    assert.equal(rules.length, 3);
    assert.equal(r.exported, 3);
    assert.equal(rules.filter((x) => JA3_RULE.test(x)).length, 1, rules.join('\n'));
    assert.equal(rules.filter((x) => IP_RULE.test(x)).length, 2, rules.join('\n'));
    assert.ok(rules.some((x) => x.includes('ja3.hash; content:"72a589da586844d7f0818ce684948eea";')), 'JA3 MD5 lowercased');
    assert.ok(rules.some((x) => x.startsWith('alert ip any any -> [2001:db8::bad] any (')), 'IPv6 in brackets');
    assert.deepEqual(
      r.skipped.map((s) => s.hunt_id),
      ['dga-sni', 'self-signed-recent'],
    );
    assert.match(r.skipped[1]!.reason, /no SHA-1/);
  });

  test('every rule of a full export matches one of the rule shapes, with unique sids', () => {
    const rules = rulesOf(suricataRules(all(), { now: NOW }));
    for (const rule of rules) {
      assert.ok(CERT_RULE.test(rule) || JA3_RULE.test(rule) || IP_RULE.test(rule), rule);
      options(rule);
    }
    const sids = rules.map((x) => Number(new Map(options(x)).get('sid')));
    assert.equal(new Set(sids).size, sids.length, 'unique sids');
  });

  test('hostile CN and title: msg has no quote, semicolon, backslash or control character', () => {
    const rules = rulesOf(suricataRules([hostile()], { now: NOW }));
    assert.equal(rules.length, 1);
    const rule = rules[0]!;
    assert.match(rule, CERT_RULE);
    const msg = new Map(options(rule)).get('msg')!;
    const inner = msg.slice(1, -1);
    assert.doesNotMatch(inner, /["\\;]/, inner);
    assert.match(inner, /^[ -~]+$/, 'printable ASCII only');
    assert.equal(inner, "certhunt Short random-looking names 'x',/ evil 'quoted',/back?[31mred?gnp.exe Intel::ADDR");
    assert.equal(rule.split('\n').length, 1, 'one line');
  });

  test('ruleMsg caps length and collapses whitespace', () => {
    assert.equal(ruleMsg('a\t\tb\r\n c'), 'a b c');
    assert.equal(ruleMsg('x'.repeat(500)).length, 200);
    assert.equal(ruleMsg('é"\\;\u0000'), "?'/,?");
  });

  test('sids are stable across runs and input orders', () => {
    const base = sidsOf(suricataRules(all(), { now: NOW }));
    for (const seed of [1, 2, 3, 42]) {
      assert.deepEqual(sidsOf(suricataRules(shuffled(all(), seed), { now: new Date(seed) })), base, `seed ${seed}`);
    }
    assert.equal(suricataRules(all(), { now: NOW }), suricataRules(shuffled(all(), 9), { now: NOW }), 'byte-identical files');
    // An indicator keeps its sid when other indicators come and go (no collision in this set).
    const fewer = sidsOf(suricataRules([csDefault(), ja3()], { now: NOW }));
    for (const [k, sid] of fewer) assert.equal(base.get(k), sid, k);
  });

  test('collisions in a small range are resolved the same way whatever the order', () => {
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const range = { min: 100, max: 104 };
    const first = allocateSids(keys, range);
    assert.deepEqual([...first.values()].sort(), [100, 101, 102, 103, 104], 'a full range still gives every key a sid');
    for (let seed = 0; seed < 20; seed++) assert.deepEqual(allocateSids(shuffled(keys, seed), range), first, `seed ${seed}`);
    assert.throws(() => allocateSids([...keys, 'f'], range), RangeError);
  });

  test('a configured sid range is honoured and validated', () => {
    const text = suricataRules(all(), { now: NOW, sidRange: { min: 3_000_000, max: 3_000_099 } });
    for (const sid of sidsOf(text).values()) assert.ok(sid >= 3_000_000 && sid <= 3_000_099, `sid ${sid}`);
    assert.match(text, /^# certhunt Suricata rules: 5 rules, sids 3000000-3000099$/m);
    for (const bad of [{ min: 0, max: 10 }, { min: 10, max: 9 }, { min: 1.5, max: 9 }, { min: 1, max: 2 ** 32 }]) {
      assert.throws(() => suricataRules([csDefault()], { now: NOW, sidRange: bad }), RangeError, JSON.stringify(bad));
    }
  });

  test('severity picks the classtype', () => {
    const low: ExportFinding = { ...c2Ip(), severity: 'low', score: 20 };
    const medium: ExportFinding = { ...c2Ip(), entity: '192.0.2.1', severity: 'medium', score: 50 };
    const text = suricataRules([low, medium], { now: NOW });
    assert.match(text, /-> \[203\.0\.113\.9\] .*classtype:misc-activity;/);
    assert.match(text, /-> \[192\.0\.2\.1\] .*classtype:bad-unknown;/);
  });
});

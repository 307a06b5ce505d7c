import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { stixJson, toStix, type StixBundle, type StixObject } from '../../src/export/stix.js';
import { canonicalJson, scoId, uuidv5 } from '../../src/export/uuid.js';
import { all, c2Ip, c2Ipv6, CS, csBlacklisted, csDefault, domain, hostile, HOSTILE_CN, ja3, NOW, sha256Only, shuffled } from './fixtures.js';

// ---------------------------------------------------------------------------------------------
// A STIX 2.1 validator, written from the spec text (OASIS "STIX Version 2.1" errata 01), not from
// the exporter: section names in the comments. It checks what the spec makes REQUIRED or MUST.
// ---------------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// §2.16.1 Timestamp: RFC 3339, UTC, 'Z', optional sub-seconds (no '.' without digits).
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;
// §3.2 Common Properties, created/modified: "The minimum precision MUST be milliseconds".
const TIMESTAMP_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,}Z$/;

/** §3.2's table: which common properties each kind of object requires, or may not carry. */
const SDO_TYPES = new Set(['identity', 'indicator', 'attack-pattern', 'malware', 'infrastructure', 'observed-data', 'report', 'note']);
const SRO_TYPES = new Set(['relationship', 'sighting']);
const SCO_TYPES = new Set(['x509-certificate', 'ipv4-addr', 'ipv6-addr', 'domain-name', 'file', 'network-traffic', 'url']);
/** Properties each type's own table (§4.x, §5.1, §6.x) marks (required). */
const REQUIRED: Record<string, string[]> = {
  identity: ['name'], // §4.5.1
  indicator: ['pattern', 'pattern_type', 'valid_from'], // §4.7.1
  relationship: ['relationship_type', 'source_ref', 'target_ref'], // §5.1.2
  'ipv4-addr': ['value'], // §6.8.1
  'ipv6-addr': ['value'], // §6.9.1
  'domain-name': ['value'], // §6.4.1
  'x509-certificate': [], // §6.18.1: none, but at least one object-specific property
};
const X509_PROPS = [
  'is_self_signed', 'hashes', 'version', 'serial_number', 'signature_algorithm', 'issuer', 'validity_not_before',
  'validity_not_after', 'subject', 'subject_public_key_algorithm', 'subject_public_key_modulus',
  'subject_public_key_exponent', 'x509_v3_extensions',
];

function validateBundle(bundle: unknown): string[] {
  const errors: string[] = [];
  const err = (m: string): void => void errors.push(m);
  const b = bundle as Record<string, unknown>;
  // §8.1: type 'bundle' and id required; objects optional but a list of one or more STIX Objects.
  if (b.type !== 'bundle') err(`bundle type is ${String(b.type)}`);
  if (typeof b.id !== 'string' || !idOk(b.id, 'bundle')) err(`bundle id ${String(b.id)}`);
  if ('spec_version' in b) err('§3.2: spec_version is N/A on a bundle');
  if (!Array.isArray(b.objects) || b.objects.length === 0) return [...errors, 'bundle has no objects'];
  const objects = b.objects as Record<string, unknown>[];
  const ids = new Map<string, Record<string, unknown>>();
  const uuids = new Map<string, string>();
  for (const o of objects) {
    const id = String(o.id);
    if (ids.has(id)) err(`duplicate id ${id}`);
    ids.set(id, o);
    // §2.9: the UUID part MUST NOT be reused for objects of different types.
    const uuid = id.split('--')[1] ?? '';
    const other = uuids.get(uuid);
    if (other && other !== o.type) err(`UUID ${uuid} reused across ${other} and ${String(o.type)}`);
    uuids.set(uuid, String(o.type));
  }
  for (const o of objects) {
    const where = `${String(o.type)} ${String(o.id)}`;
    const type = o.type;
    // §3.1: type names lowercase, start with a letter, words joined by '-', 3..250 characters.
    if (typeof type !== 'string' || !/^[a-z][a-z0-9-]{2,249}$/.test(type)) {
      err(`${where}: bad type`);
      continue;
    }
    if (typeof o.id !== 'string' || !idOk(o.id, type)) err(`${where}: id is not ${type}--<RFC 4122 UUID> (§2.9)`);
    noNullsOrEmptyLists(o, where, err);
    const isSco = SCO_TYPES.has(type) || (type.startsWith('x-') && !('created' in o));
    if (SDO_TYPES.has(type) || SRO_TYPES.has(type)) {
      // §3.2 table: SDOs and SROs require type, spec_version, id, created, modified.
      if (o.spec_version !== '2.1') err(`${where}: spec_version must be '2.1'`);
      for (const p of ['created', 'modified'] as const) {
        if (typeof o[p] !== 'string' || !TIMESTAMP_MS.test(o[p] as string)) err(`${where}: ${p} ${String(o[p])} is not a millisecond timestamp`);
      }
      if (typeof o.created === 'string' && typeof o.modified === 'string' && Date.parse(o.modified) < Date.parse(o.created)) {
        err(`${where}: modified before created (§3.6.1)`);
      }
      if ('defanged' in o) err(`${where}: defanged is for SCOs only (§3.2)`);
      if ('created_by_ref' in o) {
        const ref = ids.get(String(o.created_by_ref));
        if (!ref || ref.type !== 'identity') err(`${where}: created_by_ref does not resolve to an identity`);
      }
      if ('confidence' in o && (!Number.isInteger(o.confidence) || (o.confidence as number) < 0 || (o.confidence as number) > 100)) {
        err(`${where}: confidence must be an integer 0..100 (§3.2)`);
      }
      if ('labels' in o && (!Array.isArray(o.labels) || !o.labels.every((l) => typeof l === 'string'))) err(`${where}: labels`);
      for (const r of (o.external_references as Record<string, unknown>[] | undefined) ?? []) {
        if (typeof r.source_name !== 'string' || !r.source_name) err(`${where}: external reference without source_name (§2.5)`);
        if (!('description' in r || 'url' in r || 'external_id' in r)) err(`${where}: external reference needs description, url or external_id (§2.5.2)`);
      }
    } else if (isSco) {
      // §3.2 table: SCOs require type and id; spec_version optional; versioning properties N/A.
      if ('spec_version' in o && o.spec_version !== '2.1') err(`${where}: spec_version`);
      for (const p of ['created', 'modified', 'created_by_ref', 'labels', 'confidence', 'external_references', 'revoked']) {
        if (p in o) err(`${where}: ${p} is N/A on SCOs (§3.2)`);
      }
      if ('hashes' in o) {
        // §2.7: keys 3..250 of [a-zA-Z0-9_-], values strings.
        for (const [k, v] of Object.entries(o.hashes as Record<string, unknown>)) {
          if (!/^[A-Za-z0-9_-]{3,250}$/.test(k) || typeof v !== 'string') err(`${where}: hash ${k}`);
        }
      }
    } else {
      err(`${where}: type this validator does not know`);
    }
    for (const p of REQUIRED[type] ?? []) if (!(p in o)) err(`${where}: required property ${p} missing`);
    if (type === 'x509-certificate' && !X509_PROPS.some((p) => p in o)) err(`${where}: no object-specific property (§6.18)`);
    for (const p of ['validity_not_before', 'validity_not_after']) {
      if (p in o && !TIMESTAMP.test(String(o[p]))) err(`${where}: ${p} is not a timestamp`);
    }
    if (type === 'indicator') {
      if (typeof o.valid_from !== 'string' || !TIMESTAMP.test(o.valid_from)) err(`${where}: valid_from`);
      if ('valid_until' in o && !(String(o.valid_until) > String(o.valid_from))) err(`${where}: valid_until must be after valid_from`);
      if (o.pattern_type === 'stix') {
        try {
          parsePattern(String(o.pattern));
        } catch (e) {
          err(`${where}: pattern ${String(o.pattern)}: ${(e as Error).message}`);
        }
      }
      for (const k of (o.kill_chain_phases as Record<string, unknown>[] | undefined) ?? []) {
        if (typeof k.kill_chain_name !== 'string' || typeof k.phase_name !== 'string') err(`${where}: kill chain phase (§2.11)`);
      }
    }
    if (type === 'relationship') {
      for (const p of ['source_ref', 'target_ref']) if (!ids.has(String(o[p]))) err(`${where}: ${p} does not resolve in the bundle`);
    }
  }
  return errors;
}

function idOk(id: string, type: string): boolean {
  const [t, u, ...rest] = id.split('--');
  return rest.length === 0 && t === type && UUID.test(u ?? '');
}

function noNullsOrEmptyLists(v: unknown, where: string, err: (m: string) => void, path = ''): void {
  // §2.12: empty lists are prohibited; optional properties are omitted, never null.
  if (v === null) err(`${where}: null at ${path}`);
  else if (Array.isArray(v)) {
    if (v.length === 0) err(`${where}: empty list at ${path}`);
    v.forEach((x, i) => noNullsOrEmptyLists(x, where, err, `${path}[${i}]`));
  } else if (typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) noNullsOrEmptyLists(x, where, err, `${path}.${k}`);
  }
}

// ---------------------------------------------------------------------------------------------
// A small STIX pattern parser (§9): Pattern Expressions of Observation Expressions joined by
// AND / OR / FOLLOWEDBY, Comparison Expressions `object-type:path op constant` joined by AND / OR
// with parentheses, string constants with only \' and \\ escapes (§9.2), quoted path components
// for names with '-' or '.' (§9.7). Qualifiers are not needed by certhunt and are rejected.
// ---------------------------------------------------------------------------------------------

interface Comparison {
  objectType: string;
  path: string[];
  op: string;
  value: string;
}

type Token = { k: 'punct' | 'word' | 'string' | 'op'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if ('[]():.'.includes(c)) {
      out.push({ k: 'punct', v: c });
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Error('unterminated string');
        const d = src[i]!;
        if (d === '\\') {
          const e = src[i + 1];
          if (e !== "'" && e !== '\\') throw new Error(`bad escape \\${e ?? ''} (§9.2: only \\' and \\\\)`);
          s += e;
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else {
          s += d;
          i++;
        }
      }
      out.push({ k: 'string', v: s });
    } else if (/[!<>=]/.test(c)) {
      const m = /^(?:!=|<=|>=|=|<|>)/.exec(src.slice(i));
      if (!m) throw new Error(`bad operator at ${i}`);
      out.push({ k: 'op', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z0-9_*-]/.test(c)) {
      const m = /^[A-Za-z0-9_*-]+/.exec(src.slice(i))!;
      out.push({ k: 'word', v: m[0] });
      i += m[0].length;
    } else {
      throw new Error(`unexpected ${JSON.stringify(c)} at ${i}`);
    }
  }
  return out;
}

function parsePattern(src: string): Comparison[] {
  const toks = tokenize(src);
  let p = 0;
  const comparisons: Comparison[] = [];
  const peek = (): Token | undefined => toks[p];
  const eat = (k: Token['k'], v?: string): Token => {
    const t = toks[p];
    if (!t || t.k !== k || (v !== undefined && t.v !== v)) throw new Error(`expected ${v ?? k} at token ${p}, got ${t ? t.v : 'end'}`);
    p++;
    return t;
  };
  const isWord = (v: string): boolean => peek()?.k === 'word' && peek()!.v === v;

  function patternExpr(): void {
    observation();
    while (isWord('AND') || isWord('OR') || isWord('FOLLOWEDBY')) {
      p++;
      observation();
    }
  }
  function observation(): void {
    if (peek()?.v === '(' && peek()?.k === 'punct') {
      eat('punct', '(');
      patternExpr();
      eat('punct', ')');
    } else {
      eat('punct', '[');
      comparisonOr();
      eat('punct', ']');
    }
  }
  function comparisonOr(): void {
    comparisonAnd();
    while (isWord('OR')) {
      p++;
      comparisonAnd();
    }
  }
  function comparisonAnd(): void {
    comparisonTerm();
    while (isWord('AND')) {
      p++;
      comparisonTerm();
    }
  }
  function comparisonTerm(): void {
    if (peek()?.k === 'punct' && peek()?.v === '(') {
      eat('punct', '(');
      comparisonOr();
      eat('punct', ')');
      return;
    }
    const objectType = eat('word').v;
    // §9.7: <object-type> is an SCO type name (§3.1: lowercase, words joined by '-').
    if (!/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(objectType)) throw new Error(`bad object type ${objectType}`);
    eat('punct', ':');
    const path = [pathComponent()];
    while (peek()?.k === 'punct' && (peek()!.v === '.' || peek()!.v === '[')) {
      if (eat('punct').v === '.') path.push(pathComponent());
      else {
        const idx = eat('word').v;
        if (!/^(?:\d+|\*)$/.test(idx)) throw new Error(`bad list index ${idx}`);
        eat('punct', ']');
      }
    }
    if (isWord('NOT')) p++;
    let op: string;
    if (peek()?.k === 'op') op = eat('op').v;
    else if (isWord('LIKE') || isWord('MATCHES')) op = eat('word').v;
    else throw new Error(`expected a comparison operator at token ${p}`);
    const value = eat('string').v;
    comparisons.push({ objectType, path, op, value });
  }
  function pathComponent(): string {
    const t = peek();
    if (t?.k === 'string') {
      p++;
      return t.v;
    }
    const name = eat('word').v;
    // §9.7: a name with '-' or '.' MUST be quoted.
    if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`property name ${name} must be quoted`);
    return name;
  }

  patternExpr();
  if (p !== toks.length) throw new Error(`trailing tokens from ${p}: ${toks.slice(p).map((t) => t.v).join(' ')}`);
  return comparisons;
}

/** An independent UUIDv5 (RFC 4122 §4.3) to check the exporter's against. */
function refUuid5(ns: string, name: string): string {
  const h = createHash('sha1').update(Buffer.from(ns.replace(/-/g, ''), 'hex')).update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return [x.slice(0, 8), x.slice(8, 12), x.slice(12, 16), x.slice(16, 20), x.slice(20)].join('-');
}

function byType(bundle: StixBundle, type: string): StixObject[] {
  return bundle.objects.filter((o) => o.type === type);
}

function indicatorFor(bundle: StixBundle, needle: string): StixObject {
  const found = byType(bundle, 'indicator').find((o) => String(o.pattern).includes(needle));
  assert.ok(found, `an indicator whose pattern mentions ${needle}`);
  return found;
}

// ---------------------------------------------------------------------------------------------

describe('validator and pattern parser catch what they should', () => {
  test('the pattern parser accepts the spec examples and rejects broken patterns', () => {
    for (const ok of [
      "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
      "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
      "[file:hashes.'SHA-256' = 'bf07' OR file:hashes.MD5 = 'cead'] AND [file:hashes.'SHA-256' = 'aec0']",
      "[x-usb-device:usbdrive.serial_number = '575833314133343231313937']",
      "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']",
      "[(file:name = 'pdf.exe' OR file:size = '1') AND file:name != 'x']",
    ]) {
      assert.doesNotThrow(() => parsePattern(ok), ok);
    }
    for (const bad of [
      "[x509-certificate:hashes.SHA-256 = 'aa']", // hyphenated name unquoted
      "[ipv4-addr:value = '1.2.3.4'", // unbalanced
      "ipv4-addr:value = '1.2.3.4'", // no observation brackets
      "[ipv4-addr:value = '1.2.3.4]", // unterminated string
      "[ipv4-addr:value = 'a\\nb']", // escape other than \' or \\
      "[ipv4-addr:value '1.2.3.4']", // no operator
      "[ipv4-addr:value = '1'] [ipv4-addr:value = '2']", // no observation operator
    ]) {
      assert.throws(() => parsePattern(bad), Error, bad);
    }
  });

  test('the validator flags missing required properties, bad ids and low-precision timestamps', () => {
    const bundle = toStix([csDefault()], { now: NOW }) as unknown as { objects: Record<string, unknown>[] };
    const ind = bundle.objects.find((o) => o.type === 'indicator')!;
    delete ind.valid_from;
    ind.created = '2026-11-02T10:15:00Z';
    ind.id = 'indicator--not-a-uuid';
    const errors = validateBundle(bundle);
    assert.ok(errors.some((e) => e.includes('valid_from')), errors.join('\n'));
    assert.ok(errors.some((e) => e.includes('millisecond')), errors.join('\n'));
    assert.ok(errors.some((e) => e.includes('UUID')), errors.join('\n'));
  });
});

describe('deterministic identifiers (§2.9, §3.4)', () => {
  test('UUIDv5 and JCS reproduce the spec example SCO ids', () => {
    // §4.8 / Appendix C examples and §6.18 examples.
    assert.equal(scoId('ipv4-addr', { value: '198.51.100.3' }), 'ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4');
    assert.equal(scoId('ipv4-addr', { value: '198.52.200.4' }), 'ipv4-addr--055987b7-7d94-5326-8e20-c3dad8241976');
    assert.equal(
      scoId('x509-certificate', { serial_number: '36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06' }),
      'x509-certificate--bf86f034-2390-54d7-8426-d08433db3fbe',
    );
    assert.equal(uuidv5('00abedb4-aa42-466c-9c01-fed23315a9b7', 'x'), refUuid5('00abedb4-aa42-466c-9c01-fed23315a9b7', 'x'));
  });

  test('JCS sorts keys and writes no whitespace', () => {
    assert.equal(canonicalJson({ serial_number: '08:bb', hashes: { 'SHA-1': 'ab', MD5: 'cd' } }), '{"hashes":{"MD5":"cd","SHA-1":"ab"},"serial_number":"08:bb"}');
    assert.equal(canonicalJson({ a: [1, 'é', true, null] }), '{"a":[1,"é",true,null]}');
  });

  test('the x509-certificate id uses one hash (MD5 first) and the serial', () => {
    const sco = byType(toStix([csDefault()], { now: NOW }), 'x509-certificate')[0]!;
    const expected = refUuid5('00abedb4-aa42-466c-9c01-fed23315a9b7', `{"hashes":{"MD5":"${CS.md5}"},"serial_number":"08:bb:00:ee"}`);
    assert.equal(sco.id, `x509-certificate--${expected}`);
  });

  test('re-exports give the same ids and the same text, whatever the order and clock', () => {
    const withTimes = [csDefault(), csBlacklisted(), c2Ip(), c2Ipv6(), ja3(), domain(), hostile()];
    const a = stixJson(withTimes, { now: NOW });
    const b = stixJson(shuffled(withTimes, 7), { now: new Date('2030-01-01T00:00:00Z') });
    assert.equal(a, b);
    const ids = (s: string): string[] => (JSON.parse(s) as StixBundle).objects.map((o) => o.id);
    assert.deepEqual(ids(stixJson(all(), { now: NOW })), ids(stixJson(shuffled(all(), 3), { now: new Date('2031-05-05T00:00:00Z') })));
  });

  test('a finding without first_seen takes the injected clock, in milliseconds', () => {
    const ind = byType(toStix([sha256Only()], { now: NOW }), 'indicator')[0]!;
    assert.equal(ind.created, '2026-11-20T08:00:00.000Z');
    assert.equal(ind.modified, ind.created);
    assert.equal(ind.valid_from, ind.created);
  });
});

describe('STIX 2.1 bundle', () => {
  test('every object of a full export passes the validator', () => {
    const bundle = toStix(all(), { now: NOW });
    const errors = validateBundle(JSON.parse(JSON.stringify(bundle)));
    assert.deepEqual(errors, []);
    assert.equal(byType(bundle, 'identity').length, 1, 'one producer identity');
  });

  test('the Cobalt Strike certificate: one indicator for both hunts, SHA-256 OR SHA-1, ATT&CK references', () => {
    const bundle = toStix([csDefault(), csBlacklisted()], { now: NOW });
    assert.deepEqual(validateBundle(bundle), []);
    const inds = byType(bundle, 'indicator');
    assert.equal(inds.length, 1, 'two hunts on one certificate make one indicator');
    const ind = inds[0]!;
    assert.equal(ind.pattern, `[x509-certificate:hashes.'SHA-256' = '${CS.sha256}' OR x509-certificate:hashes.'SHA-1' = '${CS.sha1}']`);
    const cmp = parsePattern(String(ind.pattern));
    assert.deepEqual(
      cmp.map((c) => [c.objectType, c.path.join('.'), c.value]),
      [
        ['x509-certificate', 'hashes.SHA-256', CS.sha256],
        ['x509-certificate', 'hashes.SHA-1', CS.sha1],
      ],
    );
    assert.equal(ind.pattern_type, 'stix');
    assert.equal(ind.pattern_version, '2.1');
    assert.deepEqual(ind.indicator_types, ['malicious-activity']);
    assert.equal(ind.confidence, 95);
    assert.equal(ind.name, 'Default C2 framework certificate: Major Cobalt Strike');
    assert.equal(ind.created, '2026-11-01T00:00:00.000Z', 'earliest first_seen of the two hunts');
    assert.equal(ind.modified, '2026-11-18T22:01:07.000Z', "latest last_seen; DuckDB's zone-less text read as UTC");
    assert.equal(ind.valid_from, ind.created);
    const refs = ind.external_references as Record<string, string>[];
    const attack = refs.filter((r) => r.source_name === 'mitre-attack');
    assert.deepEqual(
      attack.map((r) => r.external_id),
      ['T1071.001', 'T1573.002', 'T1587.003'],
    );
    assert.deepEqual(attack.find((r) => r.external_id === 'T1573.002'), {
      source_name: 'mitre-attack',
      external_id: 'T1573.002',
      url: 'https://attack.mitre.org/techniques/T1573/002/',
    });
    assert.deepEqual(
      refs.filter((r) => r.source_name === 'certhunt').map((r) => r.external_id),
      ['default-c2-certificate', 'blacklisted-certificates'],
    );
    assert.deepEqual(ind.kill_chain_phases, [
      { kill_chain_name: 'mitre-attack', phase_name: 'command-and-control' },
      { kill_chain_name: 'mitre-attack', phase_name: 'resource-development' },
    ]);
    assert.ok(String(ind.description).includes('Served from: 198.51.100.23, 203.0.113.9.'), String(ind.description));

    const sco = byType(bundle, 'x509-certificate')[0]!;
    assert.deepEqual(sco.hashes, { MD5: CS.md5, 'SHA-1': CS.sha1, 'SHA-256': CS.sha256 });
    assert.equal(sco.serial_number, '08:bb:00:ee');
    assert.equal(sco.subject, CS.subject);
    assert.equal(sco.issuer, CS.subject);
    assert.equal(sco.validity_not_before, '2015-05-20T18:26:24.000Z');
    const rel = byType(bundle, 'relationship')[0]!;
    assert.deepEqual([rel.relationship_type, rel.source_ref, rel.target_ref], ['related-to', ind.id, sco.id]);
  });

  test('IP findings: ipv4-addr and ipv6-addr patterns and SCOs', () => {
    const bundle = toStix([c2Ip(), c2Ipv6()], { now: NOW });
    assert.deepEqual(validateBundle(bundle), []);
    assert.equal(indicatorFor(bundle, '203.0.113.9').pattern, "[ipv4-addr:value = '203.0.113.9']");
    assert.equal(indicatorFor(bundle, '2001:db8::bad').pattern, "[ipv6-addr:value = '2001:db8::bad']");
    assert.deepEqual(
      byType(bundle, 'ipv4-addr').map((o) => o.id),
      [scoId('ipv4-addr', { value: '203.0.113.9' })],
    );
    assert.equal(byType(bundle, 'ipv6-addr').length, 1, 'one ipv6-addr SCO');
  });

  test('JA3: a custom x- object in a STIX pattern, no SCO', () => {
    const bundle = toStix([ja3()], { now: NOW });
    assert.deepEqual(validateBundle(bundle), []);
    const ind = indicatorFor(bundle, 'x-ja3');
    assert.equal(ind.pattern, "[x-ja3:hash = '72a589da586844d7f0818ce684948eea']");
    const [cmp] = parsePattern(String(ind.pattern));
    assert.ok(cmp && cmp.objectType.startsWith('x-'), 'custom object types start with x- (§11.2)');
    assert.equal(ind.name, 'Client fingerprint of a C2 implant: JA3 72a589da586844d7f0818ce684948eea');
    assert.equal(bundle.objects.length, 2, 'identity and indicator only');
  });

  test('domain findings, and certificates known by SHA-256 only', () => {
    const bundle = toStix([domain(), sha256Only()], { now: NOW });
    assert.deepEqual(validateBundle(bundle), []);
    assert.equal(indicatorFor(bundle, 'domain-name').pattern, "[domain-name:value = 'xkq3vbn7tlz.example.net']");
    const cert = indicatorFor(bundle, 'aaaa');
    assert.equal(cert.pattern, `[x509-certificate:hashes.'SHA-256' = '${'a'.repeat(64)}']`);
    assert.deepEqual(cert.indicator_types, ['anomalous-activity'], 'low severity is anomalous, not malicious');
  });

  test('a certificate known by issuer and serial only gets the §9.8 issuer AND serial pattern', () => {
    const f = { ...sha256Only(), entity: 'issuer-serial:x', certificate: { ...sha256Only().certificate!, sha256: '', issuer: "CN=O'Brien CA", serial: '0A1B' } };
    const bundle = toStix([f], { now: NOW });
    assert.deepEqual(validateBundle(bundle), []);
    const ind = byType(bundle, 'indicator')[0]!;
    assert.equal(ind.pattern, "[x509-certificate:issuer = 'CN=O\\'Brien CA' AND x509-certificate:serial_number = '0a:1b']");
    assert.deepEqual(
      parsePattern(String(ind.pattern)).map((c) => c.value),
      ["CN=O'Brien CA", '0a:1b'],
    );
  });

  test('hostile certificate text stays data: patterns parse, names carry no control characters', () => {
    const bundle = toStix([hostile()], { now: NOW });
    assert.deepEqual(validateBundle(JSON.parse(stixJson([hostile()], { now: NOW }))), []);
    const ind = byType(bundle, 'indicator')[0]!;
    for (const p of ['name', 'description']) {
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(String(ind[p]), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, `${p} is clean`);
    }
    const refs = (ind.external_references as Record<string, string>[]).filter((r) => r.source_name === 'mitre-attack');
    assert.deepEqual(
      refs.map((r) => r.external_id),
      ['T1573.002'],
      'invalid technique ids are dropped',
    );
    const sco = byType(bundle, 'x509-certificate')[0]!;
    assert.equal(sco.subject, `CN=${HOSTILE_CN},O=x\\,y`, 'the SCO keeps the exact subject');
    // The serialized text escapes bidi and C1 characters, so a terminal shows them as \u escapes.
    const text = stixJson([hostile()], { now: NOW });
    assert.ok(!text.includes('\u202e') && !text.includes('\x1b'), 'no raw bidi or ESC in the JSON text');
    assert.ok(text.includes('\\u202e'), 'the bidi override is escaped, not lost');
  });

  test('findings no format can express are reported, not silently dropped', async () => {
    const { exportStix } = await import('../../src/export/stix.js');
    const r = exportStix([{ ...c2Ip(), entity: 'not-an-ip' }, { ...ja3(), entity_type: 'process' }], { now: NOW });
    assert.equal(r.exported, 0);
    assert.deepEqual(
      r.skipped.map((s) => s.reason),
      ['not an IP address', "entity type 'process' has no indicator form"],
    );
  });
});

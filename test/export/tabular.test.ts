import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExportFinding } from '../../src/export/record.js';
import { COLUMNS, csvField, neutralize, toCsv, toJson, toNdjson } from '../../src/export/tabular.js';
import { all, c2Ip, CS, csDefault, hostile, HOSTILE_CN } from './fixtures.js';

/** RFC 4180 reader: CRLF records, "..." fields with "" for a quote, CR/LF allowed inside quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let wasQuoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i++;
        assert.ok(i >= text.length || text[i] === ',' || text[i] === '\r', `closing quote at ${i} ends the field`);
      } else {
        field += c;
        i++;
      }
    } else if (c === '"') {
      assert.equal(field, '', `a quote opens a field only at its start (at ${i})`);
      assert.equal(wasQuoted, false, 'one quoted section per field');
      quoted = true;
      wasQuoted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      wasQuoted = false;
      i++;
    } else if (c === '\r') {
      assert.equal(text[i + 1], '\n', 'records end with CRLF');
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      wasQuoted = false;
      i += 2;
    } else {
      assert.notEqual(c, '\n', `bare LF outside quotes at ${i}`);
      field += c;
      i++;
    }
  }
  assert.equal(quoted, false, 'quotes balance');
  assert.equal(field, '', 'text ends with CRLF');
  assert.equal(row.length, 0, 'text ends with CRLF');
  return rows;
}

const FORMULA = /^[=+\-@\t\r]/;

describe('CSV', () => {
  test('header, one row per finding, flat columns', () => {
    const rows = parseCsv(toCsv([csDefault(), c2Ip()]));
    assert.deepEqual(rows[0], [...COLUMNS]);
    assert.equal(rows.length, 3);
    const cs = Object.fromEntries(COLUMNS.map((c, i) => [c, rows[1]![i]]));
    assert.equal(cs.hunt_id, 'default-c2-certificate');
    assert.equal(cs.score, '95');
    assert.equal(cs.sha1, CS.sha1);
    assert.equal(cs.sha256, CS.sha256);
    assert.equal(cs.common_name, 'Major Cobalt Strike');
    assert.equal(cs.issuer, CS.subject);
    assert.equal(cs.attack, 'T1573.002;T1587.003');
    assert.deepEqual(JSON.parse(cs.evidence!), csDefault().evidence);
    const ip = Object.fromEntries(COLUMNS.map((c, i) => [c, rows[2]![i]]));
    assert.equal(ip.sha1, '', 'null is an empty field');
    assert.equal(ip.entity, '203.0.113.9');
  });

  test('formula injection is neutralised and every other value round-trips exactly', () => {
    const payloads = ['=HYPERLINK("http://evil.example","x")', '+cmd|\' /C calc\'!A0', '-2+3+cmd|\' /C calc\'!A0', '@SUM(1+1)*cmd|\' /C calc\'!A0', '\t=1+1', '\r=1+1'];
    const findings: ExportFinding[] = payloads.map((p, n) => ({
      ...csDefault(),
      hunt_id: `h${n}`,
      certificate: { ...csDefault().certificate!, common_name: p, issuer: `CN=${p}` },
      evidence: { cn: p },
    }));
    findings.push(hostile());
    const rows = parseCsv(toCsv(findings)).slice(1);
    const cn = COLUMNS.indexOf('common_name');
    const issuer = COLUMNS.indexOf('issuer');
    payloads.forEach((p, n) => {
      const row = rows[n]!;
      assert.equal(row[cn], `'${p}`, `CN ${JSON.stringify(p)} gets a leading apostrophe`);
      assert.equal(row[issuer], `CN=${p}`, 'a formula character later in the cell is harmless');
    });
    for (const row of rows) for (const cell of row) assert.doesNotMatch(cell, FORMULA, `no cell starts a formula: ${JSON.stringify(cell)}`);
    const h = rows[payloads.length]!;
    assert.equal(h[cn], HOSTILE_CN, 'tabs, quotes, CR/LF, ESC and bidi survive quoting unchanged');
    assert.equal(h[COLUMNS.indexOf('title')], 'Short random-looking names "x";\\\t\n');
  });

  test('neutralize and csvField', () => {
    assert.equal(neutralize('=1'), "'=1");
    assert.equal(neutralize('a=1'), 'a=1');
    assert.equal(neutralize(''), '');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('plain'), 'plain');
  });

  test('no findings: the header alone', () => {
    assert.equal(toCsv([]), `${COLUMNS.join(',')}\r\n`);
  });
});

describe('JSON and NDJSON', () => {
  test('JSON is one array of rows with native types', () => {
    const rows = JSON.parse(toJson(all())) as Record<string, unknown>[];
    assert.equal(rows.length, all().length);
    assert.deepEqual(Object.keys(rows[0]!), [...COLUMNS]);
    assert.deepEqual(rows[0]!.attack, ['T1573.002', 'T1587.003']);
    assert.deepEqual(rows[0]!.evidence, csDefault().evidence);
    assert.equal(rows[0]!.score, 95);
  });

  test('NDJSON is one row per line, and hostile text cannot break a line', () => {
    const text = toNdjson(all());
    const lines = text.split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines.length, all().length);
    const hostileRow = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
    assert.equal(hostileRow.common_name, HOSTILE_CN);
    assert.ok(!text.includes('\u202e') && !text.includes('\u2028'), 'bidi and line separators are \\u escapes');
    assert.equal(toNdjson([]), '');
  });
});

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LineItem } from '../../src/sources/format.js';
import { detectIntel, readJa3, readSslbl, readToplist, type IntelItem, type IntelSummary } from '../../src/sources/intel.js';

/** ../shared/fixtures next to the project (absent in a user's checkout: those tests skip). */
const SHARED_FIXTURES = fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));

const INTEL = SHARED_FIXTURES + '/intel';
const skip = existsSync(INTEL) ? false : '../shared/fixtures not found: abuse.ch list tests skipped';

async function* linesOf(text: string): AsyncGenerator<LineItem> {
  const parts = text.split('\n');
  if (parts.at(-1) === '') parts.pop();
  for (const [i, t] of parts.entries()) yield { text: t, pos: i + 1, byteOffset: 0 };
}

async function drain<T>(gen: AsyncGenerator<IntelItem<T>, IntelSummary>) {
  const entries: (T & { _pos: number })[] = [];
  const rejects: { position: number; reason: string; excerpt: string }[] = [];
  let r = await gen.next();
  for (; !r.done; r = await gen.next()) {
    if (r.value.kind === 'entry') entries.push({ ...r.value.entry, _pos: r.value.pos });
    else rejects.push(r.value.reject);
  }
  return { entries, rejects, summary: r.value };
}

/** `2023-11-14 06:52:51` as UTC ms, computed here without src/. */
const utc = (s: string) => Date.parse(s.replace(' ', 'T') + 'Z');

describe('intel: abuse.ch lists (real files)', { skip }, () => {
  test('SSL Blacklist: every data line is an entry equal to its own columns; trailer count checked', async () => {
    const text = readFileSync(`${INTEL}/sslblacklist.csv`, 'utf8');
    assert.equal(detectIntel(text.split('\n').slice(0, 20)), 'sslbl');
    const rows = text.split(/\r?\n/).map((l, i) => [i + 1, l] as const).filter(([, l]) => l !== '' && !l.startsWith('#'));
    const trailer = Number(/# END \((\d+)\) entries/.exec(text)?.[1]);
    assert.equal(rows.length, trailer, 'the file agrees with itself');
    const { entries, rejects, summary } = await drain(readSslbl(linesOf(text)));
    assert.deepEqual(rejects, []);
    assert.deepEqual(summary, { entries: trailer, rejected: 0, trailer });
    for (const [i, [pos, line]] of rows.entries()) {
      const [date, sha1, ...reason] = line.split(',');
      assert.deepEqual(entries[i], { sha1: sha1?.toLowerCase(), listing_date: utc(date as string), listing_reason: reason.join(','), _pos: pos });
    }
  });

  test('SSL Blacklist: a truncated or edited list is reported against its trailer', async () => {
    const lines = readFileSync(`${INTEL}/sslblacklist.csv`, 'utf8').split('\n');
    const cut = [...lines.slice(0, 20), ...lines.slice(-3)].join('\n');
    const { entries, rejects, summary } = await drain(readSslbl(linesOf(cut)));
    assert.equal(summary.trailer, 5522);
    assert.equal(rejects.length, 1);
    assert.match(rejects[0]?.reason ?? '', new RegExp(`trailer says 5522 entries, the file has ${entries.length}`));
  });

  test('JA3 list: 98 entries with first/last seen', async () => {
    const text = readFileSync(`${INTEL}/ja3_fingerprints.csv`, 'utf8');
    assert.equal(detectIntel(text.split('\n').slice(0, 20)), 'ja3');
    const rows = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const { entries, rejects, summary } = await drain(readJa3(linesOf(text)));
    assert.deepEqual(rejects, []);
    assert.equal(entries.length, rows.length);
    assert.equal(summary.trailer, rows.length);
    for (const [i, line] of rows.entries()) {
      const [md5, first, last, ...reason] = line.split(',');
      const e = entries[i];
      assert.deepEqual([e?.ja3_md5, e?.first_seen, e?.last_seen, e?.listing_reason], [md5, utc(first as string), utc(last as string), reason.join(',')]);
    }
  });
});

describe('intel: top lists and bad input (hand-made)', () => {
  test('Tranco/Umbrella rank,domain and Majestic with its header', async () => {
    const tranco = '1,google.com\n2,facebook.com\n3,Microsoft.COM.\n';
    assert.equal(detectIntel(tranco.split('\n')), 'toplist');
    const t = await drain(readToplist(linesOf(tranco), 'tranco'));
    assert.deepEqual(t.entries.map(({ _pos, ...e }) => e), [
      { list: 'tranco', rank: 1, domain: 'google.com' }, { list: 'tranco', rank: 2, domain: 'facebook.com' }, { list: 'tranco', rank: 3, domain: 'microsoft.com' },
    ]);
    const majestic = 'GlobalRank,TldRank,Domain,TLD,RefSubNets,RefIPs,IDN_Domain,IDN_TLD,PrevGlobalRank,PrevTldRank,PrevRefSubNets,PrevRefIPs\n1,1,google.com,com,490914,2487195,google.com,com,1,1,489915,2483470\n2,2,facebook.com,com,488049,2527469,facebook.com,com,2,2,486913,2522844\n';
    assert.equal(detectIntel(majestic.split('\n')), 'toplist');
    const m = await drain(readToplist(linesOf(majestic), 'majestic'));
    assert.deepEqual(m.rejects, []);
    assert.deepEqual(m.entries.map((e) => [e.rank, e.domain, e._pos]), [[1, 'google.com', 2], [2, 'facebook.com', 3]]);
  });

  test('bad lines: wrong columns, bad values, NUL, U+FFFD, splitter errors; reading goes on', async () => {
    async function* lines(): AsyncGenerator<LineItem> {
      yield* linesOf([
        '# Listingdate,SHA1,Listingreason',
        '2023-11-14 06:52:51,2e3519b7cb61a3cd6167f727df993f68311085ea',
        '2023-13-45 06:52:51,2e3519b7cb61a3cd6167f727df993f68311085ea,DCRat C&C',
        '2023-11-14 06:52:51,2e3519b7cb61a3cd6167f727df993f6831108,DCRat C&C',
        '2023-11-14 06:52:51,2e3519b7cb61a3cd6167f727df993f68311085ea,Dc\0Rat',
        '2023-11-14 06:52:51,2e3519b7cb61a3cd6167f727df993f68311085ea,Bad\uFFFDName C&C',
      ].join('\n'));
      yield { error: 'line longer than 16 MiB', pos: 7, byteOffset: 400, excerpt: '2023-11-14' };
      yield { text: '2014-05-04 08:09:56,B08A4939FB88F375A2757EADDC47B1FB8B554439,Shylock C&C\r', pos: 8, byteOffset: 17_000_000 };
    }
    const { entries, rejects, summary } = await drain(readSslbl(lines()));
    assert.deepEqual(rejects.map((r) => r.position), [2, 3, 4, 5, 7]);
    assert.match(rejects[0]?.reason ?? '', /expected 3 columns/);
    assert.match(rejects[1]?.reason ?? '', /^Listingdate: not a date/);
    assert.match(rejects[2]?.reason ?? '', /^SHA1: not 40 hex/);
    assert.match(rejects[3]?.reason ?? '', /NUL/);
    assert.deepEqual(entries.map((e) => [e.listing_reason, e.sha1]), [
      ['Bad\uFFFDName C&C', '2e3519b7cb61a3cd6167f727df993f68311085ea'], ['Shylock C&C', 'b08a4939fb88f375a2757eaddc47b1fb8b554439'],
    ]);
    assert.deepEqual(summary, { entries: 2, rejected: 5, trailer: null });
    const top = await drain(readToplist(linesOf('1,google.com\nzero,x.com\n0,y.com\n4,has space.com\n5,a.com,extra\n'), 'umbrella'));
    assert.deepEqual(top.rejects.map((r) => r.reason.split(':')[0]), ['rank', 'rank', 'domain', 'expected 2 columns, got 3']);
  });

  test('detectIntel on other content', () => {
    assert.equal(detectIntel(['{"event_type":"tls"}']), null);
    assert.equal(detectIntel(['2023-11-14 06:52:51,2e3519b7cb61a3cd6167f727df993f68311085ea,DCRat C&C']), 'sslbl');
    assert.equal(detectIntel(['b386946a5a44d1ddcc843bc75336dfce,2017-07-14 18:08:15,2019-07-27 20:42:54,Dridex']), 'ja3');
  });
});

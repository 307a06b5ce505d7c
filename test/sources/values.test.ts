import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/demo/rng.js';
import { epochSecondsToMs, secondsNumberToMs, timeValue } from '../../src/sources/values.js';

// The number path must give what the digits give, so a JSON log and its TSV twin agree to the bit.
test('epoch seconds as a number convert exactly as their shortest decimal text does', () => {
  const rng = new Rng('values', 'seconds');
  const draw = () => rng.uint32() / 2 ** 32;
  const values: number[] = [0, 0.001, 0.0005, 1e-7, 5e-324, 1521911720.624556, 1790812805.952, 2 ** 33 - 1e-6, 2 ** 33, 2 ** 40 + 0.5, 1e21];
  for (let i = 0; i < 200_000; i++) {
    const digits = Math.floor(draw() * 8);
    const whole = Math.floor(draw() * 2 ** 33);
    values.push(Number(`${whole}.${String(Math.floor(draw() * 10 ** digits)).padStart(digits, '0')}`));
    values.push(draw() * 2 ** 34, draw() * 10, Number((draw() * 2e9).toFixed(Math.floor(draw() * 7))));
  }
  let differ = 0;
  let first = '';
  for (const v of values) {
    const want = epochSecondsToMs(String(v)) ?? v * 1000;
    if (!Object.is(secondsNumberToMs(v), want)) {
      if (differ++ === 0) first = `${String(v)}: ${secondsNumberToMs(v)} instead of ${want}`;
    }
  }
  assert.equal(differ, 0, `${differ} of ${values.length} differ, first ${first}`);
  assert.equal(timeValue('ts', 1521911720.624556), epochSecondsToMs('1521911720.624556'), 'timeValue takes the number path');
  assert.equal(timeValue('ts', 1521911720.624556), 1521911720624.556, 'µs become the ms fraction');
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openEngine, type Engine } from '../../src/engine/duckdb.js';
import { loadHunts } from '../../src/hunts/hunt.js';
import { loadProfiles } from '../../src/hunts/profile.js';
import { runHuntTests } from '../../src/hunts/selftest.js';

/** Every hunt in hunts/ passes its own test cases (fixtures and the rows they must return). */
const HUNTS = new URL('../../hunts/', import.meta.url).pathname;
const PROFILES = new URL('../../profiles/', import.meta.url).pathname;
let engine: Engine;
before(async () => {
  engine = await openEngine();
});
after(() => engine.close());

test('the hunt library loads and every hunt passes its own cases', async () => {
  const hunts = await loadHunts([HUNTS]);
  const profiles = await loadProfiles([PROFILES]);
  assert.ok(hunts.length >= 4, `${hunts.length} hunts`);
  const failed: string[] = [];
  for (const hunt of hunts) {
    for (const r of await runHuntTests(engine.conn, hunt, profiles)) {
      if (!r.ok) failed.push(`${r.hunt} / ${r.case}: expected ${JSON.stringify(r.expected)}, got ${JSON.stringify(r.got)}`);
    }
  }
  assert.deepEqual(failed, []);
});

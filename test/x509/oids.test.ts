/**
 * The OpenSSL name tables against the OpenSSL headers of this machine (when installed), and the
 * OID codec on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeOid, oidDotted } from '../../src/x509/der.js';
import { CURVES, OID_NAMES } from '../../src/x509/oid-table.js';

const HEADERS = ['/usr/include/openssl/obj_mac.h', join(dirname(process.execPath), '../include/node/openssl/obj_mac.h')].find((p) => existsSync(p));

/** dotted OID → [short name, long name] from obj_mac.h, resolving `OBJ_x` references. */
function readObjMac(path: string): Map<string, [string, string]> {
  const src = readFileSync(path, 'utf8');
  const sn: Record<string, string> = {};
  const ln: Record<string, string> = {};
  const obj: Record<string, string> = {};
  for (const m of src.matchAll(/^#\s*define\s+(SN|LN|OBJ)_(\w+)\s+(.+?)\s*$/gm)) {
    const [, kind, id, value] = m as unknown as [string, string, string, string];
    if (kind === 'OBJ') obj[id] = value;
    else if (value.startsWith('"')) (kind === 'SN' ? sn : ln)[id] = JSON.parse(value) as string;
  }
  const resolved: Record<string, string> = {};
  const resolve = (id: string): string =>
    (resolved[id] ??= obj[id]!
      .split(',')
      .map((p) => p.trim())
      .map((p) => (p.startsWith('OBJ_') ? resolve(p.slice(4)) : p.replace(/L$/, '')))
      .join('.'));
  const out = new Map<string, [string, string]>();
  for (const id of Object.keys(obj)) {
    const s = sn[id] ?? ln[id];
    if (s) out.set(resolve(id), [s, ln[id] ?? s]);
  }
  return out;
}

test('every OID name row equals OpenSSL obj_mac.h', { skip: HEADERS ? false : 'no OpenSSL headers found' }, () => {
  const openssl = readObjMac(HEADERS!);
  for (const [dotted, sn, ln] of OID_NAMES) assert.deepEqual([sn, ln ?? sn], openssl.get(dotted), dotted);
  for (const [dotted, sn] of CURVES) assert.equal(openssl.get(dotted)?.[0], sn, dotted);
});

test('OID codec: round trips, huge arcs, invalid encodings', () => {
  for (const dotted of ['2.5.4.3', '1.2.840.113549.1.1.11', '0.9.2342.19200300.100.1.25', '2.999.1', '1.3.6.1.4.1.311.60.2.1.3', '2.25.329800735698586629295641978511506172918']) {
    const enc = encodeOid(dotted);
    assert.equal(oidDotted(enc, 0, enc.length), dotted);
  }
  assert.equal(oidDotted(Uint8Array.of(), 0, 0), null);
  assert.equal(oidDotted(Uint8Array.of(0x55, 0x84), 0, 2), null, 'cut inside a sub-identifier');
  assert.equal(oidDotted(Uint8Array.of(0x55, 0x80, 0x01), 0, 3), null, '0x80 padding');
});

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { DemoData, SensorName } from './network.js';
import { toPcap, toPcapng } from './capture.js';
import { toEve } from './eve.js';
import { pem } from './traffic.js';
import { toZeek } from './zeek.js';

/**
 * The demo data set on disk, as each office's sensor would have left it: Zeek JSON (HQ) and
 * TSV (branch) with the DER logged (log-certs-base64), validate-certs' validation_status and
 * salesforce/ja3's columns, Suricata
 * eve.json (guest Wi-Fi), a pcapng (lab) and a pcap (DMZ), a folder of PEM files an analyst
 * pulled from an incident, and the intel lists.
 */
export interface DemoFiles {
  /** What `certhunt ingest` takes. */
  sources: string[];
  intel: { path: string; kind: 'sslbl' | 'ja3' | 'toplist'; name?: string }[];
}

export async function writeDemoFiles(data: DemoData, dir: string): Promise<DemoFiles> {
  const d = (...p: string[]) => join(dir, ...p);
  for (const sub of ['zeek-hq', 'zeek-branch', 'suricata-guest', 'captures', 'certs', 'intel']) await fs.mkdir(d(sub), { recursive: true });
  const zeek = async (sensor: SensorName, sub: string, format: 'json' | 'tsv') => {
    const logs = toZeek(data.networks[sensor], { format, certs: true, ja3: true, validation: true });
    for (const [log, text] of Object.entries(logs)) await fs.writeFile(d(sub, `${log}.log`), text);
  };
  await zeek('hq', 'zeek-hq', 'json');
  await zeek('branch', 'zeek-branch', 'tsv');
  await fs.writeFile(d('suricata-guest', 'eve.json'), toEve(data.networks.guest));
  await fs.writeFile(d('captures', 'lab.pcapng'), toPcapng(data.networks.lab));
  await fs.writeFile(d('captures', 'dmz.pcap'), toPcap(data.networks.dmz));
  for (const label of data.pemFolder) await fs.writeFile(d('certs', `${label.replace(/[^a-z0-9-]+/gi, '_')}.pem`), pem(data.certificates[label]!));
  await fs.writeFile(d('intel', 'sslblacklist.csv'), data.sslbl);
  await fs.writeFile(d('intel', 'ja3_fingerprints.csv'), data.ja3bl);
  await fs.writeFile(d('intel', 'tranco-top.csv'), data.toplist);
  return {
    sources: ['zeek-hq', 'zeek-branch', 'suricata-guest', 'captures', 'certs'].map((s) => d(s)),
    intel: [
      { path: d('intel', 'sslblacklist.csv'), kind: 'sslbl' },
      { path: d('intel', 'ja3_fingerprints.csv'), kind: 'ja3' },
      { path: d('intel', 'tranco-top.csv'), kind: 'toplist', name: 'tranco' },
    ],
  };
}

/**
 * The abuse.ch lists as abuse.ch publishes them (banner, header, `# END (N entries)` trailer),
 * which is how `certhunt intel` reads them: what the demo and `certhunt generate` write.
 * Lines come one at a time, so a list of any length streams to its file.
 */
import { ja3 } from './fingerprints.js';
import { helloShape } from './tls.js';

export interface SslblEntry {
  /** "YYYY-MM-DD hh:mm:ss", UTC. */
  listed: string;
  sha1: string;
  reason: string;
}

export function* sslblLines(entries: Iterable<SslblEntry>, who: string): Generator<string> {
  yield '################################################################';
  yield '# abuse.ch SSLBL SSL Certificate Blacklist (SHA1 Fingerprints)  #';
  yield `# (${who})`.padEnd(64) + '#';
  yield '################################################################';
  yield '#';
  yield '# Listingdate,SHA1,Listingreason';
  let n = 0;
  for (const e of entries) {
    n++;
    yield `${e.listed},${e.sha1},${e.reason}`;
  }
  yield `# END (${n} entries)`;
}

/** The JA3s of the sparse ClientHello implants send (with and without SNI), listed as abuse.ch lists Tofsee's. */
export function* implantJa3Lines(): Generator<string> {
  yield '# ja3_md5,Firstseen,Lastseen,Listingreason';
  const hashes = new Set([null, 'x'].map((sni) => ja3(helloShape({ sni, client_kind: 'implant' } as never)).md5));
  for (const h of hashes) yield `${h},2026-08-01 10:00:00,2026-09-30 12:00:00,Tofsee`;
}

/** Lines as a file's text. */
export const text = (lines: Iterable<string>): string => [...lines].join('\n') + '\n';

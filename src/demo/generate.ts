/**
 * certhunt generate's library half: a data set of any size (scale.ts's model, mix.ts's mix)
 * written as one sensor would have written it, or as silver-shaped Parquet, streamed to disk in
 * bounded memory, with generate.json saying what is in it. The same seed and sizes give the
 * same bytes in every file.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { captureChunks } from './capture.js';
import { eveLines } from './eve.js';
import { BASIS, MIX, type KindId } from './mix.js';
import { writeSilverParquet } from './parquet.js';
import { SCALE_DAYS, SCALE_START, ScaleModel, type ScaleSession } from './scale.js';
import { FileSink } from '../pipeline/sink.js';
import { implantJa3Lines, sslblLines, type SslblEntry } from './intel.js';
import { zeekSessionLines } from './zeek.js';

export const GENERATE_FORMATS = ['zeek-json', 'zeek-tsv', 'eve', 'pcap', 'pcapng', 'parquet'] as const;
export type GenerateFormat = (typeof GENERATE_FORMATS)[number];

/** Top-list entries written at most (Tranco's list is a million long). */
export const TOPLIST_MAX = 1_000_000;

export interface GenerateOptions {
  seed: number;
  certificates: number;
  sessions: number;
  format: GenerateFormat;
  dir: string;
  /** Zeek: log each certificate's DER (x509.log `cert`, policy/protocols/ssl/log-certs-base64). */
  zeekCerts?: boolean;
  /** Parquet only: a DuckDB connection to write through. */
  duckdb?: () => Promise<DuckDBConnection>;
  /** Parquet only: rows staged per part (default PART_ROWS; small in tests, to have several). */
  partRows?: number;
  onProgress?: (p: GenerateProgress) => void;
}

export interface GenerateProgress {
  /** What is being written: a file name. */
  file: string;
  done: number;
  total: number;
}

export interface GeneratedFile {
  name: string;
  bytes: number;
  /** Records: log lines less a TSV log's header, sessions in a capture, rows in Parquet. */
  rows?: number;
}

export interface GenerateMetadata {
  generator: 'certhunt generate';
  certhunt_version: string;
  seed: number;
  format: GenerateFormat;
  certificates: number;
  sessions: number;
  /** The issuing CAs' certificates, sent after their leaves (not among the N). */
  ca_certificates: number;
  window: { start: string; days: number };
  signatures: string;
  what_is_where: string;
  mix: { kind: KindId; threat: boolean; hunt: string | null; certificate_weight: number; session_weight: number; what: string; sslbl: string | null }[];
  /** Every kind: certificates among the N, and sessions drawn for it. */
  kinds: Record<string, { certificates: number; sessions: number }>;
  /** The threat shapes planted, with the hunt meant to find each. */
  planted: Record<string, { hunt: string; certificates: number; sessions: number }>;
  files: GeneratedFile[];
}

const SIGNATURES =
  'Certificates are structurally valid X.509 v3 DER (our parser and OpenSSL read every field, keys included), but ' +
  'RSA moduli and all signatures are pseudo-random bytes of the right sizes and EC keys come from a pool of points ' +
  'shared between certificates: no signature verifies, and self-signed ones cannot be confirmed as such ' +
  '(self_issued is true, self_signed unknown or false).';

const WHAT: Record<GenerateFormat, string> = {
  'zeek-json': 'x509.log and ssl.log, Zeek JSON. x509.log holds only the certificates sessions sent in clear (TLS 1.2, not resumed), each again at most once a day per Zeek relog rule; ssl.log one line per session.',
  'zeek-tsv': 'x509.log and ssl.log, Zeek TSV. x509.log holds only the certificates sessions sent in clear (TLS 1.2, not resumed), each again at most once a day per Zeek relog rule; ssl.log one line per session.',
  eve: 'eve.json, one Suricata tls event per session; certificates only for sessions that sent them in clear.',
  pcap: 'capture.pcap: every session a whole TCP connection with its TLS handshake.',
  pcapng: 'capture.pcapng: every session a whole TCP connection with its TLS handshake.',
  parquet: 'certificates.parquet (all N certificates and the CA certificates, silver columns; first_seen and last_seen from the sessions that sent each, null for the rest) and observations.parquet (one row per session, silver columns).',
};

async function version(): Promise<string> {
  const pkg = JSON.parse(await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** The model's sessions, tallied by kind as they go by (give it to one pass only). */
function counted(model: ScaleModel, tally: Map<KindId, number>): Iterable<ScaleSession> {
  return {
    *[Symbol.iterator]() {
      for (const s of model.sessions()) {
        tally.set(s.kind, (tally.get(s.kind) ?? 0) + 1);
        yield s;
      }
    },
  };
}

export async function generate(options: GenerateOptions): Promise<GenerateMetadata> {
  const model = new ScaleModel({ seed: options.seed, certificates: options.certificates, sessions: options.sessions });
  const tally = new Map<KindId, number>();
  const files: GeneratedFile[] = [];
  const progress = options.onProgress ?? (() => {});
  await fs.mkdir(options.dir, { recursive: true });

  /** A file from lines (text) or chunks (binary). */
  const write = async (name: string, items: Iterable<string | Uint8Array>, total: number): Promise<void> => {
    const sink = new FileSink(join(options.dir, name));
    let rows = 0;
    try {
      for (const item of items) {
        if (typeof item === 'string') {
          await sink.line(item);
          // A TSV log's header and #close are not records.
          if (item.startsWith('#')) continue;
        } else await sink.bytesOut(item);
        if (++rows % 65_536 === 0) progress({ file: name, done: rows, total });
      }
      await sink.close();
    } catch (e) {
      sink.destroy();
      throw e;
    }
    files.push({ name, bytes: sink.bytes, rows });
  };

  /** Zeek's logs from one pass: lines to their own files (a log without lines gets none, as in Zeek). */
  const writeLogs = async (lines: Iterable<{ log: string; line: string }>, total: number): Promise<void> => {
    const sinks = new Map<string, { sink: FileSink; rows: number }>();
    let sessions = 0;
    try {
      for (const { log, line } of lines) {
        let out = sinks.get(log);
        if (!out) sinks.set(log, (out = { sink: new FileSink(join(options.dir, `${log}.log`)), rows: 0 }));
        await out.sink.line(line);
        if (line.startsWith('#')) continue;
        out.rows++;
        if (log === 'ssl' && ++sessions % 65_536 === 0) progress({ file: 'ssl.log', done: sessions, total });
      }
      for (const [log, { sink, rows }] of [...sinks].sort(([a], [b]) => (a === 'x509' ? -1 : b === 'x509' ? 1 : 0))) {
        await sink.close();
        files.push({ name: `${log}.log`, bytes: sink.bytes, rows });
      }
    } catch (e) {
      for (const { sink } of sinks.values()) sink.destroy();
      throw e;
    }
  };

  // One pass over the sessions per format: a writer that needs a SessionStream gets them as one.
  const sessions = counted(model, tally);
  const counting = model.stream(sessions);
  const M = options.sessions;
  switch (options.format) {
    case 'zeek-json':
    case 'zeek-tsv': {
      const zeek = { format: options.format === 'zeek-json' ? 'json' : 'tsv', certs: options.zeekCerts ?? false, ja3: true } as const;
      await writeLogs(zeekSessionLines(counting, zeek), M);
      break;
    }
    case 'eve':
      await write('eve.json', eveLines(counting), M);
      break;
    case 'pcap':
    case 'pcapng':
      await write(`capture.${options.format}`, captureChunks(counting, options.format), M + 1);
      // The header is a chunk too, not a session.
      files[files.length - 1]!.rows! -= 1;
      break;
    case 'parquet': {
      if (!options.duckdb) throw new Error('parquet needs a DuckDB connection');
      const r = await writeSilverParquet(model, sessions, options.dir, await options.duckdb(), {
        onProgress: (p) => progress({ file: `${p.table}.parquet`, done: p.rows, total: p.total }),
        ...(options.partRows ? { partRows: options.partRows } : {}),
      });
      for (const [name, rows] of [['observations.parquet', r.observations], ['certificates.parquet', r.certificates]] as const) {
        files.push({ name, bytes: (await fs.stat(join(options.dir, name))).size, rows });
      }
      break;
    }
  }
  // The popular sites by rank, as Tranco lists them: what tells them apart from the partners.
  const ranked = Math.min(TOPLIST_MAX, model.popularSites);
  await write('toplist.csv', (function* () {
    for (let r = 0; r < ranked; r++) yield `${r + 1},${model.popularDomain(r)}`;
  })(), ranked);

  // The intel lists: every certificate of the listed kinds by SHA-1, the implants' JA3s.
  const listed = (function* (): Generator<SslblEntry> {
    for (const [k, kind] of MIX.entries()) {
      if (!('sslbl' in kind)) continue;
      for (let rank = 0; rank < model.counts[k]!; rank++) {
        const der = model.certificateAt(model.indexOf(k, rank)).der;
        // Listed in the weeks before the window, a second apart, so that dates differ.
        const listedAt = new Date(SCALE_START - 30 * 86_400_000 + (rank % 2_000_000) * 1000).toISOString().replace('T', ' ').slice(0, 19);
        yield { listed: listedAt, sha1: createHash('sha1').update(der).digest('hex'), reason: kind.sslbl };
      }
    }
  })();
  await write('sslblacklist.csv', sslblLines(listed, 'synthetic data generated by certhunt generate'), MIX.reduce((n, k, i) => n + ('sslbl' in k ? model.counts[i]! : 0), 0));
  await write('ja3_fingerprints.csv', implantJa3Lines(), 2);

  const kinds: GenerateMetadata['kinds'] = {};
  const planted: GenerateMetadata['planted'] = {};
  for (const [i, k] of MIX.entries()) {
    const counts = { certificates: model.counts[i]!, sessions: tally.get(k.id) ?? 0 };
    kinds[k.id] = counts;
    if (k.threat) planted[k.id] = { hunt: k.hunt, ...counts };
  }
  const metadata: GenerateMetadata = {
    generator: 'certhunt generate',
    certhunt_version: await version(),
    seed: options.seed,
    format: options.format,
    certificates: options.certificates,
    sessions: options.sessions,
    ca_certificates: model.caCertificates().length,
    window: { start: new Date(SCALE_START).toISOString(), days: SCALE_DAYS },
    signatures: SIGNATURES,
    what_is_where: WHAT[options.format],
    mix: MIX.map((k) => ({
      kind: k.id, threat: k.threat, hunt: 'hunt' in k ? k.hunt : null,
      certificate_weight: k.certificates / BASIS, session_weight: k.sessions / BASIS, what: k.what, sslbl: 'sslbl' in k ? k.sslbl : null,
    })),
    kinds,
    planted,
    files,
  };
  const sink = new FileSink(join(options.dir, 'generate.json'));
  await sink.line(JSON.stringify(metadata, null, 2));
  await sink.close();
  return metadata;
}

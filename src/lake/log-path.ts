/**
 * Names of files in `_delta_log/`, parsed once into a type (PROTOCOL.md "Delta Log Entries")
 * rather than string-matched throughout.
 */
export const LOG_DIR = '_delta_log';
export const LAST_CHECKPOINT = `${LOG_DIR}/_last_checkpoint`;

export type LogFile =
  | { kind: 'commit'; version: number; path: string }
  | { kind: 'checkpoint'; version: number; path: string; part?: number; parts?: number }
  | { kind: 'checkpoint-v2'; version: number; path: string }
  | { kind: 'compacted'; version: number; to: number; path: string }
  | { kind: 'crc'; version: number; path: string };

const COMMIT = /^(\d{20})\.json$/;
const CHECKPOINT = /^(\d{20})\.checkpoint\.parquet$/;
const MULTIPART = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/;
const V2 = /^(\d{20})\.checkpoint\.[0-9a-fA-F-]{36}\.(json|parquet)$/;
const COMPACTED = /^(\d{20})\.(\d{20})\.compacted\.json$/;
const CRC = /^(\d{20})\.crc$/;

export function versionName(version: number): string {
  return String(version).padStart(20, '0');
}

export function commitPath(version: number): string {
  return `${LOG_DIR}/${versionName(version)}.json`;
}

export function checkpointPath(version: number): string {
  return `${LOG_DIR}/${versionName(version)}.checkpoint.parquet`;
}

/** Parse a path relative to the table root; undefined for anything that is not a log file. */
export function parseLogPath(path: string): LogFile | undefined {
  if (!path.startsWith(LOG_DIR + '/')) return undefined;
  const name = path.slice(LOG_DIR.length + 1);
  let m: RegExpExecArray | null;
  if ((m = COMMIT.exec(name))) return { kind: 'commit', version: Number(m[1]), path };
  if ((m = CHECKPOINT.exec(name))) return { kind: 'checkpoint', version: Number(m[1]), path };
  if ((m = MULTIPART.exec(name)))
    return { kind: 'checkpoint', version: Number(m[1]), path, part: Number(m[2]), parts: Number(m[3]) };
  if ((m = V2.exec(name))) return { kind: 'checkpoint-v2', version: Number(m[1]), path };
  if ((m = COMPACTED.exec(name))) return { kind: 'compacted', version: Number(m[1]), to: Number(m[2]), path };
  if ((m = CRC.exec(name))) return { kind: 'crc', version: Number(m[1]), path };
  return undefined;
}

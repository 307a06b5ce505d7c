/**
 * Storage behind the Delta code: one interface, a local folder or an S3 prefix behind it.
 * Paths are always relative to the table (or lake) root and use '/'.
 */
export interface FileInfo {
  /** Path relative to the storage root, '/'-separated. */
  path: string;
  size: number;
  /** Last modification, epoch milliseconds. */
  modified: number;
}

export interface Storage {
  /** Human-readable location of the root, for messages (a folder or s3://bucket/prefix). */
  readonly root: string;
  /** Whole object; throws DeltaError kind 'missing-file' when absent. */
  read(path: string): Promise<Uint8Array>;
  /** Whole object or undefined when absent. */
  readIfExists(path: string): Promise<Uint8Array | undefined>;
  /**
   * Every object whose path starts with `prefix`, recursively, sorted by path.
   * `startAfter` (a full path) lets the Delta log listing skip what a checkpoint covers.
   */
  list(prefix: string, options?: { startAfter?: string }): Promise<FileInfo[]>;
  /**
   * Atomically create `path` with `data` unless it exists. Returns false when another writer
   * got there first. Readers never see a partial object. This is the commit primitive.
   */
  putIfAbsent(path: string, data: Uint8Array): Promise<boolean>;
  /** Atomically create or replace `path` (readers see the old or the new object, whole). */
  put(path: string, data: Uint8Array): Promise<void>;
  /** Upload a finished local file to `path` (atomic as `put`); the local file may be moved away. */
  putFile(path: string, localFile: string): Promise<void>;
  delete(path: string): Promise<void>;
  /**
   * A local filesystem path where DuckDB can read `path`. For a local folder that is the file
   * itself; remote storage downloads into a cache (data files are immutable, so the cache never
   * goes stale).
   */
  localPath(path: string): Promise<string>;
  /**
   * Where DuckDB may write a new file that will become `path`. For a local folder that is the
   * final place (the file is invisible to readers until a commit names it); remote storage
   * returns a scratch file and `putFile` uploads it.
   */
  stagingPath(path: string): Promise<string>;
  /** True when stagingPath is already the final place and no upload is needed. */
  readonly writesInPlace: boolean;
  /**
   * Make a file written in place (writesInPlace) survive a machine crash before a commit names
   * it: the commit is durable, so what it points to must be too. A no-op where uploads are.
   */
  sync(path: string): Promise<void>;
}

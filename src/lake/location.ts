import { FsStorage } from './storage-fs.js';
import type { Storage } from './storage.js';

/** Storage for a table location: a folder, a file:// URL, or s3://bucket/prefix. */
export async function storageFor(location: string): Promise<Storage> {
  if (location.startsWith('s3://') || location.startsWith('s3a://')) {
    const { S3Storage } = await import('./storage-s3.js');
    return new S3Storage(location.replace(/^s3a:/, 's3:'));
  }
  if (location.startsWith('file://')) {
    const { fileURLToPath } = await import('node:url');
    return new FsStorage(fileURLToPath(location));
  }
  return new FsStorage(location);
}

/** Join a sub-path onto a location (folder or URL). */
export function joinLocation(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts].join('/');
}

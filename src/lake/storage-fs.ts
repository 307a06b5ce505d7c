import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DeltaError } from './error.js';
import type { FileInfo, Storage } from './storage.js';

/** A table (or lake) in a local folder. */
export class FsStorage implements Storage {
  readonly root: string;
  readonly writesInPlace = true;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private abs(p: string): string {
    return path.join(this.root, ...p.split('/'));
  }

  async read(p: string): Promise<Uint8Array> {
    const data = await this.readIfExists(p);
    if (!data) throw new DeltaError('missing-file', 'file not found', { file: this.abs(p) });
    return data;
  }

  async readIfExists(p: string): Promise<Uint8Array | undefined> {
    try {
      return await fs.readFile(this.abs(p));
    } catch (e) {
      if (isCode(e, 'ENOENT')) return undefined;
      throw new DeltaError('storage', `cannot read: ${String(e)}`, { file: this.abs(p), cause: e });
    }
  }

  async list(prefix: string, options: { startAfter?: string } = {}): Promise<FileInfo[]> {
    // The prefix is a path prefix, not necessarily a folder: list the folder that holds it.
    const slash = prefix.lastIndexOf('/');
    const dir = slash >= 0 ? prefix.slice(0, slash) : '';
    const names: string[] = [];
    await this.walk(dir, prefix, names);
    const after = options.startAfter;
    // Filter before stat: a log of thousands of commits is listed to find a handful.
    const wanted = (after === undefined ? names : names.filter((p) => p > after)).sort();
    const out: FileInfo[] = [];
    for (const rel of wanted) {
      try {
        const st = await fs.stat(this.abs(rel));
        out.push({ path: rel, size: st.size, modified: st.mtimeMs });
      } catch (e) {
        if (!isCode(e, 'ENOENT')) throw e; // deleted while listing (vacuum): skip
      }
    }
    return out;
  }

  private async walk(dir: string, prefix: string, out: string[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(this.abs(dir), { withFileTypes: true });
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR')) return;
      throw new DeltaError('storage', `cannot list: ${String(e)}`, { file: this.abs(dir), cause: e });
    }
    for (const entry of entries) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (rel.startsWith(prefix) || prefix.startsWith(rel + '/')) await this.walk(rel, prefix, out);
      } else if (entry.isFile() && rel.startsWith(prefix)) out.push(rel);
    }
  }

  async putIfAbsent(p: string, data: Uint8Array): Promise<boolean> {
    const target = this.abs(p);
    await fs.mkdir(path.dirname(target), { recursive: true });
    // Write the whole commit to a private temp file, then hard-link it into place: link(2)
    // fails with EEXIST if another writer won, and readers never see a half-written commit.
    const tmp = path.join(path.dirname(target), `.tmp-${randomUUID()}`);
    await writeDurably(tmp, data);
    try {
      await fs.link(tmp, target);
      await syncDir(path.dirname(target));
      return true;
    } catch (e) {
      if (isCode(e, 'EEXIST')) return false;
      throw new DeltaError('storage', `cannot commit: ${String(e)}`, { file: target, cause: e });
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async put(p: string, data: Uint8Array): Promise<void> {
    const target = this.abs(p);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = path.join(path.dirname(target), `.tmp-${randomUUID()}`);
    await writeDurably(tmp, data);
    await fs.rename(tmp, target);
    await syncDir(path.dirname(target));
  }

  async putFile(p: string, localFile: string): Promise<void> {
    const target = this.abs(p);
    if (path.resolve(localFile) === target) return;
    await fs.mkdir(path.dirname(target), { recursive: true });
    if (path.resolve(localFile).startsWith(this.root + path.sep)) {
      // A scratch file inside the table: renaming it is atomic and costs no copy.
      await syncFile(localFile);
      await fs.rename(localFile, target);
      await syncDir(path.dirname(target));
      return;
    }
    const tmp = path.join(path.dirname(target), `.tmp-${randomUUID()}`);
    await fs.copyFile(localFile, tmp);
    await syncFile(tmp);
    await fs.rename(tmp, target);
    await syncDir(path.dirname(target));
  }

  async sync(p: string): Promise<void> {
    await syncFile(this.abs(p));
    await syncDir(path.dirname(this.abs(p)));
  }

  async delete(p: string): Promise<void> {
    await fs.rm(this.abs(p), { force: true });
  }

  async localPath(p: string): Promise<string> {
    return this.abs(p);
  }

  async stagingPath(p: string): Promise<string> {
    const target = this.abs(p);
    await fs.mkdir(path.dirname(target), { recursive: true });
    return target;
  }
}

async function writeDurably(file: string, data: Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a folder so a new name in it (link, rename) survives a machine crash. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on folders; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

function isCode(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

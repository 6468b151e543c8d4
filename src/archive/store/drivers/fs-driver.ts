/**
 * Local-directory blob store, Cairn's embedded default.
 *
 * Each key is a file under the root (key segments are directories). Writes go to a temporary
 * file in the target directory, are fsynced and renamed into place (or linked, for
 * create-if-absent), then the directory is fsynced: a crash leaves the old object or the new
 * one, plus at worst a hidden `.*.tmp` file that the next start removes. Keys are validated and
 * the resolved path is checked to stay under the root (no traversal).
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, rmdir, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { CairnError } from '../../../errors.ts';
import { createTempSibling } from '../../fs/atomic-write.ts';
import { KeyedMutex } from '../../concurrency.ts';
import { assertRangeWithin, assertStoreKey, assertStorePrefix, type BlobStore, type ByteRange, type GetResult, type ObjectInfo, type PutBody } from '../blob-store.ts';

/** Options for {@link createFsStore}. */
export interface FsStoreOptions {
  /** Directory holding the objects; created if missing. */
  readonly root: string;
}

function etagOf(s: { size: number; mtimeMs: number; ino: number }): string {
  return `"${s.size.toString(16)}-${Math.floor(s.mtimeMs * 1000).toString(16)}-${s.ino.toString(16)}"`;
}

function notFound(key: string): CairnError {
  return new CairnError('NOT_FOUND', `no object ${key}`);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function writeBody(handle: FileHandle, body: PutBody): Promise<void> {
  if (body instanceof Uint8Array) {
    await handle.writeFile(body);
    return;
  }
  let position = 0;
  for await (const chunk of body) {
    await handle.write(chunk, 0, chunk.length, position);
    position += chunk.length;
  }
}

/** Creates (or opens) a directory-backed store; removes temporary files a crash left behind. */
export async function createFsStore(options: FsStoreOptions): Promise<BlobStore> {
  const root = resolve(options.root);
  await mkdir(root, { recursive: true });
  await removeTempFiles(root);
  // Writes to one key are serialised so conditional replaces see a stable current version.
  const locks = new KeyedMutex();

  function pathOf(key: string): string {
    assertStoreKey(key);
    const path = resolve(root, ...key.split('/'));
    if (!path.startsWith(root + sep)) throw new CairnError('INTERNAL', `store key escapes the root: ${key}`);
    return path;
  }

  async function info(key: string, path: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(path);
      if (!s.isFile()) return undefined;
      return { key, size: s.size, etag: etagOf(s), lastModified: s.mtime };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Removes the empty directories above `path`, never the root. */
  async function tidyParents(path: string): Promise<void> {
    let dir = join(path, '..');
    while (dir.startsWith(root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
      dir = join(dir, '..');
    }
  }

  async function writeAtomically(key: string, body: PutBody, overwrite: boolean): Promise<ObjectInfo | undefined> {
    const path = pathOf(key);
    await mkdir(join(path, '..'), { recursive: true });
    // A concurrent delete may remove the (then empty) directory between mkdir and open: retry once.
    const temp = await createTempSibling(path, { overwrite }).catch(async (error: unknown) => {
      if (!isMissing(error)) throw error;
      await mkdir(join(path, '..'), { recursive: true });
      return createTempSibling(path, { overwrite });
    });
    try {
      await writeBody(temp.handle, body);
      await temp.commit();
    } catch (error) {
      await temp.discard();
      await tidyParents(path); // a refused upload leaves no empty directory behind
      if (!overwrite && error instanceof CairnError && error.code === 'INVALID_ARGUMENT') return undefined; // exists
      throw error;
    }
    return info(key, path);
  }

  return {
    driver: 'fs',
    capabilities: { multipart: false, objectLock: false },
    async put(key, body) {
      const result = await locks.run(key, () => writeAtomically(key, body, true));
      if (!result) throw new CairnError('IO_ERROR', `object ${key} vanished after writing`);
      return result;
    },
    async createIfAbsent(key, body) {
      return locks.run(key, async () => (await writeAtomically(key, body, false)) !== undefined);
    },
    async replaceIfMatch(key, body, etag) {
      return locks.run(key, async () => {
        const current = await info(key, pathOf(key));
        if (current?.etag !== etag) return false;
        await writeAtomically(key, body, true);
        return true;
      });
    },
    async get(key: string, range?: ByteRange): Promise<GetResult> {
      const path = pathOf(key);
      let handle;
      try {
        handle = await open(path, 'r');
      } catch (error) {
        if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'EISDIR') throw notFound(key);
        throw error;
      }
      try {
        const s = await handle.stat();
        if (!s.isFile()) throw notFound(key);
        if (range) assertRangeWithin(range, s.size);
        const objectInfo: ObjectInfo = { key, size: s.size, etag: etagOf(s), lastModified: s.mtime };
        const body = createReadStream('', { fd: handle, highWaterMark: 1024 * 1024, ...(range ? { start: range.start, end: range.end } : {}) });
        return { body, info: objectInfo };
      } catch (error) {
        await handle.close();
        throw error;
      }
    },
    async head(key) {
      return info(key, pathOf(key));
    },
    async *list(prefix) {
      assertStorePrefix(prefix);
      // Start the walk at the deepest directory the prefix names completely.
      const slash = prefix.lastIndexOf('/');
      const base = slash < 0 ? '' : prefix.slice(0, slash);
      yield* walk(base);

      async function* walk(dirKey: string): AsyncGenerator<ObjectInfo> {
        let entries;
        try {
          entries = await readdir(dirKey ? join(root, ...dirKey.split('/')) : root, { withFileTypes: true });
        } catch (error) {
          if (isMissing(error)) return;
          throw error;
        }
        // Sort as full keys sort: a directory "a" sorts as "a/", after "a.b" and before "a0".
        const sortName = (e: { name: string; isDirectory(): boolean }): string => (e.isDirectory() ? `${e.name}/` : e.name);
        const names = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => (sortName(a) < sortName(b) ? -1 : sortName(a) > sortName(b) ? 1 : 0));
        for (const entry of names) {
          const key = dirKey ? `${dirKey}/${entry.name}` : entry.name;
          if (entry.isDirectory()) {
            if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walk(key);
          } else if (entry.isFile() && key.startsWith(prefix)) {
            const objectInfo = await info(key, join(root, ...key.split('/')));
            if (objectInfo) yield objectInfo;
          }
        }
      }
    },
    async delete(key) {
      const path = pathOf(key);
      await rm(path, { force: true });
      await tidyParents(path);
    },
    async ping() {
      await stat(root);
    },
    async close() {},
  };
}

/** Removes `.*.tmp` files left by a crash (the fs store is used by one process at a time). */
async function removeTempFiles(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await removeTempFiles(path);
    else if (entry.name.startsWith('.') && entry.name.endsWith('.tmp')) await rm(path, { force: true });
  }
}

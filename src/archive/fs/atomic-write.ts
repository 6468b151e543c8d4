/**
 * Crash-safe file creation: write a temporary file in the target's directory, fsync it, then
 * move it into place (rename, or link for no-clobber), and fsync the directory. A reader sees
 * either no file or the complete file, never a partial one.
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CairnError } from '../../errors.ts';

/** Options for {@link writeFileAtomic} and {@link createTempSibling}. */
export interface AtomicWriteOptions {
  /** File mode of the created file (default 0o644). */
  mode?: number;
  /** Replace an existing file (default false: fail with `INVALID_ARGUMENT`). */
  overwrite?: boolean;
}

/** A temporary file next to its final path; commit it or discard it. */
export interface TempSibling {
  readonly path: string;
  readonly handle: FileHandle;
  /** fsyncs, closes and moves the file into place. */
  commit(): Promise<void>;
  /** Closes and removes the temporary file; safe to call more than once or after commit. */
  discard(): Promise<void>;
}

/** Opens a temporary file in `finalPath`'s directory that {@link TempSibling.commit} moves into place. */
export async function createTempSibling(finalPath: string, options: AtomicWriteOptions = {}): Promise<TempSibling> {
  const dir = dirname(finalPath);
  const tempPath = join(dir, `.${basename(finalPath)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tempPath, 'wx', options.mode ?? 0o644);
  let done = false;
  return {
    path: tempPath,
    handle,
    async commit() {
      if (done) throw new CairnError('INTERNAL', 'temporary file already committed or discarded');
      done = true;
      try {
        await handle.sync();
        await handle.close();
        if (options.overwrite) {
          await rename(tempPath, finalPath);
        } else {
          await link(tempPath, finalPath).catch((error: NodeJS.ErrnoException) => {
            if (error.code === 'EEXIST') throw new CairnError('INVALID_ARGUMENT', `${finalPath} already exists (use --force to replace it)`, { cause: error });
            throw error;
          });
          await rm(tempPath, { force: true });
        }
        await syncDirectory(dir);
      } catch (error) {
        await handle.close().catch(() => undefined);
        await rm(tempPath, { force: true });
        throw error;
      }
    },
    async discard() {
      if (done) return;
      done = true;
      await handle.close().catch(() => undefined);
      await rm(tempPath, { force: true });
    },
  };
}

/** Writes `data` to `path` atomically. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = await createTempSibling(path, options);
  try {
    await temp.handle.writeFile(data);
    await temp.commit();
  } catch (error) {
    await temp.discard();
    throw error;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

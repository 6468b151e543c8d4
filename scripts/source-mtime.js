// The newest modification time (ms) of the TypeScript sources under a directory.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest mtime of `*.ts` files below `dir` (0 when there are none). */
export function newestSourceMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Where the pinned qssh release's binaries are (`qscp`, `qssh-keygen`, …), building them first
 * when the cache has none (`qssh/install`, several minutes the first time). Used by the test
 * global setup and by the benchmarks.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Directory holding the qssh binaries. */
export function qsshBinDir(): string {
  return execFileSync('bash', [join(import.meta.dirname, 'install')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

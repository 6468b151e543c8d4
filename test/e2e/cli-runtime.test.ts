/**
 * The `cairn` command runs the build in dist/ while it is current (after `npm ci`, as in CI) and
 * the TypeScript sources otherwise; either way the off-thread SHA3 worker (content ≥ 8 MiB) must
 * resolve its own module. This pushes and pulls a 9 MiB image through the command.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestSourceMtime } from '../../scripts/source-mtime.js';
import { runCairn } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';
import { imageBytes } from '../support/archive-fixtures.ts';
import { startTestServer } from '../support/server.ts';

const root = join(import.meta.dirname, '../..');

describe('cairn runtime', () => {
  it('has a current build after npm ci (when dist/ exists) and hashes large content off-thread', async () => {
    if (existsSync(join(root, 'dist', 'build-stamp.json')) && process.env.CI) {
      const stamp = JSON.parse(readFileSync(join(root, 'dist', 'build-stamp.json'), 'utf8')) as { sourceMtimeMs: number };
      expect(stamp.sourceMtimeMs).toBeGreaterThanOrEqual(newestSourceMtime(join(root, 'src')));
      expect(existsSync(join(root, 'dist', 'src', 'archive', 'hashing', 'sha3-worker.js'))).toBe(true);
    }
    const dir = await tempDir();
    const server = await startTestServer({ dataDir: dir });
    try {
      const { header, bytes } = imageBytes(randomBytes(9 * 1024 * 1024));
      await writeFile(join(dir, 'big.cimg'), bytes);
      const push = await runCairn(['push', join(dir, 'big.cimg'), '--server', server.url, '--json']);
      expect(push.code, push.stderr).toBe(0);
      const pull = await runCairn(['pull', '--digest', header.digest, '--server', server.url, '--out', join(dir, 'back.cimg'), '--json']);
      expect(pull.code, pull.stderr).toBe(0);
      expect(JSON.parse(pull.stdout)).toMatchObject({ digest: header.digest, bytes: bytes.length });
    } finally {
      await server.close();
    }
  });

  it('runs as its shebang says, with a 1 MiB young generation (docs/CONFIG.md, Memory)', async () => {
    const dir = await tempDir();
    // Executed as a program (the kernel reads the #! line), with the project's Node first on PATH, as npx does.
    const child = spawn(join(root, 'bin', 'cairn.js'), ['serve', '--port', '0', '--data', join(dir, 'data')], { cwd: dir, env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, CAIRN_QSSH_ENABLED: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const see = (d: Buffer): void => {
          out += d.toString();
          if (out.includes('cairn listening')) resolve();
        };
        child.stdout.on('data', see);
        child.stderr.on('data', see);
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain('--max-semi-space-size=1');
    } finally {
      child.kill();
    }
  }, 60_000);
});

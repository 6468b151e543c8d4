/**
 * Test helpers for QSSH: the real qssh binaries (built by the global setup), identities made by
 * the real `qssh-keygen` in a private HOME (qscp reads `$HOME/.qssh/id_qssh`), and `qscp` runs.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';

/** A qssh binary by name. */
export function qsshBin(name: 'qscp' | 'qssh-keygen' | 'qssh'): string {
  return join(inject('qsshBin'), name);
}

/** A HOME with a fresh Falcon-512 identity from the real qssh-keygen. */
export async function qsshHome(dir: string, comment = 'test'): Promise<{ home: string; keyFile: string; publicLine: string }> {
  await mkdir(join(dir, '.qssh'), { recursive: true });
  const keyFile = join(dir, '.qssh', 'id_qssh');
  await run(qsshBin('qssh-keygen'), ['-f', keyFile, '-y', '-C', comment], { HOME: dir });
  return { home: dir, keyFile, publicLine: (await readFile(`${keyFile}.pub`, 'utf8')).trim() };
}

/** Result of a process run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program; never rejects on a non-zero exit. */
export function run(file: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the unmodified `qscp` as the identity in `home`. */
export function qscp(home: string, port: number, remote: string, local: string, user = 'validator'): Promise<RunResult> {
  return run(qsshBin('qscp'), ['-P', String(port), `${user}@127.0.0.1:${remote}`, local], { HOME: home });
}

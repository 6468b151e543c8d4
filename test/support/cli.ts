/**
 * Runs the real `cairn` command (bin/cairn.js) in a child process on the test's Node.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const CAIRN_BIN = join(import.meta.dirname, '../../bin/cairn.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cairn ...args` in `cwd`, optionally feeding `input` on stdin. */
export function runCairn(args: readonly string[], options: { cwd?: string; input?: Uint8Array | string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAIRN_BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

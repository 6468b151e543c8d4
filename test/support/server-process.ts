/**
 * Runs `cairn serve` as a child process with a generated config file (no vitest imports, so
 * benchmarks use it too).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MinioServer } from '../../minio/minio-server.ts';
import { generateMasterKeyEntry } from '../../src/archive/crypto/keyring.ts';
import { CAIRN_BIN } from './cli.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Settings for a server under test. */
export interface ServerProcessOptions {
  dataDir: string;
  registryFile: string;
  minio?: MinioServer;
  masterKey?: string;
  orphanGraceMs?: number;
  logLevel?: string;
  /** QSSH listener settings (port 0 unless given). */
  qssh?: Record<string, unknown>;
  /** Require this token for reads. */
  readToken?: string;
  /** How often to re-read the stored registry (default: the server's). */
  registryRefreshMs?: number;
  /** Any other settings, merged last. */
  extra?: Record<string, unknown>;
  /** The `cairn` entry point to run (default: this checkout's bin/cairn.js). */
  bin?: string;
}

/** The raw configuration object for these options. */
export function serverConfig(options: ServerProcessOptions): Record<string, unknown> {
  return {
    port: 0,
    qssh: { port: 0, ...options.qssh },
    dataDir: options.dataDir,
    store: options.minio ? 's3' : 'fs',
    ...(options.minio ? { s3: { endpoint: options.minio.endpoint, bucket: options.minio.bucket, region: 'us-east-1', accessKeyId: options.minio.accessKeyId, secretAccessKey: options.minio.secretAccessKey, forcePathStyle: true, maxAttempts: 2 } } : {}),
    masterKeys: [options.masterKey ?? generateMasterKeyEntry('test')],
    adminTokens: [TEST_ADMIN_TOKEN],
    ...(options.readToken ? { readToken: options.readToken } : {}),
    ...(options.registryRefreshMs ? { registryRefreshMs: options.registryRefreshMs } : {}),
    registryFile: options.registryFile,
    orphanGraceMs: options.orphanGraceMs ?? 0,
    logLevel: options.logLevel ?? 'silent',
    ...options.extra,
  };
}

/** A `cairn serve` child process. */
export interface ServerProcess {
  readonly url: string;
  /** The QSSH listener's port (when enabled). */
  readonly qsshPort?: number;
  readonly child: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `cairn serve --config …`; resolves once it listens. */
export async function spawnServer(options: ServerProcessOptions): Promise<ServerProcess> {
  await mkdir(options.dataDir, { recursive: true });
  const configFile = join(options.dataDir, 'config.json');
  const { bin: _bin, ...settings } = options;
  await writeFile(configFile, JSON.stringify({ ...serverConfig(settings), logLevel: options.logLevel ?? 'warn' }));
  // As `npm start` and the `cairn` command run it (a 1 MiB young generation: docs/CONFIG.md,
  // Memory), unless NODE_OPTIONS sets another size to compare.
  const young = (process.env.NODE_OPTIONS ?? '').includes('--max-semi-space-size') ? [] : ['--max-semi-space-size=1'];
  const child = spawn(process.execPath, [...young, options.bin ?? CAIRN_BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const { url, qsshPort } = await new Promise<{ url: string; qsshPort?: number }>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const match = /serving on (http:\/\/[^\s)]+)[^\n]*\n/.exec(out);
      const qssh = /qssh on \S+:(\d+)/.exec(match?.[0] ?? '');
      if (match?.[1]) resolve({ url: match[1], ...(qssh?.[1] ? { qsshPort: Number(qssh[1]) } : {}) });
    });
    child.once('exit', (code) => reject(new Error(`cairn serve exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    ...(qsshPort === undefined ? {} : { qsshPort }),
    child,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

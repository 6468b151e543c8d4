/**
 * Starts a throwaway MinIO server on loopback for tests, benchmarks and local development:
 * a free port, a fresh data directory, random root credentials, and one bucket created with
 * Object Lock (which implies versioning). Used by `minio/start` and by the test helpers.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/** A running MinIO server. */
export interface MinioServer {
  readonly endpoint: string;
  readonly port: number;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly bucket: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** Stops the process (SIGKILL after 5 s) without removing data: `restart()` brings it back. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops it and removes its data directory. */
  destroy(): Promise<void>;
}

/** Options for {@link startMinio}. */
export interface StartMinioOptions {
  /** Bucket to create (default "cairn"). */
  bucket?: string;
  /** Create the bucket with Object Lock (default true). */
  objectLock?: boolean;
  /** Data directory (default: a new temporary directory). */
  dataDir?: string;
  /** Where MinIO's output goes (default: ignored). */
  log?: 'inherit' | 'ignore';
  /** Keep running after this process exits (for `minio/start`). */
  detached?: boolean;
}

/** Path of the MinIO binary, building it first if needed (`minio/install`). */
export function minioBinary(): string {
  return execFileSync('bash', [join(import.meta.dirname, 'install')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitLive(endpoint: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`minio exited with code ${child.exitCode} during start-up`);
    try {
      const response = await fetch(`${endpoint}/minio/health/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error('minio did not become ready within 60 s');
}

/** Starts MinIO and creates the bucket. */
export async function startMinio(options: StartMinioOptions = {}): Promise<MinioServer> {
  const binary = minioBinary();
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'cairn-minio-')));
  const port = await freePort();
  const consolePort = await freePort();
  const accessKeyId = `cairn${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = options.bucket ?? 'cairn';

  const launch = (): ChildProcess =>
    spawn(binary, ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'], {
      env: { ...process.env, MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off', MINIO_CALLHOME_ENABLE: 'off' },
      stdio: ['ignore', options.log ?? 'ignore', options.log ?? 'ignore'],
      detached: options.detached ?? false,
    });

  let child = launch();
  await waitLive(endpoint, child);
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: options.objectLock ?? true }));
  } finally {
    client.destroy();
  }
  if (options.detached) child.unref();

  const stopProcess = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  const server: MinioServer = {
    endpoint,
    port,
    accessKeyId,
    secretAccessKey,
    bucket,
    dataDir,
    get process() {
      return child;
    },
    stop: stopProcess,
    async restart() {
      await stopProcess();
      child = launch();
      await waitLive(endpoint, child);
    },
    async destroy() {
      await stopProcess();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

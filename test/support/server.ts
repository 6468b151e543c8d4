/**
 * Test helpers that run a real Cairn server: in-process (startServer on port 0) or as a child
 * process (`cairn serve`), on the fs store or a MinIO.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/api/index.ts';
import { generateMasterKeyEntry } from '../../src/archive/crypto/keyring.ts';
import { registryToDocument } from '../../src/archive/index.ts';
import { parseConfig } from '../../src/config/load-config.ts';
import { silentLogger } from '../../src/logger.ts';
import type { MinioServer } from '../../minio/minio-server.ts';
import { testRegistry } from './archive-fixtures.ts';
import { CAIRN_BIN } from './cli.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Settings for a test server. */
export interface TestServerOptions {
  dataDir: string;
  minio?: MinioServer;
  masterKey?: string;
  orphanGraceMs?: number;
}

/** Writes the test registry to `<dataDir>/registry.json` and returns the raw config object. */
export async function testConfig(options: TestServerOptions): Promise<Record<string, unknown>> {
  const registryFile = join(options.dataDir, 'registry.json');
  await writeFile(registryFile, JSON.stringify(registryToDocument(testRegistry())));
  return {
    port: 0,
    dataDir: options.dataDir,
    store: options.minio ? 's3' : 'fs',
    ...(options.minio ? { s3: { endpoint: options.minio.endpoint, bucket: options.minio.bucket, region: 'us-east-1', accessKeyId: options.minio.accessKeyId, secretAccessKey: options.minio.secretAccessKey, forcePathStyle: true, maxAttempts: 2 } } : {}),
    masterKeys: [options.masterKey ?? generateMasterKeyEntry('test')],
    adminTokens: [TEST_ADMIN_TOKEN],
    registryFile,
    orphanGraceMs: options.orphanGraceMs ?? 0,
    logLevel: 'silent',
  };
}

/** Starts a server in this process. */
export async function startTestServer(options: TestServerOptions): Promise<RunningServer> {
  return startServer(parseConfig(await testConfig(options)), silentLogger);
}

/** A `cairn serve` child process. */
export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `cairn serve` as a child process with a config file; resolves once it listens. */
export async function spawnServer(options: TestServerOptions): Promise<ServerProcess> {
  const configFile = join(options.dataDir, 'config.json');
  await writeFile(configFile, JSON.stringify({ ...(await testConfig(options)), logLevel: 'warn' }));
  const child = spawn(process.execPath, [CAIRN_BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const match = /serving on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`cairn serve exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    child,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

/**
 * Test helpers that run a real Cairn server on the test registry: in-process (startServer on
 * port 0) or as a child process (`cairn serve`), on the fs store or a MinIO.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/api/index.ts';
import { registryToDocument, type Registry } from '../../src/archive/index.ts';
import { parseConfig } from '../../src/config/load-config.ts';
import { silentLogger } from '../../src/logger.ts';
import type { MinioServer } from '../../minio/minio-server.ts';
import { testRegistry } from './archive-fixtures.ts';
import { serverConfig, spawnServer as spawnServerProcess, type ServerProcess } from './server-process.ts';

export { TEST_ADMIN_TOKEN, type ServerProcess } from './server-process.ts';

/** Settings for a test server. */
export interface TestServerOptions {
  dataDir: string;
  minio?: MinioServer;
  masterKey?: string;
  orphanGraceMs?: number;
  /** Registry to seed (default: the test registry, alice/bob/carol weight 1). */
  registry?: Registry;
  /** QSSH listener settings (port 0 unless given). */
  qssh?: Record<string, unknown>;
  /** Require this token for reads. */
  readToken?: string;
  /** How often to re-read the stored registry (default: the server's). */
  registryRefreshMs?: number;
  /** Any other settings, merged last. */
  extra?: Record<string, unknown>;
}

async function withRegistry(options: TestServerOptions): Promise<TestServerOptions & { registryFile: string }> {
  const registryFile = join(options.dataDir, 'registry.json');
  await writeFile(registryFile, JSON.stringify(registryToDocument(options.registry ?? testRegistry())));
  return { ...options, registryFile };
}

/** Starts a server in this process. */
export async function startTestServer(options: TestServerOptions): Promise<RunningServer> {
  return startServer(parseConfig(serverConfig(await withRegistry(options))), silentLogger);
}

/** Starts `cairn serve` as a child process on the test registry. */
export async function spawnServer(options: TestServerOptions): Promise<ServerProcess> {
  return spawnServerProcess(await withRegistry(options));
}

/**
 * Starts a Cairn server from a validated configuration: secrets, store, registry, archive,
 * leftover cleanup, then the HTTP listener. Used by `cairn serve` and by the tests.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { join, resolve } from 'node:path';
import { parseKeyring } from '../archive/crypto/keyring.ts';
import { parseRegistry, readRegistryFile, type Registry } from '../archive/index.ts';
import { openArchive, type Archive } from '../archive/service/archive.ts';
import { cleanupOrphans } from '../archive/service/maintenance.ts';
import { openStore, type StoreConfig } from '../archive/store/create-store.ts';
import type { CairnConfig } from '../config/config-schema.ts';
import { devSecretsWarning, resolveSecrets } from '../config/dev-secrets.ts';
import type { Logger } from '../logger.ts';
import { createApp } from './app.ts';
import { EventLog } from './event-log.ts';
import { RetentionScheduler, RetentionSweeper } from '../retention/index.ts';
import { loadOrCreateIdentity } from '../archive/service/identity.ts';
import { followStoredRegistry } from '../archive/service/registry-store.ts';
import { parseReaderKeys, registryAuthorizer } from '../qssh/authorized-keys.ts';
import { startQsshServer, type QsshServer } from '../qssh/server.ts';
import { CairnMetrics } from '../metrics.ts';
import { instrumentStore } from '../archive/store/instrumented-store.ts';

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly archive: Archive;
  readonly adminTokens: readonly string[];
  /** The QSSH listener's port, when it runs. */
  readonly qsshPort?: number;
  /** Stops accepting connections, waits for open ones briefly, releases the store. */
  close(): Promise<void>;
}

/** The store settings implied by the configuration. */
export function storeConfigOf(config: CairnConfig): StoreConfig {
  if (config.store === 'fs') return { driver: 'fs', root: join(resolve(config.dataDir), 'objects') };
  return { driver: 's3', ...config.s3 };
}

/** Starts the server. `warn` receives the development-secrets banner, if any. */
export async function startServer(config: CairnConfig, logger: Logger, options: { warn?: (text: string) => void; now?: () => number } = {}): Promise<RunningServer> {
  const secrets = await resolveSecrets(config);
  if (secrets.dev) (options.warn ?? ((t: string) => process.stderr.write(t)))(devSecretsWarning(secrets.dev));
  const keyring = parseKeyring(secrets.masterKeys);
  const metrics = new CairnMetrics();
  const store = instrumentStore(await openStore(storeConfigOf(config)), metrics);
  try {
    const initial: Registry = secrets.registryFile ? await readRegistryFile(secrets.registryFile) : parseRegistry({ chains: {} });
    const archive = await openArchive({ store, keyring, registry: initial, logger, maxHeaderBytes: config.maxHeaderBytes, ...(options.now ? { now: options.now } : {}) });
    const cleanup = (): Promise<unknown> => cleanupOrphans(store, archive.index, { graceMs: config.orphanGraceMs, now: Date.now(), logger, inFlight: (key) => archive.isUploading(key) });
    await cleanup();
    // Leftovers the store could not be told to drop at the time (e.g. it was down) go later.
    const cleanupTimer = setInterval(() => void cleanup().catch((error: unknown) => logger.warn('periodic cleanup failed', { error })), config.cleanupIntervalMs);
    cleanupTimer.unref();
    // Registry changes made by other processes on the bucket arrive within registryRefreshMs.
    const stopFollowing = followStoredRegistry(store, config.registryRefreshMs, (registry) => archive.setRegistry(registry), (error) => logger.warn('registry refresh failed', { error }));
    const identity = await loadOrCreateIdentity(store, keyring);
    const events = new EventLog(archive, identity);
    const retention = new RetentionScheduler(archive, new RetentionSweeper(archive, logger), config.retention, logger, options.now ?? Date.now);
    retention.onReport((report) => metrics.onRetentionRun(report));
    archive.subscribe((event) => metrics.onArchiveEvent(event));
    retention.start();
    const app = createApp({ archive, logger, events, identity: identity.publicKey, retention, metrics, uploadPace: { idleTimeoutMs: config.uploadIdleTimeoutMs, minBytes: config.uploadMinBytes }, adminTokens: secrets.adminTokens, ...(config.readToken ? { readToken: config.readToken } : {}) });
    const server = await new Promise<Server>((resolveServer, reject) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolveServer(s as Server));
      (s as Server).once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    let qssh: QsshServer | undefined;
    if (config.qssh.enabled) {
      try {
        qssh = await startQsshServer({
          archive,
          identity,
          authorize: registryAuthorizer(() => archive.registry, parseReaderKeys(config.qssh.readerKeys)),
          logger,
          host: config.qssh.host,
          port: config.qssh.port,
          handshakeTimeoutMs: config.qssh.handshakeTimeoutMs,
          idleTimeoutMs: config.qssh.idleTimeoutMs,
          maxSessions: config.qssh.maxSessions,
          rekeyAfterFrames: config.qssh.rekeyAfterFrames,
          metrics,
        });
      } catch (error) {
        server.close();
        throw error;
      }
    }
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    logger.info('cairn listening', { url, store: store.driver, images: archive.index.size });
    return {
      url,
      port,
      archive,
      adminTokens: secrets.adminTokens,
      ...(qssh ? { qsshPort: qssh.port } : {}),
      async close() {
        clearInterval(cleanupTimer);
        stopFollowing();
        await qssh?.close();
        await retention.stop();
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 2_000).unref();
        });
        await archive.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

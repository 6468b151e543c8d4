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
import { REGISTRY_CHANGED, openArchive, type Archive } from '../archive/service/archive.ts';
import { reindex } from '../archive/service/reindex.ts';
import { claimBucket } from '../archive/service/bucket-claim.ts';
import { IMAGES_PREFIX } from '../archive/service/layout.ts';
import type { BlobStore } from '../archive/store/blob-store.ts';
import { describeDatabaseUrl, openMetadata, type MetadataStore } from '../metadata/index.ts';
import { reconcile } from '../archive/service/maintenance.ts';
import { openStore, type StoreConfig } from '../archive/store/create-store.ts';
import type { CairnConfig } from '../config/config-schema.ts';
import { devSecretsWarning, resolveSecrets } from '../config/dev-secrets.ts';
import { isCairnError } from '../errors.ts';
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

/** The metadata database URL implied by the configuration. */
export function databaseUrlOf(config: CairnConfig): string {
  return config.database ?? `sqlite:${join(resolve(config.dataDir), 'cairn.sqlite')}`;
}

/**
 * Opens the archive a configuration describes: its store (instrumented when `metrics` are
 * given), its metadata database — which must be the one the bucket records (bucket-claim.ts;
 * `claimBucket` makes it so) —, the stored registry. On the first start of a database beside a
 * bucket that already holds images, the database is built from the bucket first.
 */
export async function openConfiguredArchive(config: CairnConfig, secrets: { masterKeys: readonly string[]; registryFile?: string }, logger: Logger, options: { now?: () => number; metrics?: CairnMetrics; claimBucket?: boolean; autoImport?: boolean } = {}): Promise<Archive> {
  const keyring = parseKeyring(secrets.masterKeys);
  const opened = await openStore(storeConfigOf(config));
  const store = options.metrics ? instrumentStore(opened, options.metrics) : opened;
  let metadata: MetadataStore | undefined;
  try {
    metadata = await openMetadata(databaseUrlOf(config), { onError: (error) => logger.warn('metadata database', { error }) });
    await claimBucket(store, metadata, { take: options.claimBucket === true });
    const initial: Registry = secrets.registryFile ? await readRegistryFile(secrets.registryFile) : parseRegistry({ chains: {} });
    const archive = await openArchive({ store, metadata, keyring, registry: initial, logger, maxHeaderBytes: config.maxHeaderBytes, ...(config.compression.enabled ? { compression: { level: config.compression.level, minSavings: config.compression.minSavingsPercent / 100 } } : {}), ...(options.now ? { now: options.now } : {}) });
    if (options.autoImport !== false && (await metadata.counts()).size === 0 && (await firstImageRecord(store))) {
      logger.info('the metadata database is empty and the bucket holds images: indexing them (first start of this version)', { metadata: describeDatabaseUrl(databaseUrlOf(config)) });
      await reindex(archive, { logger });
    }
    return archive;
  } catch (error) {
    await metadata?.close().catch(() => undefined);
    await store.close();
    throw error;
  }
}

async function firstImageRecord(store: BlobStore): Promise<boolean> {
  for await (const info of store.list(IMAGES_PREFIX)) return info.key.length > 0;
  return false;
}

/**
 * Opens the archive, retrying every second while the database or the store cannot be reached,
 * for up to `waitMs`: a process restarted during an outage (a supervisor's restart, a rolling
 * deploy) comes up when its dependencies do, instead of exiting in a restart loop.
 */
async function openWhenReachable(open: () => Promise<Archive>, waitMs: number, logger: Logger): Promise<Archive> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      const unreachable = isCairnError(error, 'METADATA_UNAVAILABLE') || isCairnError(error, 'STORE_UNAVAILABLE');
      if (!unreachable || Date.now() + 1000 > deadline) throw error;
      logger.warn('waiting for the metadata database and the store', { attempt, error });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Starts the server. `warn` receives the development-secrets banner, if any. */
export async function startServer(config: CairnConfig, logger: Logger, options: { warn?: (text: string) => void; now?: () => number } = {}): Promise<RunningServer> {
  const secrets = await resolveSecrets(config);
  if (secrets.dev) (options.warn ?? ((t: string) => process.stderr.write(t)))(devSecretsWarning(secrets.dev));
  const keyring = parseKeyring(secrets.masterKeys);
  const metrics = new CairnMetrics();
  const archive = await openWhenReachable(() => openConfiguredArchive(config, secrets, logger, { metrics, ...(options.now ? { now: options.now } : {}) }), config.startupWaitMs, logger);
  const store = archive.store;
  try {
    // Housekeeping in the background, never per image before serving: records whose row a crash
    // left unwritten are adopted, leftovers of interrupted pushes removed.
    let maintaining: Promise<void> | undefined;
    const maintain = (): Promise<void> => {
      maintaining ??= reconcile(archive, { graceMs: config.orphanGraceMs, logger, inFlight: (key) => archive.isUploading(key) })
        .then(() => undefined)
        .catch((error: unknown) => logger.warn('cleanup failed', { error }))
        .finally(() => (maintaining = undefined));
      return maintaining;
    };
    void maintain();
    // Leftovers the store could not be told to drop at the time (e.g. it was down) go later.
    const cleanupTimer = setInterval(() => void maintain(), config.cleanupIntervalMs);
    cleanupTimer.unref();
    // Registry changes made by other processes arrive when they announce them (outbox), and at
    // the latest within registryRefreshMs (a change made around the database, e.g. by hand).
    const registryFollower = followStoredRegistry(store, config.registryRefreshMs, (registry) => archive.setRegistry(registry), (error) => logger.warn('registry refresh failed', { error }));
    const stopRegistryNotices = archive.metadata.subscribe((event) => event.type === REGISTRY_CHANGED && registryFollower.check());
    const stopFollowing = (): void => {
      stopRegistryNotices();
      registryFollower.stop();
    };
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
    logger.info('cairn listening', { url, store: store.driver, metadata: describeDatabaseUrl(databaseUrlOf(config)) });
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
        events.close();
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 2_000).unref();
        });
        await maintaining;
        await archive.close();
      },
    };
  } catch (error) {
    await archive.close();
    throw error;
  }
}

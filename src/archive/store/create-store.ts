/**
 * Chooses and opens the blob store driver named in the configuration.
 */
import type { BlobStore } from './blob-store.ts';
import { createFsStore } from './drivers/fs-driver.ts';
import { createMemoryStore } from './drivers/memory-driver.ts';
import { createS3Store, type S3StoreOptions } from './drivers/s3-driver.ts';

/** Store settings, one variant per driver. */
export type StoreConfig =
  | { readonly driver: 'fs'; readonly root: string }
  | ({ readonly driver: 's3' } & S3StoreOptions)
  | { readonly driver: 'memory' };

const DRIVERS: { [K in StoreConfig['driver']]: (config: Extract<StoreConfig, { driver: K }>) => Promise<BlobStore> } = {
  fs: (config) => createFsStore({ root: config.root }),
  s3: (config) => createS3Store(config),
  memory: () => Promise.resolve(createMemoryStore()),
};

/** Opens the configured store. */
export function openStore(config: StoreConfig): Promise<BlobStore> {
  return (DRIVERS[config.driver] as (c: StoreConfig) => Promise<BlobStore>)(config);
}

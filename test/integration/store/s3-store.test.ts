import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../../src/archive/store/blob-store.ts';
import { describeStoreConformance } from '../../support/store-conformance.ts';
import { s3StoreFor, useMinio } from '../../support/minio.ts';

const minio = useMinio();
let store: BlobStore;
beforeAll(async () => {
  store = await s3StoreFor(minio());
});
afterAll(async () => {
  await store.close();
});

// 20 MiB: above the 8 MiB part size, so streamed puts are real multipart uploads.
describeStoreConformance('s3 (MinIO)', () => store, { largeBytes: 20 * 1024 * 1024 });

describe('s3 store on MinIO', () => {
  it('declares multipart and object lock (the bucket was created with Object Lock)', () => {
    expect(store.capabilities).toEqual({ multipart: true, objectLock: true });
  });

  it('fails with STORE_UNAVAILABLE while MinIO is down and recovers when it is back', async () => {
    const quick = await s3StoreFor(minio(), { maxAttempts: 1 });
    await quick.put('down/before', Uint8Array.of(1));
    await minio().stop();
    try {
      await expect(quick.put('down/during', Uint8Array.of(2))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(quick.head('down/before')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      await minio().restart();
    }
    expect(await quick.head('down/before')).toMatchObject({ size: 1 });
    await quick.put('down/after', Uint8Array.of(3));
    expect(await quick.head('down/after')).toMatchObject({ size: 1 });
    await quick.close();
  });
});

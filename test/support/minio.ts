/**
 * Test helper: a real MinIO per test file (built by minio/install, cached outside the repo).
 */
import { afterAll, beforeAll } from 'vitest';
import { startMinio, type MinioServer, type StartMinioOptions } from '../../minio/minio-server.ts';
import { createS3Store } from '../../src/archive/store/drivers/s3-driver.ts';
import type { BlobStore } from '../../src/archive/store/blob-store.ts';

/** Starts MinIO before the file's tests and destroys it after; returns an accessor. */
export function useMinio(options: StartMinioOptions = {}): () => MinioServer {
  let server: MinioServer | undefined;
  beforeAll(async () => {
    server = await startMinio(options);
  }, 180_000);
  afterAll(async () => {
    await server?.destroy();
  });
  return () => {
    if (!server) throw new Error('MinIO is not running');
    return server;
  };
}

/** S3 store settings for a MinIO server. */
export function s3Options(server: MinioServer): { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean } {
  return { endpoint: server.endpoint, region: 'us-east-1', bucket: server.bucket, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, forcePathStyle: true };
}

/** Opens an S3 store on a MinIO server. */
export function s3StoreFor(server: MinioServer, extra: { maxAttempts?: number } = {}): Promise<BlobStore> {
  return createS3Store({ ...s3Options(server), ...extra });
}

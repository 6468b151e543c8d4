/**
 * S3-compatible blob store (MinIO is the reference; AWS S3, Ceph RGW, versitygw and Garage by
 * configuration alone: endpoint, region, path-style, credentials).
 *
 * Mapping of the contract onto S3:
 * - put: PutObject for byte bodies; streams go through `s3-multipart.ts` (one PutObject below
 *   the part size, else multipart from a fixed pool of part buffers, cut as `s3-part-plan.ts`
 *   plans from the known length: 5 MiB parts, 4 in flight, larger past ~48.8 GiB). If the
 *   body stream or S3 fails, the multipart upload is aborted, so a failed put leaves no object
 *   and no parts.
 * - createIfAbsent / replaceIfMatch: PutObject with `If-None-Match: *` / `If-Match: <etag>`.
 * - get: GetObject with `Range`; head: HeadObject; list: ListObjectsV2 pages.
 * - delete: on a versioned bucket (Object Lock implies versioning) every version and delete
 *   marker of the key is removed, so deleted content really leaves the bucket.
 * - listIncompleteUploads / abortIncompleteUpload: ListMultipartUploads / AbortMultipartUpload,
 *   used at start-up to clean what a crashed process left.
 * - setLegalHold: PutObjectLegalHold, declared only when the bucket has Object Lock.
 * The AWS SDK is imported lazily, only when this driver is used. Errors are translated in
 * `s3-errors.ts` only.
 */
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { CairnError } from '../../../errors.ts';
import { assertStoreKey, assertStorePrefix, type BlobStore, type ByteRange, type GetResult, type IncompleteUpload, type ObjectInfo, type PutBody, type PutOptions } from '../blob-store.ts';
import { translateS3Error } from './s3-errors.ts';
import { uploadStream } from './s3-multipart.ts';
import { planParts } from './s3-part-plan.ts';

/** Options for {@link createS3Store}. */
export interface S3StoreOptions {
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly forcePathStyle: boolean;
  /** SDK attempts per request (default 3). */
  readonly maxAttempts?: number;
  /** Multipart part size (default 5 MiB, the S3 minimum). */
  readonly partSizeBytes?: number;
  /** Parts uploaded concurrently (default 4, as lib-storage). */
  readonly queueSize?: number;
  /** Part limit of multipart uploads (S3's 10,000; lower only in tests of large-object behaviour). */
  readonly maxParts?: number;
  /**
   * SigV4 payload hashing (default `auto`: unsigned on https endpoints and on loopback, where the
   * transport cannot be tampered with by a third party; signed otherwise). See docs/STORAGE.md.
   */
  readonly payloadSigning?: 'auto' | 'signed' | 'unsigned';
}

/** Whether uploads to `endpoint` go with `UNSIGNED-PAYLOAD` under `setting`. */
export function unsignedPayload(endpoint: string | undefined, setting: S3StoreOptions['payloadSigning'] = 'auto'): boolean {
  if (setting !== 'auto') return setting === 'unsigned';
  if (!endpoint) return true; // AWS: https
  const url = new URL(endpoint);
  return url.protocol === 'https:' || url.hostname === 'localhost' || url.hostname === '::1' || url.hostname === '[::1]' || /^127\./.test(url.hostname);
}

function totalSize(contentRange: string | undefined, fallback: number): number {
  const match = /\/(\d+)$/.exec(contentRange ?? '');
  return match ? Number(match[1]) : fallback;
}

/** Connects to the bucket and returns a store; fails if the bucket cannot be reached. */
export async function createS3Store(options: S3StoreOptions): Promise<BlobStore> {
  const s3 = await import('@aws-sdk/client-s3');
  const client: S3Client = new s3.S3Client({
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    maxAttempts: options.maxAttempts ?? 3,
    // Content is authenticated end to end by Cairn's AEAD; skip the SDK's extra CRC32 pass.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.accessKeyId && options.secretAccessKey ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } } : {}),
  });
  if (unsignedPayload(options.endpoint, options.payloadSigning)) {
    // The signer takes a payload hash already in the headers as given: uploads are signed
    // without a SHA-256 pass over their bytes (the content is sealed and digest-bound by Cairn).
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
      { step: 'build', name: 'cairnUnsignedPayload' },
    );
  }
  const Bucket = options.bucket;
  const partOptions = { ...(options.partSizeBytes ? { partBytes: options.partSizeBytes } : {}), ...(options.queueSize ? { queueSize: options.queueSize } : {}), ...(options.maxParts ? { maxParts: options.maxParts } : {}) };

  async function call<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw translateS3Error(error, operation, key);
    }
  }

  const versioning = await call('GetBucketVersioning', Bucket, () => client.send(new s3.GetBucketVersioningCommand({ Bucket })));
  const versioned = versioning.Status === 'Enabled' || versioning.Status === 'Suspended';
  let objectLock = false;
  try {
    const lock = await client.send(new s3.GetObjectLockConfigurationCommand({ Bucket }));
    objectLock = lock.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
  } catch (error) {
    // No lock configuration (404-style names), or a store without Object Lock at all (HTTP 501).
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    const absent = /ObjectLockConfigurationNotFound|NoSuchObjectLockConfiguration/.test(e.name ?? '') || e.$metadata?.httpStatusCode === 501;
    if (!absent) throw translateS3Error(error, 'GetObjectLockConfiguration', Bucket);
  }

  async function head(key: string): Promise<ObjectInfo | undefined> {
    assertStoreKey(key);
    try {
      const out = await client.send(new s3.HeadObjectCommand({ Bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, etag: out.ETag ?? '', lastModified: out.LastModified ?? new Date(0) };
    } catch (error) {
      const translated = translateS3Error(error, 'HeadObject', key);
      if (translated.code === 'NOT_FOUND') return undefined;
      throw translated;
    }
  }

  async function conditionalPut(key: string, body: Uint8Array, condition: { IfNoneMatch: string } | { IfMatch: string }): Promise<boolean> {
    assertStoreKey(key);
    try {
      await client.send(new s3.PutObjectCommand({ Bucket, Key: key, Body: body, ContentLength: body.length, ...condition }));
      return true;
    } catch (error) {
      const translated = translateS3Error(error, 'PutObject (conditional)', key);
      // 412: the condition did not hold. 409 ConditionalRequestConflict: a concurrent writer won.
      if (translated.code === 'PRECONDITION_FAILED' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 409) return false;
      if ('IfMatch' in condition && translated.code === 'NOT_FOUND') return false;
      throw translated;
    }
  }

  return {
    driver: 's3',
    capabilities: { multipart: true, objectLock },
    async put(key: string, body: PutBody, putOptions?: PutOptions) {
      assertStoreKey(key);
      await call('PutObject', key, async () => {
        if (body instanceof Uint8Array) {
          await client.send(new s3.PutObjectCommand({ Bucket, Key: key, Body: body, ContentLength: body.length }));
          return;
        }
        await uploadStream({ s3, client, bucket: Bucket, plan: planParts(putOptions?.contentLength, partOptions), call }, key, body);
      });
      const stored = await head(key);
      if (!stored) throw new CairnError('STORE_ERROR', `[s3] PutObject ${key}: object missing right after upload`);
      return stored;
    },
    createIfAbsent(key, body) {
      return conditionalPut(key, body, { IfNoneMatch: '*' });
    },
    replaceIfMatch(key, body, etag) {
      return conditionalPut(key, body, { IfMatch: etag });
    },
    async get(key: string, range?: ByteRange): Promise<GetResult> {
      assertStoreKey(key);
      if (range && (range.start < 0 || range.end < range.start)) throw new CairnError('RANGE_NOT_SATISFIABLE', `invalid range ${range.start}-${range.end}`);
      const out = await call('GetObject', key, () => client.send(new s3.GetObjectCommand({ Bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) })));
      const length = out.ContentLength ?? 0;
      if (range && length !== range.end - range.start + 1) {
        (out.Body as Readable | undefined)?.destroy();
        throw new CairnError('RANGE_NOT_SATISFIABLE', `range ${range.start}-${range.end} is outside object ${key}`, { details: { size: totalSize(out.ContentRange, length) } });
      }
      const body = out.Body as Readable | undefined;
      if (!body) throw new CairnError('STORE_ERROR', `[s3] GetObject ${key}: no body`);
      return { body, info: { key, size: totalSize(out.ContentRange, length), etag: out.ETag ?? '', lastModified: out.LastModified ?? new Date(0) } };
    },
    head,
    async *list(prefix: string) {
      assertStorePrefix(prefix);
      let ContinuationToken: string | undefined;
      do {
        const page = await call('ListObjectsV2', prefix, () => client.send(new s3.ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken })));
        for (const o of page.Contents ?? []) {
          if (o.Key) yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified ?? new Date(0) };
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },
    async delete(key: string) {
      assertStoreKey(key);
      if (!versioned) {
        await call('DeleteObject', key, () => client.send(new s3.DeleteObjectCommand({ Bucket, Key: key })));
        return;
      }
      let KeyMarker: string | undefined;
      let VersionIdMarker: string | undefined;
      do {
        const page = await call('ListObjectVersions', key, () => client.send(new s3.ListObjectVersionsCommand({ Bucket, Prefix: key, KeyMarker, VersionIdMarker })));
        const versions = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].filter((v) => v.Key === key && v.VersionId);
        for (const v of versions) {
          await call('DeleteObject (version)', key, () => client.send(new s3.DeleteObjectCommand({ Bucket, Key: key, VersionId: v.VersionId })));
        }
        KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        VersionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (KeyMarker);
    },
    async *listIncompleteUploads(prefix: string): AsyncGenerator<IncompleteUpload> {
      assertStorePrefix(prefix);
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      do {
        // MinIO matches a Prefix only against whole object names, so list everything and filter
        // here; this works the same on every S3 implementation.
        const page = await call('ListMultipartUploads', prefix, () => client.send(new s3.ListMultipartUploadsCommand({ Bucket, KeyMarker, UploadIdMarker })));
        for (const u of page.Uploads ?? []) {
          if (u.Key?.startsWith(prefix) && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) };
        }
        KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        UploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (KeyMarker);
    },
    async abortIncompleteUpload(upload: IncompleteUpload) {
      await call('AbortMultipartUpload', upload.key, () => client.send(new s3.AbortMultipartUploadCommand({ Bucket, Key: upload.key, UploadId: upload.uploadId })));
    },
    ...(objectLock
      ? {
          async setLegalHold(key: string, on: boolean) {
            assertStoreKey(key);
            await call('PutObjectLegalHold', key, () => client.send(new s3.PutObjectLegalHoldCommand({ Bucket, Key: key, LegalHold: { Status: on ? 'ON' : 'OFF' } })));
          },
        }
      : {}),
    async ping() {
      await call('HeadBucket', Bucket, () => client.send(new s3.HeadBucketCommand({ Bucket })));
    },
    async close() {
      client.destroy();
    },
  };
}

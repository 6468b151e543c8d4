/**
 * Streaming upload to S3 with a fixed pool of part buffers, cut as s3-part-plan.ts says: one PutObject when the body fits in
 * one part, else CreateMultipartUpload, UploadPart with up to `queueSize` parts in flight, and
 * CompleteMultipartUpload. The `queueSize + 1` part buffers are allocated once per upload and
 * reused, so memory stays at that bound whatever the object size, and the garbage collector
 * is not left with a stream of short-lived multi-megabyte buffers (which is what kept a server's
 * peak RSS high with lib-storage). Any failure — of the body stream or of S3 — aborts the
 * multipart upload, so a failed put leaves neither an object nor parts.
 */
import type * as S3 from '@aws-sdk/client-s3';
import { CairnError } from '../../../errors.ts';
import type { PartPlan } from './s3-part-plan.ts';

type S3Module = typeof S3;

/** What the uploader needs from the driver. */
export interface MultipartContext {
  readonly s3: S3Module;
  readonly client: S3.S3Client;
  readonly bucket: string;
  /** Part size, parts in flight and the part limit for this upload (s3-part-plan.ts). */
  readonly plan: PartPlan;
  /** Runs an S3 call, translating its errors. */
  readonly call: <T>(operation: string, key: string, fn: () => Promise<T>) => Promise<T>;
}

/** Uploads `body` to `key`. */
export async function uploadStream(ctx: MultipartContext, key: string, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  const { s3, client, bucket: Bucket, call } = ctx;
  const { partBytes: partSize, queueSize, maxParts } = ctx.plan;
  const pool: Buffer[] = [];
  const take = (): Buffer => pool.pop() ?? Buffer.allocUnsafe(partSize);
  const parts: Array<{ PartNumber: number; ETag: string }> = [];
  const inFlight = new Set<Promise<void>>();
  let uploadId: string | undefined;
  let partNumber = 0;
  let current = take();
  let filled = 0;
  let failure: Error | undefined;

  const startPart = async (buffer: Buffer, length: number): Promise<void> => {
    if (!uploadId) {
      const created = await call('CreateMultipartUpload', key, () => client.send(new s3.CreateMultipartUploadCommand({ Bucket, Key: key })));
      if (!created.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      uploadId = created.UploadId;
    }
    const UploadId = uploadId;
    if (partNumber === maxParts) throw new CairnError('STORE_ERROR', `[s3] upload of ${key} needs more than ${maxParts} parts of ${partSize} bytes (its length was not known in advance)`);
    const PartNumber = ++partNumber;
    // A part's failure is recorded, never left as a floating rejection; the loop rethrows it.
    const task: Promise<void> = call('UploadPart', key, () => client.send(new s3.UploadPartCommand({ Bucket, Key: key, UploadId, PartNumber, Body: buffer.subarray(0, length), ContentLength: length })))
      .then(
        (out) => {
          parts.push({ PartNumber, ETag: out.ETag ?? '' });
          pool.push(buffer);
        },
        (error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
        },
      )
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= queueSize) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
  };

  try {
    for await (const chunk of body) {
      if (failure !== undefined) throw failure;
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(partSize - filled, chunk.length - at);
        current.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === partSize) {
          await startPart(current, filled);
          current = take();
          filled = 0;
        }
      }
    }
    if (!uploadId) {
      const single = current.subarray(0, filled);
      await call('PutObject', key, () => client.send(new s3.PutObjectCommand({ Bucket, Key: key, Body: single, ContentLength: filled })));
      return;
    }
    if (filled > 0) await startPart(current, filled);
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    const UploadId = uploadId;
    await call('CompleteMultipartUpload', key, () => client.send(new s3.CompleteMultipartUploadCommand({ Bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } })));
  } catch (error) {
    await Promise.allSettled(inFlight);
    if (uploadId) {
      const UploadId = uploadId;
      await client.send(new s3.AbortMultipartUploadCommand({ Bucket, Key: key, UploadId })).catch(() => undefined);
    }
    throw error;
  }
}

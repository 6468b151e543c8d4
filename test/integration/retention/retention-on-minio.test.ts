/**
 * Retention on a real MinIO with Object Lock: weeks of simulated history (injected clock),
 * scheduled runs, and a bucket that ends up holding exactly what the plan keeps; legal holds on
 * protected images that a plain SDK delete cannot break.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import type { Archive, BlobStore } from '../../../src/archive/index.ts';
import { RetentionScheduler, RetentionSweeper, currentPlan, policyOf } from '../../../src/retention/index.ts';
import { silentLogger } from '../../../src/logger.ts';
import { allImages, bodyOf, imageBytes, testArchive } from '../../support/archive-fixtures.ts';
import { s3StoreFor, useMinio } from '../../support/minio.ts';
import { digestKeyPart } from '../../../src/archive/index.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const minio = useMinio();
let store: BlobStore;
let s3: S3Client;
let archive: Archive;
let now = 1_900_000_000_000;

beforeAll(async () => {
  store = await s3StoreFor(minio());
  archive = await testArchive(store, { now: () => now });
  s3 = new S3Client({ endpoint: minio().endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: minio().accessKeyId, secretAccessKey: minio().secretAccessKey } });
}, 120_000);
afterAll(async () => {
  s3?.destroy();
  await store?.close();
});

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

describe('retention on MinIO', () => {
  it('after three weeks of pushes and scheduled runs, the bucket holds exactly what the plan keeps', async () => {
    const config = { keepLast: 10, maxAgeMs: 7 * DAY, graceMs: 10 * 60_000, schedule: '0 * * * *', chains: {} };
    const scheduler = new RetentionScheduler(archive, new RetentionSweeper(archive, silentLogger), config, silentLogger, () => now);
    let height = 900;
    // Every 2 hours one image (every 5th made final); every 6 hours a retention run.
    for (let step = 0; step < 3 * 12 * 7; step++) {
      height += 10;
      const final = step % 5 === 0;
      await archive.push(bodyOf(imageBytes(randomBytes(64), { height, createdAt: now - 1000, ...(final ? { attesters: ['bob', 'carol'] } : {}) }).bytes));
      now += 2 * HOUR;
      if (step % 3 === 0) await scheduler.runOnce('devnet');
    }
    // Two more runs past the grace period let every mark become a deletion.
    await scheduler.runOnce('devnet');
    now += config.graceMs;
    await scheduler.runOnce('devnet');
    const plan = await currentPlan(archive, 'devnet', policyOf(config, 'devnet', 1000), now);
    expect(plan.filter((d) => d.action === 'delete')).toEqual([]);
    const kept = new Set((await allImages(archive, 'devnet')).map((e) => digestKeyPart(e.record.digest)));
    expect(kept.size).toBeLessThan(252);
    expect(kept.size).toBeGreaterThanOrEqual(10);
    // Records, blobs and attestations exist exactly for kept images; no marks are left over.
    const recordDigests = (await keys('images/devnet/')).map((k) => /((?:chunks-)?[0-9a-f]{64})\.cbor$/.exec(k)?.[1]);
    expect(new Set(recordDigests)).toEqual(kept);
    const blobDigests = (await keys('blobs/')).map((k) => k.split('/')[1]);
    expect(new Set(blobDigests)).toEqual(kept);
    expect((await keys('attestations/')).every((k) => kept.has(k.split('/')[1] as string))).toBe(true);
    expect(await keys('retention/marks/')).toEqual([]);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: minio().bucket, Prefix: 'blobs/' }));
    expect(new Set((versions.Versions ?? []).map((v) => v.Key?.split('/')[1]))).toEqual(kept);
  }, 180_000);

  it('puts legal holds on protected images: a plain SDK delete of the held version fails, Cairn lifts the hold before deleting', async () => {
    const boundary = (await allImages(archive, 'devnet')).find((e) => e.record.height % 1000 === 0);
    expect(boundary).toBeDefined();
    const key = boundary!.record.blob.key;
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: minio().bucket, Prefix: key }));
    const versionId = versions.Versions?.[0]?.VersionId;
    expect(versionId).toBeDefined();
    await expect(s3.send(new DeleteObjectCommand({ Bucket: minio().bucket, Key: key, VersionId: versionId }))).rejects.toThrow();
    await archive.deleteImage(boundary!.record.digest);
    const after = await s3.send(new ListObjectVersionsCommand({ Bucket: minio().bucket, Prefix: key }));
    expect(after.Versions ?? []).toEqual([]);
  });
});

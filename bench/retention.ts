/**
 * Benchmark for retention (issue: retention).
 *
 *   npm run bench:retention
 *
 * 1. Planning time for 10k, 100k and 1M images on one chain, with the cost per image (the
 *    planner sorts once: it must grow no worse than n log n).
 * 2. A sweep that deletes 1,000 images from MinIO (records, attestations, blobs — every object
 *    and version), next to 1,000 raw SDK DeleteObject calls on the same MinIO in the same run.
 */
import { openMetadata } from '../src/metadata/index.ts';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startMinio } from '../minio/minio-server.ts';
import { openArchive, parseRegistry, formatPublicKey, createImageBytes, generateSigningKey } from '../src/archive/index.ts';
import { generateMasterKeyEntry, parseKeyring } from '../src/archive/crypto/keyring.ts';
import { createS3Store } from '../src/archive/store/drivers/s3-driver.ts';
import { DEFAULT_RETENTION_POLICY, RetentionSweeper, planRetention, type PlanImage } from '../src/retention/index.ts';
import { silentLogger } from '../src/logger.ts';
import { median, printTable } from './support.ts';

const DAY = 86_400_000;
const NOW = 1_900_000_000_000;

function history(n: number): PlanImage[] {
  return Array.from({ length: n }, (_, i) => ({ digest: `sha3-256:${i.toString(16).padStart(64, '0')}`, height: i * 10, storedAt: NOW - (n - i) * 60_000, final: i % 7 === 0, pinned: i % 997 === 0, size: 1 }));
}

const planRows: string[][] = [];
for (const n of [10_000, 100_000, 1_000_000]) {
  const images = history(n);
  const times: number[] = [];
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    planRetention(images, DEFAULT_RETENTION_POLICY, NOW);
    times.push(performance.now() - started);
  }
  const ms = median(times);
  planRows.push([n.toLocaleString('en'), ms.toFixed(1), ((ms * 1e6) / n).toFixed(0), ((ms * 1e6) / (n * Math.log2(n))).toFixed(1)]);
}
console.log('\n### Planning one chain (median of 3)\n');
printTable(['images', 'ms', 'ns per image', 'ns per (n log2 n)'], planRows);

const minio = await startMinio();
try {
  const s3 = new S3Client({ endpoint: minio.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey } });
  const count = 1000;
  for (let i = 0; i < count; i++) await s3.send(new PutObjectCommand({ Bucket: minio.bucket, Key: `raw/${i}`, Body: randomBytes(64) }));
  let started = performance.now();
  for (let i = 0; i < count; i++) await s3.send(new DeleteObjectCommand({ Bucket: minio.bucket, Key: `raw/${i}` }));
  const rawMs = performance.now() - started;
  s3.destroy();

  const key = generateSigningKey('ml-dsa-44', 'bench');
  const store = await createS3Store({ endpoint: minio.endpoint, region: 'us-east-1', bucket: minio.bucket, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey, forcePathStyle: true });
  let now = NOW;
  const archive = await openArchive({ store, metadata: await openMetadata('sqlite::memory:'), keyring: parseKeyring([generateMasterKeyEntry('bench')]), registry: parseRegistry({ chains: { bench: { validators: [{ id: 'bench', weight: 1, keys: [formatPublicKey(key.publicKey)] }] } } }), logger: silentLogger, maxHeaderBytes: 1 << 20, now: () => now });
  for (let i = 0; i < count + 10; i++) {
    const { bytes } = createImageBytes({ chain: 'bench', height: i * 10 + 1, validator: 'bench', key, content: randomBytes(64), createdAt: now - 1000 });
    await archive.push(Readable.from([bytes]));
  }
  now += 30 * DAY;
  const sweeper = new RetentionSweeper(archive, silentLogger);
  const policy = { ...DEFAULT_RETENTION_POLICY, keepLast: 10 };
  await sweeper.run('bench', { policy, graceMs: 0, now }); // marks
  started = performance.now();
  const report = await sweeper.run('bench', { policy, graceMs: 0, now: now + 1 }); // sweeps
  const sweepMs = performance.now() - started;
  await store.close();
  console.log(`\n### Deleting ${count} images from MinIO (same run)\n`);
  printTable(
    ['operation', 'deletions', 'seconds', 'per second', 'ratio'],
    [
      ['raw SDK DeleteObject (baseline)', String(count), (rawMs / 1000).toFixed(2), (count / (rawMs / 1000)).toFixed(0), '1.00'],
      [`Cairn sweep (record, blob, lift hold, versions)`, String(report.deleted), (sweepMs / 1000).toFixed(2), (report.deleted / (sweepMs / 1000)).toFixed(0), (rawMs / sweepMs).toFixed(2)],
    ],
  );
} finally {
  await minio.destroy();
}

import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { testArchive, bodyOf, imageBytes } from '../../support/archive-fixtures.ts';
import { collectBytes } from '../../support/fixtures.ts';
import { createS3Store, unsignedPayload } from '../../../src/archive/store/drivers/s3-driver.ts';
import { s3Options } from '../../support/minio.ts';
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

// 20 MiB: above the 5 MiB part size, so streamed puts are real multipart uploads.
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

  it('sizes parts from the known length: an image pushed with a forced 3-part limit is stored in 3 parts and reads back', async () => {
    // With S3's own limit (10,000) this is what happens past ~48.8 GiB; a low limit shows it on 20 MiB.
    const few = await createS3Store({ ...s3Options(minio()), maxParts: 3 });
    const archive = await testArchive(few);
    const content = randomBytes(20 * 1024 * 1024 + 5);
    const { header, bytes } = imageBytes(content, { height: 77 });
    const { image } = await archive.push(bodyOf(bytes, 256 * 1024));
    const stored = await few.head(image.record.blob.key);
    expect(stored?.etag).toMatch(/-3"?$/); // a multipart ETag names its part count
    expect((await collectBytes((await archive.read.content(await archive.read.image(header.digest))).body)).equals(content)).toBe(true);
    await archive.close();
  });
});

describe('payload signing', () => {
  it('decides by endpoint: unsigned on https and loopback, signed on other plain-HTTP hosts, as configured otherwise', () => {
    expect(unsignedPayload('https://s3.example.net')).toBe(true);
    expect(unsignedPayload('http://127.0.0.1:9000')).toBe(true);
    expect(unsignedPayload('http://localhost:9000')).toBe(true);
    expect(unsignedPayload('http://minio.internal:9000')).toBe(false);
    expect(unsignedPayload(undefined)).toBe(true);
    expect(unsignedPayload('http://minio.internal:9000', 'unsigned')).toBe(true);
    expect(unsignedPayload('https://s3.example.net', 'signed')).toBe(false);
  });

  it('sends uploads (single and multipart) with UNSIGNED-PAYLOAD when unsigned, with their SHA-256 when signed, and MinIO takes both', async () => {
    // A recording proxy in front of MinIO: what x-amz-content-sha256 each upload carried.
    const seen: string[] = [];
    const target = new URL(minio().endpoint);
    const proxy = createServer((incoming, outgoing) => {
      if (incoming.method === 'PUT') seen.push(String(incoming.headers['x-amz-content-sha256']));
      const upstream = httpRequest({ host: target.hostname, port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      incoming.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      for (const payloadSigning of ['unsigned', 'signed'] as const) {
        seen.length = 0;
        const s = await createS3Store({ ...s3Options(minio()), endpoint, payloadSigning });
        const big = randomBytes(12 * 1024 * 1024);
        await s.put(`signing/${payloadSigning}/small`, Uint8Array.of(1, 2, 3));
        await s.put(`signing/${payloadSigning}/big`, bodyOf(big, 1024 * 1024), { contentLength: big.length });
        expect((await collectBytes((await s.get(`signing/${payloadSigning}/big`)).body)).equals(big)).toBe(true);
        await s.close();
        expect(seen.length).toBeGreaterThanOrEqual(4); // one PutObject, three parts
        if (payloadSigning === 'unsigned') expect(new Set(seen)).toEqual(new Set(['UNSIGNED-PAYLOAD']));
        else expect(seen.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
      }
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});

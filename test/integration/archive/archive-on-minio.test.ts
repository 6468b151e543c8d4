/**
 * The archive end to end on a real MinIO: push and pull over HTTP, encryption at rest, and the
 * promise that bad input and faults leave nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RunningServer } from '../../../src/api/index.ts';
import { pullImage, pushImage } from '../../../src/client/index.ts';
import { parsePublicKeys, formatPublicKey } from '../../../src/archive/index.ts';
import { imageBytes, validatorKey, wholeChunkBytes } from '../../support/archive-fixtures.ts';
import { generateMasterKeyEntry } from '../../../src/archive/crypto/keyring.ts';
import { collectBytes, tempDir } from '../../support/fixtures.ts';
import { useMinio } from '../../support/minio.ts';
import { spawnServer, startTestServer } from '../../support/server.ts';
import { digestKeyPart } from '../../../src/archive/index.ts';

const minio = useMinio();
// One master key for every server on this bucket: they share the stored server identity.
const masterKey = generateMasterKeyEntry('test');
let server: RunningServer;
let s3: S3Client;
let dataDir: string;

beforeAll(async () => {
  // Not tempDir(): that one goes after the first test, and this server (and its database) stays.
  dataDir = await mkdtemp(join(tmpdir(), 'cairn-it-'));
  server = await startTestServer({ dataDir, minio: minio(), masterKey });
  s3 = new S3Client({ endpoint: minio().endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: minio().accessKeyId, secretAccessKey: minio().secretAccessKey } });
}, 120_000);

afterAll(async () => {
  await server?.close();
  s3?.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

async function bucketState(): Promise<{ objects: string[]; uploads: string[] }> {
  const objects = ((await s3.send(new ListObjectsV2Command({ Bucket: minio().bucket }))).Contents ?? []).map((o) => o.Key ?? '').sort();
  const uploads = ((await s3.send(new ListMultipartUploadsCommand({ Bucket: minio().bucket }))).Uploads ?? []).map((u) => `${u.Key ?? ''} ${u.UploadId ?? ''}`);
  return { objects, uploads };
}

async function writeImage(dir: string, bytes: Uint8Array, name = 'img.cimg'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function rawPost(body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Promise<{ status: number; code?: string }> {
  try {
    const response = await fetch(`${server.url}/v1/images`, { method: 'POST', body, headers, duplex: 'half' });
    const json = (await response.json()) as { error?: { code: string } };
    return { status: response.status, ...(json.error ? { code: json.error.code } : {}) };
  } catch {
    return { status: 0 };
  }
}

const trust = { keys: ['alice', 'bob', 'carol'].map((v) => parsePublicKeys(formatPublicKey(validatorKey(v).publicKey))[0]!) };

describe('archive on MinIO', () => {
  it('pushes and pulls a multipart-sized image; the pulled file verifies and equals the pushed one', async () => {
    const dir = await tempDir();
    const content = randomBytes(20 * 1024 * 1024 + 333);
    const { header, bytes } = imageBytes(content, { height: 5000 });
    const pushed = await pushImage({ base: server.url }, await writeImage(dir, bytes));
    expect(pushed).toMatchObject({ digest: header.digest, created: true });
    const result = await pullImage({ conn: { base: server.url }, digest: header.digest, out: join(dir, 'pulled.cimg'), trust });
    expect(result.report?.attestations[0]?.status).toBe('valid');
    expect((await readFile(join(dir, 'pulled.cimg'))).equals(Buffer.from(bytes))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['img.cimg', 'pulled.cimg']);
  });

  it.each([1, 2] as const)('resumes a partial download of a format-%i image with Range and verifies the whole file', async (format) => {
    const dir = await tempDir();
    const content = randomBytes(3 * 1024 * 1024);
    const { header, bytes } = imageBytes(content, { height: 5000 + format, format });
    await pushImage({ base: server.url }, await writeImage(dir, bytes));
    const out = join(dir, 'resumed.cimg');
    const prefixBytes = bytes.length - content.length;
    await writeFile(`${out}.part`, bytes.subarray(0, prefixBytes + 1_000_000));
    const result = await pullImage({ conn: { base: server.url }, digest: header.digest, out, trust });
    // v1 resumes at the byte; v2 keeps every whole chunk of the partial that verifies.
    expect(result.resumedFrom).toBe(prefixBytes + (format === 1 ? 1_000_000 : wholeChunkBytes(content, 1_000_000)));
    expect((await readFile(out)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('never stores the content in plaintext: a marker is nowhere in MinIO data directory', async () => {
    const dir = await tempDir();
    const marker = Buffer.from('CAIRN-PLAINTEXT-MARKER-7f3a9c');
    const content = Buffer.concat(Array.from({ length: 20_000 }, () => marker));
    const { bytes } = imageBytes(content, { height: 5002 });
    await pushImage({ base: server.url }, await writeImage(dir, bytes));
    const hits: string[] = [];
    const walk = async (path: string): Promise<void> => {
      for (const entry of await readdir(path, { withFileTypes: true })) {
        const full = join(path, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if ((await readFile(full)).includes(marker)) hits.push(full);
      }
    };
    await walk(minio().dataDir);
    expect(hits).toEqual([]);
  });

  it('leaves no object and no multipart upload for refused or broken pushes', async () => {
    const before = await bucketState();
    const content = randomBytes(12 * 1024 * 1024);
    const { bytes } = imageBytes(content, { height: 6000 });
    const corrupted = Buffer.from(bytes);
    corrupted[corrupted.length - 100] = corrupted[corrupted.length - 100]! ^ 1;
    expect(await rawPost(corrupted)).toMatchObject({ status: 422, code: 'DIGEST_MISMATCH' });
    // With a Content-Length the length mismatch is caught before any content is read ...
    expect(await rawPost(bytes.subarray(0, bytes.length - 1))).toMatchObject({ status: 400, code: 'BODY_SIZE_MISMATCH' });
    expect(await rawPost(Buffer.concat([bytes, Buffer.from('x')]))).toMatchObject({ status: 400, code: 'BODY_SIZE_MISMATCH' });
    // ... and with a chunked body, at the end of the stream (after multipart parts were sent).
    const chunkedBody = (b: Uint8Array): ReadableStream<Uint8Array> => ReadableStream.from([b.subarray(0, 1024 * 1024), b.subarray(1024 * 1024)]);
    expect(await rawPost(chunkedBody(bytes.subarray(0, bytes.length - 1)))).toMatchObject({ status: 400, code: 'IMAGE_TRUNCATED' });
    expect(await rawPost(chunkedBody(Buffer.concat([bytes, Buffer.from('x')])))).toMatchObject({ status: 400, code: 'IMAGE_TRAILING_BYTES' });
    expect(await rawPost(imageBytes(randomBytes(100), { producer: 'mallory' }).bytes)).toMatchObject({ status: 403, code: 'UNKNOWN_VALIDATOR' });
    const huge = Buffer.from(bytes.subarray(0, 14));
    huge.writeUInt32BE(64 * 1024 * 1024, 10);
    expect(await rawPost(huge)).toMatchObject({ status: 413, code: 'IMAGE_HEADER_TOO_LARGE' });

    // A client that disconnects halfway through the body.
    const controller = new AbortController();
    let sent = 0;
    const slow = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= 10 * 1024 * 1024) {
          controller.abort();
          return;
        }
        const chunk = bytes.subarray(sent, sent + 256 * 1024);
        sent += chunk.length;
        c.enqueue(chunk);
        await new Promise((r) => setTimeout(r, 5));
      },
    });
    await fetch(`${server.url}/v1/images`, { method: 'POST', body: slow, signal: controller.signal, duplex: 'half' }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await bucketState()).toEqual(before);
  });

  it('refuses to serve a blob whose bytes were changed in MinIO (integrity error, never the bytes)', async () => {
    const dir = await tempDir();
    const content = randomBytes(500_000);
    const { header, bytes } = imageBytes(content, { height: 7000 });
    await pushImage({ base: server.url }, await writeImage(dir, bytes));
    const key = (await server.archive.read.image(header.digest)).record.blob.key;
    const stored = await collectBytes((await s3.send(new GetObjectCommand({ Bucket: minio().bucket, Key: key }))).Body as AsyncIterable<Uint8Array>);
    stored[stored.length - 5000] = stored[stored.length - 5000]! ^ 0x01;
    await s3.send(new PutObjectCommand({ Bucket: minio().bucket, Key: key, Body: stored }));

    await expect(pullImage({ conn: { base: server.url }, digest: header.digest, out: join(dir, 'bad.cimg') })).rejects.toThrow();
    // Nothing at --out; a .part may stay for a resume, holding only bytes that authenticated.
    await expect(stat(join(dir, 'bad.cimg'))).rejects.toThrow();
    // The first chunk is fine, the flipped one is near the end: the response is cut short.
    const response = await fetch(`${server.url}/v1/images/${header.digest}/content`);
    await expect(response.arrayBuffer()).rejects.toThrow();
    // A range inside the damaged chunk fails before any byte is sent.
    const damaged = await fetch(`${server.url}/v1/images/${header.digest}/content`, { headers: { range: `bytes=${content.length - 4000}-${content.length - 1}` } });
    expect(damaged.status).toBe(500);
    expect(((await damaged.json()) as { error: { code: string } }).error.code).toBe('INTEGRITY_ERROR');
  });

  it('fails a push with STORE_UNAVAILABLE when MinIO stops mid-push, commits nothing, and works again once it is back', async () => {
    const { header, bytes } = imageBytes(randomBytes(30 * 1024 * 1024), { height: 8000 });
    const before = await bucketState();
    let sent = 0;
    let stopped = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= bytes.length) return c.close();
        if (sent >= 12 * 1024 * 1024 && !stopped) {
          stopped = true;
          await minio().stop(); // parts are already in MinIO: this is mid-upload
        }
        const chunk = bytes.subarray(sent, sent + 256 * 1024);
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    let during: { status: number; code?: string };
    try {
      during = await rawPost(body);
    } finally {
      await minio().restart();
    }
    expect(stopped).toBe(true);
    expect(during).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' });
    expect(await server.archive.read.find(header.digest)).toBeUndefined();
    expect((await fetch(`${server.url}/v1/images/${header.digest}`)).status).toBe(404);
    // Once MinIO is back, the same server accepts the push. (If MinIO could not be told to abort
    // the multipart upload while it was down, the periodic cleanup removes it later.)
    expect(await rawPost(bytes)).toMatchObject({ status: 201 });
    const after = await bucketState();
    expect(after.objects.filter((k) => !before.objects.includes(k)).filter((k) => !k.includes(digestKeyPart(header.digest))).length).toBe(0);
  });

  it('after a SIGKILL mid-push, a restarted server shows no partial image and aborts the leftover multipart upload', async () => {
    const dir = await tempDir('cairn-kill-');
    // Another process on the same bucket shares its database (one SQLite file on one host).
    const database = `sqlite:${join(dataDir, 'cairn.sqlite')}`;
    const child = await spawnServer({ dataDir: dir, minio: minio(), orphanGraceMs: 0, masterKey, extra: { database } });
    const content = randomBytes(40 * 1024 * 1024);
    const { header, bytes } = imageBytes(content, { height: 9000 });
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= bytes.length) return c.close();
        const chunk = bytes.subarray(sent, sent + 512 * 1024);
        sent += chunk.length;
        c.enqueue(chunk);
        await new Promise((r) => setTimeout(r, 10));
      },
    });
    const pushing = fetch(`${child.url}/v1/images`, { method: 'POST', body, duplex: 'half' }).catch(() => undefined);
    // Wait until a multipart upload of this content is under way, then kill the server.
    for (let i = 0; i < 200 && (await bucketState()).uploads.filter((u) => u.includes(digestKeyPart(header.digest))).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await bucketState()).uploads.some((u) => u.includes(digestKeyPart(header.digest)))).toBe(true);
    await child.kill('SIGKILL');
    await pushing;

    const restarted = await spawnServer({ dataDir: dir, minio: minio(), orphanGraceMs: 0, masterKey, extra: { database } });
    try {
      const response = await fetch(`${restarted.url}/v1/images/${header.digest}`);
      expect(response.status).toBe(404);
      // The restarted process's background cleanup aborts the killed push's upload.
      await expect.poll(async () => (await bucketState()).uploads, { timeout: 20_000 }).toEqual([]);
      const state = await bucketState();
      expect(state.objects.filter((k) => k.includes(digestKeyPart(header.digest)))).toEqual([]);
    } finally {
      await restarted.kill();
    }
  });
});

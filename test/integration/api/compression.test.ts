/**
 * zstd at rest and on the wire, end to end on a real MinIO: compressible content is stored
 * smaller (and still sealed), served as `Content-Encoding: zstd` to clients that ask, as identity
 * bytes to everyone else and for every range; random content is stored and served as it is;
 * `cairn pull` asks for zstd and still verifies every byte.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RunningServer } from '../../../src/api/index.ts';
import { pullImage, pushImage } from '../../../src/client/index.ts';
import { generateMasterKeyEntry } from '../../../src/archive/crypto/keyring.ts';
import { imageBytes, wholeChunkBytes } from '../../support/archive-fixtures.ts';
import { useMinio } from '../../support/minio.ts';
import { startTestServer } from '../../support/server.ts';
import { decodeZstdStream } from '../../../src/archive/index.ts';
import { chunked, collectBytes } from '../../support/fixtures.ts';
import { digestKeyPart, type Digest } from '../../../src/archive/index.ts';

/** Decodes a zstd body (every frame: node:zlib alone stops after the first, nodejs/node#64741). */
async function unzstd(body: Buffer, size: number): Promise<Buffer> {
  return collectBytes(decodeZstdStream(chunked(body, 65_536), { maxOutput: size }));
}

const minio = useMinio();
let server: RunningServer;
let s3: S3Client;
let dir: string;

/** Ledger-like text: a realistic compressible state. */
function ledger(size: number): Buffer {
  const out = Buffer.alloc(size);
  let at = 0;
  for (let i = 0; at < size; i++) at += out.write(`{"account":"0x${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')}","balance":${(i * 7919) % 1_000_003},"nonce":${i % 97}}\n`, at);
  return out;
}

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function push(content: Buffer, height: number): Promise<{ digest: string; bytes: Uint8Array }> {
  const { header, bytes } = imageBytes(content, { height });
  const file = join(dir, `img-${height}.cimg`);
  await writeFile(file, bytes);
  await pushImage({ base: server.url }, file);
  return { digest: header.digest, bytes };
}

async function bytesOut(): Promise<number> {
  const text = (await get('/metrics')).body.toString('utf8');
  return Number(/^cairn_bytes_out_total\{transport="http"\} (\d+)/m.exec(text)?.[1] ?? 'NaN');
}

async function storedSize(digest: string): Promise<number> {
  const key = (await server.archive.read.image(digest as never)).record.blob.key;
  return (await s3.send(new HeadObjectCommand({ Bucket: minio().bucket, Key: key }))).ContentLength ?? -1;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-zstd-'));
  await mkdir(join(dir, 'data'));
  server = await startTestServer({ dataDir: join(dir, 'data'), minio: minio(), masterKey: generateMasterKeyEntry('test') });
  s3 = new S3Client({ endpoint: minio().endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: minio().accessKeyId, secretAccessKey: minio().secretAccessKey } });
}, 120_000);

afterAll(async () => {
  await server?.close();
  s3?.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('zstd at rest and on the wire', () => {
  it('stores compressible content compressed and serves every representation of it', async () => {
    const content = ledger(9 * 1024 * 1024 + 12_345); // three 4 MiB blocks, the last one short
    const { digest, bytes } = await push(content, 1);
    const hex = digestKeyPart(digest as Digest);
    expect(await storedSize(digest)).toBeLessThan(content.length / 3);

    const plain = await get(`/v1/images/${digest}/content`);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('accept-encoding');
    expect(plain.body.equals(content)).toBe(true);

    const coded = await get(`/v1/images/${digest}/content`, { 'accept-encoding': 'gzip, zstd;q=0.9' });
    expect(coded.status).toBe(200);
    expect(coded.headers['content-encoding']).toBe('zstd');
    expect(coded.headers.etag).toBe(`"${hex}-zstd"`);
    expect(Number(coded.headers['content-length'])).toBe(coded.body.length);
    expect(coded.body.length).toBeLessThan(content.length / 3);
    expect((await unzstd(coded.body, content.length)).equals(content)).toBe(true);

    const head = await get(`/v1/images/${digest}/content`, { 'accept-encoding': 'zstd' }, 'HEAD');
    expect(head.headers['content-length']).toBe(String(coded.body.length));
    expect((await get(`/v1/images/${digest}/content`, { 'accept-encoding': 'zstd', 'if-none-match': `"${hex}-zstd"` })).status).toBe(304);
    expect((await get(`/v1/images/${digest}/content`, { 'accept-encoding': 'zstd;q=0' })).headers['content-encoding']).toBeUndefined();

    // Ranges are of the identity bytes, whatever the client accepts: across block boundaries too.
    for (const [start, end] of [[0, 0], [4_194_300, 4_194_310], [1_000_000, 8_600_000], [content.length - 3, content.length - 1]] as const) {
      const ranged = await get(`/v1/images/${digest}/content`, { range: `bytes=${start}-${end}`, 'accept-encoding': 'zstd' });
      expect(ranged.status).toBe(206);
      expect(ranged.headers['content-encoding']).toBeUndefined();
      expect(ranged.body.equals(content.subarray(start, end + 1))).toBe(true);
    }

    const file = await get(`/v1/images/${digest}/file`, { 'accept-encoding': 'zstd' });
    expect(file.headers['content-encoding']).toBe('zstd');
    expect((await unzstd(file.body, bytes.length)).equals(Buffer.from(bytes))).toBe(true);
    expect((await get(`/v1/images/${digest}/file`)).body.equals(Buffer.from(bytes))).toBe(true);

    // cairn pull asks for zstd: what crosses the wire is the stored frames.
    const sentBefore = await bytesOut();
    const out = join(dir, 'pulled.cimg');
    await pullImage({ conn: { base: server.url }, digest: digest as never, out });
    expect((await readFile(out)).equals(Buffer.from(bytes))).toBe(true);
    expect((await bytesOut()) - sentBefore).toBeLessThan(content.length / 3);
  });

  it('resumes a pull of compressed content with an identity range', async () => {
    const content = ledger(6 * 1024 * 1024);
    const { digest, bytes } = await push(content, 2);
    const out = join(dir, 'resumed.cimg');
    const prefix = bytes.length - content.length;
    await writeFile(`${out}.part`, bytes.subarray(0, prefix + 4_500_001));
    const result = await pullImage({ conn: { base: server.url }, digest: digest as never, out });
    // A v2 pull resumes by chunk: every whole chunk of the partial that verifies is kept.
    expect(result.resumedFrom).toBe(prefix + wholeChunkBytes(content, 4_500_001));
    expect((await readFile(out)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('stores and serves random content as it is, even to clients that accept zstd', async () => {
    const content = randomBytes(2 * 1024 * 1024);
    const { digest } = await push(content, 3);
    expect(await storedSize(digest)).toBeGreaterThan(content.length);
    const got = await get(`/v1/images/${digest}/content`, { 'accept-encoding': 'zstd' });
    expect(got.headers['content-encoding']).toBeUndefined();
    expect(got.headers.vary).toBeUndefined();
    expect(got.body.equals(content)).toBe(true);
  });
});

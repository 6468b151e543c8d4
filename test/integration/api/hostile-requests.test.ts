/**
 * Anonymous requests that must cost the server neither memory nor other clients' time, against
 * a real server on the fs store: a header built to explode the decoder, bodies over their
 * route's limit (with and without Content-Length), a stalled or trickling push, a pusher that
 * goes away; and what each leaves behind (nothing) and how it is counted.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/api/index.ts';
import { encodeAttestation, encodePreamble, signAttestation } from '../../../src/archive/index.ts';
import { imageBytes, imageCount, validatorKey } from '../../support/archive-fixtures.ts';
import { startTestServer } from '../../support/server.ts';

const READ_TOKEN = 'read-token-0123456789abcdef';
let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-hostile-'));
  server = await startTestServer({ dataDir: dir, readToken: READ_TOKEN, extra: { uploadIdleTimeoutMs: 1000, uploadMinBytes: 4096 } });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** An HTTP exchange whose body the test writes by hand. */
function open(method: string, path: string, headers: Record<string, string | number>): { write(bytes: Uint8Array): void; end(): void; destroy(): void; response: Promise<{ status: number; headers: Record<string, unknown>; body: string }>; closed: Promise<void> } {
  const url = new URL(path, server.url);
  const req = request(url, { method, headers });
  const response = new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => undefined);
  const closed = new Promise<void>((resolve) => req.on('close', () => resolve()));
  req.flushHeaders();
  return { write: (bytes) => req.write(bytes), end: () => req.end(), destroy: () => req.destroy(), response, closed };
}

const codeOf = (body: string): string => (JSON.parse(body) as { error: { code: string } }).error.code;

async function blobDirs(): Promise<string[]> {
  return readdir(join(dir, 'objects', 'blobs')).catch(() => []);
}

async function metric(name: string, code: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`code="${code}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('a header built to explode the decoder', () => {
  it('is refused by its item budget while /healthz keeps answering', async () => {
    const items = 4 * 1024 * 1024 - 5;
    const header = Buffer.alloc(items + 5, 0xa0); // one array of four million empty maps
    header[0] = 0x9a;
    header.writeUInt32BE(items, 1);
    const heapBefore = process.memoryUsage().heapUsed;
    const pushes = Array.from({ length: 4 }, () => fetch(`${server.url}/v1/images`, { method: 'POST', body: Buffer.concat([encodePreamble(header.length), header]) }));
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    for (const response of await Promise.all(pushes)) {
      expect(response.status).toBe(400);
      expect(codeOf(await response.text())).toBe('CBOR_LIMIT_EXCEEDED');
    }
    // The server runs in this process: four such headers did not build millions of objects.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('bodies over their limit', () => {
  const { header } = imageBytes(randomBytes(64), { height: 7 });

  it('an attestation body is refused with 413 as soon as it crosses 64 KiB, without Content-Length, the rest never read', async () => {
    const exchange = open('POST', `/v1/images/${header.digest}/attestations`, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    exchange.write(Buffer.alloc(96 * 1024, 0x20)); // and then nothing: the server must not wait for the end
    const response = await exchange.response;
    expect(response.status).toBe(413);
    expect(codeOf(response.body)).toBe('BODY_TOO_LARGE');
  });

  it('a client that keeps sending megabytes still reads the 413, and the server buffers none of it', async () => {
    const exchange = open('POST', `/v1/images/${header.digest}/attestations`, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    let answered = false;
    void exchange.response.then(() => (answered = true), () => (answered = true));
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    for (let sent = 0; sent < 32 * 1024 * 1024 && !answered; sent += chunk.length) {
      exchange.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const response = await exchange.response;
    expect(response.status).toBe(413);
    expect(codeOf(response.body)).toBe('BODY_TOO_LARGE');
    exchange.destroy();
    expect(process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(24 * 1024 * 1024);
  });

  it('a declared Content-Length over the limit is refused before any byte is read', async () => {
    const exchange = open('POST', `/v1/images/${header.digest}/attestations`, { 'content-type': 'application/cbor', 'content-length': 64 * 1024 * 1024 });
    const response = await exchange.response;
    expect(response.status).toBe(413);
    expect(codeOf(response.body)).toBe('BODY_TOO_LARGE');
  });

  it('the dashboard sign-in form is refused the same way (read token configured)', async () => {
    const exchange = open('POST', '/ui/login', { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' });
    exchange.write(Buffer.from(`token=${'x'.repeat(32 * 1024)}`));
    expect((await exchange.response).status).toBe(413);
  });
});

describe('slow and vanishing pushers', () => {
  it('a stalled re-push of an archived image does not hold up its attestations; the stall is cut and nothing is stored', async () => {
    const { header, bytes } = imageBytes(randomBytes(256 * 1024), { height: 100, producer: 'bob' });
    expect((await fetch(`${server.url}/v1/images`, { method: 'POST', body: bytes })).status).toBe(201);
    const stalled = open('POST', '/v1/images', { 'content-length': bytes.length });
    stalled.write(bytes.subarray(0, 20_000));
    // While the re-push stalls, an attestation of the same image is answered.
    const attestation = signAttestation({ chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, validator: 'carol', signedAt: Date.now() }, validatorKey('carol'));
    const attested = await fetch(`${server.url}/v1/images/${header.digest}/attestations`, { method: 'POST', body: Buffer.from(encodeAttestation(attestation)), headers: { 'content-type': 'application/cbor' } });
    expect(attested.status).toBe(201);
    await stalled.closed; // cut by the server after uploadIdleTimeoutMs of silence
    await expect(stalled.response).rejects.toThrow();
  });

  it('a new image pushed silently or by a trickle is cut, leaving no record, blob or directory', async () => {
    const before = await blobDirs();
    const imagesBefore = await imageCount(server.archive);
    const cutBefore = await metric('cairn_errors_total', 'UPLOAD_IDLE_TIMEOUT');
    const { bytes } = imageBytes(randomBytes(512 * 1024), { height: 200 });
    const silent = open('POST', '/v1/images', { 'content-length': bytes.length });
    silent.write(bytes.subarray(0, 100_000));
    const trickle = open('POST', '/v1/images', { 'content-length': bytes.length });
    trickle.write(bytes.subarray(0, 100_000));
    let at = 100_000;
    const drip = setInterval(() => trickle.write(bytes.subarray(at, ++at)), 100); // 10 bytes a second
    try {
      await Promise.all([silent.closed, trickle.closed]);
    } finally {
      clearInterval(drip);
    }
    // Both are counted once the archive has given up on them (and removed what they started).
    while ((await metric('cairn_errors_total', 'UPLOAD_IDLE_TIMEOUT')) < cutBefore + 2) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await imageCount(server.archive)).toBe(imagesBefore);
    expect(await blobDirs()).toEqual(before);
  });

  it('a refused push (content does not match its digest) leaves no empty blob directory', async () => {
    const before = await blobDirs();
    const { bytes } = imageBytes(randomBytes(300 * 1024), { height: 300 });
    const tampered = Buffer.from(bytes);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
    const response = await fetch(`${server.url}/v1/images`, { method: 'POST', body: tampered });
    expect(response.status).toBe(422);
    expect(await blobDirs()).toEqual(before);
  });

  it('a pusher that disconnects mid-upload is a client abort, not an internal error, and leaves nothing', async () => {
    const before = await blobDirs();
    const internalBefore = await metric('cairn_errors_total', 'INTERNAL');
    const abortedBefore = await metric('cairn_errors_total', 'CLIENT_ABORTED');
    // Past the first 1 MiB block, which the server reads (to decide on compression) before its upload starts.
    const { bytes } = imageBytes(randomBytes(2 * 1024 * 1024), { height: 400 });
    const gone = open('POST', '/v1/images', { 'content-length': bytes.length });
    gone.write(bytes.subarray(0, 1_300_000));
    // Once the server is reading content (a blob directory appears), the client goes away.
    while ((await blobDirs()).length === before.length) await new Promise((resolve) => setTimeout(resolve, 20));
    gone.destroy();
    let aborted = abortedBefore;
    while (aborted === abortedBefore) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      aborted = await metric('cairn_errors_total', 'CLIENT_ABORTED');
    }
    expect(aborted).toBe(abortedBefore + 1);
    expect(await metric('cairn_errors_total', 'INTERNAL')).toBe(internalBefore);
    expect(await blobDirs()).toEqual(before);
  });
});

/**
 * The HTTP API in-process (app.request, no socket) on a memory store.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import type { Archive } from '../../../src/archive/service/archive.ts';
import { createMemoryStore } from '../../../src/archive/store/drivers/memory-driver.ts';
import { formatPublicKey, generateSigningKey } from '../../../src/archive/index.ts';
import { EventLog } from '../../../src/api/event-log.ts';
import { RetentionScheduler, RetentionSweeper } from '../../../src/retention/index.ts';
import { silentLogger } from '../../../src/logger.ts';
import { imageBytes, testArchive, validatorKey } from '../../support/archive-fixtures.ts';
import { digestKeyPart } from '../../../src/archive/index.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdefgh';
let archive: Archive;
let app: ReturnType<typeof createApp>;
const identity = generateSigningKey('ml-dsa-65', 'cairn-server');

function appFor(options: { readToken?: string } = {}): ReturnType<typeof createApp> {
  const retention = new RetentionScheduler(archive, new RetentionSweeper(archive, silentLogger), { keepLast: 10, maxAgeMs: 7 * 86_400_000, graceMs: 0, schedule: '0 * * * *', chains: {} }, silentLogger);
  return createApp({ archive, logger: silentLogger, adminTokens: [ADMIN], events: new EventLog(archive, identity), identity: identity.publicKey, retention, ...options });
}

beforeEach(async () => {
  archive = await testArchive(createMemoryStore());
  app = appFor();
});

async function push(bytes: Uint8Array): Promise<Response> {
  return app.request('/v1/images', { method: 'POST', body: bytes, headers: { 'content-length': String(bytes.length) } });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

describe('HTTP API', () => {
  it('pushes an image (201), deduplicates (200) and serves manifest, file and content', async () => {
    const content = randomBytes(200_000);
    const { header, bytes } = imageBytes(content);
    const first = await push(bytes);
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ digest: header.digest, created: true, addedAttestations: ['alice'] });
    expect((await push(bytes)).status).toBe(200);

    const manifest = (await (await app.request(`/v1/images/${header.digest}`)).json()) as { file: { size: number; headerBytes: number }; attestations: unknown[]; finality: { final: boolean } };
    expect(manifest.file.size).toBe(bytes.length);
    expect(manifest.attestations).toHaveLength(1);
    expect(manifest.finality.final).toBe(false);

    const file = await app.request(`/v1/images/${header.digest}/file`);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    const raw = await app.request(`/v1/images/${header.digest}/content`);
    expect(raw.headers.get('etag')).toBe(`"${digestKeyPart(header.digest)}"`);
    expect(Buffer.from(await raw.arrayBuffer()).equals(content)).toBe(true);

    const cbor = await app.request(`/v1/images/${header.digest}`, { headers: { accept: 'application/cbor' } });
    expect(cbor.headers.get('content-type')).toBe('application/cbor');
  });

  it('serves ranges, 304 on If-None-Match, 416 with Content-Range for unsatisfiable ranges, 400 for malformed ones', async () => {
    const content = randomBytes(100_000);
    const { header, bytes } = imageBytes(content);
    await push(bytes);
    const url = `/v1/images/${header.digest}/content`;
    const part = await app.request(url, { headers: { range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${content.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(content.subarray(1000, 2000))).toBe(true);
    const suffix = await app.request(url, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(content.subarray(content.length - 10))).toBe(true);
    const open = await app.request(url, { headers: { range: 'bytes=99990-' } });
    expect((await open.arrayBuffer()).byteLength).toBe(10);
    expect((await app.request(url, { headers: { 'if-none-match': `"${digestKeyPart(header.digest)}"` } })).status).toBe(304);
    const beyond = await app.request(url, { headers: { range: 'bytes=100000-' } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${content.length}`);
    expect(await errorCode(beyond)).toBe('RANGE_NOT_SATISFIABLE');
    for (const bad of ['bytes=abc', 'items=0-1', 'bytes=5-2', 'bytes=-']) {
      const response = await app.request(url, { headers: { range: bad } });
      expect(response.status, bad).toBe(400);
      expect(await errorCode(response)).toBe('RANGE_INVALID');
    }
    const head = await app.request(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(content.length));

    const fileUrl = `/v1/images/${header.digest}/file`;
    const acrossBoundary = await app.request(fileUrl, { headers: { range: `bytes=${bytes.length - content.length - 5}-${bytes.length - content.length + 4}` } });
    expect(Buffer.from(await acrossBoundary.arrayBuffer()).equals(Buffer.from(bytes.subarray(bytes.length - content.length - 5, bytes.length - content.length + 5)))).toBe(true);
  });

  it('answers bad input with stable codes and statuses', async () => {
    const { bytes } = imageBytes(randomBytes(1000));
    const cases: Array<[string, Response | Promise<Response>, number, string]> = [
      ['not an image', push(Buffer.from('hello world, not an image at all')), 400, 'IMAGE_BAD_MAGIC'],
      ['unknown chain', push(imageBytes(randomBytes(10), { chain: 'nochain' }).bytes), 404, 'UNKNOWN_CHAIN'],
      ['unknown validator', push(imageBytes(randomBytes(10), { producer: 'mallory' }).bytes), 403, 'UNKNOWN_VALIDATOR'],
      ['truncated', app.request('/v1/images', { method: 'POST', body: bytes.subarray(0, bytes.length - 3) }), 400, 'IMAGE_TRUNCATED'],
      ['digest not a digest', app.request('/v1/images/sha3-256:..%2F..%2Fetc%2Fpasswd'), 400, 'DIGEST_INVALID'],
      ['traversal in content path', app.request('/v1/images/..%2F..%2Fregistry/content'), 400, 'DIGEST_INVALID'],
      ['unknown digest', app.request(`/v1/images/sha3-256:${'0'.repeat(64)}`), 404, 'NOT_FOUND'],
      ['unknown route', app.request('/v2/nothing'), 404, 'NOT_FOUND'],
      ['bad chain id', app.request('/v1/chains/Bad%20Chain/images'), 400, 'INVALID_ARGUMENT'],
      ['bad limit', app.request('/v1/chains/devnet/images?limit=-1'), 400, 'INVALID_ARGUMENT'],
      ['bad cursor', app.request('/v1/chains/devnet/images?cursor=zzz'), 400, 'INVALID_ARGUMENT'],
    ];
    for (const [name, pending, status, code] of cases) {
      const response = await pending;
      expect(response.status, name).toBe(status);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code, name).toBe(code);
      expect(body.error.message, name).not.toMatch(/\n\s+at /);
    }
  });

  it('lists by height with cursors and answers latest', async () => {
    for (const height of [3000, 1000, 2000]) await push(imageBytes(randomBytes(100), { height }).bytes);
    const page1 = (await (await app.request('/v1/chains/devnet/images?limit=2')).json()) as { images: Array<{ height: number }>; nextCursor: string };
    expect(page1.images.map((i) => i.height)).toEqual([1000, 2000]);
    const page2 = (await (await app.request(`/v1/chains/devnet/images?limit=2&cursor=${page1.nextCursor}`)).json()) as { images: Array<{ height: number }>; nextCursor?: string };
    expect(page2.images.map((i) => i.height)).toEqual([3000]);
    expect(page2.nextCursor).toBeUndefined();
    const ranged = (await (await app.request('/v1/chains/devnet/images?from=1500&to=2500')).json()) as { images: Array<{ height: number }> };
    expect(ranged.images.map((i) => i.height)).toEqual([2000]);
    expect(((await (await app.request('/v1/chains/devnet/latest')).json()) as { height: number }).height).toBe(3000);
    expect((await app.request('/v1/chains/devnet/latest?final=true')).status).toBe(404);
    const final = imageBytes(randomBytes(100), { height: 2500, attesters: ['bob', 'carol'] });
    await push(final.bytes);
    expect(((await (await app.request('/v1/chains/devnet/latest?final=true')).json()) as { digest: string }).digest).toBe(final.header.digest);
  });

  it('guards admin routes with the admin token and updates the registry', async () => {
    expect((await app.request('/v1/admin/registry')).status).toBe(401);
    const wrong = await app.request('/v1/admin/registry', { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(403);
    expect(await errorCode(wrong)).toBe('FORBIDDEN');
    const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const dave = formatPublicKey(validatorKey('dave').publicKey).trim();
    const put = await app.request('/v1/admin/registry/chains/devnet/validators/dave', { method: 'PUT', headers: auth, body: JSON.stringify({ weight: 3, keys: [dave] }) });
    expect(put.status).toBe(200);
    expect(archive.registry.chains.get('devnet')?.totalWeight).toBe(6);
    expect((await push(imageBytes(randomBytes(10), { producer: 'dave' }).bytes)).status).toBe(201);
    const invalid = await app.request('/v1/admin/registry/chains/devnet/validators/eve', { method: 'PUT', headers: auth, body: JSON.stringify({ weight: -1, keys: ['nope'] }) });
    expect(invalid.status).toBe(400);
    expect(archive.registry.chains.get('devnet')?.validators.has('eve')).toBe(false);
    expect((await app.request('/v1/admin/registry/chains/devnet/validators/dave', { method: 'DELETE', headers: auth })).status).toBe(200);
    expect((await push(imageBytes(randomBytes(11), { producer: 'dave' }).bytes)).status).toBe(403);
  });

  it('requires the read token for reads when one is configured, but not for pushes', async () => {
    const guarded = appFor({ readToken: READ });
    const { header, bytes } = imageBytes(randomBytes(10));
    expect((await guarded.request('/v1/images', { method: 'POST', body: bytes })).status).toBe(201);
    expect((await guarded.request(`/v1/images/${header.digest}`)).status).toBe(401);
    expect((await guarded.request(`/v1/images/${header.digest}`, { headers: { authorization: `Bearer ${READ}` } })).status).toBe(200);
    expect((await guarded.request('/v1/chains/devnet/images', { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
    expect((await guarded.request('/healthz')).status).toBe(200);
    // HEAD is guarded like the GET route it matches.
    expect((await guarded.request(`/v1/images/${header.digest}/file`, { method: 'HEAD' })).status).toBe(401);
    expect((await guarded.request(`/v1/images/${header.digest}/file`, { method: 'HEAD', headers: { authorization: `Bearer ${READ}` } })).status).toBe(200);
  });
});

/**
 * Format-v2 pulls (issue 16) against real servers: chunks fetched in parallel and verified as
 * they land, from several sources — a second Cairn server, a plain HTTP mirror that lies about
 * one chunk, a local directory — incremental against a base image, resumed by chunk, and an
 * incremental catch-up that reuses the image the previous one restored.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/api/index.ts';
import { chunkListOfBytes, chunkSpans, openImage, parseRegistry, registryToDocument, verifyImage, type Digest } from '../../../src/archive/index.ts';
import { generateMasterKeyEntry } from '../../../src/archive/crypto/keyring.ts';
import { catchUp, parseSourceSpec, pullImage, pushImage } from '../../../src/client/index.ts';
import { imageBytes, testRegistry } from '../../support/archive-fixtures.ts';
import { collectBytes } from '../../support/fixtures.ts';
import { startTestServer } from '../../support/server.ts';

let dir: string;
let a: RunningServer;
let b: RunningServer;
let mirror: Server;
let mirrorUrl: string;
/** Files the mirror serves, by path; `lie` corrupts the byte at that offset, `lieFrom` one byte of every answer from that offset on; `stallFrom` never answers from that offset on. */
const mirrored = new Map<string, { bytes: Uint8Array; lie?: number; lieFrom?: number; stallFrom?: number }>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-chunked-'));
  for (const d of ['a', 'b']) await mkdir(join(dir, d));
  a = await startTestServer({ dataDir: join(dir, 'a'), masterKey: generateMasterKeyEntry('a') });
  b = await startTestServer({ dataDir: join(dir, 'b'), masterKey: generateMasterKeyEntry('b') });
  // A plain HTTP mirror answering byte ranges (what a CDN does), able to lie.
  mirror = createServer((req, res) => {
    const file = mirrored.get(req.url ?? '');
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!file || !range) return res.writeHead(file ? 200 : 404).end(file ? Buffer.from(file.bytes) : undefined);
    const start = Number(range[1]);
    if (file.stallFrom !== undefined && start >= file.stallFrom) return; // holds the request open
    const end = Math.min(Number(range[2]), file.bytes.length - 1);
    const body = Buffer.from(file.bytes.subarray(start, end + 1));
    if (file.lie !== undefined && file.lie >= start && file.lie <= end) body[file.lie - start]! ^= 0xff;
    if (file.lieFrom !== undefined && start >= file.lieFrom) body[body.length >> 1]! ^= 0xff;
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${file.bytes.length}`, 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
  mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await new Promise((resolve) => mirror?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** A final v2 image of `content` at `height` (alice produces, bob and carol attest). */
async function pushFinal(content: Uint8Array, height: number, servers: RunningServer[] = [a]): Promise<{ digest: Digest; file: string; bytes: Uint8Array }> {
  const { header, bytes } = imageBytes(content, { height, attesters: ['bob', 'carol'] });
  const file = join(dir, `image-${height}.cimg`);
  await writeFile(file, bytes);
  for (const server of servers) await pushImage({ base: server.url }, file);
  return { digest: header.digest, file, bytes };
}

/** Bytes of the chunks of `after` whose ids `before` also has: what a pull with `before` as base reuses. */
function sharedChunkBytes(before: Uint8Array, after: Uint8Array): number {
  const ids = new Set(chunkSpans(chunkListOfBytes(before).list).map((c) => Buffer.from(c.id).toString('hex')));
  return chunkSpans(chunkListOfBytes(after).list)
    .filter((c) => ids.has(Buffer.from(c.id).toString('hex')))
    .reduce((sum, c) => sum + c.length, 0);
}

async function contentOf(file: string): Promise<Buffer> {
  const opened = await openImage(Readable.from([await readFile(file)]));
  return collectBytes(opened.content);
}

const trust = { keys: [], registry: testRegistry() };

describe('format-v2 pulls', () => {
  it('fetch chunks from three sources, drop the one that lies (named), and verify the whole file', async () => {
    // 40 MiB: five or more requests of up to 8 MiB, six in flight, so every source is asked.
    const content = randomBytes(40 * 1024 * 1024);
    const { digest, file, bytes } = await pushFinal(content, 1000, [a, b]);
    const spans = chunkSpans(chunkListOfBytes(content).list);
    expect(spans.length).toBeGreaterThan(2);
    // The mirror serves the same image file, but corrupts a byte of every piece of content it sends.
    const prefixLength = bytes.length - content.length;
    mirrored.set('/mirror/image.cimg', { bytes, lieFrom: prefixLength });
    const local = join(dir, 'local');
    await mkdir(local);
    await copyFile(file, join(local, 'copy.cimg'));

    const out = join(dir, 'three.cimg');
    const result = await pullImage({ conn: { base: a.url }, digest, out, trust, sources: [parseSourceSpec(b.url), parseSourceSpec(`${mirrorUrl}/mirror/image.cimg`), parseSourceSpec(local)] });
    expect(result.chunked?.chunks.total).toBe(spans.length);
    // The liar's request covered several chunks: those it did not corrupt verified and were kept.
    const liar = result.chunked?.sources.find((s) => s.source.includes('/mirror/'));
    expect(liar?.dropped).toMatch(/^sent chunk \d+ .*does not match the signed chunk list$/);
    expect(result.chunked?.sources.filter((s) => s.dropped && !s.source.includes('/mirror/'))).toEqual([]);
    // The honest ones shared the work.
    expect(result.chunked?.sources.filter((s) => s !== liar && s.chunks > 0).length).toBe(3);
    expect(result.chunked?.bytesDownloaded).toBe(content.length);
    expect(result.report?.quorum?.final).toBe(true);
    expect((await contentOf(out)).equals(content)).toBe(true);
    await expect(verifyImage(Readable.from([await readFile(out)]), trust)).resolves.toBeDefined();

    // A mirror that corrupts one byte only: the chunks it sends elsewhere are kept.
    mirrored.set('/mirror/once.cimg', { bytes, lie: prefixLength + spans[1]!.offset + 7 });
    const once = await pullImage({ conn: { base: a.url }, digest, out: join(dir, 'mirror-once.cimg'), sources: [parseSourceSpec(`${mirrorUrl}/mirror/once.cimg`)] });
    expect((await contentOf(once.out)).equals(content)).toBe(true);
    expect(await readdir(dir)).not.toContain('three.cimg.part');
  });

  it('downloads only the chunks a base image lacks (edits and an insertion in the middle)', async () => {
    const before = randomBytes(8 * 1024 * 1024);
    const after = Buffer.concat([before.subarray(0, 3 * 1024 * 1024), randomBytes(10_000), before.subarray(3 * 1024 * 1024)]);
    after[6 * 1024 * 1024]! ^= 1;
    const base = await pushFinal(before, 2000);
    const next = await pushFinal(after, 2100);
    const result = await pullImage({ conn: { base: a.url }, digest: next.digest, out: join(dir, 'incremental.cimg'), base: base.file, trust });
    // Exactly the chunks whose ids the base does not have are downloaded (content-defined
    // chunking resynchronises after each edit); the rest comes from the base.
    expect(result.chunked?.bytesDownloaded).toBe(after.length - sharedChunkBytes(before, after));
    expect(result.chunked?.bytesFromBase).toBeGreaterThan(after.length / 4);
    expect(result.chunked!.bytesDownloaded + result.chunked!.bytesFromBase).toBe(after.length);
    expect((await contentOf(result.out)).equals(after)).toBe(true);
  });

  it('streams a plain pull (one request, chunks verified on workers as they arrive)', async () => {
    const content = randomBytes(12 * 1024 * 1024);
    const { digest } = await pushFinal(content, 2500);
    const result = await pullImage({ conn: { base: a.url }, digest, out: join(dir, 'streamed.cimg'), trust });
    expect(result.chunked).toBeUndefined();
    expect((await contentOf(result.out)).equals(content)).toBe(true);
  });

  it('resumes by chunk: a partial keeps every chunk that verifies and fetches the rest', async () => {
    const content = randomBytes(5 * 1024 * 1024);
    const { digest, bytes } = await pushFinal(content, 3000);
    const out = join(dir, 'resumed.cimg');
    // A partial holding the whole file but with its first chunk damaged.
    const partial = Buffer.from(bytes);
    partial[bytes.length - content.length + 100]! ^= 1;
    await writeFile(`${out}.part`, partial);
    const result = await pullImage({ conn: { base: a.url }, digest, out });
    const total = result.chunked!.chunks.total;
    expect(result.chunked?.chunks).toEqual({ total, resumed: total - 1, fromBase: 0, downloaded: 1 });
    expect((await contentOf(out)).equals(content)).toBe(true);
  });

  it('catch-up restores the latest final image, and the next catch-up reuses it (incremental)', async () => {
    const registry = parseRegistry(registryToDocument(testRegistry()));
    const outDir = join(dir, 'node');
    const first = randomBytes(4 * 1024 * 1024);
    await pushFinal(first, 9000);
    const one = await catchUp({ conn: { base: a.url }, chain: 'devnet', localHeight: 0, trust: { keys: [], registry }, outDir });
    expect(one).toMatchObject({ action: 'restored', height: 9000 });
    expect(one.action === 'restored' && one.incremental).toBe(undefined); // nothing to reuse: streamed
    const second = Buffer.concat([first.subarray(0, 2 * 1024 * 1024), randomBytes(64), first.subarray(2 * 1024 * 1024)]);
    await pushFinal(second, 9500);
    const two = await catchUp({ conn: { base: a.url }, chain: 'devnet', localHeight: 9000, trust: { keys: [], registry }, outDir });
    expect(two).toMatchObject({ action: 'restored', height: 9500, incremental: { base: join(outDir, 'devnet-9000.cimg') } });
    if (two.action !== 'restored') throw new Error('not restored');
    expect(two.incremental!.bytesFromBase).toBe(sharedChunkBytes(first, second));
    expect(two.incremental!.bytesFromBase).toBeGreaterThan(0);
    expect((await readFile(two.restoredFile)).equals(second)).toBe(true);
  });

  it('drops a source that stalls (after three timed-out requests) and completes from the others', async () => {
    const content = randomBytes(30 * 1024 * 1024);
    const { digest, bytes } = await pushFinal(content, 7000);
    mirrored.set('/stall.cimg', { bytes, stallFrom: bytes.length - content.length });
    const result = await pullImage({ conn: { base: a.url }, digest, out: join(dir, 'stalled.cimg'), sources: [parseSourceSpec(`${mirrorUrl}/stall.cimg`)], requestTimeoutMs: 300 });
    expect(result.chunked?.sources.find((s) => s.source.endsWith('/stall.cimg'))?.dropped).toMatch(/failed 3 times in a row: .*no answer within 0.3 s/);
    expect((await contentOf(result.out)).equals(content)).toBe(true);
  }, 30_000);

  it('pulls an empty v2 image (no chunks) plainly and by chunk', async () => {
    const { header, bytes } = imageBytes(new Uint8Array(0), { height: 6000 });
    expect(header.chunkList?.length).toBe(0);
    const file = join(dir, 'empty.cimg');
    await writeFile(file, bytes);
    await pushImage({ base: a.url }, file);
    const plain = await pullImage({ conn: { base: a.url }, digest: header.digest, out: join(dir, 'empty-plain.cimg') });
    const chunked = await pullImage({ conn: { base: a.url }, digest: header.digest, out: join(dir, 'empty-chunked.cimg'), base: file });
    expect(chunked.chunked?.chunks).toEqual({ total: 0, resumed: 0, fromBase: 0, downloaded: 0 });
    for (const out of [plain.out, chunked.out]) expect((await readFile(out)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('refuses --source and --base for a v1 image', async () => {
    const { header, bytes } = imageBytes(randomBytes(1000), { height: 4000, format: 1 });
    const file = join(dir, 'v1.cimg');
    await writeFile(file, bytes);
    await pushImage({ base: a.url }, file);
    await expect(pullImage({ conn: { base: a.url }, digest: header.digest, out: join(dir, 'v1-out.cimg'), base: file })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await pullImage({ conn: { base: a.url }, digest: header.digest, out: join(dir, 'v1-out.cimg') });
    expect((await contentOf(join(dir, 'v1-out.cimg'))).length).toBe(1000);
  });

  it('fails with the sources named when none can serve, keeping the partial for a resume', async () => {
    const content = randomBytes(2 * 1024 * 1024);
    const { digest } = await pushFinal(content, 5000);
    const out = join(dir, 'nosource.cimg');
    // The only extra source lies about everything; the primary is fine, so the pull succeeds…
    mirrored.set('/bad.cimg', { bytes: new Uint8Array(10) });
    const ok = await pullImage({ conn: { base: a.url }, digest, out, sources: [parseSourceSpec(`${mirrorUrl}/bad.cimg`)] });
    expect(ok.chunked?.sources.find((s) => s.source.endsWith('/bad.cimg'))?.dropped).toMatch(/cannot serve this image/);
  });
});

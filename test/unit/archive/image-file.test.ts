import { createReadStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  CONTENT_TYPE_OCTET_STREAM,
  chunkListOfBytes,
  createImageFile,
  digestOf,
  openImage,
  readImageHeader,
  signAttestation,
  orderAttestations,
  encodeImagePrefix,
  verifyImage,
  type Trust,
} from '../../../src/archive/index.ts';
import { chunked, collectBytes, smallImage, tempDir, testKey } from '../../support/fixtures.ts';

const trust = (): Trust => ({ keys: [testKey().publicKey] });

describe('image files', () => {
  it('creates a file from a path in one pass and reads it back chunk by chunk', async () => {
    const dir = await tempDir();
    const content = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
    await writeFile(join(dir, 'content.bin'), content);
    const header = await createImageFile({ chain: 'devnet', height: 42, validator: 'alice', key: testKey(), content: { path: join(dir, 'content.bin') }, out: join(dir, 'img.cimg'), format: 1 });
    expect(header.digest).toBe(digestOf(content));
    expect(header.size).toBe(content.length);
    expect(header.contentType).toBe(CONTENT_TYPE_OCTET_STREAM);
    const opened = await openImage(createReadStream(join(dir, 'img.cimg'), { highWaterMark: 4096 }));
    expect(opened.version).toBe(1);
    expect(opened.header).toEqual(header);
    expect((await collectBytes(opened.content)).equals(Buffer.from(content))).toBe(true);
    expect(await readdir(dir)).toEqual(['content.bin', 'img.cimg']);
  });

  it('creates a format-v2 file (the default) whose chunk list hashes to its digest, and reads it back verified chunk by chunk', async () => {
    const dir = await tempDir();
    // 12 MiB: several content-defined chunks, hashed on worker threads (8 MiB and up).
    const content = new Uint8Array(12 * 1024 * 1024).map((_, i) => ((i * 2654435761) >>> 13) & 0xff);
    await writeFile(join(dir, 'content.bin'), content);
    const header = await createImageFile({ chain: 'devnet', height: 42, validator: 'alice', key: testKey(), content: { path: join(dir, 'content.bin') }, out: join(dir, 'img.cimg') });
    const expected = chunkListOfBytes(content);
    expect(header.digest).toBe(expected.digest);
    expect(header.digest.startsWith('sha3-256-chunks:')).toBe(true);
    expect(Buffer.from(header.chunkList!).equals(Buffer.from(expected.list))).toBe(true);
    const opened = await openImage(createReadStream(join(dir, 'img.cimg'), { highWaterMark: 65_536 }));
    expect(opened.version).toBe(2);
    expect({ ...opened.header, chunkList: await opened.chunkList() }).toEqual(header);
    expect((await collectBytes(opened.content)).equals(Buffer.from(content))).toBe(true);
    expect(await verifyImage(createReadStream(join(dir, 'img.cimg')), trust())).toMatchObject({ attestations: [{ validator: 'alice', status: 'valid' }] });
    // One changed byte in the content fails the chunk it lies in, and names it.
    const bytes = await readFile(join(dir, 'img.cimg'));
    bytes[bytes.length - 5]! ^= 1;
    await expect(verifyImage(Readable.from([bytes]), trust())).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', details: { chunk: expected.list.length / 36 - 1 } });
    // One changed byte in the list fails before any content, against the signed digest.
    const list = await readFile(join(dir, 'img.cimg'));
    list[opened.contentOffset - 1]! ^= 1;
    await expect(verifyImage(Readable.from([list]), trust())).rejects.toThrow(/chunk list does not match the signed digest/);
  });

  it('creates the same bytes from a stream of unknown length (spooled) as from a file', async () => {
    const dir = await tempDir();
    const content = new TextEncoder().encode('x'.repeat(100_000));
    const common = { chain: 'devnet', height: 7, validator: 'alice', key: testKey(), createdAt: 1_000 };
    await createImageFile({ ...common, content: { stream: chunked(content, 999) }, out: join(dir, 'a.cimg') });
    await createImageFile({ ...common, content: { stream: chunked(content, 999) }, out: join(dir, 'b.cimg'), format: 1 });
    const a = await readImageHeader(createReadStream(join(dir, 'a.cimg')));
    expect(a.header.digest).toBe(chunkListOfBytes(content).digest);
    expect((await readImageHeader(createReadStream(join(dir, 'b.cimg')))).header.digest).toBe(digestOf(content));
    expect(a.header.size).toBe(content.length);
    expect((await readdir(dir)).sort()).toEqual(['a.cimg', 'b.cimg']);
  });

  it('leaves nothing at --out when the content stream fails midway', async () => {
    const dir = await tempDir();
    const failing = Readable.from(
      (async function* () {
        yield new Uint8Array(1000);
        await Promise.resolve();
        throw new Error('client went away');
      })(),
    );
    await expect(createImageFile({ chain: 'devnet', height: 1, validator: 'alice', key: testKey(), content: { stream: failing, size: 5000 }, out: join(dir, 'x.cimg') })).rejects.toThrow('client went away');
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects content shorter than the declared size with SIZE_MISMATCH and writes nothing', async () => {
    const dir = await tempDir();
    await expect(createImageFile({ chain: 'devnet', height: 1, validator: 'alice', key: testKey(), content: { stream: [new Uint8Array(10)], size: 11 }, out: join(dir, 'x.cimg') })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses to overwrite an existing output unless asked', async () => {
    const dir = await tempDir();
    const out = join(dir, 'x.cimg');
    await writeFile(out, 'precious');
    await expect(createImageFile({ chain: 'devnet', height: 1, validator: 'alice', key: testKey(), content: { stream: [new Uint8Array(1)], size: 1 }, out })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await readFile(out, 'utf8')).toBe('precious');
    expect(await readdir(dir)).toEqual(['x.cimg']);
  });

  it.each([
    ['chain', { chain: 'Dev Net' }],
    ['height', { height: -1 }],
    ['validator', { validator: '../alice' }],
    ['content type', { contentType: 'not a type' }],
  ])('rejects an invalid %s with INVALID_ARGUMENT', async (_name, override) => {
    const dir = await tempDir();
    await expect(createImageFile({ chain: 'devnet', height: 1, validator: 'alice', key: testKey(), content: { stream: [new Uint8Array(1)], size: 1 }, out: join(dir, 'x.cimg'), ...override })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('holds back the last chunk until the digest is checked', async () => {
    const { bytes } = smallImage(new Uint8Array(64).fill(1));
    const corrupted = new Uint8Array(bytes);
    corrupted[corrupted.length - 1] = corrupted[corrupted.length - 1]! ^ 0xff;
    const opened = await openImage(chunked(corrupted, 16));
    const seen: Uint8Array[] = [];
    await expect(
      (async () => {
        for await (const chunk of opened.content) seen.push(chunk as Uint8Array);
      })(),
    ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    const delivered = seen.reduce((n, c) => n + c.length, 0);
    expect(delivered).toBeLessThan(64);
  });

  it('closes the source when the content stream is destroyed early', async () => {
    let closed = false;
    const { bytes } = smallImage(new Uint8Array(10_000));
    const source = chunked(bytes, 100);
    source.on('close', () => (closed = true));
    const opened = await openImage(source);
    opened.content.destroy();
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(true);
  });

  it('verifies attestations of several validators and reports the quorum from a registry', async () => {
    const alice = testKey('ml-dsa-44', 'alice');
    const bob = testKey('ml-dsa-65', 'bob');
    const carol = testKey('slh-dsa-sha2-128f', 'carol');
    const { header } = smallImage(new Uint8Array(5), { key: alice });
    const extra = [bob, carol].map((key, i) => {
      const a = signAttestation({ chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, validator: ['bob', 'carol'][i]!, signedAt: header.createdAt + 1 }, key);
      return { validator: a.validator, signedAt: a.signedAt, algorithm: a.algorithm, signature: a.signature };
    });
    const full = { ...header, attestations: orderAttestations(header.attestations[0]!, extra) };
    const file = Buffer.concat([encodeImagePrefix(full), new Uint8Array(5)]);
    const { parseRegistry, formatPublicKey } = await import('../../../src/archive/index.ts');
    const registry = parseRegistry({
      chains: {
        devnet: {
          validators: [
            { id: 'alice', weight: 1, keys: [formatPublicKey(alice.publicKey)] },
            { id: 'bob', weight: 1, keys: [formatPublicKey(bob.publicKey)] },
            { id: 'carol', weight: 1, keys: [formatPublicKey(carol.publicKey)] },
            { id: 'dave', weight: 3, keys: [formatPublicKey(testKey('ml-dsa-44', 'dave').publicKey)] },
          ],
        },
      },
    });
    const report = await verifyImage(Readable.from([file]), { registry, keys: [] });
    expect(report.quorum).toEqual({ attestedWeight: 3, totalWeight: 6, final: false });
    const withoutDave = parseRegistry({ chains: { devnet: { validators: [{ id: 'alice', weight: 1, keys: [formatPublicKey(alice.publicKey)] }, { id: 'bob', weight: 1, keys: [formatPublicKey(bob.publicKey)] }, { id: 'carol', weight: 1, keys: [formatPublicKey(carol.publicKey)] }] } } });
    expect((await verifyImage(Readable.from([file]), { registry: withoutDave, keys: [] })).quorum?.final).toBe(true);
    // A registered validator whose signature does not verify under its registered key is an error.
    const swapped = parseRegistry({ chains: { devnet: { validators: [{ id: 'alice', weight: 1, keys: [formatPublicKey(alice.publicKey)] }, { id: 'bob', weight: 1, keys: [formatPublicKey(carol.publicKey)] }] } } });
    await expect(verifyImage(Readable.from([file]), { registry: swapped, keys: [] })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('verifies with a bare trusted key and refuses an untrusted producer', async () => {
    const { bytes } = smallImage();
    await expect(verifyImage(Readable.from([bytes]), trust())).resolves.toMatchObject({ attestations: [{ status: 'valid' }] });
    await expect(verifyImage(Readable.from([bytes]), { keys: [testKey('ml-dsa-44', 'mallory').publicKey] })).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
  });
});

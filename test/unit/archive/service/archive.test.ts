import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../../src/archive/store/drivers/memory-driver.ts';
import { cleanupOrphans, rotateDataKeys } from '../../../../src/archive/service/maintenance.ts';
import { encodeImageRecord, type ImageRecord } from '../../../../src/archive/service/image-record.ts';
import { generateMasterKeyEntry, parseKeyring } from '../../../../src/archive/crypto/keyring.ts';
import { encodeImagePrefix, signAttestation } from '../../../../src/archive/index.ts';
import { silentLogger } from '../../../../src/logger.ts';
import { allKeys, bodyOf, imageBytes, imageCount, testArchive, testKeyring, validatorKey } from '../../../support/archive-fixtures.ts';
import { reindex, type Digest } from '../../../../src/archive/index.ts';
import { openMetadata } from '../../../../src/metadata/index.ts';
import { collectBytes } from '../../../support/fixtures.ts';
import type { BlobStore } from '../../../../src/archive/store/blob-store.ts';
import { digestKeyPart } from '../../../../src/archive/index.ts';

describe('archive service (memory store)', () => {
  it('archives a pushed image, serves its content and ranges, and rebuilds the same index from the store', async () => {
    const store = createMemoryStore();
    const keyring = testKeyring();
    const archive = await testArchive(store, { keyring, now: () => 1_800_000_000_000 });
    const content = randomBytes(300_000);
    const { header, bytes } = imageBytes(content);
    const result = await archive.push(bodyOf(bytes), bytes.length);
    expect(result.created).toBe(true);
    expect(result.image.record).toMatchObject({ chain: 'devnet', height: 1000, digest: header.digest, size: content.length, storedAt: 1_800_000_000_000 });
    const whole = await archive.read.content(await archive.read.image(header.digest));
    expect((await collectBytes(whole.body)).equals(content)).toBe(true);
    const part = await archive.read.content(await archive.read.image(header.digest), 65_000, 140_000);
    expect((await collectBytes(part.body)).equals(content.subarray(65_000, 140_001))).toBe(true);

    // A new database beside the same bucket: reindexing rebuilds the same image.
    const reopened = await testArchive(store, { keyring });
    expect(await reindex(reopened, { logger: silentLogger })).toMatchObject({ adopted: 1, present: 0 });
    expect(Buffer.from(encodeImageRecord((await reopened.read.image(header.digest)).record))).toEqual(Buffer.from(encodeImageRecord(result.image.record)));
    expect((await reopened.read.list('devnet', { limit: 10 })).images.map((e) => e.record.digest)).toEqual([header.digest]);
  });

  it('stores no plaintext: the content never appears in any stored object', async () => {
    const store = createMemoryStore();
    const archive = await testArchive(store);
    const marker = Buffer.from('CAIRN-MARKER-'.repeat(1000));
    await archive.push(bodyOf(imageBytes(marker).bytes));
    for (const key of await allKeys(store)) {
      const bytes = await collectBytes((await store.get(key)).body);
      expect(bytes.includes(Buffer.from('CAIRN-MARKER-CAIRN')), key).toBe(false);
    }
  });

  it('deduplicates the same content and adds attestations from another validator', async () => {
    const store = createMemoryStore();
    const archive = await testArchive(store);
    const content = randomBytes(1000);
    const first = imageBytes(content, { producer: 'alice' });
    await archive.push(bodyOf(first.bytes));
    const keysBefore = await allKeys(store);
    const again = await archive.push(bodyOf(first.bytes));
    expect(again).toMatchObject({ created: false, addedAttestations: [] });
    expect(await allKeys(store)).toEqual(keysBefore);
    const fromBob = imageBytes(content, { producer: 'bob', createdAt: 1_767_225_700_000 });
    const bobPush = await archive.push(bodyOf(fromBob.bytes));
    expect(bobPush).toMatchObject({ created: false, addedAttestations: ['bob'] });
    const image = await archive.read.image(first.header.digest);
    expect((await archive.read.header(image)).attestations.map((a) => a.validator)).toEqual(['alice', 'bob']);
    expect(archive.read.quorum('devnet', (await archive.read.attesters([image])).get(image.record.digest) ?? [])).toEqual({ attestedWeight: 2, totalWeight: 3, final: false });
  });

  it('refuses unknown chains, unknown validators and bad signatures before reading content', async () => {
    const store = createMemoryStore();
    const archive = await testArchive(store);
    const contentTrap = (bytes: Uint8Array, contentOffset: number): Readable =>
      Readable.from(
        (async function* () {
          yield bytes.subarray(0, contentOffset);
          await Promise.resolve();
          throw new Error('content was read');
        })(),
      );
    const offsetOf = (bytes: Uint8Array): number => 14 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(10);
    const unknownChain = imageBytes(randomBytes(10), { chain: 'mainnet' }).bytes;
    await expect(archive.push(contentTrap(unknownChain, offsetOf(unknownChain)))).rejects.toMatchObject({ code: 'UNKNOWN_CHAIN' });
    const unknownValidator = imageBytes(randomBytes(10), { producer: 'mallory' }).bytes;
    await expect(archive.push(contentTrap(unknownValidator, offsetOf(unknownValidator)))).rejects.toMatchObject({ code: 'UNKNOWN_VALIDATOR' });
    const genuine = imageBytes(randomBytes(10));
    const signature = Uint8Array.from(genuine.header.attestations[0]!.signature);
    signature[0] = signature[0]! ^ 1;
    const forgedHeader = { ...genuine.header, attestations: [{ ...genuine.header.attestations[0]!, signature }] };
    const forged = Buffer.concat([encodeImagePrefix(forgedHeader), genuine.bytes.subarray(offsetOf(genuine.bytes))]);
    await expect(archive.push(contentTrap(forged, offsetOf(forged)))).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect(await allKeys(store)).toEqual(['registry/registry.json']);
  });

  it('leaves nothing behind for digest mismatches, truncated and overlong bodies, and wrong Content-Length', async () => {
    const store = createMemoryStore();
    const archive = await testArchive(store);
    const { bytes } = imageBytes(randomBytes(200_000));
    const corrupted = Buffer.from(bytes);
    corrupted[corrupted.length - 10] = corrupted[corrupted.length - 10]! ^ 1;
    await expect(archive.push(bodyOf(corrupted))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(archive.push(bodyOf(bytes.subarray(0, bytes.length - 1)))).rejects.toMatchObject({ code: 'IMAGE_TRUNCATED' });
    await expect(archive.push(bodyOf(Buffer.concat([bytes, Buffer.from([0])])))).rejects.toMatchObject({ code: 'IMAGE_TRAILING_BYTES' });
    await expect(archive.push(bodyOf(bytes), bytes.length + 5)).rejects.toMatchObject({ code: 'BODY_SIZE_MISMATCH' });
    expect(await allKeys(store)).toEqual(['registry/registry.json']);
    expect(await imageCount(archive)).toBe(0);
  });

  it('refuses the same digest under another height', async () => {
    const archive = await testArchive(createMemoryStore());
    const content = randomBytes(100);
    await archive.push(bodyOf(imageBytes(content, { height: 1000 }).bytes));
    await expect(archive.push(bodyOf(imageBytes(content, { height: 1001 }).bytes))).rejects.toMatchObject({ code: 'DIGEST_CONFLICT' });
  });

  /** One push won, the other is a DIGEST_CONFLICT, and the loser left no record or blob behind. */
  const expectOneWinner = async (results: PromiseSettledResult<unknown>[], store: BlobStore): Promise<void> => {
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'DIGEST_CONFLICT' });
    const keys = await allKeys(store);
    expect(keys.filter((k) => k.startsWith('images/'))).toHaveLength(1);
    expect(keys.filter((k) => k.startsWith('blobs/'))).toHaveLength(1);
  };

  it('refuses it too when both pushes upload at once (no lock spans the upload): one record, no stray blob', async () => {
    const store = createMemoryStore();
    const archive = await testArchive(store);
    const content = randomBytes(300_000);
    const results = await Promise.allSettled([1000, 1001].map((height) => archive.push(bodyOf(imageBytes(content, { height }).bytes, 4096))));
    await expectOneWinner(results, store);
  });

  it('and when the two pushes come through two processes on one bucket and database', async () => {
    for (let round = 0; round < 5; round++) {
      const store = createMemoryStore();
      const keyring = testKeyring();
      const metadata = await openMetadata('sqlite::memory:');
      const [a, b] = [await testArchive(store, { keyring, metadata }), await testArchive(store, { keyring, metadata })];
      const content = randomBytes(200_000);
      const results = await Promise.allSettled([a.push(bodyOf(imageBytes(content, { height: 1000 }).bytes, 4096)), b.push(bodyOf(imageBytes(content, { height: 1001 }).bytes, 4096))]);
      await expectOneWinner(results, store);
    }
  });

  it('two pushes of one new image at once: both succeed, one creates it, one blob is kept', async () => {
    const store = createMemoryStore();
    const archive = await testArchive(store);
    const { bytes } = imageBytes(randomBytes(300_000), { height: 5 });
    const results = await Promise.all([archive.push(bodyOf(bytes, 4096)), archive.push(bodyOf(bytes, 4096))]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect((await allKeys(store)).filter((k) => k.startsWith('blobs/'))).toHaveLength(1);
  });

  it('accepts standalone attestations idempotently and refuses ones that do not match', async () => {
    const archive = await testArchive(createMemoryStore());
    const { header, bytes } = imageBytes(randomBytes(100));
    await archive.push(bodyOf(bytes));
    const statement = { chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, validator: 'carol', signedAt: 5 };
    const good = signAttestation(statement, validatorKey('carol'));
    expect((await archive.attest(good)).added).toBe(true);
    expect((await archive.attest(good)).added).toBe(false);
    await expect(archive.attest(signAttestation({ ...statement, height: 999 }, validatorKey('carol')))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(archive.attest(signAttestation({ ...statement, validator: 'bob' }, validatorKey('carol')))).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect((await archive.read.attesters([await archive.read.image(header.digest)])).get(header.digest)).toEqual(['alice', 'carol']);
  });

  it('cleans up blobs and attestations that no record references, after the grace period', async () => {
    const store = createMemoryStore();
    const archive = await testArchive(store);
    const { header, bytes } = imageBytes(randomBytes(100));
    await archive.push(bodyOf(bytes));
    await store.put(`blobs/${'a'.repeat(64)}/${'0'.repeat(24)}`, Uint8Array.of(1));
    await store.put(`attestations/${'b'.repeat(64)}/616c696365.cbor`, Uint8Array.of(1));
    const lookup = async (digest: Digest): Promise<ImageRecord | undefined> => (await archive.read.find(digest))?.record;
    expect(await cleanupOrphans(store, lookup, { graceMs: 60_000, now: Date.now(), logger: silentLogger })).toEqual({ abortedUploads: 0, orphanBlobs: 0, orphanAttestations: 0 });
    expect(await cleanupOrphans(store, lookup, { graceMs: 0, now: Date.now() + 1, logger: silentLogger })).toEqual({ abortedUploads: 0, orphanBlobs: 1, orphanAttestations: 1 });
    expect((await allKeys(store)).filter((k) => !k.includes(digestKeyPart(header.digest)))).toEqual(['registry/registry.json']);
  });

  it('rotates data keys without re-encrypting content; old keys keep decrypting until then', async () => {
    const store = createMemoryStore();
    const oldEntry = generateMasterKeyEntry('old');
    const archive = await testArchive(store, { keyring: parseKeyring([oldEntry]) });
    const content = randomBytes(5000);
    const { header, bytes } = imageBytes(content);
    await archive.push(bodyOf(bytes));
    const blobKey = (await archive.read.image(header.digest)).record.blob.key;
    const blobBefore = await collectBytes((await store.get(blobKey)).body);

    const both = parseKeyring([generateMasterKeyEntry('new'), oldEntry]);
    const reopened = await testArchive(store, { keyring: both, metadata: archive.metadata });
    expect((await collectBytes((await reopened.read.content(await reopened.read.image(header.digest))).body)).equals(content)).toBe(true);
    expect(await rotateDataKeys(reopened, both, silentLogger)).toEqual({ rewrapped: 1, alreadyCurrent: 0 });
    expect((await collectBytes((await store.get(blobKey)).body)).equals(blobBefore)).toBe(true);

    const onlyNew = parseKeyring([both.ids[0] === 'new' ? `new:${both.key('new').toString('base64')}` : '']);
    // Both the database row and (for a rebuilt database) the bucket's record carry the new wrapping.
    for (const afterRotation of [await testArchive(store, { keyring: onlyNew, metadata: archive.metadata }), await testArchive(store, { keyring: onlyNew })]) {
      if ((await imageCount(afterRotation)) === 0) await reindex(afterRotation, { logger: silentLogger });
      expect((await afterRotation.read.image(header.digest)).record.blob.keyId).toBe('new');
      expect((await collectBytes((await afterRotation.read.content(await afterRotation.read.image(header.digest))).body)).equals(content)).toBe(true);
    }
  });
});

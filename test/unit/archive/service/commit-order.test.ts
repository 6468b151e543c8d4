/**
 * The commit order (STORAGE.md), proven by crashing at each step: blob → record (the commit
 * point) → row → attestations → finality, and for deletion row → record → the rest → blob. Each
 * "crash" makes one step fail for good; what is left must never be a listed image without its
 * blob, and reconciliation (reindex with a grace period) or the orphan cleanup must converge.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { reindex, signAttestation, type Archive } from '../../../../src/archive/index.ts';
import { cleanupOrphans, finishDeletions } from '../../../../src/archive/service/maintenance.ts';
import type { BlobStore } from '../../../../src/archive/store/blob-store.ts';
import { createMemoryStore } from '../../../../src/archive/store/drivers/memory-driver.ts';
import { silentLogger } from '../../../../src/logger.ts';
import { openMetadata, type MetadataStore } from '../../../../src/metadata/index.ts';
import { allKeys, bodyOf, imageBytes, imageCount, testArchive, testKeyring, validatorKey } from '../../../support/archive-fixtures.ts';
import { collectBytes } from '../../../support/fixtures.ts';
import { digestKeyPart } from '../../../../src/archive/index.ts';

const crash = (): never => {
  throw new Error('process killed here');
};

/** A store whose operations on keys matching `when` fail. */
function failing(store: BlobStore, when: { op: 'createIfAbsent' | 'delete' | 'put'; prefix: string }[]): BlobStore {
  const hit = (op: string, key: string): boolean => when.some((w) => w.op === op && key.startsWith(w.prefix));
  return {
    ...store,
    createIfAbsent: (key, body) => (hit('createIfAbsent', key) ? Promise.reject(new Error('killed')) : store.createIfAbsent(key, body)),
    delete: (key) => (hit('delete', key) ? Promise.reject(new Error('killed')) : store.delete(key)),
    put: (key, body, options) => (hit('put', key) ? Promise.reject(new Error('killed')) : store.put(key, body, options)),
  };
}

/** A database whose `method` fails. */
function failingDb(metadata: MetadataStore, method: keyof MetadataStore): MetadataStore {
  return { ...metadata, [method]: () => Promise.resolve().then(crash) };
}

/** One master key for every archive a test opens on its bucket. */
const keyring = testKeyring();

/** Finishes interrupted deletions and adopts unindexed records, as serve's housekeeping does (cleanup asserted separately). */
async function reconcile(archive: Archive): Promise<void> {
  await finishDeletions(archive, { graceMs: 0, now: Date.now() + 1, logger: silentLogger });
  await reindex(archive, { logger: silentLogger, graceMs: 0, now: Date.now() + 1 });
}

describe('commit order, crashing at each step', () => {
  it('before the record (blob written): nothing is listed, and the cleanup removes the blob', async () => {
    const store = createMemoryStore();
    const broken = await testArchive(failing(store, [{ op: 'createIfAbsent', prefix: 'images/' }, { op: 'delete', prefix: 'blobs/' }]));
    const { bytes } = imageBytes(randomBytes(5000));
    await expect(broken.push(bodyOf(bytes))).rejects.toThrow();
    expect(await imageCount(broken)).toBe(0);
    expect((await allKeys(store)).filter((k) => k.startsWith('blobs/'))).toHaveLength(1);
    const report = await cleanupOrphans(store, async (digest) => (await broken.read.find(digest))?.record, { graceMs: 0, now: Date.now() + 1, logger: silentLogger });
    expect(report.orphanBlobs).toBe(1);
    expect((await allKeys(store)).filter((k) => k.startsWith('blobs/'))).toEqual([]);
  });

  it('after the record, before the row: reconciliation adopts the image, content and all', async () => {
    const store = createMemoryStore();
    const metadata = await openMetadata('sqlite::memory:');
    const broken = await testArchive(store, { metadata: failingDb(metadata, 'insertImage'), keyring });
    const content = randomBytes(5000);
    const { header, bytes } = imageBytes(content, { attesters: ['bob', 'carol'] });
    await expect(broken.push(bodyOf(bytes))).rejects.toThrow('process killed here');
    const archive = await testArchive(store, { metadata, keyring });
    expect(await archive.read.find(header.digest)).toBeUndefined();
    await reconcile(archive);
    const adopted = await archive.read.image(header.digest);
    expect((await collectBytes((await archive.read.content(adopted)).body)).equals(content)).toBe(true);
    // The other attestations never reached the bucket (the push died first): a re-push adds them.
    expect((await archive.push(bodyOf(bytes))).addedAttestations).toEqual(['bob', 'carol']);
    expect((await archive.read.image(header.digest)).finalizedAt).toBeDefined();
  });

  it('after the row, before an attestation: the image is listed; the attestation, kept in the bucket, is recorded when sent again', async () => {
    const store = createMemoryStore();
    const metadata = await openMetadata('sqlite::memory:');
    const { header, bytes } = imageBytes(randomBytes(1000));
    const archive = await testArchive(store, { metadata, keyring });
    await archive.push(bodyOf(bytes));
    const broken = await testArchive(store, { metadata: failingDb(metadata, 'addAttestation') });
    const statement = { chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, validator: 'bob', signedAt: 5 };
    const attestation = signAttestation(statement, validatorKey('bob'));
    await expect(broken.attest(attestation)).rejects.toThrow('process killed here');
    expect((await allKeys(store)).some((k) => k.startsWith('attestations/'))).toBe(true);
    expect((await archive.attest(attestation)).added).toBe(true);
    expect((await archive.read.attesters([await archive.read.image(header.digest)])).get(header.digest)).toEqual(['alice', 'bob']);
  });

  it('after a finality proof, before its row: the proof is in the bucket, and reindexing restores it', async () => {
    const store = createMemoryStore();
    const metadata = await openMetadata('sqlite::memory:');
    const broken = await testArchive(store, { metadata: failingDb(metadata, 'markFinal') });
    const { header, bytes } = imageBytes(randomBytes(1000), { attesters: ['bob', 'carol'] });
    await expect(broken.push(bodyOf(bytes))).rejects.toThrow('process killed here');
    expect((await allKeys(store)).some((k) => k.startsWith('finality/'))).toBe(true);
    const rebuilt = await testArchive(store);
    await reconcile(rebuilt);
    expect((await rebuilt.read.image(header.digest)).finalizedAt).toBeDefined();
  });

  it('deleting, after the row and before the record: unlisted at once, never indexed again by a push or a reconciliation, and reconciliation finishes the deletion', async () => {
    const store = createMemoryStore();
    const metadata = await openMetadata('sqlite::memory:');
    const content = randomBytes(3000);
    const { header, bytes } = imageBytes(content, { attesters: ['bob'] });
    await (await testArchive(store, { metadata, keyring })).push(bodyOf(bytes));
    const broken = await testArchive(failing(store, [{ op: 'delete', prefix: 'images/' }]), { metadata, keyring });
    await expect(broken.deleteImage(header.digest)).rejects.toThrow();
    const archive = await testArchive(store, { metadata, keyring });
    expect(await archive.read.find(header.digest)).toBeUndefined();
    // A push of the same image while the deletion stands finds the record still there: it is
    // refused (retry later), not listed with a record and blob about to go.
    await expect(archive.push(bodyOf(bytes))).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    await reindex(archive, { logger: silentLogger, graceMs: 0, now: Date.now() + 1 });
    expect(await archive.read.find(header.digest)).toBeUndefined();
    await reconcile(archive);
    expect(await metadata.deletion(header.digest)).toBeUndefined();
    expect((await allKeys(store)).filter((k) => k.includes(digestKeyPart(header.digest)))).toEqual([]);
    // Once the deletion is finished, the same image can be archived again.
    expect((await archive.push(bodyOf(bytes))).created).toBe(true);
    expect((await collectBytes((await archive.read.content(await archive.read.image(header.digest))).body)).equals(content)).toBe(true);
  });

  it('deleting, after the record and before the blob: nothing is listed; the cleanup removes what is left', async () => {
    const store = createMemoryStore();
    const metadata = await openMetadata('sqlite::memory:');
    const { header, bytes } = imageBytes(randomBytes(3000), { attesters: ['bob'] });
    await (await testArchive(store, { metadata, keyring })).push(bodyOf(bytes));
    const broken = await testArchive(failing(store, [{ op: 'delete', prefix: 'blobs/' }]), { metadata });
    await expect(broken.deleteImage(header.digest)).rejects.toThrow();
    const archive = await testArchive(store, { metadata, keyring });
    await reconcile(archive);
    expect(await archive.read.find(header.digest)).toBeUndefined();
    await cleanupOrphans(store, async (digest) => (await archive.read.find(digest))?.record, { graceMs: 0, now: Date.now() + 1, logger: silentLogger });
    expect((await allKeys(store)).filter((k) => k.includes(digestKeyPart(header.digest)))).toEqual([]);
  });

  it('reindexing an empty database reproduces images, attestations, finality and holds', async () => {
    const store = createMemoryStore();
    const archive = await testArchive(store);
    const images = [imageBytes(randomBytes(100), { height: 1 }), imageBytes(randomBytes(100), { height: 2, attesters: ['bob', 'carol'] }), imageBytes(randomBytes(100), { height: 3, attesters: ['carol'] })];
    for (const { bytes } of images) await archive.push(bodyOf(bytes));
    await archive.hold(images[0]!.header.digest, 'keep');
    const rebuilt = await testArchive(store);
    expect(await reindex(rebuilt, { logger: silentLogger })).toMatchObject({ adopted: 3, present: 0, skipped: 0, attestations: 3 });
    for (const { header } of images) {
      const [before, after] = [await archive.read.image(header.digest), await rebuilt.read.image(header.digest)];
      expect(after).toEqual(before);
      expect((await rebuilt.read.attesters([after])).get(header.digest)).toEqual((await archive.read.attesters([before])).get(header.digest));
    }
    expect(await reindex(rebuilt, { logger: silentLogger })).toMatchObject({ adopted: 0, present: 3 });
  });
});

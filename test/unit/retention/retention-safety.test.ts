/**
 * Retention can never delete what a catching-up node needs — the reproductions of issue 13 with
 * the real archive and sweeper (memory store, SQLite): a registry change does not un-finalize
 * history; epochLength does not change by omission; a deletion re-checks its image from fresh
 * state, so a hold placed while a run is under way saves the image.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatPublicKey, reindex, signAttestation, type Archive } from '../../../src/archive/index.ts';
import { createMemoryStore } from '../../../src/archive/store/drivers/memory-driver.ts';
import { silentLogger } from '../../../src/logger.ts';
import type { MetadataStore } from '../../../src/metadata/index.ts';
import { RetentionSweeper, type RetentionPolicy } from '../../../src/retention/index.ts';
import { allImages, allKeys, bodyOf, imageBytes, testArchive, testKeyring, validatorKey } from '../../support/archive-fixtures.ts';

const DAY = 86_400_000;
const GRACE = 60_000;

async function heights(archive: Archive, chain = 'devnet'): Promise<number[]> {
  return (await allImages(archive, chain)).map((e) => e.record.height);
}

async function twoRuns(archive: Archive, chain: string, policy: RetentionPolicy, now: number): Promise<void> {
  const sweeper = new RetentionSweeper(archive, silentLogger);
  await sweeper.run(chain, { policy, graceMs: GRACE, now });
  await sweeper.run(chain, { policy, graceMs: GRACE, now: now + GRACE });
}

describe('retention safety', () => {
  it('a validator joining later does not un-finalize history: the only final image is kept', async () => {
    let now = 1_900_000_000_000;
    const archive = await testArchive(createMemoryStore(), { now: () => now });
    await archive.push(bodyOf(imageBytes(randomBytes(100), { height: 1001, attesters: ['bob', 'carol'] }).bytes));
    for (const height of [1002, 1003]) await archive.push(bodyOf(imageBytes(randomBytes(100), { height }).bytes));
    now += 7 * DAY + 1;
    // Dave joins with weight 3: under today's registry 1001's attesters hold 3 of 6.
    await archive.updateRegistry((doc) => {
      doc.chains.devnet!.validators.push({ id: 'dave', weight: 3, keys: [formatPublicKey(validatorKey('dave').publicKey).trim()] });
      return doc;
    });
    const policy: RetentionPolicy = { keepLast: 2, epochLength: 1000, maxAgeMs: 7 * DAY };
    await twoRuns(archive, 'devnet', policy, now);
    expect(await heights(archive)).toEqual([1001, 1002, 1003]);
    expect((await archive.read.latest('devnet', { final: true }))?.record.height).toBe(1001);
    // The rules still delete what they say: a superseded image below the final one goes.
    await archive.push(bodyOf(imageBytes(randomBytes(100), { height: 999 }).bytes));
    await twoRuns(archive, 'devnet', policy, now + 2 * GRACE);
    expect(await heights(archive)).toEqual([1001, 1002, 1003]);
  });

  it('epochLength never changes by omission: a registry replaced without it, or a chain emptied and refilled, keeps it', async () => {
    let now = 1_900_000_000_000;
    const archive = await testArchive(createMemoryStore(), { now: () => now });
    expect(archive.registry.chains.get('testnet')?.epochLength).toBe(100);
    for (const height of [100, 150, 200, 250, 300, 350, 400]) await archive.push(bodyOf(imageBytes(randomBytes(100), { chain: 'testnet', height }).bytes));
    // A whole document that omits testnet's epochLength.
    await archive.updateRegistry((doc) => {
      const { epochLength: _dropped, ...rest } = doc.chains.testnet!;
      doc.chains.testnet = rest;
      return doc;
    });
    expect(archive.registry.chains.get('testnet')?.epochLength).toBe(100);
    // The chain loses its last validator and gets one back.
    const validators = archive.registry.chains.get('testnet')!.validators;
    await archive.updateRegistry((doc) => {
      delete doc.chains.testnet;
      return doc;
    });
    await archive.updateRegistry((doc) => {
      doc.chains.testnet = { validators: [...validators.values()].slice(0, 1).map((v) => ({ id: v.id, weight: v.weight, keys: v.keys.map((k) => formatPublicKey(k).trim()) })) };
      return doc;
    });
    expect(archive.registry.chains.get('testnet')?.epochLength).toBe(100);
    // The same runs keep the boundary images (100, 200, 300) and still delete what the rules say.
    now += 30 * DAY;
    await twoRuns(archive, 'testnet', { keepLast: 1, epochLength: archive.registry.chains.get('testnet')!.epochLength, maxAgeMs: 7 * DAY }, now);
    expect(await heights(archive, 'testnet')).toEqual([100, 200, 300, 400]);
    // An explicit, confirmed change is the only way.
    await expect(archive.updateRegistry((doc) => ({ chains: { ...doc.chains, testnet: { ...doc.chains.testnet!, epochLength: 50 } } }))).rejects.toMatchObject({ code: 'EPOCH_CHANGE_UNCONFIRMED' });
    await archive.updateRegistry((doc) => ({ chains: { ...doc.chains, testnet: { ...doc.chains.testnet!, epochLength: 50 } } }), { confirmEpochChange: true });
    expect(archive.registry.chains.get('testnet')?.epochLength).toBe(50);
    expect((await allKeys(archive.store)).filter((k) => k.startsWith('retention/epoch-changes/testnet/'))).toHaveLength(1);
  });

  it('a deletion re-checks its image from fresh state: a hold placed during the run saves it', async () => {
    let now = 1_900_000_000_000;
    const store = createMemoryStore();
    const archive = await testArchive(store, { now: () => now });
    for (const height of [1100, 1200, 1300]) await archive.push(bodyOf(imageBytes(randomBytes(100), { height }).bytes));
    await archive.push(bodyOf(imageBytes(randomBytes(100), { height: 1400, attesters: ['bob', 'carol'] }).bytes));
    now += 30 * DAY;
    const policy: RetentionPolicy = { keepLast: 1, epochLength: 1000, maxAgeMs: 7 * DAY };
    const sweeper = new RetentionSweeper(archive, silentLogger);
    expect((await sweeper.run('devnet', { policy, graceMs: GRACE, now })).marked).toBe(3);
    // The next run plans from rows read before an admin holds 1200 (a concurrent request).
    const target = (await allImages(archive, 'devnet')).find((e) => e.record.height === 1200)!.record.digest;
    const metadata = archive.metadata;
    const racing: MetadataStore = {
      ...metadata,
      planRows: async (chain, query) => {
        const rows = await metadata.planRows(chain, query);
        await metadata.setHeld(target, now);
        return rows;
      },
    };
    const racy = await testArchive(store, { now: () => now, metadata: racing });
    const report = await new RetentionSweeper(racy, silentLogger).run('devnet', { policy, graceMs: GRACE, now: now + GRACE });
    expect(report.deleted).toBe(2);
    expect(await heights(archive)).toEqual([1200, 1400]);
  });

  it('finality ends only by an explicit revocation: recorded, announced, not undone by attestations or a reindex', async () => {
    const store = createMemoryStore();
    const keyring = testKeyring();
    const archive = await testArchive(store, { keyring });
    const events: string[] = [];
    archive.subscribe((e) => void events.push(e.type));
    const { header, bytes } = imageBytes(randomBytes(100), { height: 1001, attesters: ['bob'] });
    await archive.push(bodyOf(bytes));
    const fromCarol = signAttestation({ chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, validator: 'carol', signedAt: 5 }, validatorKey('carol'));
    await archive.attest(fromCarol);
    expect((await archive.read.latest('devnet', { final: true }))?.record.digest).toBe(header.digest);
    await archive.revokeFinality(header.digest, 'bob and carol keys were compromised');
    expect(events).toContain('image.finality-revoked');
    expect(await archive.read.latest('devnet', { final: true })).toBeUndefined();
    await expect(archive.revokeFinality(header.digest, 'again')).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    // Attestations (the quorum is still there) do not make it final again.
    await archive.attest(fromCarol);
    await archive.push(bodyOf(bytes));
    expect((await archive.read.image(header.digest)).finalizedAt).toBeUndefined();
    const rebuilt = await testArchive(store, { keyring });
    await reindex(rebuilt, { logger: silentLogger });
    expect((await rebuilt.read.image(header.digest)).finalizedAt).toBeUndefined();
    expect((await allKeys(store)).some((k) => k.startsWith('finality-revoked/'))).toBe(true);
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../src/archive/store/drivers/memory-driver.ts';
import { RetentionSweeper, type RetentionPolicy } from '../../../src/retention/index.ts';
import type { ArchiveEvent } from '../../../src/archive/index.ts';
import { silentLogger } from '../../../src/logger.ts';
import { allImages, allKeys, bodyOf, imageBytes, testArchive } from '../../support/archive-fixtures.ts';
import { digestKeyPart } from '../../../src/archive/index.ts';

const DAY = 86_400_000;
const policy: RetentionPolicy = { keepLast: 3, epochLength: 1000, maxAgeMs: 7 * DAY };
const GRACE = 10 * 60_000;

async function setup(heights: number[], options: { final?: number[] } = {}) {
  const store = createMemoryStore();
  let now = 1_900_000_000_000;
  const archive = await testArchive(store, { now: () => now });
  for (const height of heights) {
    const attesters = options.final?.includes(height) ? ['bob', 'carol'] : [];
    await archive.push(bodyOf(imageBytes(randomBytes(100), { height, attesters }).bytes));
    now += DAY / 4;
  }
  return { store, archive, sweeper: new RetentionSweeper(archive, silentLogger), clock: { get: () => now, advance: (ms: number) => (now += ms) } };
}

describe('retention sweeper (mark, grace, sweep)', () => {
  it('marks first, deletes only after the grace period, removes records before blobs, and converges', async () => {
    const { store, archive, sweeper, clock } = await setup([1000, 1100, 1200, 1300, 1400, 1500, 1600], { final: [1300] });
    const deleted: ArchiveEvent[] = [];
    archive.subscribe((e) => void (e.type === 'image.deleted' && deleted.push(e)));
    clock.advance(30 * DAY);
    const first = await sweeper.run('devnet', { policy, graceMs: GRACE, now: clock.get() });
    // 1000 epoch, 1300 latest final, 1400-1600 latest; 1100 and 1200 superseded.
    expect(first).toMatchObject({ marked: 2, deleted: 0 });
    expect(first.rules).toMatchObject({ EPOCH_BOUNDARY: 1, LATEST_FINAL: 1, LATEST: 3, SUPERSEDED: 2 });
    const early = await sweeper.run('devnet', { policy, graceMs: GRACE, now: clock.get() + GRACE - 1 });
    expect(early).toMatchObject({ marked: 0, deleted: 0 });
    const sweep = await sweeper.run('devnet', { policy, graceMs: GRACE, now: clock.advance(GRACE) });
    expect(sweep).toMatchObject({ deleted: 2, bytesFreed: 200 });
    expect((await allImages(archive, 'devnet')).map((e) => e.record.height)).toEqual([1000, 1300, 1400, 1500, 1600]);
    expect(deleted.map((e) => e.height)).toEqual([1100, 1200]);
    const again = await sweeper.run('devnet', { policy, graceMs: GRACE, now: clock.advance(1) });
    expect(again).toMatchObject({ marked: 0, deleted: 0 });
    // No blob, record, attestation or mark of a deleted image is left.
    const live = new Set((await allImages(archive, 'devnet')).map((e) => digestKeyPart(e.record.digest)));
    const leftovers = (await allKeys(store)).filter((k) => /[0-9a-f]{64}/.test(k) && ![...live].some((d) => k.includes(d)));
    expect(leftovers).toEqual([]);
    expect((await sweeper.history('devnet')).length).toBe(4);
  });

  it('keeps held images, unmarks images the plan keeps again, and changes nothing on a dry run', async () => {
    const { archive, sweeper, clock } = await setup([1100, 1200, 1300, 1400, 1500], { final: [1500] });
    clock.advance(30 * DAY);
    const held = (await allImages(archive, 'devnet'))[0]!.record.digest;
    await archive.hold(held);
    const dry = await sweeper.run('devnet', { policy, graceMs: 0, now: clock.get(), dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, marked: 1 });
    expect((await sweeper.history('devnet')).length).toBe(0);
    const marked = await sweeper.run('devnet', { policy, graceMs: GRACE, now: clock.get() });
    expect(marked.marked).toBe(1); // 1200 (1100 is held)
    const digest1200 = (await allImages(archive, 'devnet'))[1]!.record.digest;
    await archive.hold(digest1200);
    const after = await sweeper.run('devnet', { policy, graceMs: GRACE, now: clock.advance(GRACE) });
    expect(after).toMatchObject({ deleted: 0, unmarked: 1 });
    expect((await allImages(archive, 'devnet'))).toHaveLength(5);
  });

  it('refuses overlapping runs of one chain', async () => {
    const { sweeper, clock } = await setup([1000]);
    const runs = await Promise.allSettled([sweeper.run('devnet', { policy, graceMs: 0, now: clock.get() }), sweeper.run('devnet', { policy, graceMs: 0, now: clock.get() })]);
    expect(runs.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });
});

describe('an interrupted run', () => {
  it('leaves a consistent state (the image is gone or intact) and the next run plus cleanup converge', async () => {
    const { store, archive, sweeper, clock } = await setup([1100, 1200, 1300, 1400, 1500], { final: [1500] });
    clock.advance(30 * DAY);
    await sweeper.run('devnet', { policy, graceMs: 0, now: clock.get() });
    // The store fails every blob delete during the next run: records go, blobs stay.
    const originalDelete = store.delete.bind(store);
    store.delete = async (key: string) => {
      if (key.startsWith('blobs/')) throw new Error('store went away');
      return originalDelete(key);
    };
    const broken = await sweeper.run('devnet', { policy, graceMs: 0, now: clock.advance(1) });
    expect(broken.errors.length).toBeGreaterThan(0);
    store.delete = originalDelete;
    // Every image is either fully there (record and blob) or has no record at all.
    for (const entry of (await allImages(archive, 'devnet'))) expect(await store.head(entry.record.blob.key)).toBeDefined();
    const { cleanupOrphans } = await import('../../../src/archive/service/maintenance.ts');
    const cleaned = await cleanupOrphans(store, async (digest) => (await archive.read.find(digest))?.record, { graceMs: 0, now: Date.now() + 1, logger: silentLogger });
    expect(cleaned.orphanBlobs).toBe(broken.errors.length);
    const next = await sweeper.run('devnet', { policy, graceMs: 0, now: clock.advance(1) });
    expect(next).toMatchObject({ marked: 0, deleted: 0, errors: [] });
    const live = new Set((await allImages(archive, 'devnet')).map((e) => digestKeyPart(e.record.digest)));
    expect((await allKeys(store)).filter((k) => /[0-9a-f]{64}/.test(k) && ![...live].some((d) => k.includes(d)))).toEqual([]);
  });
});

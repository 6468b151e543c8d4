/**
 * The metadata contract's conformance suite, run against every driver (SQLite in unit tests, a
 * real PostgreSQL in integration tests). `open()` opens a store on one fresh database; opening it
 * again opens a second connection to the same database (another process, as far as the
 * contract can tell).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/archive/index.ts';
import type { EventRow, ImageRow, MetadataStore, PageQuery } from '../../src/metadata/index.ts';

const digestOf = (n: number | string): Digest => `sha3-256:${typeof n === 'number' ? n.toString(16).padStart(64, '0') : n}`;
const randomDigest = (): Digest => digestOf(randomBytes(32).toString('hex'));

function row(chain: string, height: number, digest: Digest = randomDigest(), extra: Partial<ImageRow> = {}): ImageRow {
  return { digest, chain, height, size: 100 + height, contentType: 'application/octet-stream', createdAt: 1_767_225_600_000, storedAt: 1_767_225_700_000 + height, producer: 'alice', record: Uint8Array.of(0xa1, 0x61, 0x76, height & 0xff), ...extra };
}

let chains = 0;
/** A chain name no other test uses (stores are shared within a suite). */
const freshChain = (): string => `c${++chains}-${randomBytes(3).toString('hex')}`;

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(check()).toBe(true);
}

/** Registers the suite for a driver. */
export function describeMetadataConformance(name: string, open: () => Promise<MetadataStore>): void {
  describe(`metadata contract: ${name}`, () => {
    let store: MetadataStore;
    let other: MetadataStore;
    beforeAll(async () => {
      store = await open();
      other = await open(); // migrations already applied: opening again is a no-op
    });
    afterAll(async () => {
      await other?.close();
      await store?.close();
    });

    it('indexes an image once and reads it back exactly', async () => {
      const chain = freshChain();
      const image = row(chain, 7, randomDigest(), { finalizedAt: 5, heldAt: 6, legalHoldAt: 7 });
      expect(await store.insertImage(image)).toBe(true);
      expect(await store.insertImage({ ...image, height: 8 })).toBe(false);
      expect(await store.image(image.digest)).toEqual(image);
      expect(await other.image(image.digest)).toEqual(image);
      expect(await store.image(randomDigest())).toBeUndefined();
      const bare = row(chain, 9);
      await store.insertImage(bare);
      const read = await store.image(bare.digest);
      expect(read).toEqual(bare);
      expect(read && 'finalizedAt' in read).toBe(false);
    });

    it('pages, finds the latest (final) image and the forks at a height, and counts', async () => {
      const chain = freshChain();
      const rows = [row(chain, 10, digestOf(1)), row(chain, 20, digestOf(3)), row(chain, 20, digestOf(2), { finalizedAt: 1 }), row(chain, 30, digestOf(4)), row(freshChain(), 99)];
      for (const r of rows) await store.insertImage(r);
      const heights = (list: ImageRow[]): string[] => list.map((r) => `${r.height}:${r.digest.slice(-1)}`);
      expect(heights(await store.page(chain, { limit: 10 }))).toEqual(['10:1', '20:2', '20:3', '30:4']);
      expect(heights(await store.page(chain, { limit: 2, after: { height: 20, digest: digestOf(2) } }))).toEqual(['20:3', '30:4']);
      expect(heights(await store.page(chain, { limit: 10, descending: true, after: { height: 20, digest: digestOf(3) } }))).toEqual(['20:2', '10:1']);
      expect(heights(await store.page(chain, { limit: 10, fromHeight: 15, toHeight: 25 }))).toEqual(['20:2', '20:3']);
      expect(heights(await store.page(chain, { limit: 10, finalOnly: true }))).toEqual(['20:2']);
      expect((await store.latest(chain))?.height).toBe(30);
      expect((await store.latest(chain, { finalOnly: true }))?.digest).toBe(digestOf(2));
      expect(await store.latest(freshChain())).toBeUndefined();
      expect(heights(await store.atHeight(chain, 20))).toEqual(['20:2', '20:3']);
      expect(await store.topHeights(chain, 2)).toEqual([30, 20]);
      expect(await store.topHeights(chain, 10)).toEqual([30, 20, 10]);
      expect(await store.planRows(chain, { limit: 2, after: { height: 10, digest: digestOf(1) } })).toEqual([
        { digest: digestOf(2), height: 20, storedAt: rows[2]!.storedAt, size: rows[2]!.size, final: true, held: false },
        { digest: digestOf(3), height: 20, storedAt: rows[1]!.storedAt, size: rows[1]!.size, final: false, held: false },
      ]);
      expect((await store.counts()).get(chain)).toBe(4);
    });

    it('answers every page query as a model of sorted rows does', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ height: fc.integer({ min: 0, max: 12 }), final: fc.boolean() }), { maxLength: 25 }),
          fc.record({ limit: fc.integer({ min: 0, max: 30 }), fromHeight: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }), toHeight: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }), finalOnly: fc.boolean(), descending: fc.boolean(), afterIndex: fc.option(fc.nat(), { nil: undefined }) }),
          async (specs, q) => {
            const chain = freshChain();
            const rows = specs.map((s) => row(chain, s.height, randomDigest(), s.final ? { finalizedAt: 1 } : {}));
            for (const r of rows) await store.insertImage(r);
            const sorted = [...rows].sort((a, b) => a.height - b.height || (a.digest < b.digest ? -1 : 1));
            const ordered = q.descending ? sorted.reverse() : sorted;
            const after = q.afterIndex === undefined || ordered.length === 0 ? undefined : ordered[q.afterIndex % ordered.length];
            const query: PageQuery = { limit: q.limit, descending: q.descending, finalOnly: q.finalOnly, ...(q.fromHeight === undefined ? {} : { fromHeight: q.fromHeight }), ...(q.toHeight === undefined ? {} : { toHeight: q.toHeight }), ...(after ? { after: { height: after.height, digest: after.digest } } : {}) };
            const start = after ? ordered.indexOf(after) + 1 : 0;
            const expected = ordered
              .slice(start)
              .filter((r) => (q.fromHeight === undefined || r.height >= q.fromHeight) && (q.toHeight === undefined || r.height <= q.toHeight) && (!q.finalOnly || r.finalizedAt !== undefined))
              .slice(0, q.limit)
              .map((r) => r.digest);
            expect((await store.page(chain, query)).map((r) => r.digest)).toEqual(expected);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('records attestations once per validator, refuses unknown images, and deletes them with the image', async () => {
      const image = row(freshChain(), 1);
      await store.insertImage(image);
      expect(await store.addAttestation(image.digest, 'carol', Uint8Array.of(3))).toBe(true);
      expect(await store.addAttestation(image.digest, 'bob', Uint8Array.of(2))).toBe(true);
      expect(await other.addAttestation(image.digest, 'bob', Uint8Array.of(9))).toBe(false);
      const none = randomDigest();
      expect(await store.attesters([image.digest, none])).toEqual(new Map([[image.digest, ['bob', 'carol']], [none, []]]));
      expect(await store.attestations(image.digest)).toEqual([
        { validator: 'bob', statement: Uint8Array.of(2) },
        { validator: 'carol', statement: Uint8Array.of(3) },
      ]);
      await expect(store.addAttestation(randomDigest(), 'bob', Uint8Array.of(1))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await store.deleteImage(image.digest)).toBe(true);
      expect(await store.deleteImage(image.digest)).toBe(false);
      expect(await store.image(image.digest)).toBeUndefined();
      expect(await store.attestations(image.digest)).toEqual([]);
    });

    it('deletes on condition: not while held, nor after another connection recorded its finality', async () => {
      const held = row(freshChain(), 1);
      const finalised = row(freshChain(), 1);
      const unchanged = row(freshChain(), 1, randomDigest(), { finalizedAt: 50 });
      for (const image of [held, finalised, unchanged]) await store.insertImage(image);
      await other.setHeld(held.digest, 10);
      expect(await store.deleteImage(held.digest, { finalizedAt: undefined })).toBe(false);
      await other.markFinal(finalised.digest, 20);
      expect(await store.deleteImage(finalised.digest, { finalizedAt: undefined })).toBe(false);
      expect(await store.image(held.digest)).toBeDefined();
      expect(await store.image(finalised.digest)).toBeDefined();
      expect(await store.deleteImage(finalised.digest, { finalizedAt: 20 })).toBe(true);
      expect(await store.deleteImage(unchanged.digest, { finalizedAt: 50 })).toBe(true);
      expect(await store.image(unchanged.digest)).toBeUndefined();
    });

    it('leaves a tombstone with a deletion, under which the image cannot be indexed again, until the deletion finishes', async () => {
      const image = row(freshChain(), 7);
      await store.insertImage(image);
      expect(await store.deletion(image.digest)).toBeUndefined();
      expect(await store.deleteImage(image.digest)).toBe(true);
      expect(await other.deletion(image.digest)).toMatchObject({ digest: image.digest, chain: image.chain, height: 7 });
      expect(await other.insertImage(image)).toBe(false);
      expect(await store.image(image.digest)).toBeUndefined();
      const stale = await other.deletionsBefore(Date.now() + 1000, 10_000);
      expect(stale.map((d) => d.digest)).toContain(image.digest);
      expect((await other.deletionsBefore(0, 10)).map((d) => d.digest)).not.toContain(image.digest);
      await other.finishDeletion(image.digest);
      expect(await store.deletion(image.digest)).toBeUndefined();
      expect(await store.insertImage(image)).toBe(true);
      // A spared deletion (held meanwhile) leaves no tombstone.
      await other.setHeld(image.digest, 1);
      expect(await store.deleteImage(image.digest, { finalizedAt: undefined })).toBe(false);
      expect(await store.deletion(image.digest)).toBeUndefined();
    });

    it('records a finality and its announcement together, once', async () => {
      const chain = freshChain();
      const image = row(chain, 3);
      await store.insertImage(image);
      const announce = { chain, type: 'image.finalized', height: 3, digest: image.digest, at: 77 };
      expect(await store.markFinal(image.digest, 77, announce)).toBe(true);
      expect(await other.markFinal(image.digest, 88, { ...announce, at: 88 })).toBe(false);
      expect((await other.eventsAfter(chain, 0, 10)).map((e) => [e.type, e.digest, e.at])).toEqual([['image.finalized', image.digest, 77]]);
      expect((await other.image(image.digest))?.finalizedAt).toBe(77);
    });

    it('keeps the first proven finality, and places and lifts holds', async () => {
      const image = row(freshChain(), 1);
      await store.insertImage(image);
      expect(await store.markFinal(image.digest, 100)).toBe(true);
      expect(await other.markFinal(image.digest, 200)).toBe(false);
      expect((await store.image(image.digest))?.finalizedAt).toBe(100);
      expect(await other.revokeFinal(image.digest)).toBe(true);
      expect(await store.revokeFinal(image.digest)).toBe(false);
      expect((await store.image(image.digest))?.finalizedAt).toBeUndefined();
      expect(await store.markFinal(image.digest, 100)).toBe(true);
      await store.setHeld(image.digest, 300);
      expect((await other.image(image.digest))?.heldAt).toBe(300);
      await store.setHeld(image.digest, undefined);
      expect((await store.image(image.digest))?.heldAt).toBeUndefined();
      await other.setRecord(image.digest, Uint8Array.of(9, 9));
      expect((await store.image(image.digest))?.record).toEqual(Uint8Array.of(9, 9));
      await other.setLegalHold(image.digest, 400);
      expect((await store.image(image.digest))?.legalHoldAt).toBe(400);
    });

    it('keeps an outbox with increasing ids, per chain, and tells every subscriber of every append, whoever made it', async () => {
      const chain = freshChain();
      const seenHere: EventRow[] = [];
      const seenThere: EventRow[] = [];
      const stopHere = store.subscribe((e) => e.chain === chain && seenHere.push(e));
      const stopThere = other.subscribe((e) => e.chain === chain && seenThere.push(e));
      await new Promise((resolve) => setTimeout(resolve, 100)); // subscriptions start "from now"
      const base = { chain, height: 5, digest: randomDigest(), at: 1 };
      const a = await store.appendEvent({ ...base, type: 'image.available', validator: 'alice' });
      const b = await other.appendEvent({ ...base, type: 'image.attested', validator: 'bob' });
      const c = await store.appendEvent({ ...base, type: 'image.finalized' });
      expect(a.id).toBeLessThan(b.id);
      expect(b.id).toBeLessThan(c.id);
      await store.appendEvent({ ...base, chain: freshChain(), type: 'image.available' });
      expect((await other.eventsAfter(chain, 0, 10)).map((e) => e.type)).toEqual(['image.available', 'image.attested', 'image.finalized']);
      expect(await store.eventsAfter(chain, a.id, 1)).toEqual([b]);
      expect((await store.eventsAfter(chain, c.id, 10))).toEqual([]);
      await until(() => seenHere.length === 3 && seenThere.length === 3);
      expect(seenHere).toEqual([a, b, c]);
      expect(seenThere).toEqual([a, b, c]);
      stopHere();
      stopThere();
    });

    it("tells its server's clock", async () => {
      const before = Date.now();
      const now = await store.now();
      expect(Math.abs(now - before)).toBeLessThan(60_000); // the same machine: not a timing bound, a sanity one
    });

    it('keeps named settings', async () => {
      const name = `s-${freshChain()}`;
      expect(await store.getSetting(name)).toBeUndefined();
      await store.putSetting(name, 'a');
      await other.putSetting(name, 'b');
      expect(await store.getSetting(name)).toBe('b');
    });

    it('has one identity, the same for every connection, chosen once', async () => {
      const id = await store.databaseId();
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await other.databaseId()).toBe(id);
      expect(await store.databaseId()).toBe(id);
    });

    it('leases: one holder at a time, renewable by the holder, taken over once expired, released', async () => {
      const name = `lease-${freshChain()}`;
      expect(await store.acquireLease(name, 'a', 1000, 0)).toBe(true);
      expect(await other.acquireLease(name, 'b', 1000, 500)).toBe(false);
      expect(await store.acquireLease(name, 'a', 1000, 900)).toBe(true); // renewed until 1900
      expect(await other.acquireLease(name, 'b', 1000, 1500)).toBe(false);
      expect(await other.acquireLease(name, 'b', 1000, 1900)).toBe(true); // expired: taken over
      await store.releaseLease(name, 'a'); // not the holder: nothing happens
      expect(await store.acquireLease(name, 'a', 1000, 2000)).toBe(false);
      await other.releaseLease(name, 'b');
      expect(await store.acquireLease(name, 'a', 1000, 2000)).toBe(true);
    });
  });
}

/**
 * The streamed plan (indexed queries, a page at a time) decides exactly what the pure planner
 * decides from the whole chain in memory — on random histories with forks, finality, holds and
 * ages, and with pages small enough to split every height's forks.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../../src/archive/index.ts';
import { openMetadata, type MetadataStore } from '../../../src/metadata/index.ts';
import { planChain, planRetention, type PlanImage, type RetentionDecision } from '../../../src/retention/index.ts';

const metadata: MetadataStore = await openMetadata('sqlite::memory:');
afterAll(() => metadata.close());
let chains = 0;

async function collect(stream: AsyncIterable<RetentionDecision>): Promise<RetentionDecision[]> {
  const out: RetentionDecision[] = [];
  for await (const d of stream) out.push(d);
  return out;
}

describe('streamed retention plan', () => {
  it('equals the pure planner on random histories, whatever the page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ height: fc.integer({ min: 0, max: 40 }).map((h) => h * 50), final: fc.boolean(), pinned: fc.boolean(), ageDays: fc.integer({ min: 0, max: 20 }), size: fc.integer({ min: 0, max: 1000 }) }), { maxLength: 60 }),
        fc.record({ keepLast: fc.integer({ min: 0, max: 6 }), epochLength: fc.constantFrom(100, 500, 1000), maxAgeMs: fc.constantFrom(86_400_000, 7 * 86_400_000) }),
        fc.integer({ min: 1, max: 7 }),
        async (specs, policy, pageSize) => {
          const chain = `p${++chains}`;
          const now = 1_900_000_000_000;
          const images: PlanImage[] = specs.map((s) => ({ digest: `sha3-256:${randomBytes(32).toString('hex')}`, height: s.height, storedAt: now - s.ageDays * 86_400_000, final: s.final, pinned: s.pinned, size: s.size }));
          for (const image of images) {
            await metadata.insertImage({ digest: image.digest as Digest, chain, height: image.height, size: image.size, contentType: 'application/octet-stream', createdAt: 0, storedAt: image.storedAt, producer: 'alice', record: Uint8Array.of(0), ...(image.final ? { finalizedAt: 1 } : {}), ...(image.pinned ? { heldAt: 1 } : {}) });
          }
          const streamed = await collect(planChain({ metadata }, chain, policy, now, { pageSize }));
          expect(streamed).toEqual(planRetention(images, policy, now));
        },
      ),
      { numRuns: 300 },
    );
  });
});

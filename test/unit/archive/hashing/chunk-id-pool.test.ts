import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkIdPool, chunkId, chunkIdsInOrder, chunkListDigest, chunkStream } from '../../../../src/archive/index.ts';
import { chunked } from '../../../support/fixtures.ts';

describe('chunk ids on worker threads', () => {
  it('gives every chunk its SHA3-256, in content order, however many are in flight', async () => {
    const pool = new ChunkIdPool({ workers: 2 });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 5 }), async (lengths, inFlight) => {
          const chunks = lengths.map((n) => randomBytes(n));
          const got: Array<{ length: number; id: Uint8Array }> = [];
          for await (const entry of chunkIdsInOrder(chunks, pool, inFlight)) got.push(entry);
          expect(got).toEqual(chunks.map((c) => ({ length: c.length, id: chunkId(c) })));
        }),
        { numRuns: 25 },
      );
    } finally {
      await pool.close();
    }
  });

  it('gives the chunk-list digest of streamed content, as a single thread would', async () => {
    const content = randomBytes(9 * 1024 * 1024);
    const pool = new ChunkIdPool();
    try {
      const entries: Array<{ length: number; id: Uint8Array }> = [];
      // Chunk views are reused by the stream: the pool copies each one before the next arrives.
      for await (const entry of chunkIdsInOrder(chunkStream(chunked(content, 100_000)), pool)) entries.push(entry);
      const single: Array<{ length: number; id: Uint8Array }> = [];
      for await (const chunk of chunkStream([content])) single.push({ length: chunk.length, id: chunkId(chunk) });
      expect(chunkListDigest(entries)).toBe(chunkListDigest(single));
    } finally {
      await pool.close();
    }
  });

  it('refuses work once its workers are gone', async () => {
    const pool = new ChunkIdPool({ workers: 1 });
    await pool.close();
    await expect(pool.id(Uint8Array.of(1))).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});

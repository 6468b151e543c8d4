import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestOf } from '../../../../src/archive/index.ts';
import { OffThreadHasher } from '../../../../src/archive/hashing/off-thread-hasher.ts';

describe('off-thread SHA3-256', () => {
  it('equals the inline digest, across ring wrap-arounds and chunks larger than the ring', async () => {
    for (const [total, ring, chunk] of [[0, 64, 10], [1000, 64, 7], [100_000, 4096, 5000], [300_000, 65_536, 65_536]] as const) {
      const bytes = randomBytes(total);
      const hasher = new OffThreadHasher({ ringBytes: ring });
      try {
        for (let i = 0; i < bytes.length; i += chunk) await hasher.update(bytes.subarray(i, i + chunk));
        expect(await hasher.digest()).toEqual({ digest: digestOf(bytes), size: total });
      } finally {
        await hasher.close();
      }
    }
  });
});

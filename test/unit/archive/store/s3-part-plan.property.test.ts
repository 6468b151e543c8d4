/**
 * The multipart part plan: every object S3 can hold fits in its part limit with parts S3
 * accepts, memory for part buffers stays bounded, and what S3 cannot hold is refused up front.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planParts, S3_LIMITS } from '../../../../src/archive/store/drivers/s3-part-plan.ts';
import { isCairnError } from '../../../../src/errors.ts';

const MIB = 1024 * 1024;

describe('S3 part plan', () => {
  it('fits any object up to 5 TiB in 10,000 parts of 5 MiB to 5 GiB, whole MiB, within the buffer budget', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 100 * 1024 * MIB }), fc.integer({ min: 0, max: S3_LIMITS.maxObjectBytes })), (size) => {
        const plan = planParts(size);
        expect(Math.ceil(size / plan.partBytes)).toBeLessThanOrEqual(S3_LIMITS.maxParts);
        expect(plan.partBytes).toBeGreaterThanOrEqual(S3_LIMITS.minPartBytes);
        expect(plan.partBytes).toBeLessThanOrEqual(S3_LIMITS.maxPartBytes);
        expect(plan.partBytes % MIB).toBe(0);
        expect(plan.queueSize).toBeGreaterThanOrEqual(1);
        // Buffers: queueSize + 1 parts; the budget (64 MiB) holds unless one part in flight is the minimum.
        if (plan.queueSize > 1) expect((plan.queueSize + 1) * plan.partBytes).toBeLessThanOrEqual(Math.max(64 * MIB, 5 * 5 * MIB));
        // The smallest part that fits is chosen: one MiB less would not.
        if (plan.partBytes > S3_LIMITS.minPartBytes) expect(Math.ceil(size / (plan.partBytes - MIB))).toBeGreaterThan(S3_LIMITS.maxParts);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps 5 MiB parts, 2 in flight, up to 48.8 GiB, and grows them past it (where 5 MiB parts failed at part 10,001)', () => {
    expect(planParts(10_000 * 5 * MIB)).toEqual({ partBytes: 5 * MIB, queueSize: 2, maxParts: 10_000 });
    expect(planParts(10_000 * 5 * MIB + 1).partBytes).toBe(6 * MIB);
    expect(planParts(undefined)).toEqual({ partBytes: 5 * MIB, queueSize: 2, maxParts: 10_000 });
    expect(planParts(S3_LIMITS.maxObjectBytes)).toMatchObject({ partBytes: 525 * MIB, queueSize: 1 });
  });

  it('honours a lower part limit (as the MinIO test forces) and refuses what cannot fit', () => {
    expect(planParts(20 * MIB, { maxParts: 3 })).toMatchObject({ partBytes: 7 * MIB, maxParts: 3 });
    const refused = (fn: () => unknown): string => {
      try {
        fn();
        return 'accepted';
      } catch (error) {
        return isCairnError(error) ? error.code : 'other';
      }
    };
    expect(refused(() => planParts(S3_LIMITS.maxObjectBytes + 1))).toBe('STORE_ERROR');
    expect(refused(() => planParts(3 * S3_LIMITS.maxPartBytes, { maxParts: 2 }))).toBe('STORE_ERROR');
  });
});

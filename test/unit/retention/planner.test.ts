import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_RETENTION_POLICY, planRetention, type PlanImage, type RetentionRule } from '../../../src/retention/index.ts';

const DAY = 24 * 3600 * 1000;
const NOW = 100 * DAY;
let n = 0;
function img(height: number, options: Partial<PlanImage> = {}): PlanImage {
  return { digest: `d${String(++n).padStart(4, '0')}`, height, storedAt: NOW - DAY, final: false, pinned: false, size: 1, ...options };
}
const ruleOf = (images: PlanImage[], digest: string, policy = DEFAULT_RETENTION_POLICY): RetentionRule => planRetention(images, policy, NOW).find((d) => d.digest === digest)!.rule;

describe('retention planner', () => {
  it('applies each rule, first match wins', () => {
    const small = { keepLast: 2, epochLength: 1000, maxAgeMs: 7 * DAY };
    const old = NOW - 30 * DAY;
    const images = [
      img(500, { pinned: true, storedAt: old }),
      img(600, { final: true }),
      img(600),
      img(1000, { storedAt: old }),
      img(1100, { final: true, storedAt: old }),
      img(1150, { storedAt: old }),
      img(1200, { storedAt: old }),
      img(1300),
      img(1400),
    ];
    const rules = planRetention(images, small, NOW).map((d) => `${d.height}:${d.rule}:${d.action}`);
    expect(rules).toEqual([
      '500:PINNED:keep',
      '600:SUPERSEDED:delete',
      '600:ORPHANED:delete',
      '1000:EPOCH_BOUNDARY:keep',
      '1100:LATEST_FINAL:keep',
      '1150:EXPIRED:delete',
      '1200:EXPIRED:delete',
      '1300:LATEST:keep',
      '1400:LATEST:keep',
    ]);
  });

  it.each([
    ['PINNED beats ORPHANED', [img(10, { final: true }), img(10, { pinned: true })], 1, 'PINNED'],
    ['ORPHANED beats LATEST', [img(10, { final: true }), img(10)], 1, 'ORPHANED'],
    ['ORPHANED beats EPOCH_BOUNDARY', [img(1000, { final: true }), img(1000)], 1, 'ORPHANED'],
    ['LATEST beats EPOCH_BOUNDARY', [img(1000)], 0, 'LATEST'],
    ['EPOCH_BOUNDARY beats SUPERSEDED', [...Array.from({ length: 10 }, (_, i) => img(2001 + i, { final: i === 9 })), img(1000)], 10, 'EPOCH_BOUNDARY'],
    ['LATEST_FINAL beats EXPIRED', [...Array.from({ length: 10 }, (_, i) => img(3001 + i)), img(2001, { final: true, storedAt: 0 })], 10, 'LATEST_FINAL'],
    ['SUPERSEDED beats EXPIRED', [...Array.from({ length: 10 }, (_, i) => img(3001 + i, { final: i === 0 })), img(2001, { storedAt: 0 })], 10, 'SUPERSEDED'],
    ['EXPIRED beats RECENT', [...Array.from({ length: 10 }, (_, i) => img(3001 + i)), img(2001, { storedAt: 0 })], 10, 'EXPIRED'],
    ['PINNED beats SUPERSEDED and EXPIRED', [...Array.from({ length: 10 }, (_, i) => img(3001 + i, { final: i === 0 })), img(2001, { pinned: true, storedAt: 0 })], 10, 'PINNED'],
    ['PINNED beats LATEST', [img(10, { pinned: true })], 0, 'PINNED'],
    ['LATEST beats LATEST_FINAL', [img(10, { final: true }), img(20)], 0, 'LATEST'],
    ['LATEST beats SUPERSEDED', [img(10), img(20, { final: true })], 0, 'LATEST'],
    ['LATEST beats EXPIRED', [img(10, { storedAt: 0 })], 0, 'LATEST'],
    ['EPOCH_BOUNDARY beats LATEST_FINAL', [...Array.from({ length: 10 }, (_, i) => img(3001 + i)), img(2000, { final: true })], 10, 'EPOCH_BOUNDARY'],
    ['EPOCH_BOUNDARY beats EXPIRED', [...Array.from({ length: 10 }, (_, i) => img(3001 + i)), img(2000, { storedAt: 0 })], 10, 'EPOCH_BOUNDARY'],
    ['RECENT when nothing else applies', [...Array.from({ length: 10 }, (_, i) => img(3001 + i)), img(2001)], 10, 'RECENT'],
  ])('%s', (_name, images, index, rule) => {
    expect(ruleOf(images, images[index]!.digest)).toBe(rule);
  });

  const history = fc.array(
    fc.record({ height: fc.integer({ min: 0, max: 5000 }), ageDays: fc.integer({ min: 0, max: 30 }), final: fc.boolean(), pinned: fc.boolean() }),
    { maxLength: 80 },
  );

  it('property: the highest final image, epoch boundaries (unless orphaned) and pinned images are never deleted; the plan is deterministic', () => {
    fc.assert(
      fc.property(history, (entries) => {
        const images = entries.map((e, i) => ({ digest: `x${i}`, height: e.height, storedAt: NOW - e.ageDays * DAY, final: e.final, pinned: e.pinned, size: 1 }));
        const plan = planRetention(images, DEFAULT_RETENTION_POLICY, NOW);
        expect(planRetention([...images].reverse(), DEFAULT_RETENTION_POLICY, NOW)).toEqual(plan);
        const finals = images.filter((i) => i.final);
        const maxFinal = Math.max(-1, ...finals.map((i) => i.height));
        for (const d of plan) {
          const image = images.find((i) => i.digest === d.digest)!;
          if (image.pinned) expect(d.action).toBe('keep');
          if (d.action === 'delete' && image.height % 1000 === 0) expect(d.rule).toBe('ORPHANED');
        }
        const highestFinal = plan.filter((d) => d.final && d.height === maxFinal);
        if (highestFinal.length > 0) expect(highestFinal.some((d) => d.action === 'keep')).toBe(true);
        // Applying the plan and planning again deletes nothing more.
        const kept = images.filter((i) => plan.find((d) => d.digest === i.digest)!.action === 'keep');
        expect(planRetention(kept, DEFAULT_RETENTION_POLICY, NOW).filter((d) => d.action === 'delete')).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every final image at the highest final height and flags them as equivocation', () => {
    const old = NOW - 30 * DAY;
    const policy = { keepLast: 1, epochLength: 1000, maxAgeMs: 7 * DAY };
    const images = [img(1501, { digest: 'a', final: true, storedAt: old }), img(1501, { digest: 'b', final: true, storedAt: old }), img(1502, { digest: 'c', storedAt: old })];
    const decisions = planRetention(images, policy, NOW);
    expect(decisions.filter((d) => d.height === 1501).map((d) => [d.rule, d.action, d.equivocation])).toEqual([
      ['LATEST_FINAL', 'keep', true],
      ['LATEST_FINAL', 'keep', true],
    ]);
    expect(decisions.find((d) => d.digest === 'c')?.equivocation).toBeUndefined();
  });
});

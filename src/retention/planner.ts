/**
 * The retention planner: a pure function from (images, policy, now) to one decision per image
 * and the rule that decided it. Rules, first match wins (ARCHITECTURE.md "Retention"):
 *
 *   1 PINNED          admin hold                                         keep
 *   2 ORPHANED        another image at the same height is final, this is not   delete
 *   3 LATEST          height among the keepLast highest heights          keep
 *   4 EPOCH_BOUNDARY  height % epochLength == 0                          keep
 *   5 LATEST_FINAL    a final image at the highest final height          keep
 *   6 SUPERSEDED      height below the highest final image               delete
 *   7 EXPIRED         older than maxAge (since Cairn stored it)          delete
 *   8 RECENT          otherwise                                          keep
 *
 * O(n log n) in the number of images (one sort); no I/O, no clock.
 */

/** The rules, in order. */
export const RETENTION_RULES = ['PINNED', 'ORPHANED', 'LATEST', 'EPOCH_BOUNDARY', 'LATEST_FINAL', 'SUPERSEDED', 'EXPIRED', 'RECENT'] as const;
/** A rule name. */
export type RetentionRule = (typeof RETENTION_RULES)[number];

/** What the planner needs to know about one image. */
export interface PlanImage {
  readonly digest: string;
  readonly height: number;
  /** When Cairn first stored it (server clock, ms). */
  readonly storedAt: number;
  readonly final: boolean;
  readonly pinned: boolean;
  readonly size: number;
}

/** A chain's retention policy. */
export interface RetentionPolicy {
  readonly keepLast: number;
  readonly epochLength: number;
  readonly maxAgeMs: number;
}

/** Defaults: keep the last 10 heights, epochs of 1000, 7 days. */
export const DEFAULT_RETENTION_POLICY: RetentionPolicy = { keepLast: 10, epochLength: 1000, maxAgeMs: 7 * 24 * 3600 * 1000 };

/** One decision. */
export interface RetentionDecision {
  readonly digest: string;
  readonly height: number;
  readonly action: 'keep' | 'delete';
  readonly rule: RetentionRule;
  readonly ageMs: number;
  readonly final: boolean;
  readonly size: number;
  /** This final image shares its height with another final image (evidence of equivocation). */
  readonly equivocation?: true;
}

/** A plan in numbers: images per rule, how many are kept and deleted, the content bytes freed. */
export interface PlanSummary {
  readonly byRule: Record<RetentionRule, number>;
  readonly keep: number;
  readonly delete: number;
  readonly bytesFreed: number;
}

/** Counts decisions as they come (a streamed plan never needs them all at once). */
export function planCounter(): { add(decision: RetentionDecision): void; summary(): PlanSummary } {
  const byRule = Object.fromEntries(RETENTION_RULES.map((rule) => [rule, 0])) as Record<RetentionRule, number>;
  let total = 0;
  let remove = 0;
  let bytesFreed = 0;
  return {
    add(d) {
      total += 1;
      byRule[d.rule] += 1;
      if (d.action === 'delete') {
        remove += 1;
        bytesFreed += d.size;
      }
    },
    summary: () => ({ byRule: { ...byRule }, keep: total - remove, delete: remove, bytesFreed }),
  };
}

/** Counts a plan's decisions (one pass). */
export function summarisePlan(decisions: readonly RetentionDecision[]): PlanSummary {
  const counter = planCounter();
  for (const d of decisions) counter.add(d);
  return counter.summary();
}

const ACTION: Record<RetentionRule, 'keep' | 'delete'> = {
  PINNED: 'keep',
  ORPHANED: 'delete',
  LATEST: 'keep',
  EPOCH_BOUNDARY: 'keep',
  LATEST_FINAL: 'keep',
  SUPERSEDED: 'delete',
  EXPIRED: 'delete',
  RECENT: 'keep',
};

/**
 * What a decision needs beyond the image and its height's other images: computed once per chain
 * (from a sorted array here, by two indexed queries in chain-plan.ts).
 */
export interface PlanContext {
  /** Images at or above this height are LATEST (the keepLast highest heights); -Infinity: all. */
  readonly latestFrom: number;
  /** The highest final image: the first in digest order at the highest final height. */
  readonly latestFinal: { readonly height: number; readonly digest: string } | undefined;
}

/** The context of a sorted chain. */
export function planContext(sorted: readonly PlanImage[], policy: RetentionPolicy): PlanContext {
  const heights: number[] = [];
  for (const image of sorted) if (heights.at(-1) !== image.height) heights.push(image.height);
  const latestFrom = heights.length > policy.keepLast ? (heights[heights.length - policy.keepLast] as number) : -Infinity;
  // Ties at one height (two final forks cannot both exceed 2/3 of honest weight) resolve to the
  // first in digest order, deterministically.
  let latestFinal: PlanImage | undefined;
  for (const image of sorted) if (image.final && (!latestFinal || image.height > latestFinal.height)) latestFinal = image;
  return { latestFrom, latestFinal: latestFinal ? { height: latestFinal.height, digest: latestFinal.digest } : undefined };
}

/**
 * Decides every image of one height (sorted by digest), given the chain's context. Every final
 * image at the highest final height is kept (LATEST_FINAL): two final images at one height are
 * evidence of equivocation, kept both and flagged (`equivocation`) for an operator to look at.
 */
export function decideHeight(group: readonly PlanImage[], context: PlanContext, policy: RetentionPolicy, now: number): RetentionDecision[] {
  const finals = group.filter((i) => i.final).length;
  const finalHere = finals > 0;
  const { latestFrom, latestFinal } = context;
  return group.map((image) => {
    const ageMs = Math.max(0, now - image.storedAt);
    let rule: RetentionRule;
    if (image.pinned) rule = 'PINNED';
    else if (!image.final && finalHere) rule = 'ORPHANED';
    else if (policy.keepLast > 0 && image.height >= latestFrom) rule = 'LATEST';
    else if (image.height % policy.epochLength === 0) rule = 'EPOCH_BOUNDARY';
    else if (latestFinal && image.final && image.height === latestFinal.height) rule = 'LATEST_FINAL';
    else if (latestFinal && image.height < latestFinal.height) rule = 'SUPERSEDED';
    else if (ageMs > policy.maxAgeMs) rule = 'EXPIRED';
    else rule = 'RECENT';
    return { digest: image.digest, height: image.height, action: ACTION[rule], rule, ageMs, final: image.final, size: image.size, ...(image.final && finals > 1 ? { equivocation: true } : {}) };
  });
}

/** Compares images by (height, digest). */
export function byHeightThenDigest(a: PlanImage, b: PlanImage): number {
  return a.height - b.height || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
}

/** Plans one chain. Decisions come back ordered by height, then digest. */
export function planRetention(images: readonly PlanImage[], policy: RetentionPolicy, now: number): RetentionDecision[] {
  const sorted = [...images].sort(byHeightThenDigest);
  const context = planContext(sorted, policy);
  const out: RetentionDecision[] = [];
  for (let start = 0; start < sorted.length; ) {
    let end = start + 1;
    while (end < sorted.length && (sorted[end] as PlanImage).height === (sorted[start] as PlanImage).height) end++;
    out.push(...decideHeight(sorted.slice(start, end), context, policy, now));
    start = end;
  }
  return out;
}

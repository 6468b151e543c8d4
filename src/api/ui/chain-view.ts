/**
 * What the dashboard shows for one chain, computed from the archive and the retention policy:
 * the validator set, a page of the timeline (newest first) with each image's state and the
 * retention decision for it, and the plan's summary. Pure data; templates.ts renders it.
 */
import type { Archive, ArchivedImage } from '../../archive/index.ts';
import { CairnError } from '../../errors.ts';
import { planImage, planRetention, policyOf, summarisePlan, type RetentionDecision, type RetentionPolicy, type RetentionRule } from '../../retention/index.ts';
import type { RetentionSettings } from '../routes/admin.ts';

/** One image on the timeline. */
export interface TimelineRow {
  readonly digest: string;
  readonly height: number;
  readonly size: number;
  readonly ageMs: number;
  readonly producer: string;
  readonly state: 'final' | 'pending' | 'orphaned';
  readonly attestedWeight: number;
  readonly totalWeight: number;
  readonly epochBoundary: boolean;
  readonly held: boolean;
  readonly decision: RetentionDecision | undefined;
}

/** The dashboard's view of one chain. */
export interface ChainView {
  readonly chain: string;
  readonly epochLength: number;
  readonly validators: ReadonlyArray<{ id: string; weight: number; share: number; qssh: boolean }>;
  readonly totalWeight: number;
  readonly counts: { images: number; final: number; pending: number; orphaned: number; held: number; bytes: number };
  readonly latestHeight: number | undefined;
  readonly latestFinalHeight: number | undefined;
  readonly rows: readonly TimelineRow[];
  /** Height to pass as `before` for the next (older) page, if any. */
  readonly olderThan: number | undefined;
  readonly policy: RetentionPolicy & { graceMs: number; schedule: string };
  readonly plan: { byRule: ReadonlyArray<[RetentionRule, number]>; deletions: readonly RetentionDecision[]; deleteCount: number; keepCount: number; bytesFreed: number };
  readonly holds: readonly TimelineRow[];
}

/** Builds the view; `before` pages the timeline (images below that height). */
export async function chainView(archive: Archive, retention: RetentionSettings, chain: string, now: number, options: { before?: number; limit?: number } = {}): Promise<ChainView> {
  const registered = archive.registry.chains.get(chain);
  if (!registered) throw new CairnError('UNKNOWN_CHAIN', `chain ${chain} is not in the registry`, { details: { chain } });
  const limit = options.limit ?? 100;
  const all: ArchivedImage[] = [];
  for await (const image of archive.read.all(chain, { pageSize: 5000 })) all.push(image);
  const policy = policyOf(retention.config, chain, registered.epochLength);
  // The plan already decided finality for every image; the view reads it from there.
  const decisions = planRetention(all.map(planImage), policy, now);
  const decisionOf = new Map(decisions.map((d) => [d.digest, d]));
  const final = new Set(decisions.filter((d) => d.final).map((d) => d.digest));
  const finalAt = new Set(decisions.filter((d) => d.final).map((d) => d.height));
  let attesters = new Map<string, string[]>();
  const row = (e: ArchivedImage): TimelineRow => {
    const q = archive.read.quorum(chain, attesters.get(e.record.digest) ?? []);
    return {
      digest: e.record.digest,
      height: e.record.height,
      size: e.record.size,
      ageMs: Math.max(0, now - e.record.storedAt),
      producer: e.record.producer.validator,
      state: final.has(e.record.digest) ? 'final' : finalAt.has(e.record.height) ? 'orphaned' : 'pending',
      attestedWeight: q.attestedWeight,
      totalWeight: q.totalWeight,
      epochBoundary: e.record.height % registered.epochLength === 0,
      held: e.held,
      decision: decisionOf.get(e.record.digest),
    };
  };
  let end = all.length;
  if (options.before !== undefined) {
    while (end > 0 && all[end - 1]!.record.height >= options.before) end--;
  }
  const start = Math.max(0, end - limit);
  const shown = all.slice(start, end).reverse();
  const held = all.filter((e) => e.held);
  attesters = await archive.read.attesters([...shown, ...held]);
  const rows = shown.map(row);
  const summary = summarisePlan(decisions);
  const deletions = decisions.filter((d) => d.action === 'delete').slice(0, 200);
  const orphaned = all.filter((e) => !final.has(e.record.digest) && finalAt.has(e.record.height)).length;
  const latestFinal = [...all].reverse().find((e) => final.has(e.record.digest));
  return {
    chain,
    epochLength: registered.epochLength,
    validators: [...registered.validators.values()].map((v) => ({ id: v.id, weight: v.weight, share: v.weight / registered.totalWeight, qssh: v.qsshKey !== undefined })),
    totalWeight: registered.totalWeight,
    counts: { images: all.length, final: final.size, pending: all.length - final.size - orphaned, orphaned, held: all.filter((e) => e.held).length, bytes: all.reduce((n, e) => n + e.record.size, 0) },
    latestHeight: all.at(-1)?.record.height,
    latestFinalHeight: latestFinal?.record.height,
    rows,
    olderThan: start > 0 ? all[start]!.record.height : undefined,
    policy: { ...policy, graceMs: retention.config.graceMs, schedule: retention.config.chains[chain]?.schedule ?? retention.config.schedule },
    plan: {
      byRule: Object.entries(summary.byRule) as Array<[RetentionRule, number]>,
      deletions,
      deleteCount: summary.delete,
      keepCount: summary.keep,
      bytesFreed: summary.bytesFreed,
    },
    holds: held.map(row),
  };
}

/**
 * What the dashboard shows for one chain, computed from the archive and the retention policy:
 * the validator set, a page of the timeline (newest first) with each image's state and the
 * retention decision for it, and the plan's summary. Pure data; templates.ts renders it.
 */
import type { Archive, ArchivedImage, Digest } from '../../archive/index.ts';
import { CairnError } from '../../errors.ts';
import { planChain, planCounter, policyOf, type RetentionDecision, type RetentionPolicy, type RetentionRule } from '../../retention/index.ts';
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
  const policy = policyOf(retention.config, chain, registered.epochLength);
  // The timeline page: the newest `limit` images below `before`, by an indexed query.
  const page = await archive.read.newest(chain, limit + 1, options.before);
  const shown = page.slice(0, limit);
  const wanted = new Set<string>(shown.map((e) => e.record.digest));
  // One streamed pass over the plan gives the counts, the decisions of the rows shown, the
  // first deletions and the holds, whatever the chain's length.
  const decisionOf = new Map<string, RetentionDecision>();
  const counter = planCounter();
  const deletions: RetentionDecision[] = [];
  const heldDigests: Digest[] = [];
  const counts = { images: 0, final: 0, pending: 0, orphaned: 0, held: 0, bytes: 0 };
  let height: number | undefined;
  let group: RetentionDecision[] = [];
  const closeHeight = (): void => {
    const finalHere = group.some((d) => d.final);
    for (const d of group) {
      if (d.final) counts.final++;
      else if (finalHere) counts.orphaned++;
      else counts.pending++;
    }
    group = [];
  };
  for await (const d of planChain(archive, chain, policy, now)) {
    if (d.height !== height) closeHeight();
    height = d.height;
    group.push(d);
    counter.add(d);
    counts.images++;
    counts.bytes += d.size;
    if (wanted.has(d.digest)) decisionOf.set(d.digest, d);
    if (d.action === 'delete' && deletions.length < 200) deletions.push(d);
    // Every hold is counted; the first 200 are shown.
    if (d.rule === 'PINNED' && counts.held++ < 200) heldDigests.push(d.digest as Digest);
  }
  closeHeight();
  const held = (await Promise.all(heldDigests.map((digest) => archive.read.find(digest)))).filter((e): e is ArchivedImage => e !== undefined);
  const attesters = await archive.read.attesters([...shown, ...held]);
  const row = (e: ArchivedImage): TimelineRow => {
    const q = archive.read.quorum(chain, attesters.get(e.record.digest) ?? []);
    const decision = decisionOf.get(e.record.digest);
    return {
      digest: e.record.digest,
      height: e.record.height,
      size: e.record.size,
      ageMs: Math.max(0, now - e.record.storedAt),
      producer: e.record.producer.validator,
      state: e.finalizedAt !== undefined ? 'final' : decision?.rule === 'ORPHANED' ? 'orphaned' : 'pending',
      attestedWeight: q.attestedWeight,
      totalWeight: q.totalWeight,
      epochBoundary: e.record.height % registered.epochLength === 0,
      held: e.held,
      decision,
    };
  };
  const summary = counter.summary();
  const latestFinal = await archive.read.latest(chain, { final: true });
  return {
    chain,
    epochLength: registered.epochLength,
    validators: [...registered.validators.values()].map((v) => ({ id: v.id, weight: v.weight, share: v.weight / registered.totalWeight, qssh: v.qsshKey !== undefined })),
    totalWeight: registered.totalWeight,
    counts,
    latestHeight: (await archive.read.latest(chain))?.record.height,
    latestFinalHeight: latestFinal?.record.height,
    rows: shown.map(row),
    olderThan: page.length > limit ? shown.at(-1)?.record.height : undefined,
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

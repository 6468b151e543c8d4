/**
 * The sweeper: applies a retention plan mark-then-sweep. A run marks every image the plan
 * deletes; a later run deletes an image only if it is still planned for deletion and its mark is
 * older than the grace period (downloads in flight finish). Marks of images the plan now keeps
 * are removed. Runs of one chain never overlap in this process. Every run is recorded.
 */
import { CairnError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { MARKS_PREFIX, forEachLimited, decodeCbor, digestOfKey, encodeCbor, isCborMap, markKey, readObject, runKey, type Archive, type ArchivedImage, type Digest } from '../archive/index.ts';
import { RETENTION_RULES, decideHeight, type PlanImage, type RetentionDecision, type RetentionPolicy, type RetentionRule } from './planner.ts';
import { chainPlanContext, planChain } from './chain-plan.ts';

/** What one run did. */
export interface RetentionRunReport {
  readonly chain: string;
  readonly dryRun: boolean;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly policy: RetentionPolicy & { graceMs: number };
  /** Decisions per rule. */
  readonly rules: Record<RetentionRule, number>;
  /** Images newly marked for deletion. */
  readonly marked: number;
  /** Images deleted (marked earlier, grace period over). */
  readonly deleted: number;
  readonly bytesFreed: number;
  /** Marks removed because the plan keeps the image now. */
  readonly unmarked: number;
  /** Deletions the re-check at the moment of deletion called off (state changed since the plan). */
  readonly spared: number;
  /** S3 legal holds placed on protected images (PINNED, EPOCH_BOUNDARY, LATEST_FINAL). */
  readonly legalHolds: number;
  readonly errors: readonly string[];
  /** The decisions this run acted on (marked, deleted or unmarked an image). */
  readonly decisions: readonly RetentionDecision[];
}

/** How far this host's clock may be from the database server's before a run refuses to act. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Images handled at once during a run. */
const SWEEP_CONCURRENCY = 8;

/** Rules whose images carry an S3 legal hold where the bucket has Object Lock. */
const PROTECTED = new Set<RetentionRule>(['PINNED', 'EPOCH_BOUNDARY', 'LATEST_FINAL']);

/** What the planner needs of an archived image: finality as proven and recorded, and holds. */
export function planImage(image: ArchivedImage): PlanImage {
  const r = image.record;
  return { digest: r.digest, height: r.height, storedAt: r.storedAt, final: image.finalizedAt !== undefined, pinned: image.held, size: r.size };
}

/** The whole plan for a chain from the archive's current state, as an array (planChain streams it). */
export async function currentPlan(archive: Archive, chain: string, policy: RetentionPolicy, now: number): Promise<RetentionDecision[]> {
  const decisions: RetentionDecision[] = [];
  for await (const decision of planChain(archive, chain, policy, now)) decisions.push(decision);
  return decisions;
}

/** The delete marks of one chain's images (other chains' marks are not read). */
async function readMarks(archive: Archive, chain: string): Promise<Map<string, number>> {
  const marks = new Map<string, number>();
  for await (const info of archive.store.list(MARKS_PREFIX)) {
    const digest = digestOfKey(MARKS_PREFIX, info.key);
    if (!digest || (await archive.metadata.image(digest))?.chain !== chain) continue;
    try {
      const value = decodeCbor(await readObject(archive.store, info.key));
      if (isCborMap(value) && typeof value.markedAt === 'number') marks.set(digest, value.markedAt);
    } catch {
      marks.set(digest, info.lastModified.getTime());
    }
  }
  return marks;
}

/** Runs retention with mark-then-sweep. */
export class RetentionSweeper {
  readonly #archive: Archive;
  readonly #logger: Logger;
  readonly #running = new Set<string>();

  constructor(archive: Archive, logger: Logger) {
    this.#archive = archive;
    this.#logger = logger;
  }

  /**
   * Whether `image` is still to be deleted, decided again from fresh state: its height's images
   * and the chain's context read now (a hold placed, a finality proven, a newer final image since
   * the plan was made all count). A deletion is logged here, before anything goes, with the facts
   * that justify it — the audit trail an operator (and the soak) checks decisions against; the
   * line is written synchronously, so a crash right after it cannot lose it.
   */
  async #stillDeleted(image: ArchivedImage, policy: RetentionPolicy, now: number, markedAt: number): Promise<boolean> {
    const r = image.record;
    const context = await chainPlanContext(this.#archive, r.chain, policy);
    const group = (await this.#archive.read.atHeight(r.chain, r.height)).map(planImage);
    const decision = decideHeight(group, context, policy, now).find((d) => d.digest === r.digest);
    if (decision?.action !== 'delete') return false;
    this.#logger.info('retention deletes image', {
      chain: r.chain,
      height: r.height,
      digest: r.digest,
      rule: decision.rule,
      final: decision.final,
      storedAt: r.storedAt,
      ageMs: decision.ageMs,
      markedAt,
      now,
      policy,
      latestFrom: Number.isFinite(context.latestFrom) ? context.latestFrom : null,
      latestFinal: context.latestFinal ?? null,
      finalAtHeight: group.filter((i) => i.final).map((i) => i.digest),
    });
    return true;
  }

  /** The start of the chain's last recorded run, if any. */
  async #lastRunStart(chain: string): Promise<number | undefined> {
    let last: string | undefined;
    for await (const info of this.#archive.store.list(`retention/runs/${chain}/`)) last = info.key;
    const match = last ? /\/(\d{16})\.cbor$/.exec(last) : null;
    return match ? Number(match[1]) : undefined;
  }

  /**
   * One run for `chain` at time `now`. Rejects if a run of that chain is already going. `signal`
   * stops it (the lease was lost): nothing more is marked or deleted.
   */
  async run(chain: string, options: { policy: RetentionPolicy; graceMs: number; now: number; dryRun?: boolean; signal?: AbortSignal }): Promise<RetentionRunReport> {
    if (this.#running.has(chain)) throw new CairnError('PRECONDITION_FAILED', `a retention run of chain ${chain} is already in progress`);
    this.#running.add(chain);
    const started = performance.now();
    const dryRun = options.dryRun ?? false;
    try {
      const marks = await readMarks(this.#archive, chain);
      // Clock sanity: a clock behind the previous run's would age images wrongly — refuse to act.
      const previousStart = await this.#lastRunStart(chain);
      // …and a host clock that disagrees with the database server's (another machine's) by more
      // than the allowed skew would mark and delete by a wrong time: refuse as well.
      const skewMs = Math.abs(Date.now() - (await this.#archive.metadata.now()));
      const clockBehind = (previousStart !== undefined && options.now < previousStart) || skewMs > MAX_CLOCK_SKEW_MS;
      if (clockBehind) this.#logger.error('retention run refuses to mark or delete: clock behind the previous run, or off the database clock', { chain, now: options.now, previousStart, skewMs });
      const acting = (): boolean => !dryRun && !clockBehind && !options.signal?.aborted;
      const rules = Object.fromEntries(RETENTION_RULES.map((rule) => [rule, 0])) as Record<RetentionRule, number>;
      const acted: RetentionDecision[] = [];
      let marked = 0;
      let deleted = 0;
      let unmarked = 0;
      let bytesFreed = 0;
      let legalHolds = 0;
      let spared = 0;
      const errors: string[] = [];
      // The plan streams (memory flat in the chain's length); store round trips dominate, so
      // several images are handled at once. A dry run counts what a run would do; a run that may
      // not act (clock behind, lease lost) counts nothing it did not do.
      await forEachLimited(planChain(this.#archive, chain, options.policy, options.now), SWEEP_CONCURRENCY, async (d) => {
        rules[d.rule] += 1;
        const digest = d.digest as Digest;
        const markedAt = marks.get(digest);
        const counts = dryRun || acting();
        let acts = false;
        try {
          if (d.action === 'delete') {
            if (markedAt === undefined) {
              if (counts) {
                marked++;
                acts = true;
              }
              if (acting()) await this.#archive.store.put(markKey(digest), encodeCbor({ v: 1, rule: d.rule, markedAt: options.now }));
            } else if (markedAt + options.graceMs <= options.now && counts) {
              // Re-checked from fresh state at the moment of deletion (inside the image's lock).
              let announced = false;
              const gone = dryRun || (await this.#archive.deleteImage(digest, { confirm: async (image) => (announced = await this.#stillDeleted(image, options.policy, options.now, markedAt)) }));
              if (gone) {
                deleted++;
                acts = true;
                bytesFreed += d.size;
              } else {
                spared++;
                // Confirmed and logged, then refused by the database: another process held the
                // image or recorded its finality in between. The log says so, for the audit.
                if (announced) this.#logger.info('retention deletion called off', { chain, height: d.height, digest, reason: 'held, or its finality recorded, by another process since the decision' });
              }
            }
          } else {
            if (markedAt !== undefined && counts) {
              unmarked++;
              acts = true;
              if (acting()) await this.#archive.store.delete(markKey(digest));
            }
            const entry = acting() && PROTECTED.has(d.rule) && this.#archive.store.setLegalHold ? await this.#archive.read.find(digest) : undefined;
            if (entry && (await this.#archive.protect(entry))) legalHolds++;
          }
        } catch (error) {
          errors.push(`${digest}: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (acts) acted.push(d);
      });
      acted.sort((a, b) => a.height - b.height || (a.digest < b.digest ? -1 : 1));
      if (clockBehind) errors.push(`clock ${options.now} is behind the previous run's start ${previousStart ?? '-'} or ${skewMs} ms off the database's: nothing marked or deleted`);
      if (options.signal?.aborted) errors.push('the retention lease was lost: the run stopped marking and deleting');
      const report: RetentionRunReport = { chain, dryRun, startedAt: options.now, durationMs: Math.round(performance.now() - started), policy: { ...options.policy, graceMs: options.graceMs }, rules, marked, deleted, bytesFreed, unmarked, spared, legalHolds, errors, decisions: acted };
      if (!dryRun) {
        const { decisions: _omit, ...history } = report;
        await this.#archive.store.put(runKey(chain, options.now), encodeCbor(JSON.parse(JSON.stringify(history)) as Record<string, unknown>));
      }
      this.#logger.info('retention run', { chain, dryRun, marked, deleted, unmarked, bytesFreed, errors: errors.length });
      return report;
    } finally {
      this.#running.delete(chain);
    }
  }

  /** Recorded runs of a chain, newest first. */
  async history(chain: string, limit = 50): Promise<unknown[]> {
    const keys: string[] = [];
    for await (const info of this.#archive.store.list(`retention/runs/${chain}/`)) keys.push(info.key);
    const out: unknown[] = [];
    for (const key of keys.reverse().slice(0, limit)) out.push(decodeCbor(await readObject(this.#archive.store, key)));
    return out;
  }
}

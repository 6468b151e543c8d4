/**
 * A chain's retention plan, streamed: the planner's two chain-wide facts come from indexed
 * queries (the keepLast highest heights; the highest final image), then the chain's images are
 * read a page at a time in (height, digest) order, without their records, and decided one height
 * at a time by the same pure rules as `planRetention` (decideHeight). Memory holds one page and
 * one height's forks, whatever the chain's length.
 */
import type { Archive } from '../archive/index.ts';
import type { PlanRow } from '../metadata/index.ts';
import { decideHeight, type PlanContext, type PlanImage, type RetentionDecision, type RetentionPolicy } from './planner.ts';

/** Rows per query: small pages die young in V8 (1,000-row pages raised a 1M-image plan's peak RSS by ~50 MiB). */
const PAGE = 250;

function planImage(row: PlanRow): PlanImage {
  return { digest: row.digest, height: row.height, storedAt: row.storedAt, final: row.final, pinned: row.held, size: row.size };
}

/** The chain-wide facts the rules need, by two indexed queries. */
export async function chainPlanContext(archive: Pick<Archive, 'metadata'>, chain: string, policy: RetentionPolicy): Promise<PlanContext> {
  const top = policy.keepLast > 0 ? await archive.metadata.topHeights(chain, policy.keepLast + 1) : [];
  const latestFrom = top.length > policy.keepLast ? (top[policy.keepLast - 1] as number) : -Infinity;
  const highestFinal = await archive.metadata.latest(chain, { finalOnly: true });
  if (!highestFinal) return { latestFrom, latestFinal: undefined };
  const first = (await archive.metadata.atHeight(chain, highestFinal.height)).find((row) => row.finalizedAt !== undefined);
  return { latestFrom, latestFinal: first ? { height: first.height, digest: first.digest } : undefined };
}

/** Every decision of a chain's plan, ordered by height then digest. */
export async function* planChain(archive: Pick<Archive, 'metadata'>, chain: string, policy: RetentionPolicy, now: number, options: { pageSize?: number } = {}): AsyncGenerator<RetentionDecision> {
  const page = options.pageSize ?? PAGE;
  const context = await chainPlanContext(archive, chain, policy);
  let group: PlanImage[] = [];
  let after: { height: number; digest: string } | undefined;
  for (;;) {
    const rows = await archive.metadata.planRows(chain, { limit: page, ...(after ? { after } : {}) });
    for (const row of rows) {
      if (group.length > 0 && (group[0] as PlanImage).height !== row.height) {
        yield* decideHeight(group, context, policy, now);
        group = [];
      }
      group.push(planImage(row));
    }
    const last = rows.at(-1);
    if (!last || rows.length < page) break;
    after = { height: last.height, digest: last.digest };
  }
  if (group.length > 0) yield* decideHeight(group, context, policy, now);
}

/**
 * Chain routes:
 *
 *   GET /v1/chains                           chains of the registry with image counts
 *   GET /v1/chains/{chain}/images            images by height: ?from=&to=&limit=&cursor=
 *   GET /v1/chains/{chain}/latest            the highest image; ?final=true for the highest final one
 *   GET /v1/chains/{chain}/heights/{height}  every image at one height (forks), with orphaned flags
 *   GET /v1/chains/{chain}/events            server-sent events, signed, resumable with Last-Event-ID
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { EventLog, SignedEvent } from '../event-log.ts';
import type { Archive } from '../../archive/service/archive.ts';
import { CairnError } from '../../errors.ts';
import { manifest, rowSummaries, summaries } from '../manifest.ts';
import { respond } from '../respond.ts';
import { ROUTES } from '../openapi/route-table.ts';
import { on, pathParams, queryParams } from '../openapi/routing.ts';

const MOUNT = '/v1/chains';

/** The chain routes. */
export function chainRoutes(archive: Archive, events: EventLog): Hono {
  const app = new Hono();

  on(app, MOUNT, ROUTES.height, async (c) => {
    const { chain, height } = pathParams(c, ROUTES.height.params);
    const images = (await archive.read.list(chain, { fromHeight: height, toHeight: height, limit: 1000 })).images;
    const finalDigests = new Set<string>(images.filter((e) => e.finalizedAt !== undefined).map((e) => e.record.digest));
    return respond(c, {
      chain,
      height,
      images: (await summaries(archive, images)).map((s) => ({ ...s, orphaned: finalDigests.size > 0 && !finalDigests.has(s.digest) })),
    });
  });

  on(app, MOUNT, ROUTES.events, (c) => {
    const { chain } = pathParams(c, ROUTES.events.params);
    if (!archive.registry.chains.has(chain)) throw new CairnError('UNKNOWN_CHAIN', `chain ${chain} is not in the registry`, { details: { chain } });
    return streamSSE(c, async (stream) => {
      const queue: SignedEvent[] = [];
      let wake: (() => void) | undefined;
      const unlisten = events.listen(chain, (event) => {
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        unlisten();
        wake?.();
      });
      const { events: missed, reset } = await events.since(chain, c.req.header('last-event-id'));
      if (reset) await stream.writeSSE({ event: 'stream.reset', data: JSON.stringify({ chain, reason: 'Last-Event-ID is not one of this archive\'s (or too far behind); re-read the listing' }) });
      queue.unshift(...missed);
      // Ids increase: one that arrived live while the replay was read is sent once.
      let sent = 0;
      while (!stream.aborted) {
        const next = queue.shift();
        if (next) {
          if (Number(next.id) <= sent) continue;
          sent = Number(next.id);
          await stream.writeSSE({ id: next.id, event: next.type, data: JSON.stringify(next) });
          continue;
        }
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), stream.sleep(15_000)]);
        wake = undefined;
        if (!queue.length && !stream.aborted) await stream.write(': keep-alive\n\n');
      }
      unlisten();
    });
  });

  on(app, MOUNT, ROUTES.listChains, async (c) => {
    const counts = await archive.read.counts();
    return respond(c, {
      chains: [...archive.registry.chains.values()].map((chain) => ({
        chain: chain.chain,
        epochLength: chain.epochLength,
        validators: chain.validators.size,
        totalWeight: chain.totalWeight,
        images: counts.get(chain.chain) ?? 0,
      })),
    });
  });

  on(app, MOUNT, ROUTES.listImages, async (c) => {
    const { chain } = pathParams(c, ROUTES.listImages.params);
    const { from: fromHeight, to: toHeight, limit = 100, cursor, final } = queryParams(c, ROUTES.listImages.query);
    const page = await archive.read.listRows(chain, { limit: Math.max(1, limit), final: final === 'true', ...(fromHeight === undefined ? {} : { fromHeight }), ...(toHeight === undefined ? {} : { toHeight }), ...(cursor ? { cursor } : {}) });
    return respond(c, { chain, images: await rowSummaries(archive, page.rows), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  });

  on(app, MOUNT, ROUTES.latest, async (c) => {
    const { chain } = pathParams(c, ROUTES.latest.params);
    const final = queryParams(c, ROUTES.latest.query).final === 'true';
    const entry = await archive.read.latest(chain, { final });
    if (!entry) throw new CairnError('NOT_FOUND', `chain ${chain} has no ${final ? 'final ' : ''}image yet`);
    return respond(c, await manifest(archive, entry));
  });

  return app;
}

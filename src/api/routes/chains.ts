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
import { assertChainId } from '../../archive/index.ts';
import type { Archive } from '../../archive/service/archive.ts';
import { CairnError } from '../../errors.ts';
import { manifest, summary } from '../manifest.ts';
import { respond } from '../respond.ts';

function optionalUint(name: string, value: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,16}$/.test(value) || Number(value) > max) throw new CairnError('INVALID_ARGUMENT', `${name} must be an integer between 0 and ${max}`);
  return Number(value);
}

/** The chain routes. */
export function chainRoutes(archive: Archive, events: EventLog): Hono {
  const app = new Hono();

  app.get('/:chain/heights/:height', (c) => {
    const chain = c.req.param('chain');
    assertChainId(chain);
    const height = optionalUint('height', c.req.param('height'));
    if (height === undefined) throw new CairnError('INVALID_ARGUMENT', 'height is required');
    const images = archive.list(chain, { fromHeight: height, toHeight: height, limit: 1000 }).images;
    const finalDigest = images.find((e) => archive.quorum(e).final)?.record.digest;
    return respond(c, {
      chain,
      height,
      images: images.map((e) => ({ ...summary(archive, e), orphaned: finalDigest !== undefined && e.record.digest !== finalDigest })),
    });
  });

  app.get('/:chain/events', (c) => {
    const chain = c.req.param('chain');
    assertChainId(chain);
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
      const { events: missed, reset } = events.since(chain, c.req.header('last-event-id'));
      if (reset) await stream.writeSSE({ event: 'stream.reset', data: JSON.stringify({ chain, reason: 'Last-Event-ID unknown to this server; re-read the listing' }) });
      queue.unshift(...missed);
      while (!stream.aborted) {
        const next = queue.shift();
        if (next) {
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

  app.get('/', (c) =>
    respond(c, {
      chains: [...archive.registry.chains.values()].map((chain) => ({
        chain: chain.chain,
        epochLength: chain.epochLength,
        validators: chain.validators.size,
        totalWeight: chain.totalWeight,
        images: archive.index.all(chain.chain).length,
      })),
    }),
  );

  app.get('/:chain/images', (c) => {
    const chain = c.req.param('chain');
    assertChainId(chain);
    const fromHeight = optionalUint('from', c.req.query('from'));
    const toHeight = optionalUint('to', c.req.query('to'));
    const limit = optionalUint('limit', c.req.query('limit'), 1000) ?? 100;
    const cursor = c.req.query('cursor');
    const page = archive.list(chain, { limit: Math.max(1, limit), ...(fromHeight === undefined ? {} : { fromHeight }), ...(toHeight === undefined ? {} : { toHeight }), ...(cursor ? { cursor } : {}) });
    return respond(c, { chain, images: page.images.map((e) => summary(archive, e)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  });

  app.get('/:chain/latest', async (c) => {
    const chain = c.req.param('chain');
    assertChainId(chain);
    const final = c.req.query('final') === 'true';
    const entry = archive.latest(chain, { final });
    if (!entry) throw new CairnError('NOT_FOUND', `chain ${chain} has no ${final ? 'final ' : ''}image yet`);
    return respond(c, await manifest(archive, entry));
  });

  return app;
}

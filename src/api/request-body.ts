/**
 * Request bodies, the only two ways the API reads them:
 *  - an image push streams (`uploadBody`): never buffered, cut when the client delivers fewer
 *    than `minBytes` within `idleTimeoutMs` of the archive waiting for them (UPLOAD_IDLE_TIMEOUT),
 *    and a client that goes away mid-upload is a CLIENT_ABORTED, not a server failure;
 *  - every other body is small (`limitedBody`): refused with BODY_TOO_LARGE as soon as its
 *    Content-Length or the bytes received so far cross the route's limit. The rest is never
 *    buffered: @hono/node-server discards what still arrives for at most 500 ms (64 MiB) after
 *    the answer, so the client can read it, and then closes the connection. (Closing at once
 *    would reset the connection under a client still sending, which then never sees the 413.)
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { CairnError, isCairnError } from '../errors.ts';

/**
 * The request body as a Node stream: on @hono/node-server, the socket's own IncomingMessage
 * (no web-stream conversion on the hot path); elsewhere (tests with app.request), the web body.
 */
function rawBody(c: Context): Readable | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return incoming;
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as NodeReadableStream<Uint8Array>) : undefined;
}

/** The Content-Length header as a number (undefined when absent). */
export function declaredLength(c: Context): number | undefined {
  const header = c.req.header('content-length');
  if (header === undefined) return undefined;
  if (!/^\d{1,16}$/.test(header)) throw new CairnError('INVALID_ARGUMENT', 'invalid Content-Length');
  return Number(header);
}

/** How slow an upload may be before it is cut. */
export interface UploadPace {
  /** Waiting time (for the client's bytes) that makes one window. */
  readonly idleTimeoutMs: number;
  /** Bytes the client must deliver within each window (at least 1: total silence is always cut). */
  readonly minBytes: number;
}

/**
 * An upload's bytes as they arrive. Time counts only while the consumer waits for the client,
 * so a slow store downstream never counts against it; within every `idleTimeoutMs` of such
 * waiting the client must deliver `minBytes`, else the upload is cut (UPLOAD_IDLE_TIMEOUT: the
 * connection is closed and the archive stores nothing). That catches a silent client and a
 * trickling one (a byte every half second) alike.
 */
export async function* uploadBody(c: Context, pace: UploadPace): AsyncGenerator<Uint8Array> {
  const source = rawBody(c);
  if (!source) throw new CairnError('INVALID_ARGUMENT', 'the request has no body');
  // Stopping early (a refused push) must not destroy the request: the error response still has to reach the client.
  const iterator = source.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>;
  const minBytes = Math.max(1, pace.minBytes);
  const tooSlow = (): CairnError => new CairnError('UPLOAD_IDLE_TIMEOUT', `fewer than ${minBytes} bytes received in ${pace.idleTimeoutMs} ms; the upload was cut`);
  let cut = false;
  let waited = 0; // ms waited in the current window
  let received = 0; // bytes received in the current window
  /** At the end of a window: true when the client was too slow, else a new window starts. */
  const windowOver = (): boolean => {
    if (received < minBytes) return true;
    waited = 0;
    received = 0;
    return false;
  };
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      let since = performance.now();
      const arm = (): void => {
        timer = setTimeout(() => {
          waited += performance.now() - since;
          since = performance.now();
          if (!windowOver()) return arm();
          cut = true;
          source.destroy(tooSlow());
        }, Math.max(0, pace.idleTimeoutMs - waited));
      };
      arm();
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } finally {
        clearTimeout(timer);
      }
      if (next.done) return;
      waited += performance.now() - since;
      received += next.value.length;
      if (waited >= pace.idleTimeoutMs && windowOver()) {
        cut = true;
        source.destroy();
        throw tooSlow();
      }
      yield next.value;
    }
  } catch (error) {
    if (cut || isCairnError(error)) throw error;
    throw new CairnError('CLIENT_ABORTED', 'the client closed the connection before the upload was complete', { cause: error });
  } finally {
    await iterator.return?.();
  }
}

/** The whole body of a small request, at most `maxBytes` of it (BODY_TOO_LARGE beyond). */
export async function limitedBody(c: Context, maxBytes: number): Promise<Buffer> {
  const tooLarge = (): CairnError => new CairnError('BODY_TOO_LARGE', `the request body is larger than ${maxBytes} bytes`, { details: { maxBytes } });
  const declared = declaredLength(c);
  if (declared !== undefined && declared > maxBytes) throw tooLarge();
  const source = rawBody(c);
  if (!source) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > maxBytes) throw tooLarge();
      parts.push(chunk);
    }
  } catch (error) {
    if (isCairnError(error)) throw error;
    throw new CairnError('CLIENT_ABORTED', 'the client closed the connection before its request was complete', { cause: error });
  }
  return Buffer.concat(parts, length);
}

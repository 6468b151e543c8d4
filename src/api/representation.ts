/**
 * Serves a byte representation with HTTP caching and range semantics: strong ETag,
 * If-None-Match (304), If-Range, single Range (206 / 416), HEAD without a body, and
 * `Content-Encoding: zstd` for clients that accept it when the representation has a zstd form
 * (never for a range: ranges are of the identity bytes). The body is
 * streamed from `read` with backpressure; an error before the first byte is an error response,
 * an error later aborts the response rather than completing it with wrong bytes.
 */
import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { toCairnError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { drainedOrClosed } from '../archive/index.ts';
import { parseRange } from './http-range.ts';
import { acceptsZstd } from './content-coding.ts';

/** What to serve. */
export interface Representation {
  readonly size: number;
  /** Strong ETag, quoted. */
  readonly etag: string;
  readonly contentType: string;
  /** Bytes [start, end] (inclusive). Only called when a body is sent. */
  read(start: number, end: number): Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>;
  /** Extra response headers. */
  readonly headers?: Record<string, string>;
  /** The whole representation zstd-encoded, when there is such a form (as stored: no work to serve it). */
  readonly zstd?: { readonly size: number; read(): Promise<AsyncIterable<Uint8Array>> | AsyncIterable<Uint8Array> };
}

/** Strong ETag of the zstd-coded form: a different one, as RFC 9110 §8.8.3 asks of another coding. */
function zstdEtag(etag: string): string {
  return `${etag.slice(0, -1)}-zstd"`;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

function iteratorOf(iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncIterator<Uint8Array> | Iterator<Uint8Array> {
  return Symbol.asyncIterator in iterable ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]();
}

function logAbort(c: Context, error: unknown, logger: Logger): Error {
  const cairnError = toCairnError(error);
  logger.error('response aborted mid-stream', { method: c.req.method, path: c.req.path, code: cairnError.code, error });
  return cairnError;
}

/**
 * A web stream of the body, for runtimes without a Node response (in-process `app.request`).
 * The first chunk is pulled before the status line, so an early failure is still a proper error
 * response; a later one errors the stream.
 */
async function webStream(c: Context, iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, logger: Logger): Promise<ReadableStream<Uint8Array>> {
  const iterator = iteratorOf(iterable);
  const first = await iterator.next();
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (first.done) controller.close();
        else controller.enqueue(first.value);
      },
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          controller.error(logAbort(c, error, logger));
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 1 },
  );
}

/**
 * On @hono/node-server, bulk bodies go straight to the Node response (no web-stream
 * conversion): the first chunk is pulled before the status line (so an early failure is still a
 * proper error response), then chunks are written with backpressure; a later failure is logged
 * and the connection destroyed.
 */
async function writeDirect(c: Context, outgoing: ServerResponse, status: number, headers: Record<string, string>, iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, logger: Logger): Promise<Response> {
  const iterator = iteratorOf(iterable);
  let next = await iterator.next();
  outgoing.writeHead(status, headers);
  try {
    while (!next.done) {
      if (outgoing.destroyed) break;
      if (!outgoing.write(next.value)) await drainedOrClosed(outgoing);
      next = await iterator.next();
    }
    if (outgoing.destroyed) await iterator.return?.();
    else outgoing.end();
  } catch (error) {
    outgoing.destroy(logAbort(c, error, logger));
    await Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
  return RESPONSE_ALREADY_SENT;
}

/** Answers the request in `c` with `rep`. */
export async function serveRepresentation(c: Context, rep: Representation, logger: Logger): Promise<Response> {
  const headers: Record<string, string> = { etag: rep.etag, 'accept-ranges': 'bytes', 'content-type': rep.contentType, ...rep.headers };
  if (rep.zstd) headers.vary = 'accept-encoding';
  const ifRange = c.req.header('if-range');
  const range = ifRange && ifRange.trim() !== rep.etag ? undefined : parseRange(c.req.header('range'), rep.size);
  const zstd = !range && rep.zstd && acceptsZstd(c.req.header('accept-encoding')) ? rep.zstd : undefined;
  if (zstd) {
    headers.etag = zstdEtag(rep.etag);
    headers['content-encoding'] = 'zstd';
  }
  if (etagMatches(c.req.header('if-none-match'), headers.etag as string)) return c.body(null, 304, headers);
  const start = range?.start ?? 0;
  const end = range?.end ?? rep.size - 1;
  const length = zstd ? zstd.size : rep.size === 0 ? 0 : end - start + 1;
  headers['content-length'] = String(length);
  if (range) headers['content-range'] = `bytes ${start}-${end}/${rep.size}`;
  const status = range ? 206 : 200;
  if (c.req.method === 'HEAD' || length === 0) return c.body(null, status, headers);
  const body = async (): Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>> => (zstd ? zstd.read() : rep.read(start, end));
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing) return writeDirect(c, outgoing, status, headers, await body(), logger);
  return c.body(await webStream(c, await body(), logger), status, headers);
}

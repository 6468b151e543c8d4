/**
 * Serves a byte representation with HTTP caching and range semantics: strong ETag,
 * If-None-Match (304), If-Range, single Range (206 / 416), HEAD without a body. The body is
 * streamed from `read` with backpressure; an error mid-stream aborts the response rather than
 * completing it with wrong bytes.
 */
import type { Context } from 'hono';
import { parseRange } from './http-range.ts';

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
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

function toWebStream(iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): ReadableStream<Uint8Array> {
  return ReadableStream.from(iterable as AsyncIterable<Uint8Array>);
}

/** Answers the request in `c` with `rep`. */
export async function serveRepresentation(c: Context, rep: Representation): Promise<Response> {
  const headers: Record<string, string> = { etag: rep.etag, 'accept-ranges': 'bytes', 'content-type': rep.contentType, ...rep.headers };
  if (etagMatches(c.req.header('if-none-match'), rep.etag)) return c.body(null, 304, headers);
  const ifRange = c.req.header('if-range');
  const range = ifRange && ifRange.trim() !== rep.etag ? undefined : parseRange(c.req.header('range'), rep.size);
  const start = range?.start ?? 0;
  const end = range?.end ?? rep.size - 1;
  const length = rep.size === 0 ? 0 : end - start + 1;
  headers['content-length'] = String(length);
  if (range) headers['content-range'] = `bytes ${start}-${end}/${rep.size}`;
  const status = range ? 206 : 200;
  if (c.req.method === 'HEAD' || length === 0) return c.body(null, status, headers);
  return c.body(toWebStream(await rep.read(start, end)), status, headers);
}

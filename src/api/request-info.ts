/**
 * Per-request facts for logs: a request id (the client's `X-Request-Id` when it is a sane
 * token, else a fresh UUID; echoed in the response) and who authenticated (the token's name,
 * e.g. `admin#1` for the first admin token — never the token).
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';

/** What is known about a request. */
export interface RequestInfo {
  readonly id: string;
  principal?: string;
}

const infos = new WeakMap<Request, RequestInfo>();

/** The request's info, created on first use. */
export function requestInfo(c: Context): RequestInfo {
  let info = infos.get(c.req.raw);
  if (!info) {
    const offered = c.req.header('x-request-id');
    info = { id: offered && /^[A-Za-z0-9._-]{1,64}$/.test(offered) ? offered : randomUUID() };
    infos.set(c.req.raw, info);
  }
  return info;
}

/** The request's fields for a log line: `requestId` and, once authenticated, `principal`. */
export function requestFields(c: Context): { requestId: string; principal?: string } {
  const info = requestInfo(c);
  return { requestId: info.id, ...(info.principal ? { principal: info.principal } : {}) };
}

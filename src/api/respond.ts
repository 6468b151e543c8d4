/**
 * Response helpers: JSON with byte strings as base64, or deterministic CBOR when asked.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { encodeCbor } from '../archive/index.ts';

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
}

/** True when the client prefers CBOR. */
export function wantsCbor(c: Context): boolean {
  return /\bapplication\/cbor\b/.test(c.req.header('accept') ?? '');
}

/** JSON (byte strings as base64) or CBOR, by the request's Accept header. */
export function respond(c: Context, value: unknown, status: ContentfulStatusCode = 200): Response {
  if (wantsCbor(c)) return c.body(Buffer.from(encodeCbor(value as Record<string, unknown>)), status, { 'content-type': 'application/cbor', vary: 'accept' });
  return c.body(JSON.stringify(value, replacer), status, { 'content-type': 'application/json; charset=utf-8', vary: 'accept' });
}

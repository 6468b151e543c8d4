/**
 * Bearer-token checks. Tokens are compared in constant time: both sides are hashed to 32 bytes
 * first, so neither content nor length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { CairnError } from '../errors.ts';
import { requestInfo } from './request-info.ts';

function hash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A set of accepted tokens with a constant-time membership test. */
export class TokenSet {
  readonly #hashes: Buffer[];
  readonly #label: string;

  /** `label` names the tokens in logs: `<label>#1`, `<label>#2`, … in configuration order. */
  constructor(tokens: readonly string[], label = 'token') {
    this.#hashes = tokens.map(hash);
    this.#label = label;
  }

  get empty(): boolean {
    return this.#hashes.length === 0;
  }

  /** True when `token` is one of the set (every entry is compared, whatever matches). */
  has(token: string): boolean {
    return this.name(token) !== undefined;
  }

  /** The token's log name (`<label>#n`), or undefined; every entry is compared, whatever matches. */
  name(token: string): string | undefined {
    const candidate = hash(token);
    let found = -1;
    this.#hashes.forEach((h, i) => {
      if (timingSafeEqual(h, candidate) && found < 0) found = i;
    });
    return found < 0 ? undefined : `${this.#label}#${found + 1}`;
  }
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? '');
  return match?.[1];
}

/** The cookie a browser presents the read token in (set by the dashboard's sign-in). */
export const READ_COOKIE = 'cairn_read';

/**
 * Requires one of `sets`' tokens as `Authorization: Bearer`; `UNAUTHORIZED` otherwise. With
 * `cookie`, a GET or HEAD may present the token in that cookie instead (browsers cannot send
 * headers when navigating or opening an event stream; the cookie is HttpOnly and SameSite=Strict
 * and only ever authorises reads).
 */
export function requireToken(...args: Array<TokenSet | { cookie: string }>): MiddlewareHandler {
  const sets = args.filter((a): a is TokenSet => a instanceof TokenSet);
  const cookieName = args.find((a): a is { cookie: string } => !(a instanceof TokenSet))?.cookie;
  return async (c, next) => {
    let token = bearer(c.req.header('authorization'));
    if (!token && cookieName && (c.req.method === 'GET' || c.req.method === 'HEAD')) token = getCookie(c, cookieName);
    if (!token) throw new CairnError('UNAUTHORIZED', 'a bearer token is required');
    const name = sets.map((s) => s.name(token)).find((n) => n !== undefined);
    if (!name) throw new CairnError('FORBIDDEN', 'the token is not valid for this operation');
    requestInfo(c).principal = name;
    await next();
  };
}

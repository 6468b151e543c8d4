/**
 * Bearer-token checks. Tokens are compared in constant time: both sides are hashed to 32 bytes
 * first, so neither content nor length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { CairnError } from '../errors.ts';

function hash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A set of accepted tokens with a constant-time membership test. */
export class TokenSet {
  readonly #hashes: Buffer[];

  constructor(tokens: readonly string[]) {
    this.#hashes = tokens.map(hash);
  }

  get empty(): boolean {
    return this.#hashes.length === 0;
  }

  /** True when `token` is one of the set (every entry is compared, whatever matches). */
  has(token: string): boolean {
    const candidate = hash(token);
    let found = false;
    for (const h of this.#hashes) found = timingSafeEqual(h, candidate) || found;
    return found;
  }
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? '');
  return match?.[1];
}

/** Requires one of `tokens` as `Authorization: Bearer`; `UNAUTHORIZED` otherwise. */
export function requireToken(...sets: TokenSet[]): MiddlewareHandler {
  return async (c, next) => {
    const token = bearer(c.req.header('authorization'));
    if (!token) throw new CairnError('UNAUTHORIZED', 'a bearer token is required');
    if (!sets.some((s) => s.has(token))) throw new CairnError('FORBIDDEN', 'the token is not valid for this operation');
    await next();
  };
}

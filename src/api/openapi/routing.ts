/**
 * Registering routes from the route table and validating their input with its schemas.
 */
import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import { CairnError } from '../../errors.ts';
import { matchedRoutes } from 'hono/route';
import { ROUTES, type RouteSpec } from './route-table.ts';
import { limitedBody } from '../request-body.ts';

/** An OpenAPI path (`/v1/images/{digest}`) in Hono's form (`/v1/images/:digest`). */
export function honoPath(path: string): string {
  return path.replace(/\{([A-Za-z]+)\}/g, ':$1');
}

/** Registers `handler` for `spec` on a sub-app mounted at `mount`. */
export function on(app: Hono, mount: string, spec: RouteSpec, handler: (c: Context) => Response | Promise<Response>): void {
  if (!spec.path.startsWith(mount)) throw new Error(`route ${spec.path} is not under ${mount}`);
  app.on(spec.method.toUpperCase(), honoPath(spec.path.slice(mount.length) || '/'), handler);
}

const SPEC_BY_ROUTE = new Map((Object.values(ROUTES) as RouteSpec[]).map((spec) => [`${spec.method.toUpperCase()} ${honoPath(spec.path)}`, spec]));

/** The route-table entry of the route this request matched (HEAD matches its GET route). */
export function matchedSpec(c: Context): RouteSpec | undefined {
  const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
  return route ? SPEC_BY_ROUTE.get(`${route.method} ${route.path}`) : undefined;
}

function invalid(where: string, error: z.ZodError): CairnError {
  const problems = error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
  return new CairnError('INVALID_ARGUMENT', problems.join('; '), { details: { problems } });
}

/** The path parameters, parsed by the route's schema. */
export function pathParams<S extends z.ZodObject>(c: Context, schema: S): z.output<S> {
  const parsed = schema.safeParse(c.req.param());
  if (!parsed.success) throw invalid('path', parsed.error);
  return parsed.data;
}

/**
 * The query string, parsed by the route's schema. A parameter the schema does not name is
 * refused (INVALID_ARGUMENT), so a misspelt or unsupported filter never silently does nothing.
 */
export function queryParams<S extends z.ZodObject>(c: Context, schema: S): z.output<S> {
  const parsed = (schema.strict() as unknown as S).safeParse(c.req.query());
  if (!parsed.success) throw invalid('query', parsed.error);
  return parsed.data;
}

/**
 * Refuses a query string on a route that declares none (a route with a schema checks its own
 * parameters in {@link queryParams}).
 */
export function refuseUndeclaredQuery(c: Context, spec: RouteSpec): void {
  if (spec.query) return;
  const names = Object.keys(c.req.query());
  if (names.length > 0) throw new CairnError('INVALID_ARGUMENT', `${c.req.path} takes no query parameters (got ${names.slice(0, 5).join(', ')})`, { details: { unknown: names.slice(0, 20) } });
}

/** The body of a route that takes a small one, read up to the route's `maxBodyBytes` (BODY_TOO_LARGE beyond). */
export function bodyBytes(c: Context): Promise<Buffer> {
  const limit = matchedSpec(c)?.maxBodyBytes;
  if (limit === undefined) throw new CairnError('INTERNAL', `route ${c.req.routePath} declares no body limit`);
  return limitedBody(c, limit);
}

/** A JSON body (at most the route's `maxBodyBytes`), parsed by the route's schema. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const bytes = await bodyBytes(c);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CairnError('INVALID_ARGUMENT', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid('body', parsed.error);
  return parsed.data;
}

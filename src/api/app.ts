/**
 * The HTTP API application (Hono), versioned under /v1. Assembled from route modules; errors are
 * turned into responses in one place (error-handler.ts).
 */
import { Hono } from 'hono';
import type { Archive } from '../archive/service/archive.ts';
import { formatPublicKey, type PublicKey } from '../archive/index.ts';
import type { EventLog } from './event-log.ts';
import { CairnError, isCairnError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { READ_COOKIE, TokenSet, requireToken } from './auth.ts';
import { errorResponse } from './error-handler.ts';
import { adminRoutes, type RetentionSettings } from './routes/admin.ts';
import { chainRoutes } from './routes/chains.ts';
import { imageRoutes } from './routes/images.ts';
import { uiRoutes } from './ui/ui-routes.ts';
import { APP_ICON } from './ui/assets.ts';
import type { UploadPace } from './request-body.ts';
import { CairnMetrics } from '../metrics.ts';
import { requestFields, requestInfo } from './request-info.ts';
import { ROUTES } from './openapi/route-table.ts';
import { matchedSpec, on, refuseUndeclaredQuery } from './openapi/routing.ts';
import { openApiDocument } from './openapi/openapi-document.ts';
import { docsPage } from './openapi/docs-page.ts';
import { VERSION } from '../version.ts';

/** What the API needs. */
export interface AppOptions {
  readonly archive: Archive;
  readonly logger: Logger;
  readonly adminTokens: readonly string[];
  /** Signed announcements (created by the server from the archive and its identity). */
  readonly events: EventLog;
  /** The server identity's public key, published at /v1/identity. */
  readonly identity: PublicKey;
  /** Retention policy and runner for the admin routes. */
  readonly retention: RetentionSettings;
  /** When set, reads need this token (or an admin token). */
  readonly readToken?: string;
  /** How slow a push may be before it is cut (default: 64 KiB per 30 s of waiting). */
  readonly uploadPace?: UploadPace;
  /** Prometheus metrics (a fresh set when not given). */
  readonly metrics?: CairnMetrics;
}

/** Builds the API. */
export function createApp(options: AppOptions): Hono {
  const { archive, logger } = options;
  const admin = new TokenSet(options.adminTokens, 'admin');
  const read = new TokenSet(options.readToken ? [options.readToken] : [], 'read');
  const metrics = options.metrics ?? new CairnMetrics({ defaultMetrics: false });
  const app = new Hono();

  app.onError((error, c) => errorResponse(c, error, logger, metrics));
  app.notFound((c) => errorResponse(c, new CairnError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`), logger, metrics));
  app.use(async (c, next) => {
    const started = performance.now();
    const info = requestInfo(c);
    c.header('x-request-id', info.id);
    await next();
    // The matched pattern (e.g. /v1/images/:digest/file), never the raw path.
    const route = c.req.routePath === '/*' ? 'unmatched' : c.req.routePath;
    const seconds = (performance.now() - started) / 1000;
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    logger.debug('request', { ...requestFields(c), method: c.req.method, route, status: c.res.status, ms: Math.round(seconds * 1000) });
  });

  // Authorization comes from each route's declared `auth` in the route table (the same field
  // the OpenAPI document publishes): admin routes need an admin token; read routes need the
  // read token (or an admin token), as a bearer or — for GET/HEAD from a browser — the sign-in
  // cookie, when one is configured. A dashboard page without it redirects to the sign-in form.
  const adminOnly = requireToken(admin);
  const readers = requireToken(read, admin, { cookie: READ_COOKIE });
  app.use(async (c, next) => {
    const spec = matchedSpec(c);
    if (!spec || spec.auth === 'none' || (spec.auth === 'read' && read.empty)) return next();
    if (spec.auth === 'admin') return adminOnly(c, next);
    if (spec.tag !== 'dashboard') return readers(c, next);
    try {
      await readers(c, next);
    } catch (error) {
      if (isCairnError(error, 'UNAUTHORIZED') || isCairnError(error, 'FORBIDDEN')) return c.redirect('/ui/login', 303);
      throw error;
    }
  });

  // A query parameter no route declares is refused, never silently ignored.
  app.use(async (c, next) => {
    const spec = matchedSpec(c);
    if (spec) refuseUndeclaredQuery(c, spec);
    return next();
  });

  on(app, '', ROUTES.healthz, (c) => c.json({ status: 'ok' }));
  on(app, '', ROUTES.readyz, async (c) => {
    await archive.store.ping();
    await archive.metadata.ping();
    return c.json({ status: 'ready', store: archive.store.driver, database: archive.metadata.driver });
  });

  on(app, '', ROUTES.metrics, async (c) => {
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { 'content-type': contentType });
  });

  app.route('/v1/images', imageRoutes(archive, logger, metrics, options.uploadPace ?? { idleTimeoutMs: 30_000, minBytes: 64 * 1024 }));
  app.route('/v1/chains', chainRoutes(archive, options.events));
  on(app, '', ROUTES.favicon, (c) => c.body(APP_ICON, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' }));
  on(app, '', ROUTES.openapi, (c) => c.json(openApiDocument(VERSION)));
  on(app, '', ROUTES.docs, (c) => {
    c.header('content-security-policy', "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'");
    return c.html(docsPage(openApiDocument(VERSION)));
  });
  on(app, '', ROUTES.identity, (c) =>
    c.json({ algorithm: options.identity.algorithm, publicKey: Buffer.from(options.identity.raw).toString('base64'), fingerprint: options.identity.fingerprint, line: formatPublicKey(options.identity, 'cairn-server').trim() }),
  );
  app.route('/v1/admin', adminRoutes(archive, logger, options.retention));
  app.route('/ui', uiRoutes(archive, options.retention, { signIn: read.empty ? undefined : (token) => read.has(token) || admin.has(token) }));
  return app;
}

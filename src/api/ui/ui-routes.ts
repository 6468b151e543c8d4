/**
 * The dashboard, under /ui:
 *
 *   GET /ui                                   the chains
 *   GET /ui/chains/{chain}[?before=height]     one chain: timeline, plan, holds, events, validators
 *   GET /ui/assets/app.css, /ui/assets/app.js
 *   GET, POST /ui/login                       sign-in when a read token is configured (sets a read-only cookie)
 *
 * Pages are read-only views of the archive; the admin actions on them go through the admin API
 * with the admin token the user gives the page. Responses carry a strict
 * Content-Security-Policy (no inline script, same-origin only).
 */
import { Hono, type Context } from 'hono';
import type { Archive } from '../../archive/service/archive.ts';
import { publicError } from '../../errors.ts';
import { ROUTES } from '../openapi/route-table.ts';
import { bodyBytes, on, pathParams, queryParams } from '../openapi/routing.ts';
import type { RetentionSettings } from '../routes/admin.ts';
import { APP_CSS, APP_ICON, APP_JS } from './assets.ts';
import { chainView } from './chain-view.ts';
import { chainPage, errorPage, indexPage, signInPage } from './templates.ts';
import { setCookie } from 'hono/cookie';
import { READ_COOKIE } from '../auth.ts';
import { signInForm } from '../openapi/schemas.ts';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function secure(c: Context): void {
  c.header('content-security-policy', CSP);
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'no-referrer');
  c.header('cache-control', 'no-store');
}

const MOUNT = '/ui';

/** The dashboard routes. */
export function uiRoutes(archive: Archive, retention: RetentionSettings, options: { signIn?: ((token: string) => boolean) | undefined; now?: () => number } = {}): Hono {
  const now = options.now ?? Date.now;
  const app = new Hono();
  app.onError((error, c) => {
    const e = publicError(error);
    secure(c);
    return c.html(errorPage(e.httpStatus, e.code, e.message), e.httpStatus as 400);
  });
  on(app, MOUNT, ROUTES.uiCss, (c) => {
    c.header('cache-control', 'no-cache');
    return c.body(APP_CSS, 200, { 'content-type': 'text/css; charset=utf-8' });
  });
  on(app, MOUNT, ROUTES.uiIcon, (c) => {
    c.header('cache-control', 'public, max-age=86400');
    return c.body(APP_ICON, 200, { 'content-type': 'image/svg+xml' });
  });
  on(app, MOUNT, ROUTES.uiJs, (c) => {
    c.header('cache-control', 'no-cache');
    return c.body(APP_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' });
  });
  on(app, MOUNT, ROUTES.uiSignIn, (c) => {
    secure(c);
    return c.html(signInPage(options.signIn ? 'form' : 'open'));
  });
  on(app, MOUNT, ROUTES.uiSignInPost, async (c) => {
    secure(c);
    const { signIn } = options;
    if (!signIn) return c.redirect('/ui', 303);
    const parsed = signInForm.safeParse(Object.fromEntries(new URLSearchParams((await bodyBytes(c)).toString('utf8'))));
    if (!parsed.success || !signIn(parsed.data.token)) return c.html(signInPage('wrong'), 403);
    setCookie(c, READ_COOKIE, parsed.data.token, { httpOnly: true, sameSite: 'Strict', path: '/', secure: new URL(c.req.url).protocol === 'https:' });
    return c.redirect('/ui', 303);
  });
  on(app, MOUNT, ROUTES.uiIndex, async (c) => {
    secure(c);
    const counts = await archive.read.counts();
    const chains = await Promise.all(
      [...archive.registry.chains.values()].map(async (r) => ({ chain: r.chain, images: counts.get(r.chain) ?? 0, validators: r.validators.size, latest: (await archive.read.latest(r.chain))?.record.height })),
    );
    return c.html(indexPage(chains));
  });
  on(app, MOUNT, ROUTES.uiChain, async (c) => {
    secure(c);
    const { before } = queryParams(c, ROUTES.uiChain.query);
    const chain = pathParams(c, ROUTES.uiChain.params).chain;
    return c.html(chainPage(await chainView(archive, retention, chain, now(), before === undefined ? {} : { before })));
  });
  return app;
}

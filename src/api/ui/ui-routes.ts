/**
 * The dashboard, under /ui:
 *
 *   GET /ui                                   the chains
 *   GET /ui/chains/{chain}[?before=height]     one chain: timeline, plan, holds, events, validators
 *   GET /ui/chains/{chain}/fragments/{summary|timeline|plan|holds}   the parts the page refreshes
 *   GET /ui/assets/app.css, /ui/assets/app.js
 *
 * Pages are read-only views of the archive; the admin actions on them go through the admin API
 * with the admin token the user gives the page. Responses carry a strict
 * Content-Security-Policy (no inline script, same-origin only).
 */
import { Hono, type Context } from 'hono';
import type { Archive } from '../../archive/service/archive.ts';
import { assertChainId } from '../../archive/index.ts';
import { CairnError, toCairnError } from '../../errors.ts';
import type { RetentionSettings } from '../routes/admin.ts';
import { APP_CSS, APP_JS } from './assets.ts';
import { chainView } from './chain-view.ts';
import { chainPage, errorPage, holdsFragment, indexPage, planFragment, summaryFragment, timelineFragment } from './templates.ts';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function secure(c: Context): void {
  c.header('content-security-policy', CSP);
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'no-referrer');
  c.header('cache-control', 'no-store');
}

function before(c: Context): number | undefined {
  const text = c.req.query('before');
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,16}$/.test(text)) throw new CairnError('INVALID_ARGUMENT', 'before must be a height');
  return Number(text);
}

/** The dashboard routes. */
export function uiRoutes(archive: Archive, retention: RetentionSettings, now: () => number = Date.now): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    const e = toCairnError(error);
    secure(c);
    return c.html(errorPage(e.httpStatus, e.code, e.message), e.httpStatus as 400);
  });
  app.get('/assets/app.css', (c) => {
    c.header('cache-control', 'no-cache');
    return c.body(APP_CSS, 200, { 'content-type': 'text/css; charset=utf-8' });
  });
  app.get('/assets/app.js', (c) => {
    c.header('cache-control', 'no-cache');
    return c.body(APP_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' });
  });
  app.get('/', (c) => {
    secure(c);
    const chains = [...archive.registry.chains.values()].map((r) => ({ chain: r.chain, images: archive.index.all(r.chain).length, validators: r.validators.size, latest: archive.index.all(r.chain).at(-1)?.record.height }));
    return c.html(indexPage(chains));
  });
  const view = (c: Context) => {
    const chain = c.req.param('chain') ?? '';
    assertChainId(chain);
    const b = before(c);
    return chainView(archive, retention, chain, now(), b === undefined ? {} : { before: b });
  };
  app.get('/chains/:chain', (c) => {
    secure(c);
    return c.html(chainPage(view(c)));
  });
  app.get('/chains/:chain/fragments/:part', (c) => {
    secure(c);
    const v = view(c);
    const part = c.req.param('part');
    if (part === 'timeline') return c.html(timelineFragment(v));
    if (part === 'plan') return c.html(planFragment(v));
    if (part === 'holds') return c.html(holdsFragment(v));
    if (part === 'summary') return c.html(summaryFragment(v));
    throw new CairnError('NOT_FOUND', `no fragment ${part}`);
  });
  return app;
}

/**
 * The dashboard's HTML, rendered on the server with Hono's `html` templates: every interpolated
 * value is escaped (chain and validator ids come from configuration and uploads), nothing is
 * inlined as script, and states are told by words and symbols, not by colour alone.
 */
import { html } from 'hono/html';
import type { ChainView, TimelineRow } from './chain-view.ts';
import type { RetentionDecision } from '../../retention/index.ts';

type Html = ReturnType<typeof html>;

/** Bytes in the largest unit that keeps the number ≥ 1. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A duration as its largest whole unit (s, min, h, d). */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

function short(digest: string): string {
  return `${digest.slice(9, 21)}…`;
}

function page(title: string, chain: string | undefined, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="/ui/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/app.css">
<script src="/ui/assets/app.js" defer></script>
</head>
<body${chain === undefined ? '' : html` data-chain="${chain}"`}>
<header class="top"><a class="brand" href="/ui">Cairn</a><span class="sep">/</span><span>${chain ?? 'archive'}</span>
<a class="docs" href="/docs">API</a></header>
<main>${body}</main>
</body>
</html>`;
}

/** The list of chains. */
export function indexPage(chains: ReadonlyArray<{ chain: string; images: number; validators: number; latest: number | undefined }>): Html {
  return page(
    'Cairn',
    undefined,
    html`<h1>Chains</h1>
<table class="grid-table">
<thead><tr><th scope="col">Chain</th><th scope="col" class="num">Images</th><th scope="col" class="num">Validators</th><th scope="col" class="num">Latest height</th></tr></thead>
<tbody>${chains.length === 0 ? html`<tr><td colspan="4">No chains are registered yet.</td></tr>` : chains.map((c) => html`<tr><td><a href="/ui/chains/${encodeURIComponent(c.chain)}">${c.chain}</a></td><td class="num">${c.images}</td><td class="num">${c.validators}</td><td class="num">${c.latest ?? '—'}</td></tr>`)}</tbody>
</table>`,
  );
}

function stateBadge(row: TimelineRow): Html {
  if (row.state === 'final') return html`<span class="badge final" title="more than 2/3 of the weight attested">✔ final</span>`;
  if (row.state === 'orphaned') return html`<span class="badge orphaned" title="another image at this height is final">✖ orphaned</span>`;
  return html`<span class="badge pending" title="attested weight / total weight">… pending ${row.attestedWeight}/${row.totalWeight}</span>`;
}

function decisionCell(d: RetentionDecision | undefined): Html {
  if (!d) return html`<span>—</span>`;
  return html`<span class="decision ${d.action}">${d.action === 'delete' ? '✕ delete' : '✓ keep'}</span> <code>${d.rule}</code>${d.equivocation ? html` <strong class="equivocation" title="another image at this height is final too: evidence of equivocation">⚠ equivocation</strong>` : ''}`;
}

function holdButton(row: TimelineRow): Html {
  return row.held
    ? html`<button type="button" data-action="release" data-digest="${row.digest}">Release</button>`
    : html`<button type="button" data-action="hold" data-digest="${row.digest}">Hold</button>`;
}

/** The timeline table (a section the page refreshes in place). */
export function timelineFragment(view: ChainView): Html {
  const older = view.olderThan;
  return html`<table class="grid-table timeline" data-rows="${view.rows.length}">
<thead><tr><th scope="col" class="num">Height</th><th scope="col">Image</th><th scope="col" class="num">Size</th><th scope="col" class="num" title="since stored">Age</th><th scope="col">State</th><th scope="col">Marks</th><th scope="col">Retention</th><th scope="col">Admin</th></tr></thead>
<tbody>${view.rows.length === 0 ? html`<tr><td colspan="8">No images yet.</td></tr>` : view.rows.map(
    (r) => html`<tr data-digest="${r.digest}" data-height="${r.height}" data-state="${r.state}" data-rule="${r.decision?.rule ?? ''}" data-action="${r.decision?.action ?? ''}">
<td class="num">${r.height}</td><td><code title="${r.digest}">${short(r.digest)}</code> <span class="muted">by ${r.producer}</span></td><td class="num">${formatBytes(r.size)}</td><td class="num">${formatAge(r.ageMs)}</td>
<td>${stateBadge(r)}</td><td>${r.epochBoundary ? html`<span class="badge epoch" title="epoch boundary">◆ epoch</span>` : ''}${r.held ? html` <span class="badge held" title="admin hold">⚑ held</span>` : ''}</td>
<td>${decisionCell(r.decision)}</td><td>${holdButton(r)}</td></tr>`,
  )}</tbody>
</table>
${older === undefined ? '' : html`<p><a href="?before=${older}">Older images (below height ${older}) →</a></p>`}`;
}

/** The retention plan summary (a fragment). */
export function planFragment(view: ChainView): Html {
  const { plan, policy } = view;
  return html`<p class="lead" data-delete-count="${plan.deleteCount}">Next run deletes <strong>${plan.deleteCount}</strong> image${plan.deleteCount === 1 ? '' : 's'} and frees <strong>${formatBytes(plan.bytesFreed)}</strong>; keeps ${plan.keepCount}.</p>
<p class="muted">Policy: keep last ${policy.keepLast} heights, epoch every ${policy.epochLength}, expire after ${formatAge(policy.maxAgeMs)}, grace ${formatAge(policy.graceMs)}, schedule <code>${policy.schedule}</code>.</p>
<table class="grid-table compact"><thead><tr><th scope="col">Rule</th><th scope="col">Action</th><th scope="col" class="num">Images</th></tr></thead>
<tbody>${plan.byRule.map(([rule, n]) => html`<tr data-rule-count="${rule}"><td><code>${rule}</code></td><td>${['ORPHANED', 'SUPERSEDED', 'EXPIRED'].includes(rule) ? 'delete' : 'keep'}</td><td class="num">${n}</td></tr>`)}</tbody></table>
${plan.deletions.length === 0 ? html`<p>Nothing to delete.</p>` : html`<h3>To delete</h3><ul class="plain">${plan.deletions.map((d) => html`<li>height ${d.height} <code title="${d.digest}">${short(d.digest)}</code> ${formatBytes(d.size)} — <code>${d.rule}</code></li>`)}</ul>${plan.deleteCount > plan.deletions.length ? html`<p class="muted">…and ${plan.deleteCount - plan.deletions.length} more.</p>` : ''}`}`;
}

/** The held images (a fragment). */
export function holdsFragment(view: ChainView): Html {
  if (view.holds.length === 0) return html`<p>No holds.</p>`;
  return html`<ul class="plain">${view.holds.map((r) => html`<li data-held="${r.digest}">height ${r.height} <code title="${r.digest}">${short(r.digest)}</code> ${holdButton(r)}</li>`)}</ul>`;
}

/** The summary cards (a fragment). */
export function summaryFragment(view: ChainView): Html {
  const c = view.counts;
  return html`<div class="card"><span class="k">Images</span><span class="v" data-count="images">${c.images}</span><span class="muted">${formatBytes(c.bytes)}</span></div>
<div class="card"><span class="k">✔ Final</span><span class="v" data-count="final">${c.final}</span><span class="muted">latest final ${view.latestFinalHeight ?? '—'}</span></div>
<div class="card"><span class="k">… Pending</span><span class="v" data-count="pending">${c.pending}</span><span class="muted">latest ${view.latestHeight ?? '—'}</span></div>
<div class="card"><span class="k">✖ Orphaned</span><span class="v" data-count="orphaned">${c.orphaned}</span></div>
<div class="card"><span class="k">⚑ Held</span><span class="v" data-count="held">${c.held}</span></div>`;
}

/** One chain's page. */
export function chainPage(view: ChainView): Html {
  return page(
    `Cairn · ${view.chain}`,
    view.chain,
    html`<h1>Chain <span class="chain-name">${view.chain}</span></h1>
<section class="cards" aria-label="summary" id="summary">${summaryFragment(view)}</section>
<section class="admin" aria-label="admin">
<form id="token-form" autocomplete="off"><label for="admin-token">Admin token</label> <input id="admin-token" type="password" placeholder="needed for holds; kept in this tab only"> <button type="submit">Use</button> <button type="button" id="token-clear">Forget</button></form>
<p id="status" role="status" aria-live="polite" class="status"></p>
</section>
<div class="layout">
<section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2><div id="timeline">${timelineFragment(view)}</div></section>
<div class="side">
<section aria-labelledby="h-events"><h2 id="h-events">Recent events <span id="live" class="muted">(connecting…)</span></h2><ol id="events" class="plain events"><li class="muted" id="events-empty">No announcements since this page opened.</li></ol></section>
<section aria-labelledby="h-plan"><h2 id="h-plan">Retention plan</h2><div id="plan">${planFragment(view)}</div></section>
<section aria-labelledby="h-holds"><h2 id="h-holds">Holds</h2><div id="holds">${holdsFragment(view)}</div></section>
<section aria-labelledby="h-validators"><h2 id="h-validators">Validators</h2>
<table class="grid-table compact"><thead><tr><th scope="col">Validator</th><th scope="col" class="num">Weight</th><th scope="col" class="num">Share</th><th scope="col">QSSH key</th></tr></thead>
<tbody>${view.validators.map((v) => html`<tr><td>${v.id}</td><td class="num">${v.weight}</td><td class="num">${(v.share * 100).toFixed(1)}%</td><td>${v.qssh ? 'yes' : 'no'}</td></tr>`)}</tbody>
<tfoot><tr><td>Total</td><td class="num">${view.totalWeight}</td><td class="num">final needs &gt; ⅔</td><td></td></tr></tfoot></table></section>
</div>
</div>`,
  );
}

/** The sign-in form. */
export function signInPage(state: 'form' | 'wrong' | 'open'): Html {
  if (state === 'open') return page('Cairn · sign in', undefined, html`<h1>Sign in</h1><p>No read token is configured: the dashboard is open. <a href="/ui">Go to the dashboard</a>.</p>`);
  return page(
    'Cairn · sign in',
    undefined,
    html`<h1>Sign in</h1>
<p>This archive needs its read token (or an admin token) to be viewed. It is kept in an HttpOnly cookie for this site and only authorises reads; holds still need the admin token on the page.</p>
${state === 'wrong' ? html`<p class="status error" role="alert">FORBIDDEN: the token is not valid.</p>` : ''}
<form method="post" action="/ui/login" class="admin"><label for="token">Token</label> <input id="token" name="token" type="password" autocomplete="current-password" required> <button type="submit">Sign in</button></form>`,
  );
}

/** An error page (unknown chain and the like). */
export function errorPage(status: number, code: string, message: string): Html {
  return page('Cairn · error', undefined, html`<h1>${status} ${code}</h1><p>${message}</p><p><a href="/ui">All chains</a></p>`);
}


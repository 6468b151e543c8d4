/**
 * The dashboard's stylesheet and its one small script, served from /ui/assets (the page allows
 * no inline script: see the Content-Security-Policy in ui-routes.ts).
 *
 * The script keeps the admin token in sessionStorage (this tab only), sends it as a bearer
 * token for hold/release, shows the API's error code and message when an action is refused,
 * lists announcements live from the chain's event stream (text only, never HTML), and
 * refreshes the server-rendered summary, timeline, plan and holds after changes (one request
 * for the page, its sections swapped in place).
 */

export const APP_CSS = `
:root { --fg: #1d2433; --muted: #5b6475; --line: #d8dce4; --bg: #f7f8fa; --card: #fff; --ok: #1f6f3f; --warn: #8a5a00; --bad: #a3262a; --accent: #2f5bd3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
code { font: 13px ui-monospace, "DejaVu Sans Mono", monospace; }
.top { display: flex; gap: .5rem; align-items: baseline; padding: .75rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
.top .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
.top .docs { margin-left: auto; }
main { padding: 1rem 1.5rem 3rem; max-width: 1500px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
h3 { font-size: 1rem; margin: .75rem 0 .25rem; }
.muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .9rem; min-width: 9rem; display: flex; flex-direction: column; }
.card .k { color: var(--muted); font-size: .85rem; }
.card .v { font-size: 1.4rem; font-weight: 600; }
.admin { margin: 1rem 0; }
.admin input { padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 4px; min-width: 18rem; }
button { font: inherit; padding: .2rem .6rem; border: 1px solid var(--line); border-radius: 4px; background: var(--card); cursor: pointer; }
button:hover, button:focus-visible { border-color: var(--accent); outline: 2px solid transparent; }
.status { min-height: 1.4em; margin: .4rem 0; }
.status.error { color: var(--bad); font-weight: 600; }
.status.ok { color: var(--ok); }
.layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(18rem, 2fr); gap: 1.5rem; }
@media (max-width: 1100px) { .layout { grid-template-columns: 1fr; } }
.grid-table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
.grid-table th, .grid-table td { text-align: left; padding: .35rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.grid-table th { font-size: .85rem; color: var(--muted); font-weight: 600; background: #eef0f4; }
.grid-table tbody tr:nth-child(even) { background: #fafbfc; }
.grid-table.compact td, .grid-table.compact th { padding: .25rem .5rem; }
.num { text-align: right !important; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; border: 1px solid currentColor; font-size: .85rem; white-space: nowrap; }
.badge.final { color: var(--ok); }
.badge.pending { color: var(--warn); border-style: dashed; }
.badge.orphaned { color: var(--bad); border-style: dotted; }
.badge.epoch { color: var(--accent); }
.badge.held { color: var(--fg); }
.decision.delete { color: var(--bad); font-weight: 600; }
.decision.keep { color: var(--ok); }
.plain { list-style: none; padding: 0; margin: 0; }
.plain li { padding: .2rem 0; border-bottom: 1px solid var(--line); }
.events li { font-size: .9rem; }
.lead { font-size: 1rem; }
`;

export const APP_JS = `
'use strict';
(function () {
  const chain = document.body.dataset.chain;
  if (!chain) return;
  const KEY = 'cairn-admin-token';
  const status = document.getElementById('status');
  const input = document.getElementById('admin-token');
  const say = (text, kind) => { status.textContent = text; status.className = 'status ' + (kind || ''); };
  const token = () => sessionStorage.getItem(KEY) || '';
  document.getElementById('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    input.value = '';
    say(token() ? 'Admin token set for this tab.' : 'No admin token: read-only.', 'ok');
  });
  document.getElementById('token-clear').addEventListener('click', () => { sessionStorage.removeItem(KEY); say('Admin token forgotten: read-only.', 'ok'); });

  // One request re-renders the page on the server; the live sections are swapped in place.
  let refreshing = null;
  async function refresh() {
    const res = await fetch(location.pathname + location.search, { headers: { accept: 'text/html' } });
    if (!res.ok) return;
    const fresh = new DOMParser().parseFromString(await res.text(), 'text/html');
    for (const id of ['summary', 'timeline', 'plan', 'holds']) {
      const from = fresh.getElementById(id);
      const to = document.getElementById(id);
      if (from && to) to.replaceChildren(...from.childNodes);
    }
  }
  function scheduleRefresh() {
    if (refreshing) return;
    refreshing = setTimeout(() => { refreshing = null; refresh().catch(() => {}); }, 150);
  }

  document.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-action]');
    if (!button) return;
    const digest = button.dataset.digest;
    const hold = button.dataset.action === 'hold';
    const headers = {};
    if (token()) headers.authorization = 'Bearer ' + token();
    button.disabled = true;
    try {
      const res = await fetch('/v1/admin/images/' + encodeURIComponent(digest) + '/hold', { method: hold ? 'PUT' : 'DELETE', headers });
      if (!res.ok) {
        let code = 'HTTP_' + res.status, message = res.statusText;
        try { const body = await res.json(); code = body.error.code; message = body.error.message; } catch {}
        say((hold ? 'Hold' : 'Release') + ' refused: ' + code + ': ' + message, 'error');
        return;
      }
      say((hold ? 'Held ' : 'Released ') + digest.slice(9, 21) + '…', 'ok');
      await refresh();
    } catch (err) {
      say('Request failed: ' + err, 'error');
    } finally {
      button.disabled = false;
    }
  });

  const list = document.getElementById('events');
  const live = document.getElementById('live');
  const source = new EventSource('/v1/chains/' + encodeURIComponent(chain) + '/events');
  source.onopen = () => { live.textContent = '(live)'; };
  source.onerror = () => { live.textContent = '(reconnecting…)'; };
  const show = (type) => (e) => {
    let data = {};
    try { data = JSON.parse(e.data); } catch {}
    const li = document.createElement('li');
    li.dataset.type = type;
    const when = new Date(data.at || Date.now()).toLocaleTimeString();
    li.textContent = when + ' ' + type + ' · height ' + data.height + ' · ' + String(data.digest || '').slice(9, 21) + '…' + (data.validator ? ' · ' + data.validator : '');
    document.getElementById('events-empty')?.remove();
    list.prepend(li);
    while (list.children.length > 50) list.lastChild.remove();
    scheduleRefresh();
  };
  for (const type of ['image.available', 'image.attested', 'image.finalized', 'image.deleted']) source.addEventListener(type, show(type));
})();
`;

/**
 * The icon every page links (and /favicon.ico serves): a small cairn of three stones. Without
 * one, Chromium asks for /favicon.ico on every page and logs the 404 as a console error.
 */
export const APP_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><g fill="#5b6b7a"><ellipse cx="16" cy="26" rx="12" ry="4.5"/><ellipse cx="16" cy="17" rx="8.5" ry="4"/><ellipse cx="16" cy="9" rx="5.5" ry="3.5"/></g></svg>
`;

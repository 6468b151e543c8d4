/**
 * /docs: the API reference rendered on the server from the OpenAPI document (no front-end
 * bundle, no third-party script; the dashboard's stylesheet).
 */
import { html } from 'hono/html';

type Json = Record<string, unknown>;
type Op = { operationId: string; tags: string[]; summary: string; description?: string; security: Json[]; parameters: Array<{ name: string; in: string; required: boolean; description?: string; schema: Json }>; requestBody?: { description: string; content: Record<string, { schema: Json }> }; responses: Record<string, { description: string; content?: Record<string, unknown> }> };

function auth(op: Op): string {
  const names = op.security.flatMap((s) => Object.keys(s));
  return names.includes('admin') ? 'admin token' : names.includes('read') ? 'read token when configured' : 'none';
}

function typeOf(schema: { type?: string; enum?: unknown[]; pattern?: string }): string {
  const parts = [schema.type ?? (schema.enum ? 'enum' : 'any')];
  if (schema.enum) parts.push(`(${schema.enum.join(' | ')})`);
  if (schema.pattern) parts.push(`/${schema.pattern}/`);
  return parts.join(' ');
}

/** The rendered reference. */
export function docsPage(doc: Json): ReturnType<typeof html> {
  const paths = doc.paths as Record<string, Record<string, Op>>;
  const tags = doc.tags as Array<{ name: string; description: string }>;
  const info = doc.info as { title: string; version: string; description: string };
  const ops = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${info.title} API ${info.version}</title><link rel="icon" href="/ui/assets/icon.svg" type="image/svg+xml"><link rel="stylesheet" href="/ui/assets/app.css"></head>
<body><header class="top"><a class="brand" href="/ui">Cairn</a><span class="sep">/</span><span>API reference</span><a class="docs" href="/openapi.json">openapi.json</a></header>
<main><h1>${info.title} API <span class="muted">${info.version}</span></h1><p>${info.description}</p>
<nav aria-label="operations"><ul class="plain">${tags.map((t) => html`<li><a href="#tag-${t.name}">${t.name}</a> — ${t.description}</li>`)}</ul></nav>
${tags.map(
    (t) => html`<h2 id="tag-${t.name}">${t.name}</h2>${ops
      .filter((o) => o.op.tags.includes(t.name))
      .map(
        ({ path, method, op }) => html`<section class="op" id="${op.operationId}">
<h3><code>${method.toUpperCase()} ${path}</code></h3><p>${op.summary}</p>${op.description ? html`<p class="muted">${op.description}</p>` : ''}
<p class="muted">Authorization: ${auth(op)}</p>
${op.parameters.length === 0 ? '' : html`<table class="grid-table compact"><thead><tr><th scope="col">Parameter</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead><tbody>${op.parameters.map((p) => html`<tr><td><code>${p.name}</code>${p.required ? ' (required)' : ''}</td><td>${p.in}</td><td><code>${typeOf(p.schema)}</code></td><td>${p.description ?? ''}</td></tr>`)}</tbody></table>`}
${op.requestBody ? html`<p><strong>Body</strong>: ${op.requestBody.description}</p>${Object.entries(op.requestBody.content).map(([type, c]) => html`<details><summary><code>${type}</code></summary><pre>${JSON.stringify(c.schema, null, 2)}</pre></details>`)}` : ''}
<ul class="plain">${Object.entries(op.responses).map(([status, r]) => html`<li><code>${status}</code> ${r.description}${r.content ? html` <span class="muted">(${Object.keys(r.content).join(', ')})</span>` : ''}</li>`)}</ul>
</section>`,
      )}`,
  )}
<h2 id="errors">Error codes</h2><table class="grid-table compact"><thead><tr><th scope="col">Code</th><th scope="col" class="num">Status</th><th scope="col">Meaning</th></tr></thead>
<tbody>${Object.entries(doc['x-error-codes'] as Record<string, { status: number; summary: string }>).map(([code, e]) => html`<tr><td><code>${code}</code></td><td class="num">${e.status}</td><td>${e.summary}</td></tr>`)}</tbody></table>
</main></body></html>`;
}

/**
 * The dashboard in a real headless Chromium against a server seeded with two chains: the
 * timeline and the plan show what the API says, an image pinned from the page changes the plan,
 * an admin action without a token shows the API's error, and an image.available announcement
 * appears without a reload. Screenshots are saved to test-artifacts/.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/index.ts';
import { imageBytes } from '../support/archive-fixtures.ts';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { startTestServer, TEST_ADMIN_TOKEN } from '../support/server.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

let dir: string;
let server: RunningServer;
let browser: Browser;

async function push(bytes: Uint8Array): Promise<void> {
  const response = await fetch(`${server.url}/v1/images`, { method: 'POST', body: bytes });
  expect(response.status).toBe(201);
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

type Plan = { decisions: Array<{ digest: string; rule: string; action: string }>; delete: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-ui-'));
  server = await startTestServer({ dataDir: dir });
  const day = 24 * 3600 * 1000;
  // devnet: heights 1000..1011, every other one final; a fork at 1010 (one final, one orphaned).
  for (let h = 1000; h <= 1011; h++) {
    await push(imageBytes(randomBytes(2048 + h), { height: h, createdAt: Date.now() - day, ...(h % 2 === 0 ? { attesters: ['bob', 'carol'] } : {}) }).bytes);
  }
  await push(imageBytes(randomBytes(4096), { height: 1010, producer: 'bob', createdAt: Date.now() - day }).bytes);
  await push(imageBytes(randomBytes(1024), { chain: 'testnet', height: 100, attesters: ['bob', 'carol'] }).bytes);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
  // Every request the page makes (the icon a browser asks for included) must succeed.
  page.on('response', (r) => (r.status() >= 400 ? errors.push(`${r.status()} ${new URL(r.url()).pathname}`) : undefined));
  await page.goto(`${server.url}${path}`);
  // Settle what loads after the document (icon, script requests): a cold browser is slower.
  await page.waitForLoadState('networkidle');
  (page as unknown as { errors: string[] }).errors = errors;
  return page;
}

describe('dashboard', () => {
  it('lists the chains and shows the timeline and plan the API reports', async () => {
    const index = await open('/ui');
    expect(await index.locator('table a').allTextContents()).toEqual(['devnet', 'testnet']);
    // The page names its icon, and the icon (and /favicon.ico, where browsers look unasked) is
    // served: a cold Chromium once logged the /favicon.ico 404 as a console error here.
    const icon = await index.locator('link[rel=icon]').getAttribute('href');
    for (const path of [icon, '/favicon.ico']) {
      const response = await fetch(`${server.url}${path ?? '/missing-icon'}`);
      expect(response.status, String(path)).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/svg+xml');
    }
    await index.close();

    const page = await open('/ui/chains/devnet');
    await page.locator('#live', { hasText: 'live' }).waitFor();
    const rows = await Promise.all((await page.locator('#timeline tbody tr').all()).map(async (tr) => ({ digest: await tr.getAttribute('data-digest'), state: await tr.getAttribute('data-state'), rule: await tr.getAttribute('data-rule') })));
    const listed = await api<{ images: Array<{ digest: string; final: boolean }> }>('/v1/chains/devnet/images?limit=1000');
    const plan = await api<Plan>('/v1/admin/retention/plan?chain=devnet');
    expect(rows).toHaveLength(listed.images.length);
    for (const image of listed.images) {
      const row = rows.find((r) => r.digest === image.digest);
      expect(row, image.digest).toBeDefined();
      expect(row!.state === 'final').toBe(image.final);
      expect(row!.rule).toBe(plan.decisions.find((d) => d.digest === image.digest)!.rule);
    }
    expect(rows.filter((r) => r.state === 'orphaned')).toHaveLength(1);
    expect(await page.locator('#plan [data-delete-count]').getAttribute('data-delete-count')).toBe(String(plan.delete));
    expect(await page.locator('#h-validators + table tbody tr').count()).toBe(3);
    await screenshot(page, 'dashboard-devnet');
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('refuses an admin action without a token and shows the API error on the page', async () => {
    const page = await open('/ui/chains/devnet');
    await page.locator('#timeline button[data-action="hold"]').first().click();
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/Hold refused: UNAUTHORIZED/);
    await screenshot(page, 'dashboard-refused');
    await page.close();
  });

  it('pins an image from the page and the plan changes', async () => {
    const before = await api<Plan>('/v1/admin/retention/plan?chain=devnet');
    const victim = before.decisions.find((d) => d.action === 'delete');
    expect(victim, 'the seeded plan deletes something').toBeDefined();
    const page = await open('/ui/chains/devnet');
    await page.fill('#admin-token', TEST_ADMIN_TOKEN);
    await page.click('#token-form button[type="submit"]');
    await page.locator(`#timeline tr[data-digest="${victim!.digest}"] button[data-action="hold"]`).click();
    await page.locator(`#timeline tr[data-digest="${victim!.digest}"][data-rule="PINNED"]`).waitFor();
    await expect.poll(() => page.locator('#plan [data-delete-count]').getAttribute('data-delete-count')).toBe(String(before.delete - 1));
    expect(await page.locator(`#holds [data-held="${victim!.digest}"]`).count()).toBe(1);
    expect(await page.locator('#summary [data-count="held"]').textContent()).toBe('1');
    const after = await api<Plan>('/v1/admin/retention/plan?chain=devnet');
    expect(after.decisions.find((d) => d.digest === victim!.digest)).toMatchObject({ rule: 'PINNED', action: 'keep' });
    await screenshot(page, 'dashboard-pinned');
    // And release it again from the holds list.
    await page.locator(`#holds [data-held="${victim!.digest}"] button[data-action="release"]`).click();
    await page.locator(`#timeline tr[data-digest="${victim!.digest}"][data-rule="${victim!.rule}"]`).waitFor();
    await page.close();
  });

  it('shows an image.available announcement and the new image without a reload', async () => {
    const page = await open('/ui/chains/devnet');
    await page.locator('#live', { hasText: 'live' }).waitFor();
    const count = await page.locator('#timeline tbody tr').count();
    const { header, bytes } = imageBytes(randomBytes(3000), { height: 1012 });
    await push(bytes);
    await page.locator('#events li[data-type="image.available"]', { hasText: 'height 1012' }).waitFor();
    await page.locator(`#timeline tr[data-digest="${header.digest}"]`).waitFor();
    expect(await page.locator('#timeline tbody tr').count()).toBe(count + 1);
    await screenshot(page, 'dashboard-live');
    await page.close();
  });

  it('escapes hostile names: nothing they carry executes', async () => {
    const hostile = ['<script>window.__pwned = 1</script>', '"><img src=x onerror="window.__pwned = 2">', "' onmouseover='window.__pwned = 3"];
    const digest = `sha3-256:${'a'.repeat(64)}`;
    const row = { digest, height: 7, size: 1, ageMs: 1, producer: hostile[1]!, state: 'pending' as const, attestedWeight: 1, totalWeight: 3, epochBoundary: false, held: true, decision: { digest, height: 7, action: 'keep' as const, rule: 'PINNED' as const, ageMs: 1, final: false, size: 1 } };
    const view = {
      chain: hostile[0]!, epochLength: 10, totalWeight: 3,
      validators: hostile.map((id) => ({ id, weight: 1, share: 1 / 3, qssh: false })),
      counts: { images: 1, final: 0, pending: 1, orphaned: 0, held: 1, bytes: 1 }, latestHeight: 7, latestFinalHeight: undefined,
      rows: [row], olderThan: undefined, holds: [row],
      policy: { keepLast: 10, maxAgeMs: 1000, epochLength: 10, graceMs: 1, schedule: hostile[2]! },
      plan: { byRule: [['PINNED', 1]] as Array<['PINNED', number]>, deletions: [], deleteCount: 0, keepCount: 1, bytesFreed: 0 },
    };
    const { chainPage } = await import('../../src/api/ui/templates.ts');
    const markup = String(await chainPage(view));
    expect(markup).not.toContain('<script>window');
    expect(markup).not.toContain('<img src=x');
    const page = await browser.newPage();
    // Control: in this page, an unescaped name would run.
    await page.setContent(`<p>${hostile[0]!}</p>`);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBe(1);
    await page.goto('about:blank');
    await page.setContent(markup.replace(/<script src="[^"]*" defer><\/script>/, ''));
    await page.mouse.move(200, 200);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('h1 .chain-name').textContent()).toBe(hostile[0]);
    expect(await page.locator('#h-validators + table tbody td:first-child').allTextContents()).toEqual(hostile);
    expect(await page.locator('img').count()).toBe(0);
    await page.close();

    // Through the server: a hostile chain in the URL is an escaped error page; the registry
    // refuses such ids outright.
    const error = await open(`/ui/chains/${encodeURIComponent(hostile[0]!)}`);
    expect(await error.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await error.locator('h1').textContent()).toMatch(/^400 INVALID_ARGUMENT/);
    await error.close();
    const refused = await fetch(`${server.url}/v1/admin/registry/chains/devnet/validators/${encodeURIComponent(hostile[1]!)}`, { method: 'PUT', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ weight: 1, keys: [] }) });
    expect(refused.status).toBe(400);
  });

  it('renders the API reference at /docs from /openapi.json', async () => {
    const page = await open('/docs');
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    expect(await page.locator('section.op').count()).toBe(operations);
    expect(await page.locator('#getFile h3').textContent()).toBe('GET /v1/images/{digest}/file');
    await screenshot(page, 'api-docs');
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();
  });
});

describe('dashboard with a read token', () => {
  it('sends a browser without the token to sign in, refuses a wrong one, and works after signing in', async () => {
    const readToken = 'read-token-for-the-dashboard-0123';
    const dir2 = await mkdtemp(join(tmpdir(), 'cairn-ui-read-'));
    const guarded = await startTestServer({ dataDir: dir2, readToken });
    try {
      await (await fetch(`${guarded.url}/v1/images`, { method: 'POST', body: imageBytes(randomBytes(1000), { height: 1000 }).bytes })).arrayBuffer();
      expect((await fetch(`${guarded.url}/v1/chains/devnet/images`)).status).toBe(401);
      const page = await browser.newPage();
      await page.goto(`${guarded.url}/ui/chains/devnet`);
      expect(new URL(page.url()).pathname).toBe('/ui/login');
      await page.fill('#token', 'wrong-token-000000000000');
      await page.click('form button[type="submit"]');
      await page.locator('[role="alert"]', { hasText: 'FORBIDDEN' }).waitFor();
      await page.fill('#token', readToken);
      await page.click('form button[type="submit"]');
      await page.waitForURL(`${guarded.url}/ui`);
      await page.goto(`${guarded.url}/ui/chains/devnet`);
      await page.locator('#live', { hasText: 'live' }).waitFor();
      expect(await page.locator('#timeline tbody tr').count()).toBe(1);
      const cookies = await page.context().cookies();
      expect(cookies.find((c) => c.name === 'cairn_read')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      // The cookie authorises reads only: an admin action still needs the admin token.
      await page.locator('#timeline button[data-action="hold"]').click();
      await expect.poll(() => page.locator('#status').textContent()).toMatch(/UNAUTHORIZED/);
      await screenshot(page, 'dashboard-read-token');
      await page.close();
    } finally {
      await guarded.close();
      await rm(dir2, { recursive: true, force: true });
    }
  });
});

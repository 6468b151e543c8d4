/**
 * Benchmark for the dashboard (issue: operator experience).
 *
 *   npm run bench:ui [-- --images 10000 --runs 10]
 *
 * One chain with N images (every other one final, on the in-memory store so seeding is quick;
 * the dashboard reads only the index), served by the real app over HTTP. In the same run:
 * - server render of /ui/chains/{chain}: time to the whole page and its size;
 * - the plain JSON listing of the same images (GET /v1/chains/{chain}/images, pages of 1000),
 *   and of the 100 the page shows;
 * - Chromium (Debian's, via playwright-core): navigation to the page's last byte, to
 *   DOMContentLoaded and to load (headless Chromium reports no paint timings).
 * Times are medians of `runs`.
 */
import { openMetadata } from '../src/metadata/index.ts';
import { parseArgs } from 'node:util';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { createApp } from '../src/api/app.ts';
import { EventLog } from '../src/api/event-log.ts';
import { createImageBytes, formatPublicKey, generateSigningKey, parseRegistry, signAttestation, orderAttestations, encodeImagePrefix } from '../src/archive/index.ts';
import { generateMasterKeyEntry, parseKeyring } from '../src/archive/crypto/keyring.ts';
import { openArchive } from '../src/archive/service/archive.ts';
import { createMemoryStore } from '../src/archive/store/drivers/memory-driver.ts';
import { silentLogger } from '../src/logger.ts';
import { RetentionScheduler, RetentionSweeper } from '../src/retention/index.ts';
import { chromiumPath } from '../test/support/browser.ts';
import { median, printTable } from './support.ts';

const { values } = parseArgs({ options: { images: { type: 'string', default: '10000' }, runs: { type: 'string', default: '10' } } });
const count = Number(values.images);
const runs = Number(values.runs);

const ids = ['alice', 'bob', 'carol'];
const keys = Object.fromEntries(ids.map((id) => [id, generateSigningKey('ml-dsa-44', id)]));
const registry = parseRegistry({ chains: { bench: { epochLength: 1000, validators: ids.map((id) => ({ id, weight: 1, keys: [formatPublicKey(keys[id]!.publicKey).trim()] })) } } });
const archive = await openArchive({ store: createMemoryStore(), metadata: await openMetadata('sqlite::memory:'), keyring: parseKeyring([generateMasterKeyEntry('k1')]), registry, logger: silentLogger, maxHeaderBytes: 1 << 20 });

const seedStarted = performance.now();
for (let h = 1; h <= count; h++) {
  const content = Buffer.alloc(256, h % 251);
  content.writeUInt32BE(h, 0);
  let { header, bytes } = createImageBytes({ chain: 'bench', height: h, validator: 'alice', key: keys.alice!, content, createdAt: Date.now() - (count - h) * 60_000 });
  if (h % 2 === 0) {
    const others = ['bob', 'carol'].map((v) => {
      const a = signAttestation({ chain: 'bench', height: h, digest: header.digest, size: header.size, contentType: header.contentType, validator: v, signedAt: header.createdAt + 1 }, keys[v]!);
      return { validator: a.validator, signedAt: a.signedAt, algorithm: a.algorithm, signature: a.signature };
    });
    header = { ...header, attestations: orderAttestations(header.attestations[0]!, others) };
    bytes = Buffer.concat([encodeImagePrefix(header), content]);
  }
  await archive.push(Readable.from([bytes]));
}
const seedSeconds = (performance.now() - seedStarted) / 1000;

const retention = new RetentionScheduler(archive, new RetentionSweeper(archive, silentLogger), { keepLast: 10, maxAgeMs: 7 * 86_400_000, graceMs: 600_000, schedule: '0 * * * *', chains: {} }, silentLogger);
const identity = generateSigningKey('ml-dsa-65', 'bench-server');
const app = createApp({ archive, logger: silentLogger, adminTokens: ['bench-admin-token-0123'], events: new EventLog(archive, identity), identity: identity.publicKey, retention });
const server = await new Promise<Server>((resolve) => {
  const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
});
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function timedFetch(path: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const body = await (await fetch(`${base}${path}`)).arrayBuffer();
  return { ms: performance.now() - started, bytes: body.byteLength };
}

async function listAll(): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  let bytes = 0;
  let cursor: string | undefined;
  do {
    const response = await fetch(`${base}/v1/chains/bench/images?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const text = await response.text();
    bytes += Buffer.byteLength(text);
    cursor = (JSON.parse(text) as { nextCursor?: string }).nextCursor;
  } while (cursor);
  return { ms: performance.now() - started, bytes };
}

try {
  await timedFetch('/ui/chains/bench'); // warm-up
  const page: Array<{ ms: number; bytes: number }> = [];
  const json: Array<{ ms: number; bytes: number }> = [];
  const json100: Array<{ ms: number; bytes: number }> = [];
  for (let i = 0; i < runs; i++) {
    page.push(await timedFetch('/ui/chains/bench'));
    json.push(await listAll());
    json100.push(await timedFetch('/v1/chains/bench/images?limit=100'));
  }
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'] });
  const fcp: number[] = [];
  const dcl: number[] = [];
  const load: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const tab = await browser.newPage();
      await tab.goto(`${base}/ui/chains/bench`, { waitUntil: 'load' });
      const timing = await tab.evaluate(() => {
        const perf = (globalThis as unknown as { performance: { getEntriesByType(t: string): Array<{ responseEnd: number; domContentLoadedEventEnd: number; loadEventEnd: number }> } }).performance;
        const nav = perf.getEntriesByType('navigation')[0];
        return { fcp: nav?.responseEnd ?? NaN, dcl: nav?.domContentLoadedEventEnd ?? NaN, load: nav?.loadEventEnd ?? NaN };
      });
      fcp.push(timing.fcp);
      dcl.push(timing.dcl);
      load.push(timing.load);
      await tab.close();
    }
  } finally {
    await browser.close();
  }
  const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
  console.log(`\n### Dashboard for one chain of ${count} images (seeded in ${seedSeconds.toFixed(1)} s; medians of ${runs})\n`);
  printTable(
    ['what', 'ms', 'bytes sent'],
    [
      ['GET /ui/chains/bench (server render: 100 rows, plan over all images)', median(page.map((p) => p.ms)).toFixed(1), kib(page[0]!.bytes)],
      [`GET /v1/chains/bench/images, all ${count} (pages of 1000)`, median(json.map((p) => p.ms)).toFixed(1), kib(json[0]!.bytes)],
      ['GET /v1/chains/bench/images?limit=100 (the rows the page shows)', median(json100.map((p) => p.ms)).toFixed(1), kib(json100[0]!.bytes)],
      ['Chromium: navigation → last byte of the page', median(fcp).toFixed(1), ''],
      ['Chromium: navigation → DOMContentLoaded (parsed, laid out, script run)', median(dcl).toFixed(1), ''],
      ['Chromium: navigation → load (stylesheet and script loaded)', median(load).toFixed(1), ''],
    ],
  );
} finally {
  server.close();
  await archive.close();
}

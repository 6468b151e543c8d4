/**
 * What anonymous hostile requests cost a server (issue 11, items 4–6).
 *
 *   npm run bench:hostile [-- --against <checkout>]
 *
 * Against one `cairn serve` child (fs store, read token configured), in one run: its RSS at rest;
 * twelve pushes in parallel of a 4 MiB header of four million empty CBOR maps (answers, the
 * longest /healthz wait while they run — the event loop's block —, peak and settled RSS); a
 * 64 MiB attestation body and a 32 MiB sign-in form sent without Content-Length (time to the
 * answer, bytes sent by then, RSS); an attestation while another client stalls a re-push of the
 * same image; and how long a silent and a trickling (1 byte per 0.5 s) push live. `--against`
 * runs another checkout's `bin/cairn.js` (e.g. a worktree of an older commit) for comparison;
 * waits there are capped at 40 s.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createImageBytes, encodeAttestation, encodePreamble, formatPublicKey, generateSigningKey, signAttestation, type SigningKey } from '../src/archive/index.ts';
import { spawnServer } from '../test/support/server-process.ts';
import { mib, printTable } from './support.ts';

const { values } = parseArgs({ options: { against: { type: 'string' } } });
const CAP_MS = 40_000;
const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-hostile-'));
const keys = new Map<string, SigningKey>(['alice', 'bob', 'carol'].map((id) => [id, generateSigningKey('ml-dsa-44', id)]));
const validatorKey = (id: string): SigningKey => keys.get(id)!;
const registryFile = join(dir, 'registry.json');
await writeFile(registryFile, JSON.stringify({ chains: { devnet: { epochLength: 1000, validators: [...keys].map(([id, key]) => ({ id, weight: 1, keys: [formatPublicKey(key.publicKey).trim()] })) } } }));
const imageBytes = (content: Uint8Array, options: { height: number; producer?: string }): ReturnType<typeof createImageBytes> =>
  createImageBytes({ chain: 'devnet', height: options.height, validator: options.producer ?? 'alice', key: validatorKey(options.producer ?? 'alice'), content });
const server = await spawnServer({ dataDir: join(dir, 'data'), registryFile, readToken: 'bench-read-token-0123456789', logLevel: 'error', ...(values.against ? { bin: join(values.against, 'bin', 'cairn.js') } : {}) });
const pid = server.child.pid!;
const rows: string[][] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function rss(): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** Samples /healthz and RSS every 20 ms while `work` runs: the longest wait and the highest RSS. */
async function whileRunning<T>(work: Promise<T>): Promise<{ value: T; maxHealthMs: number; peakRss: number }> {
  let done = false;
  let maxHealthMs = 0;
  let peak = await rss();
  const sampler = (async () => {
    while (!done) {
      const started = performance.now();
      await fetch(`${server.url}/healthz`).catch(() => undefined);
      maxHealthMs = Math.max(maxHealthMs, performance.now() - started);
      peak = Math.max(peak, await rss());
      await sleep(20);
    }
  })();
  const value = await work;
  done = true;
  await sampler;
  return { value, maxHealthMs, peakRss: peak };
}

/** Sends `total` bytes in 64 KiB chunks without Content-Length; resolves with the answer and the bytes sent by then. */
function streamBody(path: string, contentType: string, total: number): Promise<{ status: number; ms: number; sentBytes: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    let sent = 0;
    let answered = false;
    const req = request(new URL(path, server.url), { method: 'POST', headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, sentBytes: sent });
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started, sentBytes: sent }));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = (): void => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

/** Opens a push that sends `prefix` and then `drip` (a byte per interval) or nothing; resolves when the server ends it. */
function slowPush(bytes: Uint8Array, prefix: number, dripMs?: number): { ended: Promise<number> } {
  const started = performance.now();
  const req = request(new URL('/v1/images', server.url), { method: 'POST', headers: { 'content-length': bytes.length } });
  req.on('response', (r) => r.resume());
  req.on('error', () => undefined);
  req.write(bytes.subarray(0, prefix));
  let at = prefix;
  const timer = dripMs === undefined ? undefined : setInterval(() => req.write(bytes.subarray(at, ++at)), dripMs);
  const cap = setTimeout(() => req.destroy(), CAP_MS);
  const ended = new Promise<number>((resolve) =>
    req.on('close', () => {
      clearInterval(timer);
      clearTimeout(cap);
      resolve(performance.now() - started);
    }),
  );
  return { ended };
}

try {
  await sleep(500);
  const atRest = await rss();
  rows.push(['RSS at rest', mib(atRest)]);

  // Item 4: header decode amplification, next to the same bodies refused at their first bytes
  // (the baseline: what receiving 12 × 4 MiB at once costs the HTTP layer, whatever the decoder).
  const items = 4 * 1024 * 1024 - 5;
  const header = Buffer.alloc(items + 5, 0xa0);
  header[0] = 0x9a;
  header.writeUInt32BE(items, 1);
  const bodies: Array<[string, Buffer]> = [
    ['12 × 4 MiB garbage (refused at the magic): baseline', Buffer.alloc(header.length + 14, 7)],
    ['12 × 4 MiB header of 4M empty CBOR maps', Buffer.concat([encodePreamble(header.length), header])],
  ];
  for (const [name, body] of bodies) {
    const before = await rss();
    const run = await whileRunning(Promise.all(Array.from({ length: 12 }, () => fetch(`${server.url}/v1/images`, { method: 'POST', body }).then(async (r) => `${r.status} ${((await r.json()) as { error?: { code: string } }).error?.code ?? ''}`).catch(() => 'connection reset'))));
    await sleep(3000);
    rows.push([name, `${[...new Set(run.value)].join(', ')}; longest /healthz wait ${run.maxHealthMs.toFixed(0)} ms; peak RSS +${mib(run.peakRss - before)}, 3 s later +${mib((await rss()) - before)}`]);
  }
  rows.push(['  RSS after both (above rest)', `+${mib((await rss()) - atRest)}`]);

  // Item 5: bodies read whole before their limit.
  const { header: small, bytes: smallBytes } = imageBytes(randomBytes(64), { height: 5 });
  await fetch(`${server.url}/v1/images`, { method: 'POST', body: smallBytes }).catch(() => undefined);
  for (const [name, path, type, total] of [
    ['64 MiB attestation body, no Content-Length', `/v1/images/${small.digest}/attestations`, 'application/json', 64 * 1024 * 1024],
    ['32 MiB sign-in form, no Content-Length', '/ui/login', 'application/x-www-form-urlencoded', 32 * 1024 * 1024],
  ] as const) {
    const before = await rss();
    const answer = await whileRunning(streamBody(path, type, total));
    rows.push([name, `${answer.value.status} after ${answer.value.ms.toFixed(0)} ms, ${mib(answer.value.sentBytes)} sent; peak RSS +${mib(answer.peakRss - before)}`]);
  }

  // Item 6: a stalled client and an image's attestations.
  const { header: img, bytes: imgBytes } = imageBytes(randomBytes(1024 * 1024), { height: 100, producer: 'bob' });
  await fetch(`${server.url}/v1/images`, { method: 'POST', body: imgBytes });
  const stalled = slowPush(imgBytes, 20_000);
  await sleep(200);
  const attestation = signAttestation({ chain: img.chain, height: img.height, digest: img.digest, size: img.size, contentType: img.contentType, validator: 'carol', signedAt: Date.now() }, validatorKey('carol'));
  const attestStarted = performance.now();
  const attested = await Promise.race([
    fetch(`${server.url}/v1/images/${img.digest}/attestations`, { method: 'POST', body: Buffer.from(encodeAttestation(attestation)), headers: { 'content-type': 'application/cbor' } }).then((r) => String(r.status), () => 'connection reset'),
    sleep(CAP_MS).then(() => 'no answer'),
  ]);
  rows.push(['attestation while a re-push of its image stalls', `${attested} after ${(performance.now() - attestStarted).toFixed(0)} ms`]);
  const { bytes: fresh } = imageBytes(randomBytes(1024 * 1024), { height: 200 });
  const { bytes: fresh2 } = imageBytes(randomBytes(1024 * 1024), { height: 201 });
  const [stallMs, silentMs, trickleMs] = await Promise.all([stalled.ended, slowPush(fresh, 20_000).ended, slowPush(fresh2, 20_000, 500).ended]);
  const cut = (ms: number): string => (ms >= CAP_MS - 100 ? `not cut within ${CAP_MS / 1000} s` : `cut after ${(ms / 1000).toFixed(1)} s`);
  rows.push(['stalled re-push (20 KB, then silence)', cut(stallMs)]);
  rows.push(['new push, 20 KB then silence', cut(silentMs)]);
  rows.push(['new push, 20 KB then 1 byte per 0.5 s', cut(trickleMs)]);
  rows.push(['RSS at the end (above rest)', `+${mib((await rss()) - atRest)}`]);

  console.log(`\n${values.against ? `cairn at ${values.against}` : 'this checkout'} (fs store, 2 cores)\n`);
  printTable(['measurement', 'value'], rows);
} finally {
  await server.kill();
  await rm(dir, { recursive: true, force: true });
}

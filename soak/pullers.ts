/**
 * The nodes of the soak: pullers that fetch acknowledged images over HTTP and QSSH, catch up,
 * read byte ranges and ask for the latest image, each result checked against the soak's own
 * copy of the validator keys and of the content; watchers that follow every process's signed
 * feed (finality and deletions reach the ledger from there).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestKeyPart, parseDigest, type PublicKey, type Trust } from '../src/archive/index.ts';
import { catchUp, fetchIdentity, pullImage, watchEvents } from '../src/client/index.ts';
import { pullImageQssh } from '../src/client/qssh-pull.ts';
import { connectQssh, type QsshClient } from '../src/qssh/client.ts';
import { contentSlice, fileHoldsContent } from './content.ts';
import type { ImageEntry, Ledger } from './ledger.ts';
import type { SoakStats } from './stats.ts';
import { SOAK_CHAINS, pick } from './validators.ts';

/** One process as the clients see it. */
export interface Endpoint {
  readonly url: string;
  readonly qsshPort: number;
}

/** What the pullers need from the run. */
export interface PullerContext {
  readonly endpoints: readonly Endpoint[];
  readonly trust: Trust;
  readonly qsshIdentity: { secretKey: Uint8Array; publicKey: Uint8Array };
  readonly ledger: Ledger;
  readonly stats: SoakStats;
  readonly workDir: string;
  readonly stopped: () => boolean;
}

/** Codes that mean the bytes a server sent were not what was signed: never acceptable. */
export const INVALID_BYTES = new Set(['DIGEST_MISMATCH', 'SIGNATURE_INVALID', 'SIZE_MISMATCH', 'CLAIM_MISMATCH', 'INTEGRITY_ERROR', 'IMAGE_HEADER_INVALID', 'IMAGE_TRAILING_BYTES']);


/** An acknowledged image to read: mostly recent ones (what nodes want), sometimes any. */
function target(ctx: PullerContext): ImageEntry | undefined {
  const acked = ctx.ledger.acked().filter((e) => e.deletedEventAt === undefined);
  if (acked.length === 0) return undefined;
  return Math.random() < 0.7 ? pick(acked.slice(0, 30)) : pick(acked);
}

/** Handles a failed read of `entry`: NOT_FOUND is noted for the end check; bad bytes are violations. */
function failed(ctx: PullerContext, op: string, entry: ImageEntry | undefined, error: unknown): void {
  const code = ctx.stats.error(op, error);
  if (entry && code === 'NOT_FOUND' && !ctx.ledger.missing.has(entry.digest)) ctx.ledger.missing.set(entry.digest, Date.now());
  if (INVALID_BYTES.has(code)) ctx.ledger.violation(`${op} of ${entry?.digest ?? 'an image'} failed with ${code}: ${(error as Error).message}`);
}

/** Checks a pulled file's content against the soak's copy; counts the bytes. */
async function checkPulled(ctx: PullerContext, op: string, entry: ImageEntry, file: string): Promise<void> {
  const size = (await stat(file)).size;
  if (!(await fileHoldsContent(file, size - entry.content.size, entry.content))) ctx.ledger.violation(`${op} of ${entry.digest} completed with content that differs from what was pushed`);
  ctx.stats.count(`${op} bytes`, size);
  ctx.stats.count(`${op} ok`);
}

class Puller {
  readonly #ctx: PullerContext;
  readonly #dir: string;
  readonly #qssh = new Map<number, QsshClient>();

  constructor(ctx: PullerContext, dir: string) {
    this.#ctx = ctx;
    this.#dir = dir;
  }

  async run(): Promise<void> {
    const actions: Array<[number, () => Promise<void>]> = [
      [30, () => this.#httpPull()],
      [20, () => this.#qsshPull()],
      [10, () => this.#catchUp()],
      [15, () => this.#range()],
      [25, () => this.#latest()],
    ];
    const total = actions.reduce((s, [w]) => s + w, 0);
    while (!this.#ctx.stopped()) {
      let r = Math.random() * total;
      const action = actions.find(([w]) => (r -= w) < 0)?.[1] ?? (actions[0] as [number, () => Promise<void>])[1];
      await action();
      await sleep(100 + Math.random() * 300);
    }
    for (const client of this.#qssh.values()) client.close();
  }

  async #httpPull(): Promise<void> {
    const entry = target(this.#ctx);
    if (!entry) return;
    const out = join(this.#dir, `http-${Date.now()}.cimg`);
    const started = performance.now();
    let first = true;
    try {
      await pullImage({ conn: { base: pick(this.#ctx.endpoints).url }, digest: entry.digest as `sha3-256:${string}`, out, trust: this.#ctx.trust, onProgress: () => void (first && ((first = false), this.#ctx.stats.time('pull-first-byte', performance.now() - started))) });
      await checkPulled(this.#ctx, 'http pull', entry, out);
    } catch (error) {
      failed(this.#ctx, 'http pull', entry, error);
    } finally {
      await Promise.all([rm(out, { force: true }), rm(`${out}.part`, { force: true })]);
    }
  }

  async #session(endpoint: Endpoint): Promise<QsshClient> {
    const open = this.#qssh.get(endpoint.qsshPort);
    if (open) return open;
    const client = await connectQssh({ target: `127.0.0.1:${endpoint.qsshPort}`, identity: this.#ctx.qsshIdentity, knownHostsPath: join(this.#ctx.workDir, 'known_hosts'), timeoutMs: 10_000 });
    this.#qssh.set(endpoint.qsshPort, client);
    return client;
  }

  #dropSession(endpoint: Endpoint): void {
    this.#qssh.get(endpoint.qsshPort)?.close();
    this.#qssh.delete(endpoint.qsshPort);
  }

  async #qsshPull(): Promise<void> {
    const entry = target(this.#ctx);
    if (!entry) return;
    const endpoint = pick(this.#ctx.endpoints);
    const out = join(this.#dir, `qssh-${Date.now()}.cimg`);
    const started = performance.now();
    let first = true;
    try {
      const client = await this.#session(endpoint);
      await pullImageQssh({ sftp: client.sftp, path: `/images/${digestKeyPart(parseDigest(entry.digest))}.cimg`, out, trust: this.#ctx.trust, onProgress: () => void (first && ((first = false), this.#ctx.stats.time('pull-first-byte', performance.now() - started))) });
      await checkPulled(this.#ctx, 'qssh pull', entry, out);
    } catch (error) {
      failed(this.#ctx, 'qssh pull', entry, error);
      this.#dropSession(endpoint);
    } finally {
      await Promise.all([rm(out, { force: true }), rm(`${out}.part`, { force: true })]);
    }
  }

  async #catchUp(): Promise<void> {
    const chain = pick(Object.keys(SOAK_CHAINS));
    const endpoint = pick(this.#ctx.endpoints);
    const overQssh = Math.random() < 0.5;
    const outDir = await mkdtemp(join(this.#dir, 'catchup-'));
    const op = overQssh ? 'qssh catch-up' : 'http catch-up';
    try {
      const source = overQssh ? { sftp: (await this.#session(endpoint)).sftp } : { conn: { base: endpoint.url } };
      const result = await catchUp({ ...source, chain, localHeight: 0, threshold: 0, trust: this.#ctx.trust, outDir });
      if (result.action !== 'restored') return void this.#ctx.stats.count(`${op} up to date`);
      const entry = this.#ctx.ledger.images.get(result.digest);
      if (!entry) return this.#ctx.ledger.violation(`${op} restored ${result.digest}, which the soak never pushed`);
      if (entry.finalizedAt === undefined) this.#ctx.stats.count(`${op} restored before the soak saw its finality`);
      await checkPulled(this.#ctx, op, entry, result.imageFile);
    } catch (error) {
      failed(this.#ctx, op, undefined, error);
      if (overQssh) this.#dropSession(endpoint);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }

  async #range(): Promise<void> {
    const entry = target(this.#ctx);
    if (!entry || entry.content.size < 2) return;
    const start = Math.floor(Math.random() * (entry.content.size - 1));
    const end = Math.min(entry.content.size, start + 1 + Math.floor(Math.random() * 256 * 1024));
    try {
      const response = await fetch(`${pick(this.#ctx.endpoints).url}/v1/images/${entry.digest}/content`, { headers: { range: `bytes=${start}-${end - 1}` } });
      if (response.status === 404) return failed(this.#ctx, 'range read', entry, { code: 'NOT_FOUND' });
      if (response.status !== 206) return failed(this.#ctx, 'range read', entry, { code: `HTTP_${response.status}` });
      const body = Buffer.from(await response.arrayBuffer());
      if (!body.equals(contentSlice(entry.content, start, end))) this.#ctx.ledger.violation(`range ${start}-${end - 1} of ${entry.digest} differs from the content pushed`);
      this.#ctx.stats.count('range read ok');
      this.#ctx.stats.count('range read bytes', body.length);
    } catch (error) {
      failed(this.#ctx, 'range read', entry, error);
    }
  }

  async #latest(): Promise<void> {
    const chain = pick(Object.keys(SOAK_CHAINS));
    const final = Math.random() < 0.5;
    const started = performance.now();
    try {
      const response = await fetch(`${pick(this.#ctx.endpoints).url}/v1/chains/${chain}/latest${final ? '?final=true' : ''}`, { headers: { accept: 'application/json' } });
      if (response.status === 404) return void (await response.body?.cancel());
      if (!response.ok) return failed(this.#ctx, 'latest', undefined, { code: `HTTP_${response.status}` });
      const body = (await response.json()) as { digest: string; height: number };
      this.#ctx.stats.time('latest', performance.now() - started);
      this.#ctx.stats.count('latest ok');
      const entry = this.#ctx.ledger.images.get(body.digest);
      if (!entry) this.#ctx.ledger.violation(`latest of ${chain} named ${body.digest}, which the soak never pushed`);
    } catch (error) {
      failed(this.#ctx, 'latest', undefined, error);
    }
  }
}

/** Runs `count` pullers until stopped. */
export async function runPullers(ctx: PullerContext, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const dir = await mkdtemp(join(ctx.workDir, `puller-${i}-`));
      await new Puller(ctx, dir).run();
    }),
  );
}

/** Follows one process's feed of one chain until stopped, resuming after every break. */
export async function watchChain(ctx: PullerContext, endpoint: Endpoint, chain: string): Promise<void> {
  let lastEventId: string | undefined;
  let identity: PublicKey | undefined;
  while (!ctx.stopped()) {
    const controller = new AbortController();
    const stopper = setInterval(() => ctx.stopped() && controller.abort(), 200);
    try {
      identity ??= await fetchIdentity({ base: endpoint.url });
      await watchEvents({
        conn: { base: endpoint.url },
        chain,
        identity,
        signal: controller.signal,
        ...(lastEventId ? { lastEventId } : {}),
        onEvent: (event) => {
          if (!('id' in event)) return;
          lastEventId = event.id;
          ctx.stats.count('events received');
          if (event.type === 'image.finalized') ctx.ledger.finalized(event.digest, event.at);
          if (event.type === 'image.deleted') ctx.ledger.deletedEvent(event.digest, event.at);
        },
      });
    } catch (error) {
      if (!ctx.stopped()) ctx.stats.error('watch', error);
    } finally {
      clearInterval(stopper);
    }
    if (!ctx.stopped()) await sleep(500);
  }
}

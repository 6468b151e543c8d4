/**
 * The validators of the soak: ML-DSA-65 and SLH-DSA keys with uneven weights on two chains —
 * `state` (raw state files, 10 KB up to the largest size) and `queue` (queue states). Each
 * chain advances a height every round: a producer pushes the image (retrying on another process
 * when one fails, as an operator's script would), some validators push the identical content
 * (the archive merges their signatures), sometimes another pushes a fork at the same height,
 * and a share of the others attest it — enough for finality most of the time. Now and then the
 * soak places an admin hold on an older image, which retention must then keep.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTENT_TYPE_QUEUE_STATE, createImageFile, formatPublicKey, generateSigningKey, type SignatureAlgorithm, type SigningKey } from '../src/archive/index.ts';
import { attestImage, pushImage } from '../src/client/index.ts';
import { isCairnError } from '../src/errors.ts';
import { queueContent, stateContent, writeContent, type ContentSpec } from './content.ts';
import type { Ledger } from './ledger.ts';
import type { SoakStats } from './stats.ts';

/** One validator. */
export interface SoakValidator {
  readonly id: string;
  readonly weight: number;
  readonly key: SigningKey;
}

/** The chains and their epoch lengths (short, so boundaries occur during a run). */
export const SOAK_CHAINS = { state: { epochLength: 25 }, queue: { epochLength: 40 } } as const;
export type SoakChain = keyof typeof SOAK_CHAINS;

const ALGORITHMS: readonly SignatureAlgorithm[] = ['ml-dsa-65', 'ml-dsa-65', 'ml-dsa-65', 'slh-dsa-sha2-128f', 'slh-dsa-sha2-128f', 'slh-dsa-sha2-128s'];

/** `count` validators: half ML-DSA-65, a third SLH-DSA-128f, a sixth SLH-DSA-128s; weights 1–5. */
export function makeValidators(count: number): SoakValidator[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `v${String(i).padStart(2, '0')}`;
    return { id, weight: 1 + ((i * 7) % 5), key: generateSigningKey(ALGORITHMS[i % ALGORITHMS.length] as SignatureAlgorithm, id) };
  });
}

/** The registry document for the validators. */
export function registryDocument(validators: readonly SoakValidator[]): Record<string, unknown> {
  const list = validators.map((v) => ({ id: v.id, weight: v.weight, keys: [formatPublicKey(v.key.publicKey).trim()] }));
  return { chains: Object.fromEntries(Object.entries(SOAK_CHAINS).map(([chain, c]) => [chain, { epochLength: c.epochLength, validators: list }])) };
}

/** What the workload needs from the run. */
export interface WorkloadContext {
  readonly validators: readonly SoakValidator[];
  readonly servers: () => readonly string[];
  readonly ledger: Ledger;
  readonly stats: SoakStats;
  readonly workDir: string;
  readonly maxImageBytes: number;
  readonly adminToken: string;
  readonly stopped: () => boolean;
}

/** A random element of `items`. */
export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
let fileCounter = 0;

/** A size from 10 KB up to `max`, most of them small: log-uniform with a long tail. */
function stateSize(max: number): number {
  const min = 10_000;
  return Math.round(min * Math.pow(max / min, Math.pow(Math.random(), 3)));
}

/** Signs `content` into an image file for `validator`; returns its path and digest. */
async function imageFile(ctx: WorkloadContext, chain: SoakChain, height: number, validator: SoakValidator, content: ContentSpec): Promise<{ file: string; digest: string }> {
  const base = join(ctx.workDir, `img-${++fileCounter}`);
  await writeContent(content, `${base}.bin`);
  try {
    const header = await createImageFile({ chain, height, validator: validator.id, key: validator.key, content: { path: `${base}.bin` }, out: `${base}.cimg`, ...(content.kind === 'queue' ? { contentType: CONTENT_TYPE_QUEUE_STATE } : {}) });
    return { file: `${base}.cimg`, digest: header.digest };
  } finally {
    await rm(`${base}.bin`, { force: true });
  }
}

/** Codes after which pushing again cannot help. */
const FINAL_CODES = new Set(['DIGEST_CONFLICT', 'SIGNATURE_INVALID', 'UNTRUSTED_SIGNER', 'UNKNOWN_VALIDATOR', 'IMAGE_HEADER_INVALID', 'DIGEST_MISMATCH', 'INVALID_ARGUMENT']);

/** Pushes with up to four attempts on random processes; true once acknowledged. */
async function push(ctx: WorkloadContext, file: string, digest: string): Promise<boolean> {
  for (let attempt = 0; attempt < 4 && !ctx.stopped(); attempt++) {
    const started = performance.now();
    try {
      await pushImage({ base: pick(ctx.servers()) }, file);
      ctx.stats.time('push', performance.now() - started);
      ctx.stats.count('pushes acknowledged');
      ctx.ledger.ack(digest);
      return true;
    } catch (error) {
      const code = ctx.stats.error('push', error);
      if (FINAL_CODES.has(code)) return false;
      await sleep(300 + attempt * 400);
    }
  }
  return false;
}

/** One validator attests `digest`. */
async function attest(ctx: WorkloadContext, validator: SoakValidator, digest: string): Promise<void> {
  for (let attempt = 0; attempt < 3 && !ctx.stopped(); attempt++) {
    const started = performance.now();
    try {
      const result = await attestImage({ conn: { base: pick(ctx.servers()) }, digest: digest as `sha3-256:${string}`, key: validator.key, validator: validator.id });
      ctx.stats.time('attest', performance.now() - started);
      ctx.stats.count('attestations acknowledged');
      if (result.finality.finalizedAt !== undefined) ctx.ledger.finalized(digest, result.finality.finalizedAt);
      return;
    } catch (error) {
      if (ctx.stats.error('attest', error) === 'NOT_FOUND' || isCairnError(error, 'SIGNED_AT_IN_FUTURE')) return;
      await sleep(300 + attempt * 400);
    }
  }
}

/** Places an admin hold on an acknowledged image a few heights below the top. */
async function holdOlder(ctx: WorkloadContext, chain: SoakChain): Promise<void> {
  const candidates = ctx.ledger.acked().filter((e) => e.chain === chain && !e.held).slice(6, 12);
  if (candidates.length === 0) return;
  const entry = pick(candidates);
  try {
    const response = await fetch(`${pick(ctx.servers())}/v1/admin/images/${entry.digest}/hold`, { method: 'PUT', headers: { authorization: `Bearer ${ctx.adminToken}` } });
    if (response.ok) {
      entry.held = true;
      ctx.stats.count('holds placed');
    } else ctx.stats.error('hold', { code: `HTTP_${response.status}` });
  } catch (error) {
    ctx.stats.error('hold', error);
  }
}

/** One height of a chain: the producer's push, identical pushes, perhaps a fork, attestations. */
async function round(ctx: WorkloadContext, chain: SoakChain, height: number, producer: SoakValidator): Promise<void> {
  const content = chain === 'state' ? stateContent(stateSize(ctx.maxImageBytes)) : queueContent(50 + Math.floor(Math.random() * 1500), producer.id);
  const others = ctx.validators.filter((v) => v !== producer).sort(() => Math.random() - 0.5);
  const coSigners = Math.random() < 0.3 ? others.splice(0, 1 + Math.floor(Math.random() * 3)) : [];
  const forker = Math.random() < 0.1 ? others.pop() : undefined;
  const files: string[] = [];
  try {
    const main = await imageFile(ctx, chain, height, producer, content);
    files.push(main.file);
    ctx.ledger.attempt({ digest: main.digest, chain, height, content });
    const pushes = [push(ctx, main.file, main.digest)];
    for (const v of coSigners) {
      const copy = await imageFile(ctx, chain, height, v, content);
      files.push(copy.file);
      pushes.push(sleep(Math.random() * 500).then(() => push(ctx, copy.file, copy.digest)));
    }
    if (forker) {
      const forkContent = chain === 'state' ? stateContent(stateSize(Math.min(ctx.maxImageBytes, 4 << 20))) : queueContent(40, forker.id);
      const fork = await imageFile(ctx, chain, height, forker, forkContent);
      files.push(fork.file);
      ctx.ledger.attempt({ digest: fork.digest, chain, height, content: forkContent });
      ctx.stats.count('forks pushed');
      pushes.push(push(ctx, fork.file, fork.digest));
    }
    const acked = (await Promise.all(pushes))[0];
    if (!acked || ctx.stopped()) return;
    // Most heights gather a quorum (> 2/3 of the weight): attesters in random order until the
    // weight reached is the target share.
    const total = ctx.validators.reduce((sum, v) => sum + v.weight, 0);
    const target = Math.random() < 0.75 ? 0.8 : 0.4;
    let weight = producer.weight + coSigners.reduce((sum, v) => sum + v.weight, 0);
    const attesters: SoakValidator[] = [];
    for (const v of others) {
      if (weight / total >= target) break;
      attesters.push(v);
      weight += v.weight;
    }
    await Promise.all(attesters.map((v) => sleep(Math.random() * 1500).then(() => attest(ctx, v, main.digest))));
  } finally {
    await Promise.all(files.map((f) => rm(f, { force: true })));
  }
}

/** Drives one chain until stopped: a new height every `roundMs`, at most three rounds in flight. */
export async function driveChain(ctx: WorkloadContext, chain: SoakChain, roundMs: number): Promise<void> {
  let height = 0;
  let rounds = 0;
  const inFlight = new Set<Promise<void>>();
  while (!ctx.stopped()) {
    height += 1 + Math.floor(Math.random() * 2);
    const producer = ctx.validators[rounds++ % ctx.validators.length] as SoakValidator;
    const running: Promise<void> = round(ctx, chain, height, producer)
      .catch((error: unknown) => void ctx.stats.error('round', error))
      .finally(() => inFlight.delete(running));
    inFlight.add(running);
    if (rounds % 7 === 0) void holdOlder(ctx, chain);
    await sleep(roundMs * (0.7 + Math.random() * 0.6));
    while (inFlight.size >= 3 && !ctx.stopped()) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/**
 * Catching up (the seed's "behind by more than N blocks → fetch the latest final image → verify
 * → restore"): the node asks for the chain's highest final image; if it is more than `threshold`
 * blocks ahead of the node, it downloads it (resuming), verifies content, every signature and
 * the quorum against the node's own registry copy — never the server's word — and restores:
 * queue-state content as the message list in priority order (JSON), other content as the raw
 * file. Files appear in `outDir` only after everything verified; a failure leaves nothing there.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '../errors.ts';
import { CONTENT_TYPE_QUEUE_STATE, FILE_CHUNK_BYTES, decodeQueueState, inPriorityOrder, openImage, parseDigest, type Trust } from '../archive/index.ts';
import { createTempSibling, writeFileAtomic } from '../archive/fs/atomic-write.ts';
import { getJson } from './http-client.ts';
import { pullImage } from './pull.ts';

/** What to catch up. */
export interface CatchUpOptions {
  readonly conn: { base: string; token?: string };
  readonly chain: string;
  /** The node's current height. */
  readonly localHeight: number;
  /** Act only when more than this many blocks behind (default 100). */
  readonly threshold?: number;
  /** The node's own trust anchors; must include a registry for `chain` (quorum check). */
  readonly trust: Trust;
  readonly outDir: string;
}

/** What a catch-up did. */
export type CatchUpResult =
  | { readonly action: 'up-to-date'; readonly localHeight: number; readonly latestFinalHeight: number | null }
  | { readonly action: 'restored'; readonly localHeight: number; readonly height: number; readonly digest: string; readonly imageFile: string; readonly restoredFile: string; readonly messages?: number; readonly quorum: { attestedWeight: number; totalWeight: number } };

/** Runs one catch-up. */
export async function catchUp(options: CatchUpOptions): Promise<CatchUpResult> {
  const threshold = options.threshold ?? 100;
  if (!options.trust.registry?.chains.has(options.chain)) {
    throw new CairnError('INVALID_ARGUMENT', `the trust file has no registry for chain ${options.chain}: finality cannot be checked`);
  }
  let latest: { digest: string; height: number } | undefined;
  try {
    latest = await getJson<{ digest: string; height: number }>(options.conn, `/v1/chains/${encodeURIComponent(options.chain)}/latest?final=true`);
  } catch (error) {
    if (!(error instanceof CairnError && error.code === 'NOT_FOUND')) throw error;
  }
  if (!latest || latest.height - options.localHeight <= threshold) {
    return { action: 'up-to-date', localHeight: options.localHeight, latestFinalHeight: latest?.height ?? null };
  }
  const digest = parseDigest(latest.digest);
  await mkdir(options.outDir, { recursive: true });
  const base = `${options.chain}-${latest.height}`;
  const imageFile = join(options.outDir, `${base}.cimg`);
  const staging = join(options.outDir, `.${base}.cimg.catchup`);
  try {
    const pulled = await pullImage({ conn: options.conn, digest, out: staging, trust: options.trust });
    const quorum = pulled.report?.quorum;
    if (!quorum?.final) {
      throw new CairnError('UNTRUSTED_SIGNER', `image ${digest} is not final under the local registry (${quorum?.attestedWeight ?? 0}/${quorum?.totalWeight ?? 0} of the weight): not restoring`);
    }
    const opened = await openImage(createReadStream(staging, { highWaterMark: FILE_CHUNK_BYTES }));
    let restoredFile: string;
    let messages: number | undefined;
    if (opened.header.contentType === CONTENT_TYPE_QUEUE_STATE) {
      const parts: Buffer[] = [];
      for await (const chunk of opened.content as AsyncIterable<Buffer>) parts.push(chunk);
      const restored = inPriorityOrder(decodeQueueState(Buffer.concat(parts)));
      messages = restored.length;
      restoredFile = join(options.outDir, `${base}.queue.json`);
      const json = restored.map((m) => ({ kind: m.kind, priority: m.priority, payload: Buffer.from(m.payload).toString('base64'), provenance: m.provenance }));
      await writeFileAtomic(restoredFile, `${JSON.stringify(json, null, 2)}\n`, { overwrite: true });
    } else {
      restoredFile = join(options.outDir, `${base}.bin`);
      const temp = await createTempSibling(restoredFile, { overwrite: true });
      try {
        await pipeline(opened.content, temp.handle.createWriteStream({ autoClose: false }));
        await temp.commit();
      } catch (error) {
        await temp.discard();
        throw error;
      }
    }
    await rename(staging, imageFile);
    return { action: 'restored', localHeight: options.localHeight, height: latest.height, digest, imageFile, restoredFile, ...(messages === undefined ? {} : { messages }), quorum: { attestedWeight: quorum.attestedWeight, totalWeight: quorum.totalWeight } };
  } catch (error) {
    await rm(staging, { force: true });
    await rm(`${staging}.part`, { force: true });
    throw error;
  }
}

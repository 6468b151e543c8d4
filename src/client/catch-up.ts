/**
 * Catching up (the seed's "behind by more than N blocks → fetch the latest final image → verify
 * → restore"), over HTTP or QSSH. The node opens the chain's latest final image and reads its
 * header first; every decision is taken from that *signed* header, checked against the node's
 * own registry copy — never on the server's word:
 *  - the header must agree with what the server claimed (listing or path): else `CLAIM_MISMATCH`;
 *  - its signatures must verify and carry > 2/3 of the weight of the node's registry: else
 *    `SIGNATURE_INVALID` / `UNTRUSTED_SIGNER`, before any content moves;
 *  - "up to date", "behind by more than the threshold" and the file names use the signed height,
 *    and an image that is not above the node's height is never restored (`ROLLBACK_REFUSED`).
 * Then the content is downloaded (resuming a partial kept from an interrupted attempt) and
 * hashed, and only then are the image and the restored state written to `outDir`: queue states
 * as the message list in priority order (`<chain>-<height>.queue.json`), any other content as
 * the raw bytes (`<chain>-<height>.bin`). A failed catch-up leaves nothing in `outDir` but,
 * after a transfer cut short, the hidden partial it resumes from next time.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CairnError, isCairnError } from '../errors.ts';
import { CONTENT_TYPE_QUEUE_STATE, FILE_CHUNK_BYTES, decodeQueueState, inPriorityOrder, openImage, parseDigest, verifyAttestations, type QuorumStatus, type Trust } from '../archive/index.ts';
import { createTempSibling, writeFileAtomic } from '../archive/fs/atomic-write.ts';
import type { SftpClient } from '../qssh/sftp/sftp-client.ts';
import { getJson } from './http-client.ts';
import { openHttpImage } from './pull.ts';
import { openQsshImage } from './qssh-pull.ts';
import { checkClaim, pullRemote, type RemoteImage } from './remote-image.ts';
import { pullChunked } from './chunked-pull.ts';
import { cairnSource } from './chunk-sources.ts';
import { fileExists } from './partial-image.ts';

/** Where to catch up from: a Cairn server over HTTP, or an open QSSH session's SFTP. */
export type CatchUpSource = { readonly conn: { base: string; token?: string } } | { readonly sftp: SftpClient };

/** What to catch up. */
export type CatchUpOptions = CatchUpSource & {
  readonly chain: string;
  /** The node's current height. */
  readonly localHeight: number;
  /** Act only when more than this many blocks behind (default 100). */
  readonly threshold?: number;
  /** The node's own trust anchors; must include a registry for `chain` (quorum check). */
  readonly trust: Trust;
  readonly outDir: string;
  readonly onProgress?: (done: number, total: number) => void;
};

/** What a catch-up did. */
export type CatchUpResult =
  | { readonly action: 'up-to-date'; readonly localHeight: number; readonly latestFinalHeight: number | null }
  | {
      readonly action: 'restored';
      readonly localHeight: number;
      readonly height: number;
      readonly digest: string;
      readonly imageFile: string;
      readonly restoredFile: string;
      readonly messages?: number;
      readonly resumedFrom: number;
      readonly quorum: { attestedWeight: number; totalWeight: number };
      /** Format v2 over HTTP: the image the chunks were reused from, and what moved. */
      readonly incremental?: { readonly base: string | null; readonly bytesDownloaded: number; readonly bytesFromBase: number };
    };

/**
 * The image a previous catch-up restored for `chain` into `outDir` (`<chain>-<height>.cimg`, the
 * highest height below `height`), whose chunks an incremental catch-up reuses.
 */
async function previousImage(outDir: string, chain: string, height: number): Promise<string | undefined> {
  const pattern = new RegExp(`^${chain.replace(/[.]/g, '\\.')}-(\\d+)\\.cimg$`);
  const heights = (await readdir(outDir))
    .map((name) => pattern.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((h) => Number.isSafeInteger(h) && h < height)
    .sort((a, b) => b - a);
  return heights.length > 0 ? join(outDir, `${chain}-${heights[0] as number}.cimg`) : undefined;
}

/** The chain's latest final image as the source serves it (its header checked against the claim), if any. */
async function openLatestFinal(options: CatchUpOptions): Promise<RemoteImage | undefined> {
  if ('sftp' in options) {
    let remote: RemoteImage;
    try {
      remote = await openQsshImage(options.sftp, `/${options.chain}/latest-final`);
    } catch (error) {
      if (isCairnError(error, 'NOT_FOUND')) return undefined;
      throw error;
    }
    try {
      checkClaim(remote.header, { chain: options.chain });
    } catch (error) {
      await remote.close();
      throw error;
    }
    return remote;
  }
  let claim: { digest: string; height: number; chain?: string };
  try {
    claim = await getJson<{ digest: string; height: number }>(options.conn, `/v1/chains/${encodeURIComponent(options.chain)}/latest?final=true`);
  } catch (error) {
    if (isCairnError(error, 'NOT_FOUND')) return undefined;
    throw error;
  }
  const remote = await openHttpImage(options.conn, parseDigest(claim.digest));
  checkClaim(remote.header, { chain: options.chain, height: claim.height, digest: claim.digest });
  return remote;
}

/** Throws unless the signatures verify and carry a quorum of the node's own registry. */
function checkFinal(remote: RemoteImage, trust: Trust): QuorumStatus {
  const quorum = verifyAttestations(remote.header, trust).quorum;
  if (!quorum?.final) {
    throw new CairnError('UNTRUSTED_SIGNER', `image ${remote.header.digest} is not final under the local registry (${quorum?.attestedWeight ?? 0}/${quorum?.totalWeight ?? 0} of the weight): not restoring`);
  }
  return quorum;
}

/** Writes the restored state of the verified image file `imageFile`; returns its path. */
async function restore(imageFile: string, base: string): Promise<{ restoredFile: string; messages?: number }> {
  const opened = await openImage(createReadStream(imageFile, { highWaterMark: FILE_CHUNK_BYTES }));
  if (opened.header.contentType === CONTENT_TYPE_QUEUE_STATE) {
    const parts: Buffer[] = [];
    for await (const chunk of opened.content as AsyncIterable<Buffer>) parts.push(chunk);
    const restored = inPriorityOrder(decodeQueueState(Buffer.concat(parts)));
    const restoredFile = `${base}.queue.json`;
    const json = restored.map((m) => ({ kind: m.kind, priority: m.priority, payload: Buffer.from(m.payload).toString('base64'), provenance: m.provenance }));
    await writeFileAtomic(restoredFile, `${JSON.stringify(json, null, 2)}\n`, { overwrite: true });
    return { restoredFile, messages: restored.length };
  }
  const restoredFile = `${base}.bin`;
  const temp = await createTempSibling(restoredFile, { overwrite: true });
  try {
    let position = 0;
    for await (const chunk of opened.content as AsyncIterable<Buffer>) {
      await temp.handle.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    }
    await temp.commit();
  } catch (error) {
    opened.content.destroy();
    await temp.discard();
    throw error;
  }
  return { restoredFile };
}

/** A transfer cut short (network, server gone): the partial is worth keeping for a resume. */
function interrupted(error: unknown): boolean {
  return isCairnError(error, 'STORE_UNAVAILABLE') || !(error instanceof CairnError);
}

/** Runs one catch-up. */
export async function catchUp(options: CatchUpOptions): Promise<CatchUpResult> {
  const threshold = options.threshold ?? 100;
  if (!options.trust.registry?.chains.has(options.chain)) {
    throw new CairnError('INVALID_ARGUMENT', `the trust file has no registry for chain ${options.chain}: finality cannot be checked`);
  }
  const remote = await openLatestFinal(options);
  if (!remote) return { action: 'up-to-date', localHeight: options.localHeight, latestFinalHeight: null };
  try {
    const quorum = checkFinal(remote, options.trust);
    const { height, digest } = remote.header;
    if (height - options.localHeight <= threshold) return { action: 'up-to-date', localHeight: options.localHeight, latestFinalHeight: height };
    if (height <= options.localHeight) {
      throw new CairnError('ROLLBACK_REFUSED', `the latest final image is at height ${height}, not above the local height ${options.localHeight}`, { details: { height, localHeight: options.localHeight } });
    }
    await mkdir(options.outDir, { recursive: true });
    const base = join(options.outDir, `${options.chain}-${height}`);
    const imageFile = `${base}.cimg`;
    // One hidden staging file per chain: a later attempt resumes it if it holds the same digest.
    const staging = join(options.outDir, `.${options.chain}.catchup.cimg`);
    try {
      const progress = options.onProgress ? { onProgress: options.onProgress } : {};
      let pulled: { resumedFrom: number };
      let incremental: { base: string | null; bytesDownloaded: number; bytesFromBase: number } | undefined;
      const previous = await previousImage(options.outDir, options.chain, height);
      if ('conn' in options && remote.header.chunkList && (previous || (await fileExists(`${staging}.part`)))) {
        // Format v2 over HTTP with an earlier image or a partial: chunk by chunk, reusing them.
        const chunked = await pullChunked({ prefix: remote.prefix, header: remote.header, sources: [cairnSource(options.conn)], out: staging, trust: options.trust, ...(previous ? { base: previous } : {}), ...progress });
        pulled = chunked;
        incremental = { base: previous ?? null, bytesDownloaded: chunked.bytesDownloaded, bytesFromBase: chunked.bytesFromBase };
      } else {
        pulled = await pullRemote(remote, staging, { trust: options.trust, ...progress });
      }
      const restored = await restore(staging, base);
      await rename(staging, imageFile);
      return { action: 'restored', localHeight: options.localHeight, height, digest, imageFile, ...restored, resumedFrom: pulled.resumedFrom, quorum: { attestedWeight: quorum.attestedWeight, totalWeight: quorum.totalWeight }, ...(incremental ? { incremental } : {}) };
    } catch (error) {
      await rm(staging, { force: true });
      if (!interrupted(error)) await rm(`${staging}.part`, { force: true });
      throw error;
    }
  } finally {
    await remote.close();
  }
}

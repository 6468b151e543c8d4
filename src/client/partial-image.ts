/**
 * The `<out>.part` file both pulls (HTTP and QSSH) assemble an image in: finding a usable
 * partial left by an earlier attempt, and completing one — signatures checked from the header
 * first, bytes already present hashed from disk, the rest written and hashed as it arrives, and
 * the file renamed to `<out>` only when digest and size check out (content that fails is
 * removed; a transfer cut short leaves the partial for the next attempt).
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { CairnError } from '../errors.ts';
import { CONTENT_TYPE_QUEUE_STATE, ContentHasher, FILE_CHUNK_BYTES, MAX_QUEUE_STATE_BYTES, queueStateTooLarge, readImageHeader, readQueueState, verifyAttestations, type Digest, type ImageHeader, type Trust, type VerificationReport } from '../archive/index.ts';
import { OffThreadHasher } from '../archive/hashing/off-thread-hasher.ts';
import { PREAMBLE_BYTES } from '../archive/image/format.ts';

/** A partial image file: its size so far, its header's length and the header. */
export interface PartialImage {
  readonly size: number;
  readonly prefix: number;
  readonly header: ImageHeader;
}

async function partialPrefixLength(part: string): Promise<{ size: number; prefix: number } | undefined> {
  let handle;
  try {
    handle = await open(part, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = (await handle.stat()).size;
    if (size < PREAMBLE_BYTES) return undefined;
    const preamble = Buffer.alloc(PREAMBLE_BYTES);
    await handle.read(preamble, 0, PREAMBLE_BYTES, 0);
    const prefix = PREAMBLE_BYTES + preamble.readUInt32BE(10);
    return size >= prefix ? { size, prefix } : undefined;
  } finally {
    await handle.close();
  }
}

/** A partial download of `digest` left by an earlier attempt, if `part` holds a usable one. */
export async function partialImage(part: string, digest: Digest): Promise<PartialImage | undefined> {
  const lengths = await partialPrefixLength(part);
  if (!lengths) return undefined;
  try {
    const { header } = await readImageHeader(createReadStream(part, { end: lengths.prefix - 1 }));
    return header.digest === digest ? { ...lengths, header } : undefined;
  } catch {
    return undefined; // not a usable partial: start again
  }
}

/** A SHA3-256 that runs off the main thread for large content. */
function contentHasher(size: number): { update(chunk: Uint8Array): Promise<void> | void; finish(): Promise<Digest>; close(): Promise<void> } {
  if (size >= 8 * 1024 * 1024) {
    const hasher = new OffThreadHasher();
    return { update: (c) => hasher.update(c), finish: async () => (await hasher.digest()).digest, close: () => hasher.close() };
  }
  const hasher = new ContentHasher();
  return { update: (c) => hasher.update(c), finish: () => Promise.resolve(hasher.digest()), close: () => Promise.resolve() };
}

/** Fetches the content from `contentOffset` on, handing each chunk to `sink` in order. */
export type FetchContent = (contentOffset: number, sink: (chunk: Uint8Array) => Promise<void>) => Promise<void>;

/**
 * Completes `partial` (already in `part`) into `out`. Returns the file size and the signature
 * report when `trust` was given.
 */
export async function completePartial(part: string, out: string, partial: PartialImage, fetch: FetchContent, options: { trust?: Trust; onProgress?: (done: number, total: number) => void } = {}): Promise<{ bytes: number; report?: VerificationReport }> {
  const { header } = partial;
  // Signatures first, before spending time on content.
  const report = options.trust ? verifyAttestations(header, options.trust) : undefined;
  const total = partial.prefix + header.size;
  const hasher = contentHasher(header.size);
  try {
    let done = partial.prefix;
    if (partial.size > partial.prefix) {
      for await (const chunk of createReadStream(part, { start: partial.prefix, end: partial.size - 1, highWaterMark: FILE_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
        await hasher.update(chunk);
        done += chunk.length;
      }
    }
    options.onProgress?.(done, total);
    if (done < total) {
      const file = await open(part, 'r+');
      try {
        await fetch(done - partial.prefix, async (chunk) => {
          if (done + chunk.length > total) throw new CairnError('SIZE_MISMATCH', 'the server sent more content than the header declares');
          await file.write(chunk, 0, chunk.length, done);
          await hasher.update(chunk);
          done += chunk.length;
          options.onProgress?.(done, total);
        });
        await file.sync();
      } finally {
        await file.close();
      }
    }
    if (done !== total) throw new CairnError('STORE_UNAVAILABLE', 'the download ended early; run the pull again to resume');
    const actual = await hasher.finish();
    if (actual !== header.digest) {
      await rm(part, { force: true });
      throw new CairnError('DIGEST_MISMATCH', 'the downloaded content does not match its digest', { details: { expected: header.digest, actual } });
    }
    // FORMAT.md §1.1 step 10: what the content type promises (a signed image can still hold a queue state that is not one).
    if (header.contentType === CONTENT_TYPE_QUEUE_STATE) await checkQueueStateContent(part, partial.prefix, header.size);
  } finally {
    await hasher.close();
  }
  await rename(part, out);
  return { bytes: total, ...(report ? { report } : {}) };
}

/** Decodes the queue-state content of `part` (at `offset`, `size` bytes); removes `part` and throws QUEUE_STATE_INVALID if it is not one. */
async function checkQueueStateContent(part: string, offset: number, size: number): Promise<void> {
  try {
    if (size > MAX_QUEUE_STATE_BYTES) throw queueStateTooLarge();
    await readQueueState(size > 0 ? createReadStream(part, { start: offset, end: offset + size - 1, highWaterMark: FILE_CHUNK_BYTES }) : []);
  } catch (error) {
    if (error instanceof CairnError && error.code === 'QUEUE_STATE_INVALID') await rm(part, { force: true });
    throw error;
  }
}

/** Parses an image prefix (preamble and header) held in memory. */
export async function headerOfPrefix(prefix: Uint8Array): Promise<ImageHeader> {
  const { header } = await readImageHeader((async function* () {
    yield prefix;
  })());
  return header;
}

/** Starts `part` afresh with the image's prefix (preamble and header). */
export async function startPartial(part: string, prefix: Uint8Array): Promise<PartialImage> {
  const header = await headerOfPrefix(prefix);
  const file = await open(part, 'w');
  try {
    await file.write(prefix, 0, prefix.length, 0);
  } finally {
    await file.close();
  }
  return { size: prefix.length, prefix: prefix.length, header };
}

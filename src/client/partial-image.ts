/**
 * The `<out>.part` file both pulls (HTTP and QSSH) assemble an image in: finding a usable
 * partial left by an earlier attempt, and completing one — signatures checked from the header
 * first, bytes already present hashed from disk, the rest written and hashed as it arrives, and
 * the file renamed to `<out>` only when digest and size check out (content that fails is
 * removed; a transfer cut short leaves the partial for the next attempt).
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { CairnError } from '../errors.ts';
import { CONTENT_TYPE_QUEUE_STATE, ContentHasher, FILE_CHUNK_BYTES, MAX_QUEUE_STATE_BYTES, openImage, queueStateTooLarge, readQueueState, verifyAttestations, type Digest, type ImageHeader, type Trust, type VerificationReport } from '../archive/index.ts';
import { OffThreadHasher } from '../archive/hashing/off-thread-hasher.ts';
import { ChunkVerifier } from '../archive/hashing/chunk-verifier.ts';

/** A partial image file: its size so far, its header's length and the header. */
export interface PartialImage {
  readonly size: number;
  readonly prefix: number;
  readonly header: ImageHeader;
}

/** True when `path` exists (a partial left by an earlier attempt, say). */
export async function fileExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A partial download of `digest` left by an earlier attempt, if `part` holds a usable one. */
export async function partialImage(part: string, digest: Digest): Promise<PartialImage | undefined> {
  try {
    const size = (await stat(part)).size;
    const { header, prefix } = await prefixOfStream(createReadStream(part));
    return header.digest === digest && size >= prefix ? { size, prefix, header } : undefined;
  } catch {
    return undefined; // no usable partial: start again
  }
}

/**
 * Verifies content as it streams: for v1 a SHA3-256 of the whole content (off the main thread
 * for large content); for v2 each chunk against the header's chunk list (on worker threads).
 * `finish` resolves with the digest the content has (the header's, for v2 content that matched).
 */
function contentHasher(header: ImageHeader): { update(chunk: Uint8Array): Promise<void> | void; finish(): Promise<Digest>; close(): Promise<void> } {
  const size = header.size;
  if (header.chunkList) {
    const verifier = new ChunkVerifier(header.chunkList, size);
    return { update: (c) => verifier.update(c), finish: async () => (await verifier.finish(), header.digest), close: () => verifier.close() };
  }
  if (size >= 8 * 1024 * 1024) {
    const hasher = new OffThreadHasher();
    return { update: (c) => hasher.update(c), finish: async () => (await hasher.digest()).digest, close: () => hasher.close() };
  }
  const hasher = new ContentHasher();
  return { update: (c) => hasher.update(c), finish: () => Promise.resolve(hasher.digest()), close: () => Promise.resolve() };
}

/** Bytes gathered per write while a pull streams. */
const WRITE_BATCH_BYTES = 1024 * 1024;

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
  const hasher = contentHasher(header);
  try {
    await fill();
  } catch (error) {
    // Content that does not match is of no use to a later attempt.
    if (error instanceof CairnError && error.code === 'DIGEST_MISMATCH') await rm(part, { force: true });
    throw error;
  } finally {
    await hasher.close();
  }
  await rename(part, out);
  return { bytes: total, ...(report ? { report } : {}) };

  async function fill(): Promise<void> {
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
      // Pieces (64 KiB from a socket) are gathered into 1 MiB writes: 16 times fewer round trips
      // to the thread pool; one write is in flight while the next batch fills the other buffer.
      const batches = [Buffer.allocUnsafe(WRITE_BATCH_BYTES), Buffer.allocUnsafe(WRITE_BATCH_BYTES)];
      let batch = 0;
      let staged = 0;
      let written = done;
      let writing: Promise<unknown> = Promise.resolve();
      const flush = async (): Promise<void> => {
        await writing;
        if (staged === 0) return;
        const buffer = batches[batch] as Buffer;
        const [length, at] = [staged, written];
        writing = file.write(buffer, 0, length, at);
        writing.catch(() => undefined); // awaited by the next flush
        written += length;
        batch = 1 - batch;
        staged = 0;
      };
      try {
        try {
          await fetch(done - partial.prefix, async (chunk) => {
            if (done + chunk.length > total) throw new CairnError('SIZE_MISMATCH', 'the server sent more content than the header declares');
            await hasher.update(chunk);
            for (let at = 0; at < chunk.length; ) {
              const take = Math.min(chunk.length - at, WRITE_BATCH_BYTES - staged);
              (batches[batch] as Buffer).set(chunk.subarray(at, at + take), staged);
              staged += take;
              at += take;
              if (staged === WRITE_BATCH_BYTES) await flush();
            }
            done += chunk.length;
            options.onProgress?.(done, total);
          });
        } finally {
          // What arrived is on disk however the transfer ended: a later attempt resumes from it.
          await flush().catch(() => undefined);
          await writing.catch(() => undefined);
        }
        await writing; // a write that failed fails the pull
        await file.sync();
      } finally {
        await file.close();
      }
    }
    if (done !== total) throw new CairnError('STORE_UNAVAILABLE', 'the download ended early; run the pull again to resume');
    const actual = await hasher.finish();
    if (actual !== header.digest) {
      throw new CairnError('DIGEST_MISMATCH', 'the downloaded content does not match its digest', { details: { expected: header.digest, actual } });
    }
    // FORMAT.md §1.1 step 10: what the content type promises (a signed image can still hold a queue state that is not one).
    if (header.contentType === CONTENT_TYPE_QUEUE_STATE) await checkQueueStateContent(part, partial.prefix, header.size);
  }
}

/** Decodes the queue-state content of `part` (at `offset`, `size` bytes); removes `part` and throws QUEUE_STATE_INVALID if it is not one. */
export async function checkQueueStateContent(part: string, offset: number, size: number): Promise<void> {
  try {
    if (size > MAX_QUEUE_STATE_BYTES) throw queueStateTooLarge();
    await readQueueState(size > 0 ? createReadStream(part, { start: offset, end: offset + size - 1, highWaterMark: FILE_CHUNK_BYTES }) : []);
  } catch (error) {
    if (error instanceof CairnError && error.code === 'QUEUE_STATE_INVALID') await rm(part, { force: true });
    throw error;
  }
}

/**
 * Reads an image's prefix — preamble, header and (v2) its chunk list, checked against the
 * signed digest — from the start of a stream; `prefix` is the offset of the content.
 */
export async function prefixOfStream(source: AsyncIterable<Uint8Array>): Promise<{ header: ImageHeader; prefix: number }> {
  const opened = await openImage(source);
  try {
    const chunkList = await opened.chunkList();
    return { header: chunkList ? { ...opened.header, chunkList } : opened.header, prefix: opened.contentOffset };
  } finally {
    opened.content.destroy();
  }
}

/** Parses an image prefix (preamble, header and, v2, chunk list) held in memory. */
export async function headerOfPrefix(prefix: Uint8Array): Promise<ImageHeader> {
  const parsed = await prefixOfStream((async function* () {
    yield prefix;
  })());
  if (parsed.prefix !== prefix.length) throw new CairnError('SIZE_MISMATCH', `the image prefix is ${parsed.prefix} bytes, ${prefix.length} were sent`);
  return parsed.header;
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

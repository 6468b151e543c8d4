/**
 * Pulling an image over HTTP, resumably: the image file is assembled in `<out>.part` from the
 * file's header (a Range of /file) and the content (/content, whose ETag — the digest — never
 * changes, so a resume with If-Range is always safe). Signatures (when trust anchors are given)
 * are checked from the header first, the content is hashed as it arrives, and the file is
 * renamed to `<out>` only when digest and size check out. Content that fails is removed; a
 * transfer cut short leaves `<out>.part` for the next attempt; nothing is written to `<out>`.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { CairnError } from '../errors.ts';
import { ContentHasher, FILE_CHUNK_BYTES, readImageHeader, verifyAttestations, type Trust, type VerificationReport, type Digest, type ImageHeader } from '../archive/index.ts';
import { OffThreadHasher } from '../archive/hashing/off-thread-hasher.ts';
import { PREAMBLE_BYTES } from '../archive/image/format.ts';
import { request, streamRequest } from './http-client.ts';

/** What to pull. */
export interface PullOptions {
  readonly conn: { base: string; token?: string };
  readonly digest: Digest;
  readonly out: string;
  /** Verify signatures against these anchors (else only structure, digest and size). */
  readonly trust?: Trust;
  /** Called with bytes downloaded so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Abort the transfer (the partial file stays for a later resume). */
  readonly signal?: AbortSignal;
}

/** The outcome of a pull. */
export interface PullResult {
  readonly out: string;
  readonly bytes: number;
  /** Bytes that were already present from an earlier attempt. */
  readonly resumedFrom: number;
  readonly report?: VerificationReport;
}

export async function partialPrefixLength(part: string): Promise<{ size: number; prefix: number } | undefined> {
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

async function appendBody(path: string, body: AsyncIterable<Buffer>, position: number, onChunk: (chunk: Buffer) => Promise<void> | void): Promise<number> {
  const handle = await open(path, position === 0 ? 'w' : 'r+');
  let at = position;
  try {
    for await (const chunk of body) {
      await handle.write(chunk, 0, chunk.length, at);
      at += chunk.length;
      await onChunk(chunk);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return at;
}

/** A partial download of `digest` left by an earlier attempt: its size, header length and header. */
export async function partialImage(part: string, digest: Digest): Promise<{ size: number; prefix: number; header: ImageHeader } | undefined> {
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
export function contentHasher(size: number): { update(chunk: Uint8Array): Promise<void> | void; finish(): Promise<Digest>; close(): Promise<void> } {
  if (size >= 8 * 1024 * 1024) {
    const hasher = new OffThreadHasher();
    return { update: (c) => hasher.update(c), finish: async () => (await hasher.digest()).digest, close: () => hasher.close() };
  }
  const hasher = new ContentHasher();
  return { update: (c) => hasher.update(c), finish: () => Promise.resolve(hasher.digest()), close: () => Promise.resolve() };
}

/**
 * Downloads (or resumes) an image into `out` and verifies it: the content is hashed as it
 * arrives (bytes kept from an earlier attempt are hashed from disk first), the header's
 * signatures are checked against `trust`, and only a fully verified file is renamed to `out`.
 */
export async function pullImage(options: PullOptions): Promise<PullResult> {
  const { conn, digest, out } = options;
  const part = `${out}.part`;
  const hex = digest.slice('sha3-256:'.length);
  const signal = options.signal ? { signal: options.signal } : {};
  let partial = await partialImage(part, digest);
  const resumedFrom = partial?.size ?? 0;
  if (!partial) {
    await rm(part, { force: true });
    const manifest = (await (await request(conn, `/v1/images/${digest}`, { headers: { accept: 'application/json' }, ...signal })).json()) as { file: { headerBytes: number } };
    const prefixResponse = await streamRequest(conn, `/v1/images/${digest}/file`, { headers: { range: `bytes=0-${manifest.file.headerBytes - 1}` }, ...signal });
    const written = await appendBody(part, prefixResponse, 0, () => undefined);
    const { header } = await readImageHeader(createReadStream(part, { end: written - 1 }));
    if (header.digest !== digest) throw new CairnError('DIGEST_MISMATCH', 'the server sent the header of another image');
    partial = { size: written, prefix: written, header };
  }
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
    if (done - partial.prefix < header.size) {
      const response = await streamRequest(conn, `/v1/images/${digest}/content`, { headers: { range: `bytes=${done - partial.prefix}-`, 'if-range': `"${hex}"` }, ...signal });
      if (response.statusCode !== 206 && done !== partial.prefix) throw new CairnError('STORE_ERROR', 'the server ignored the resume range; delete the .part file and pull again');
      await appendBody(part, response, done, async (chunk) => {
        await hasher.update(chunk);
        done += chunk.length;
        options.onProgress?.(done, total);
      });
    }
    if (done !== total) throw new CairnError('STORE_UNAVAILABLE', 'the download ended early; run the pull again to resume');
    const actual = await hasher.finish();
    if (actual !== digest) {
      await rm(part, { force: true });
      throw new CairnError('DIGEST_MISMATCH', 'the downloaded content does not match its digest', { details: { expected: digest, actual } });
    }
  } finally {
    await hasher.close();
  }
  await rename(part, out);
  return { out, bytes: total, resumedFrom, ...(report ? { report } : {}) };
}

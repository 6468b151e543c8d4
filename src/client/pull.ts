/**
 * Pulling an image over HTTP, resumably: the image file is assembled in `<out>.part` from the
 * file's header (a Range of /file) and the content (/content, whose ETag — the digest — never
 * changes, so a resume with If-Range is always safe). At the end the whole file is verified
 * (structure, digest, size, and signatures when trust anchors are given) and only then renamed
 * to `<out>`. A file that fails verification is removed; nothing is written to `<out>`.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { CairnError } from '../errors.ts';
import { FILE_CHUNK_BYTES, openImage, verifyImage, type Trust, type VerificationReport, type Digest } from '../archive/index.ts';
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

async function appendBody(path: string, body: AsyncIterable<Buffer>, position: number, onBytes: (n: number) => void): Promise<number> {
  const handle = await open(path, position === 0 ? 'w' : 'r+');
  let at = position;
  try {
    for await (const chunk of body) {
      await handle.write(chunk, 0, chunk.length, at);
      at += chunk.length;
      onBytes(chunk.length);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return at;
}

/** Downloads (or resumes) an image into `out` and verifies it. */
export async function pullImage(options: PullOptions): Promise<PullResult> {
  const { conn, digest, out } = options;
  const part = `${out}.part`;
  const hex = digest.slice('sha3-256:'.length);
  let partial = await partialPrefixLength(part);
  if (partial) {
    // The partial must be this image: its header names the digest.
    try {
      const head = await openImage(createReadStream(part, { end: partial.prefix - 1 }));
      head.content.destroy();
      if (head.header.digest !== digest) partial = undefined;
    } catch {
      partial = undefined;
    }
  }
  const resumedFrom = partial?.size ?? 0;
  if (!partial) {
    await rm(part, { force: true });
    const manifest = (await (await request(conn, `/v1/images/${digest}`, { headers: { accept: 'application/json' }, ...(options.signal ? { signal: options.signal } : {}) })).json()) as { file: { headerBytes: number } };
    const prefixResponse = await streamRequest(conn, `/v1/images/${digest}/file`, { headers: { range: `bytes=0-${manifest.file.headerBytes - 1}` }, ...(options.signal ? { signal: options.signal } : {}) });
    const written = await appendBody(part, prefixResponse, 0, () => undefined);
    partial = { size: written, prefix: written };
  }
  const header = await openImage(createReadStream(part, { end: partial.prefix - 1 }));
  header.content.destroy();
  const total = partial.prefix + header.header.size;
  let done = partial.size;
  options.onProgress?.(done, total);
  const have = partial.size - partial.prefix;
  if (have < header.header.size) {
    const response = await streamRequest(conn, `/v1/images/${digest}/content`, { headers: { range: `bytes=${have}-`, 'if-range': `"${hex}"` }, ...(options.signal ? { signal: options.signal } : {}) });
    const position = response.statusCode === 206 ? partial.size : partial.prefix;
    if (response.statusCode !== 206) done = partial.prefix;
    await appendBody(part, response, position, (n) => options.onProgress?.((done += n), total));
    if ((await stat(part)).size !== total) throw new CairnError('STORE_UNAVAILABLE', 'the download ended early; run the pull again to resume');
  }
  try {
    const report = options.trust
      ? await verifyImage(createReadStream(part, { highWaterMark: FILE_CHUNK_BYTES }), options.trust)
      : await (async () => {
          const opened = await openImage(createReadStream(part, { highWaterMark: FILE_CHUNK_BYTES }));
          for await (const _ of opened.content);
          if (opened.header.digest !== digest) throw new CairnError('DIGEST_MISMATCH', 'downloaded image is not the requested one');
          return undefined;
        })();
    if (report && report.header.digest !== digest) throw new CairnError('DIGEST_MISMATCH', 'downloaded image is not the requested one');
    await rename(part, out);
    return { out, bytes: (await stat(out)).size, resumedFrom, ...(report ? { report } : {}) };
  } catch (error) {
    await rm(part, { force: true });
    throw error;
  }
}

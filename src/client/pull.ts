/**
 * Pulling an image over HTTP, resumably: the image file is assembled in `<out>.part` from the
 * file's header (a Range of /file) and the content (/content, whose ETag — the digest — never
 * changes, so a resume with If-Range is always safe). Signatures (when trust anchors are given)
 * are checked from the header first, the content is hashed as it arrives, and the file is
 * renamed to `<out>` only when digest and size check out. Content that fails is removed; a
 * transfer cut short leaves `<out>.part` for the next attempt; nothing is written to `<out>`.
 */
import { rm } from 'node:fs/promises';
import { CairnError } from '../errors.ts';
import type { Digest, Trust, VerificationReport } from '../archive/index.ts';
import { request, streamRequest } from './http-client.ts';
import { completePartial, partialImage, startPartial } from './partial-image.ts';

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
    const chunks: Buffer[] = [];
    for await (const chunk of prefixResponse as AsyncIterable<Buffer>) chunks.push(chunk);
    partial = await startPartial(part, Buffer.concat(chunks));
    if (partial.header.digest !== digest) {
      await rm(part, { force: true });
      throw new CairnError('DIGEST_MISMATCH', 'the server sent the header of another image');
    }
  }
  const result = await completePartial(part, out, partial, async (contentOffset, sink) => {
    const response = await streamRequest(conn, `/v1/images/${digest}/content`, { headers: { range: `bytes=${contentOffset}-`, 'if-range': `"${hex}"` }, ...signal });
    if (response.statusCode !== 206 && contentOffset !== 0) throw new CairnError('STORE_ERROR', 'the server ignored the resume range; delete the .part file and pull again');
    for await (const chunk of response as AsyncIterable<Buffer>) await sink(chunk);
  }, { ...(options.trust ? { trust: options.trust } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  return { out, bytes: result.bytes, resumedFrom, ...(result.report ? { report: result.report } : {}) };
}

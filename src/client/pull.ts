/**
 * Pulling an image over HTTP, resumably: the image's prefix (preamble and header) comes from a
 * Range of /file, the content from /content, whose ETag — the digest — never changes, so a
 * resume with If-Range is always safe. A pull from the start asks for `Accept-Encoding: zstd`
 * and decompresses as it writes (content compressed at rest crosses the wire as stored); a
 * resume asks for a range of the identity bytes. Signatures (when trust anchors are given) are checked
 * from the header first, the content is hashed as it arrives, and the file is renamed to `<out>`
 * only when digest and size check out. Content that fails is removed; a transfer cut short
 * leaves `<out>.part` for the next attempt; nothing is written to `<out>`.
 */
import type { IncomingMessage } from 'node:http';
import { CairnError } from '../errors.ts';
import { CHUNK_ENTRY_BYTES, chunkCountBounds, decodeZstdStream, digestKeyPart, prefixLengthOf, PREAMBLE_BYTES, MAX_HEADER_BYTES_LIMIT, decodePreamble, type Digest, type ImageHeader, type Trust, type VerificationReport } from '../archive/index.ts';
import { request, streamRequest } from './http-client.ts';
import { fileExists, headerOfPrefix } from './partial-image.ts';
import { pullChunked, type ChunkedPullResult } from './chunked-pull.ts';
import { cairnSource, type ChunkSourceSpec } from './chunk-sources.ts';
import { checkClaim, pullRemote, type ImageClaim, type RemoteImage } from './remote-image.ts';

/** What to pull. */
export interface PullOptions {
  readonly conn: { base: string; token?: string };
  readonly digest: Digest;
  readonly out: string;
  /** Verify signatures against these anchors (else only structure, digest and size). */
  readonly trust?: Trust;
  /** What the server said the image is (from a listing): refused unless the signed header agrees. */
  readonly claim?: ImageClaim;
  /** Called with bytes downloaded so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Abort the transfer (the partial file stays for a later resume). */
  readonly signal?: AbortSignal;
  /** Format v2: more places to fetch chunks from (other servers, mirrors, directories). */
  readonly sources?: readonly ChunkSourceSpec[];
  /** Format v2: an earlier image file whose chunks are copied instead of downloaded. */
  readonly base?: string;
  /** Format v2, by chunk: how long one request to a source may take (default 60 s). */
  readonly requestTimeoutMs?: number;
}

/** The outcome of a pull. */
export interface PullResult {
  readonly out: string;
  readonly header: ImageHeader;
  readonly bytes: number;
  /** Bytes that were already present from an earlier attempt. */
  readonly resumedFrom: number;
  readonly report?: VerificationReport;
  /** Format v2: where the chunks came from. */
  readonly chunked?: Pick<ChunkedPullResult, 'chunks' | 'bytesDownloaded' | 'bytesFromBase' | 'sources'>;
}

/** Attempts at reading a header that keeps growing (attestations arriving) before giving up. */
const PREFIX_ATTEMPTS = 4;

/**
 * The image's prefix as served now, or undefined when its header grew since the manifest named
 * its length (an attestation arrived in between: read the manifest again).
 */
async function fetchPrefix(conn: { base: string; token?: string }, digest: Digest, init: { signal?: AbortSignal }): Promise<Buffer | undefined> {
  const manifest = (await (await request(conn, `/v1/images/${digest}`, { headers: { accept: 'application/json' }, ...init })).json()) as { size?: unknown; file?: { headerBytes?: unknown } };
  const headerBytes = manifest.file?.headerBytes;
  // The prefix is the preamble, the header and (v2) a chunk list of at most 36 bytes per 256 KiB of content.
  const contentSize = typeof manifest.size === 'number' && Number.isSafeInteger(manifest.size) && manifest.size >= 0 ? manifest.size : 0;
  const limit = PREAMBLE_BYTES + MAX_HEADER_BYTES_LIMIT + CHUNK_ENTRY_BYTES * chunkCountBounds(contentSize).max;
  if (typeof headerBytes !== 'number' || !Number.isSafeInteger(headerBytes) || headerBytes <= PREAMBLE_BYTES || headerBytes > limit) throw new CairnError('STORE_ERROR', 'the manifest has no valid file.headerBytes');
  const prefixResponse = await streamRequest(conn, `/v1/images/${digest}/file`, { headers: { range: `bytes=0-${headerBytes - 1}` }, ...init });
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of prefixResponse as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > headerBytes) {
      prefixResponse.destroy();
      throw new CairnError('SIZE_MISMATCH', 'the server sent more than the image header it announced');
    }
    chunks.push(chunk);
  }
  // A connection cut short is not a truncated image: say so, so the pull is simply retried.
  if (received < headerBytes) throw new CairnError('STORE_UNAVAILABLE', `the server stopped after ${received} of the ${headerBytes} bytes of the image header; retry`);
  const prefix = Buffer.concat(chunks);
  const headerEnd = PREAMBLE_BYTES + decodePreamble(prefix.subarray(0, PREAMBLE_BYTES), MAX_HEADER_BYTES_LIMIT);
  if (headerEnd > headerBytes) return undefined;
  const length = prefixLengthOf(prefix.subarray(0, PREAMBLE_BYTES), prefix.subarray(PREAMBLE_BYTES, headerEnd));
  return length > headerBytes ? undefined : prefix.subarray(0, length);
}

/**
 * The response body with its content coding removed: identity as it is, zstd decoded frame by
 * frame as it streams (bounded: the window, each frame, and `size` bytes in all). Anything else
 * was not asked for and is refused.
 */
function decodedBody(response: IncomingMessage, size: number): AsyncIterable<Buffer> {
  const coding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (coding === 'identity') return response;
  if (coding !== 'zstd') {
    response.destroy();
    throw new CairnError('STORE_ERROR', `the server sent a content coding that was not asked for (${coding.slice(0, 40)})`);
  }
  return decodeZstdStream(response, { maxOutput: size });
}

/** Opens an archived image over HTTP: fetches and parses its prefix; content on demand. */
export async function openHttpImage(conn: { base: string; token?: string }, digest: Digest, signal?: AbortSignal): Promise<RemoteImage> {
  const hex = digestKeyPart(digest);
  const init = signal ? { signal } : {};
  let prefix: Buffer | undefined;
  for (let attempt = 0; attempt < PREFIX_ATTEMPTS && !prefix; attempt++) prefix = await fetchPrefix(conn, digest, init);
  if (!prefix) throw new CairnError('STORE_UNAVAILABLE', `the image header kept growing while it was read (${PREFIX_ATTEMPTS} attempts); retry`);
  const header = await headerOfPrefix(prefix);
  if (header.digest !== digest) throw new CairnError('DIGEST_MISMATCH', 'the server sent the header of another image');
  return {
    prefix,
    header,
    fetchContent: async (contentOffset, sink) => {
      const headers: Record<string, string> = contentOffset === 0 ? { 'accept-encoding': 'zstd' } : { range: `bytes=${contentOffset}-`, 'if-range': `"${hex}"` };
      const response = await streamRequest(conn, `/v1/images/${digest}/content`, { headers, ...init });
      if (response.statusCode !== 206 && contentOffset !== 0) {
        response.destroy();
        throw new CairnError('STORE_ERROR', 'the server ignored the resume range; delete the .part file and pull again');
      }
      try {
        for await (const chunk of decodedBody(response, header.size - contentOffset)) await sink(chunk);
      } finally {
        if (!response.complete) response.destroy();
      }
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Downloads (or resumes) an image into `out` and verifies it: the signed header is checked
 * against `claim` and `trust` before any content moves, the content is hashed as it arrives
 * (bytes kept from an earlier attempt are hashed from disk first), and only a fully verified
 * file is renamed to `out`.
 */
export async function pullImage(options: PullOptions): Promise<PullResult> {
  const remote = await openHttpImage(options.conn, options.digest, options.signal);
  if (options.claim) checkClaim(remote.header, options.claim);
  if (remote.header.chunkList && (options.sources?.length || options.base || (await fileExists(`${options.out}.part`)))) {
    // Format v2 with more sources, a base or a partial: chunk by chunk, several requests in
    // flight, from every source, reusing what the base and the partial hold. A plain pull of a
    // v2 image streams instead (below): one request, zstd on the wire when the content is
    // stored compressed, every chunk verified on worker threads as it streams.
    const pulled = await pullChunked({
      prefix: remote.prefix,
      header: remote.header,
      sources: [cairnSource(options.conn), ...(options.sources ?? [])],
      out: options.out,
      ...(options.base ? { base: options.base } : {}),
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.trust ? { trust: options.trust } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const { chunks, bytesDownloaded, bytesFromBase, sources } = pulled;
    return { out: pulled.out, header: pulled.header, bytes: pulled.bytes, resumedFrom: pulled.resumedFrom, ...(pulled.report ? { report: pulled.report } : {}), chunked: { chunks, bytesDownloaded, bytesFromBase, sources } };
  }
  if (options.sources?.length || options.base) throw new CairnError('INVALID_ARGUMENT', `${options.digest} is a format-v1 image: --source and --base need a format-v2 (chunked) image`);
  return pullRemote(remote, options.out, { ...(options.trust ? { trust: options.trust } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
}

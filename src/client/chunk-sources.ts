/**
 * Where the chunks of a format-v2 image can come from (`cairn pull --source`): another Cairn
 * server (its base URL), the URL of the image file on any HTTP server that answers byte ranges (a
 * mirror, a CDN), or a local directory holding the image file. Each is opened once — a file
 * source's own prefix is read, so its content offset is known and it is checked to hold this
 * image — and then reads content ranges. Nothing a source says is trusted: every chunk is
 * verified against the signed chunk list by the caller.
 */
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CairnError } from '../errors.ts';
import { IMAGE_FILE_EXTENSION, MAX_HEADER_BYTES_LIMIT, PREAMBLE_BYTES, decodePreamble, prefixLengthOf, type Digest } from '../archive/index.ts';
import { headerOfPrefix, prefixOfStream } from './partial-image.ts';
import { createReadStream } from 'node:fs';

/** A source of content ranges of one image. */
export interface ChunkSource {
  /** How the source is named in results (its URL or path). */
  readonly name: string;
  /** Content bytes [start, end] (inclusive), exactly `end - start + 1` of them. */
  read(start: number, end: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** What `--source` names, before it is opened. */
export type ChunkSourceSpec = { readonly kind: 'cairn'; readonly base: string; readonly token?: string } | { readonly kind: 'file-url'; readonly url: string } | { readonly kind: 'directory'; readonly path: string };

/**
 * Reads a `--source` value: an `http(s)://` URL whose path ends in `.cimg` is an image file, any
 * other URL a Cairn server's base URL, anything else a local directory.
 */
export function parseSourceSpec(text: string, token?: string): ChunkSourceSpec {
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new CairnError('INVALID_ARGUMENT', `--source ${text.slice(0, 100)} is not a valid URL`);
    }
    if (url.pathname.endsWith(IMAGE_FILE_EXTENSION)) return { kind: 'file-url', url: url.toString() };
    return { kind: 'cairn', base: url.toString().replace(/\/+$/, ''), ...(token ? { token } : {}) };
  }
  return { kind: 'directory', path: text };
}

/** A Cairn server as a chunk source. */
export function cairnSource(conn: { base: string; token?: string }): ChunkSourceSpec {
  return { kind: 'cairn', base: conn.base, ...(conn.token ? { token: conn.token } : {}) };
}

/** Opens a source for `digest`; throws a CairnError when it cannot serve it. `timeoutMs` bounds each HTTP request. */
export async function openChunkSource(spec: ChunkSourceSpec, digest: Digest, timeoutMs = RANGE_TIMEOUT_MS): Promise<ChunkSource> {
  if (spec.kind === 'cairn') {
    const url = `${spec.base}/v1/images/${digest}/content`;
    return { name: spec.base, read: (start, end) => rangeGet(url, start, end, spec.token, timeoutMs), close: () => Promise.resolve() };
  }
  if (spec.kind === 'file-url') {
    const get = (start: number, end: number): Promise<Uint8Array> => rangeGet(spec.url, start, end, undefined, timeoutMs);
    const preamble = await get(0, PREAMBLE_BYTES - 1);
    const headerLength = decodePreamble(preamble, MAX_HEADER_BYTES_LIMIT);
    const headerBytes = await get(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength - 1);
    const contentOffset = prefixLengthOf(preamble, headerBytes);
    const prefix = Buffer.concat([preamble, headerBytes, await get(PREAMBLE_BYTES + headerLength, contentOffset - 1)]);
    const header = await headerOfPrefix(prefix);
    if (header.digest !== digest) throw new CairnError('CLAIM_MISMATCH', `${spec.url} holds ${header.digest}, not ${digest}`);
    return { name: spec.url, read: (start, end) => get(contentOffset + start, contentOffset + end), close: () => Promise.resolve() };
  }
  const found = await findInDirectory(spec.path, digest);
  if (!found) throw new CairnError('NOT_FOUND', `${spec.path} holds no image file of ${digest}`);
  const { handle, contentOffset, path } = found;
  return {
    name: path,
    async read(start, end) {
      const out = Buffer.allocUnsafe(end - start + 1);
      const { bytesRead } = await handle.read(out, 0, out.length, contentOffset + start);
      if (bytesRead !== out.length) throw new CairnError('IMAGE_TRUNCATED', `${path} ends inside its content`);
      return out;
    },
    close: () => handle.close(),
  };
}

/** The image file of `digest` in `dir` (its `*.cimg` files are read up to their prefix). */
async function findInDirectory(dir: string, digest: Digest): Promise<{ handle: FileHandle; contentOffset: number; path: string } | undefined> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(IMAGE_FILE_EXTENSION)).sort();
  } catch (error) {
    throw new CairnError('INVALID_ARGUMENT', `--source ${dir} is neither an http(s) URL nor a readable directory (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      const { header, prefix } = await prefixOfStream(createReadStream(path));
      if (header.digest !== digest) continue;
      return { handle: await open(path, 'r'), contentOffset: prefix, path };
    } catch {
      continue; // not an image, or not a usable one
    }
  }
  return undefined;
}

/**
 * How long one range request may take by default, whole body included: a source that stalls
 * fails (and after three failures is dropped) instead of holding the pull.
 */
export const RANGE_TIMEOUT_MS = 60_000;

/** GET bytes [start, end] of `url` with a Range request; exactly that many bytes or an error. */
async function rangeGet(url: string, start: number, end: number, token?: string, timeoutMs = RANGE_TIMEOUT_MS): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  let bytes: Uint8Array;
  try {
    response = await fetch(url, { signal, headers: { range: `bytes=${start}-${end}`, 'accept-encoding': 'identity', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    if (response.status !== 206) {
      await response.body?.cancel().catch(() => undefined);
      throw new CairnError(response.status === 404 ? 'NOT_FOUND' : 'STORE_ERROR', `${url} answered ${response.status} to a range request`);
    }
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (error instanceof CairnError) throw error;
    const why = signal.aborted ? `no answer within ${timeoutMs / 1000} s` : (error as Error).message;
    throw new CairnError('STORE_UNAVAILABLE', `cannot read ${url}: ${why}`, { cause: error });
  }
  if (bytes.length !== end - start + 1) throw new CairnError('STORE_UNAVAILABLE', `${url} sent ${bytes.length} of ${end - start + 1} bytes`);
  return bytes;
}

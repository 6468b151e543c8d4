/**
 * Streaming image reader: parses and bounds-checks the preamble and header, then hands out the
 * content as a stream that is hashed as it flows. The last content chunk is held back until the
 * digest and size have been checked, so a consumer never receives the complete bytes of a
 * corrupted image: the stream fails instead (`DIGEST_MISMATCH`, `IMAGE_TRUNCATED`,
 * `IMAGE_TRAILING_BYTES`).
 *
 * Format v2: the chunk list after the header is read (by {@link OpenedImage.chunkList}, or first
 * thing by the content stream) and checked against the signed digest and the size rules; then
 * each chunk of the content is hashed as it completes — on a pool of worker threads for large
 * content, so every core hashes — and checked against its entry.
 */
import { Readable } from 'node:stream';
import { CairnError } from '../../errors.ts';
import { ContentHasher } from '../digest.ts';
import { OffThreadHasher } from '../hashing/off-thread-hasher.ts';
import { DEFAULT_MAX_HEADER_BYTES, IMAGE_FORMAT_V2, PREAMBLE_BYTES, type ImageFormatVersion, type ImageHeader } from './format.ts';
import { checkPreamblePrefix, decodeHeaderOf, decodePreamble, headerBudget, preambleVersion } from './header-codec.ts';
import { CHUNK_ENTRY_BYTES, assertChunkListShape, chunkListDigestOf } from '../chunking/chunk-list.ts';
import { ChunkVerifier } from '../hashing/chunk-verifier.ts';
import { CborBudgetScanner } from '../cbor/cbor-budget.ts';

/** Options for {@link openImage}. */
export interface OpenImageOptions {
  /** Reject headers longer than this (default 4 MiB, at most 16 MiB). */
  maxHeaderBytes?: number;
}

/** An image whose header has been read and validated; content not yet read. */
export interface OpenedImage {
  /** The header; for v2 without its chunk list (see {@link chunkList}). */
  readonly header: ImageHeader;
  readonly version: ImageFormatVersion;
  /** The header's CBOR bytes exactly as read. */
  readonly headerBytes: Uint8Array;
  /** Offset of the first content byte in the file (after the chunk list, for v2). */
  readonly contentOffset: number;
  /**
   * Format v2: reads the chunk list (once) and checks it against the signed digest
   * (`DIGEST_MISMATCH`) and the size rules (`CHUNK_LIST_INVALID`); v1: undefined. Call it after
   * the signatures were checked, before the content, to have the list first; the content
   * stream calls it otherwise.
   */
  chunkList(): Promise<Uint8Array | undefined>;
  /**
   * The content. Consume it exactly once; it errors with a {@link CairnError} if the content
   * does not match the header. Destroy it to stop early.
   */
  readonly content: Readable;
}

/** Pulls exact byte counts out of an async iterator of chunks. */
class ChunkReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #buffered: Uint8Array[] = [];
  #bufferedBytes = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /**
   * The next `n` bytes. `inspect` sees them as they arrive (each byte once, in order, before the
   * next chunk is read), so a caller can refuse them before all of them are in memory.
   */
  async readExactly(n: number, what: string, inspect?: (bytes: Uint8Array) => void): Promise<Uint8Array> {
    let inspected = 0;
    const show = (chunk: Uint8Array): void => {
      const take = Math.min(chunk.length, n - inspected);
      if (!inspect || take <= 0) return;
      inspect(chunk.subarray(0, take));
      inspected += take;
    };
    for (const chunk of this.#buffered) show(chunk);
    while (this.#bufferedBytes < n) {
      const next = await this.#source.next();
      if (next.done) throw new CairnError('IMAGE_TRUNCATED', `image ended inside the ${what} (${this.#bufferedBytes} of ${n} bytes)`);
      const chunk = toBytes(next.value);
      if (chunk.length === 0) continue;
      show(chunk);
      this.#buffered.push(chunk);
      this.#bufferedBytes += chunk.length;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.#buffered[0] as Uint8Array;
      const take = Math.min(head.length, n - filled);
      out.set(head.subarray(0, take), filled);
      filled += take;
      if (take === head.length) this.#buffered.shift();
      else this.#buffered[0] = head.subarray(take);
    }
    this.#bufferedBytes -= n;
    return out;
  }

  /** Remaining chunks: the buffered ones first, then the rest of the source. */
  async *rest(): AsyncGenerator<Uint8Array> {
    const buffered = this.#buffered;
    this.#buffered = [];
    this.#bufferedBytes = 0;
    yield* buffered;
    for (;;) {
      const next = await this.#source.next();
      if (next.done) return;
      yield toBytes(next.value);
    }
  }

  async close(): Promise<void> {
    await this.#source.return?.();
  }
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new CairnError('INTERNAL', 'image source yielded a non-byte chunk');
}

/**
 * Reads the preamble and header from `source` and returns the header with a verifying content
 * stream. Throws a {@link CairnError} for any problem in preamble or header.
 */
export async function openImage(source: AsyncIterable<Uint8Array>, options: OpenImageOptions = {}): Promise<OpenedImage> {
  const reader = new ChunkReader(source);
  try {
    // Magic and version are judged on the bytes present before a short file is called truncated.
    let seen = new Uint8Array(0);
    const preamble = await reader.readExactly(PREAMBLE_BYTES, 'preamble', (bytes) => {
      seen = Buffer.concat([seen, bytes]);
      checkPreamblePrefix(seen);
    });
    const headerLength = decodePreamble(preamble, options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
    const version = preambleVersion(preamble);
    // The header's CBOR is checked against its item budget as it arrives: a header built to
    // explode the decoder is refused after its first kilobytes, not after megabytes.
    const budget = new CborBudgetScanner(headerBudget(version), headerLength);
    const headerBytes = await reader.readExactly(headerLength, 'header', (bytes) => budget.push(bytes));
    const { header, chunks } = decodeHeaderOf(headerBytes, version);
    let list: Promise<Uint8Array | undefined> | undefined;
    const chunkList = (): Promise<Uint8Array | undefined> => (list ??= version === IMAGE_FORMAT_V2 ? readChunkList(reader, header, chunks) : Promise.resolve(undefined));
    const content = contentStream(reader, header, chunkList);
    return { header, version, headerBytes, contentOffset: PREAMBLE_BYTES + headerLength + chunks * CHUNK_ENTRY_BYTES, chunkList, content };
  } catch (error) {
    await reader.close().catch(() => undefined);
    throw error;
  }
}

/** Reads the v2 chunk list after the header and checks it (FORMAT.md §1.1 step 8). */
async function readChunkList(reader: ChunkReader, header: ImageHeader, chunks: number): Promise<Uint8Array> {
  const list = await reader.readExactly(chunks * CHUNK_ENTRY_BYTES, 'chunk list');
  checkChunkList(header, list);
  return list;
}

/**
 * Checks a v2 chunk list against the header's (signed) digest — `DIGEST_MISMATCH` — and then the
 * size rules — `CHUNK_LIST_INVALID` (FORMAT.md §1.1 step 8).
 */
export function checkChunkList(header: Pick<ImageHeader, 'digest' | 'size'>, list: Uint8Array): void {
  const digest = chunkListDigestOf(list, header.size);
  if (digest !== header.digest) throw new CairnError('DIGEST_MISMATCH', 'the chunk list does not match the signed digest', { details: { expected: header.digest, actual: digest } });
  assertChunkListShape(list, header.size);
}

/** Wraps the verifying generator in a Readable that closes the source however it ends. */
function contentStream(reader: ChunkReader, header: ImageHeader, chunkList: () => Promise<Uint8Array | undefined>): Readable {
  const chunks = verifiedContent(reader, header, chunkList);
  return new Readable({
    read() {
      void chunks.next().then(
        (next) => this.push(next.done ? null : next.value),
        (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
      );
    },
    destroy(error, callback) {
      // Close the source first: that also settles a read still pending inside the generator,
      // so ending the generator afterwards cannot wait on a stalled source.
      void reader
        .close()
        .catch(() => undefined)
        .then(() => {
          chunks.return(undefined).catch(() => undefined);
          callback(error);
        });
    },
  });
}

/** Content at least this large is hashed on a worker thread (see OffThreadHasher). */
const OFF_THREAD_MIN_BYTES = 8 * 1024 * 1024;

async function* verifiedContent(reader: ChunkReader, header: ImageHeader, chunkList: () => Promise<Uint8Array | undefined>): AsyncGenerator<Uint8Array> {
  const list = await chunkList().catch(async (error: unknown) => {
    await reader.close().catch(() => undefined);
    throw error;
  });
  if (list) {
    yield* verifiedChunks(reader, header, list);
    return;
  }
  const offThread = header.size >= OFF_THREAD_MIN_BYTES ? new OffThreadHasher() : undefined;
  const inline = offThread ? undefined : new ContentHasher();
  let seen = 0;
  let held: Uint8Array | undefined;
  try {
    for await (const chunk of reader.rest()) {
      if (chunk.length === 0) continue;
      if (chunk.length > header.size - seen) {
        throw new CairnError('IMAGE_TRAILING_BYTES', `image has bytes after its ${header.size}-byte content`);
      }
      seen += chunk.length;
      if (offThread) await offThread.update(chunk);
      else inline?.update(chunk);
      if (held) yield held;
      held = chunk;
    }
    if (seen < header.size) {
      throw new CairnError('IMAGE_TRUNCATED', `image content ended after ${seen} of ${header.size} bytes`, { details: { expected: header.size, actual: seen } });
    }
    const digest = offThread ? (await offThread.digest()).digest : (inline as ContentHasher).digest();
    if (digest !== header.digest) {
      throw new CairnError('DIGEST_MISMATCH', 'image content does not match its digest', { details: { expected: header.digest, actual: digest } });
    }
    if (held) yield held;
  } finally {
    await offThread?.close();
    await reader.close().catch(() => undefined);
  }
}

/**
 * v2 content: each chunk is checked against its entry once complete (ChunkVerifier); bytes flow
 * on meanwhile, the last piece held back until every chunk has been checked.
 */
async function* verifiedChunks(reader: ChunkReader, header: ImageHeader, list: Uint8Array): AsyncGenerator<Uint8Array> {
  const verifier = new ChunkVerifier(list, header.size);
  let held: Uint8Array | undefined;
  try {
    for await (const piece of reader.rest()) {
      if (piece.length === 0) continue;
      if (piece.length > header.size - verifier.seen) {
        // Chunks come first in file order (FORMAT.md §1.1 step 9): a bad chunk before the extra bytes wins.
        await verifier.update(piece.subarray(0, header.size - verifier.seen));
        await verifier.settled();
        throw new CairnError('IMAGE_TRAILING_BYTES', `image has bytes after its ${header.size}-byte content`);
      }
      await verifier.update(piece);
      if (held) yield held;
      held = piece;
    }
    await verifier.finish();
    if (held) yield held;
  } finally {
    await verifier.close();
    await reader.close().catch(() => undefined);
  }
}

/** Reads only the header of an image (the content is not read or verified). */
export async function readImageHeader(source: AsyncIterable<Uint8Array>, options: OpenImageOptions = {}): Promise<Omit<OpenedImage, 'content'>> {
  const { content, ...rest } = await openImage(source, options);
  content.destroy();
  return rest;
}

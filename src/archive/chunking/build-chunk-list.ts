/**
 * The chunk list of content (FORMAT.md §12): cut it (content-chunker.ts) and hash every chunk —
 * on the process-wide pool of worker threads when the content is large, so all cores hash while
 * the main thread cuts — and encode the entries in content order.
 */
import { CairnError } from '../../errors.ts';
import { chunkIdsInOrder, sharedChunkIdPool } from '../hashing/chunk-id-pool.ts';
import { CHUNK_ENTRY_BYTES, chunkId, chunkListDigestOf } from './chunk-list.ts';
import { chunkLengths, chunkStream } from './content-chunker.ts';
import type { Digest } from '../digest.ts';

/** Content at least this large is hashed on worker threads. */
export const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;

/** A built chunk list with the content's size and v2 digest. */
export interface BuiltChunkList {
  readonly list: Uint8Array;
  readonly size: number;
  readonly digest: Digest;
}

/**
 * Builds the chunk list of streamed content. `expectedSize`, when known, picks worker hashing for
 * large content up front; the pool is closed however the stream ends.
 */
export async function buildChunkList(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expectedSize?: number): Promise<BuiltChunkList> {
  const entries: Buffer[] = [];
  let size = 0;
  const pool = expectedSize === undefined || expectedSize >= PARALLEL_MIN_BYTES ? sharedChunkIdPool() : undefined;
  const ids = pool ? chunkIdsInOrder(chunkStream(source), pool) : inlineIds(chunkStream(source));
  for await (const { length, id } of ids) {
    const entry = Buffer.alloc(CHUNK_ENTRY_BYTES);
    entry.writeUInt32BE(length, 0);
    entry.set(id, 4);
    entries.push(entry);
    size += length;
  }
  if (expectedSize !== undefined && size !== expectedSize) {
    throw new CairnError('SIZE_MISMATCH', `content was ${size} bytes, expected ${expectedSize} (did the input change while it was read?)`, { details: { expected: expectedSize, actual: size } });
  }
  const list = new Uint8Array(Buffer.concat(entries));
  return { list, size, digest: chunkListDigestOf(list, size) };
}

async function* inlineIds(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<{ length: number; id: Uint8Array }> {
  for await (const chunk of chunks) yield { length: chunk.length, id: chunkId(chunk) };
}

/** The chunk list of content held in memory (small content: queue states, tests). */
export function chunkListOfBytes(content: Uint8Array): BuiltChunkList {
  const lengths = chunkLengths(content);
  const list = new Uint8Array(lengths.length * CHUNK_ENTRY_BYTES);
  const view = new DataView(list.buffer);
  let start = 0;
  lengths.forEach((length, i) => {
    view.setUint32(i * CHUNK_ENTRY_BYTES, length);
    list.set(chunkId(content.subarray(start, start + length)), i * CHUNK_ENTRY_BYTES + 4);
    start += length;
  });
  return { list, size: content.length, digest: chunkListDigestOf(list, content.length) };
}

/**
 * Content-defined chunking for image format v2 (docs/FORMAT.md §12.1, draft; issue 16): the same
 * content always gives the same chunks, so two validators' identical states give the same chunk
 * list and digest, and an edit moves only the chunks around it.
 *
 * FastCDC-style (Xia et al., 2016/2020), fully specified so that any implementation cuts alike:
 *  - a 32-bit Gear hash: h ← (2·h + G[b]) mod 2^32 for each byte b, where G[i] is the first four
 *    bytes (big-endian) of SHA3-256("cairn/gear/v2" ‖ i), i a single byte;
 *  - a chunk is at least MIN bytes (the hash starts at 0 at MIN bytes into the chunk: the first
 *    MIN bytes are skipped), at most MAX bytes;
 *  - normalised cut points: a chunk ends after byte k (counting from 1) when, with h updated by
 *    that byte, `(h & MASK_SMALL) == 0` while k ≤ AVG, or `(h & MASK_LARGE) == 0` while
 *    AVG < k < MAX; it ends at MAX otherwise, and the last chunk at the end of the content.
 *    The masks test the hash's top bits (22 before AVG: cuts are rarer; 18 after: likelier).
 * Chunks are therefore MIN … MAX bytes, except the last (1 … MAX; none for empty content).
 */
import { createHash } from 'node:crypto';

/** Chunk size bounds, normative for format v2. */
export const CHUNK_MIN_BYTES = 256 * 1024;
export const CHUNK_AVG_BYTES = 1024 * 1024;
export const CHUNK_MAX_BYTES = 4 * 1024 * 1024;
/** Top 22 bits (before AVG) and top 18 bits (after AVG). */
export const MASK_SMALL = 0xfffffc00;
export const MASK_LARGE = 0xffffc000;

/** The Gear table: G[i] = first four bytes of SHA3-256("cairn/gear/v2" ‖ i), big-endian. */
export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha3-256').update('cairn/gear/v2').update(Uint8Array.of(i)).digest().readUInt32BE(0);
  }
  return table;
})();

const GEAR_I32 = new Int32Array(GEAR.buffer);
const MASK_SMALL_I32 = MASK_SMALL | 0;
const MASK_LARGE_I32 = MASK_LARGE | 0;

/**
 * Where the chunk that starts at `data[start]` ends (exclusive), looking at most `MAX` bytes
 * ahead; `final` says that `data` ends where the content ends. Returns undefined when more bytes
 * are needed to decide (not final and fewer than MAX bytes after `start`).
 */
export function chunkEnd(data: Uint8Array, start: number, final: boolean): number | undefined {
  const available = data.length - start;
  if (available < CHUNK_MAX_BYTES && !final) return undefined;
  if (available <= CHUNK_MIN_BYTES) return data.length;
  const limit = start + Math.min(available, CHUNK_MAX_BYTES);
  const normal = start + Math.min(available, CHUNK_AVG_BYTES);
  // Int32 arithmetic: the low 32 bits are the same, and V8 keeps the loop in machine integers.
  const gear = GEAR_I32;
  let h = 0;
  let i = start + CHUNK_MIN_BYTES;
  for (; i < normal; i++) {
    h = ((h << 1) + (gear[data[i] as number] as number)) | 0;
    if ((h & MASK_SMALL_I32) === 0) return i + 1;
  }
  for (; i < limit; i++) {
    h = ((h << 1) + (gear[data[i] as number] as number)) | 0;
    if ((h & MASK_LARGE_I32) === 0) return i + 1;
  }
  return limit;
}

/**
 * Cuts a stream into chunks as it arrives, holding at most about 3 × MAX bytes of it: pieces are
 * gathered until 2 × MAX bytes wait, then joined once with the tail not yet chunked (each byte is
 * copied about 1.5 times). Yields each chunk's bytes (a view: copy it to keep it past the next).
 */
export async function* chunkStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let buffer: Buffer = Buffer.alloc(0);
  let start = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const join = (): void => {
    buffer = Buffer.concat([buffer.subarray(start), ...pending]);
    start = 0;
    pending = [];
    pendingBytes = 0;
  };
  for await (const piece of source) {
    if (piece.length === 0) continue;
    pending.push(piece);
    pendingBytes += piece.length;
    if (pendingBytes < 2 * CHUNK_MAX_BYTES) continue;
    join();
    for (let end = chunkEnd(buffer, start, false); end !== undefined; end = chunkEnd(buffer, start, false)) {
      yield buffer.subarray(start, end);
      start = end;
    }
  }
  join();
  while (start < buffer.length) {
    const end = chunkEnd(buffer, start, true) as number;
    yield buffer.subarray(start, end);
    start = end;
  }
}

/** The chunk lengths of content held in memory. */
export function chunkLengths(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let start = 0; start < data.length; ) {
    const end = chunkEnd(data, start, true) as number;
    out.push(end - start);
    start = end;
  }
  return out;
}

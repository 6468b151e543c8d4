/**
 * Verifies format-v2 content chunk by chunk as it streams (FORMAT.md §12): bytes arrive in
 * content order in pieces of any size; each chunk, once complete, is hashed — on a pool of worker
 * threads for large content, so every core hashes — and compared with its entry in the (already
 * verified) chunk list. A mismatch is reported by the next `update` or by `finish`, naming the
 * chunk. Memory: at most 2 chunks per worker of the process-wide pool in flight per verifier.
 */
import { createHash, type Hash } from 'node:crypto';
import { CairnError } from '../../errors.ts';
import { chunkSpans } from '../chunking/chunk-list.ts';
import { sharedChunkIdPool, type ChunkIdPool } from './chunk-id-pool.ts';

/** Content at least this large is hashed on worker threads. */
const POOL_MIN_BYTES = 8 * 1024 * 1024;
const IN_FLIGHT_PER_WORKER = 2;
/** Chunk buffers are allocated in multiples of this, so one fits the next chunks too. */
const REUSE_UNIT = 1024 * 1024;

/** Throws `DIGEST_MISMATCH` naming chunk `index` unless `actual` equals `expected`. */
export function checkChunkId(index: number, actual: Uint8Array, expected: Uint8Array): void {
  if (!Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)) {
    throw new CairnError('DIGEST_MISMATCH', `chunk ${index} of the content does not match its entry in the chunk list`, { details: { chunk: index } });
  }
}

/** A streaming verifier of content against its chunk list. Close it when done. */
export class ChunkVerifier {
  readonly #spans: ReturnType<typeof chunkSpans>;
  readonly #pool: ChunkIdPool | undefined;
  readonly #pending: Array<{ index: number; id: Promise<Uint8Array> }> = [];
  #index = 0;
  #filled = 0;
  #seen = 0;
  /**
   * The chunk being filled: pieces are copied in as they arrive (so they die young, instead of
   * being held until the chunk is complete), then the buffer goes to a worker and comes back.
   */
  #current: Uint8Array | undefined;
  /** Inline hashing (small content): the running hash of the chunk being read. */
  #hash: Hash | undefined;
  /** Buffers back from the workers, reused for the next chunks (no allocation, no GC churn). */
  readonly #free: Uint8Array[] = [];

  /** `list` must already be checked against the digest and size (image-reader, headerOfPrefix). */
  constructor(list: Uint8Array, size: number) {
    this.#spans = chunkSpans(list);
    this.#pool = size >= POOL_MIN_BYTES ? sharedChunkIdPool() : undefined;
  }

  /** Bytes verified or being verified so far. */
  get seen(): number {
    return this.#seen;
  }

  /** Feeds the next bytes of the content (in order). */
  async update(piece: Uint8Array): Promise<void> {
    let at = 0;
    this.#seen += piece.length;
    while (at < piece.length) {
      const span = this.#spans[this.#index];
      if (!span) throw new CairnError('IMAGE_TRAILING_BYTES', 'more content than the chunk list describes');
      const take = Math.min(piece.length - at, span.length - this.#filled);
      const part = piece.subarray(at, at + take);
      if (this.#pool) {
        this.#current ??= this.#buffer(span.length);
        this.#current.set(part, this.#filled);
      } else {
        (this.#hash ??= createHash('sha3-256')).update(part);
      }
      this.#filled += take;
      at += take;
      if (this.#filled === span.length) this.#complete(span.length);
    }
    if (this.#pool) await this.#settle(IN_FLIGHT_PER_WORKER * this.#pool.size);
  }

  /** A buffer of at least `length` bytes: one back from a worker, or a new one. */
  #buffer(length: number): Uint8Array {
    const at = this.#free.findIndex((b) => b.length >= length);
    return at >= 0 ? (this.#free.splice(at, 1)[0] as Uint8Array) : new Uint8Array(Math.ceil(length / REUSE_UNIT) * REUSE_UNIT);
  }

  #complete(length: number): void {
    const index = this.#index;
    const expected = (this.#spans[index] as { id: Uint8Array }).id;
    this.#index += 1;
    this.#filled = 0;
    if (!this.#pool) {
      checkChunkId(index, (this.#hash ?? createHash('sha3-256')).digest(), expected);
      this.#hash = undefined;
      return;
    }
    const buffer = this.#current as Uint8Array;
    this.#current = undefined;
    const id = this.#pool.ids(buffer, [{ offset: 0, length }]).then(({ ids, bytes }) => {
      this.#free.push(bytes);
      return ids[0] as Uint8Array;
    });
    id.catch(() => undefined); // awaited in order by #settle
    this.#pending.push({ index, id });
  }

  async #settle(limit: number): Promise<void> {
    while (this.#pending.length > limit) {
      const head = this.#pending.shift() as { index: number; id: Promise<Uint8Array> };
      checkChunkId(head.index, await head.id, (this.#spans[head.index] as { id: Uint8Array }).id);
    }
  }

  /** Waits for the checks of every chunk completed so far (throws `DIGEST_MISMATCH` for the first bad one). */
  async settled(): Promise<void> {
    await this.#settle(0);
  }

  /** Waits for every chunk's check; throws unless the whole content was seen and matched. */
  async finish(): Promise<void> {
    await this.#settle(0);
    if (this.#index !== this.#spans.length) {
      const expected = this.#spans.reduce((sum, s) => sum + s.length, 0);
      throw new CairnError('IMAGE_TRUNCATED', `image content ended after ${this.#seen} of ${expected} bytes`, { details: { expected, actual: this.#seen } });
    }
  }

  /** Stops waiting for chunks still being hashed (the process-wide pool stays). */
  async close(): Promise<void> {
    await Promise.allSettled(this.#pending.map((p) => p.id));
    this.#pending.length = 0;
  }
}

/**
 * Chunk ids (SHA3-256 of each chunk, FORMAT.md §12.2) on a pool of worker threads, so that
 * hashing content cut into chunks uses every core — the reason format v2 has chunks: one SHA3
 * pass over a whole content is one core's work (≈ 2 s per GiB here).
 *
 * Buffers are transferred to a worker, never copied on the way: `id` copies a chunk once into a
 * buffer of its own (or takes one the caller gives up); `ids` hashes several spans of a buffer
 * and hands the buffer back, so callers can write what was hashed and reuse the buffer. The next
 * job goes to the least busy worker. {@link chunkIdsInOrder} keeps a bounded number of chunks in
 * flight and yields ids in content order, so memory stays at `inFlight` chunks whatever the
 * content's size. {@link sharedChunkIdPool} is the one pool a process uses.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CairnError } from '../../errors.ts';

/** A pool of hashing workers. Close it when done (not the shared one). */
export class ChunkIdPool {
  readonly #workers: Worker[];
  readonly #waiting = new Map<number, { resolve: (reply: { ids: ArrayBuffer; bytes?: ArrayBuffer }) => void; reject: (error: Error) => void }>();
  /** Jobs each worker has (the next job goes to the least busy one). */
  readonly #load: number[];
  #seq = 0;
  #failed: Error | undefined;
  #closed = false;
  readonly #unref: boolean;

  /** `unref`: the workers do not keep the process alive (the process-wide pool). */
  constructor(options: { workers?: number; unref?: boolean } = {}) {
    this.#unref = options.unref === true;
    const count = Math.max(1, options.workers ?? Math.min(availableParallelism(), 4));
    const url = new URL(import.meta.url.endsWith('.js') ? './chunk-id-worker.js' : './chunk-id-worker.ts', import.meta.url);
    this.#load = Array.from({ length: count }, () => 0);
    this.#workers = Array.from({ length: count }, (_, index) => {
      const worker = new Worker(url, { resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32, stackSizeMb: 1 } });
      worker.on('message', (m: { seq: number; ids: ArrayBuffer; bytes?: ArrayBuffer }) => {
        const waiter = this.#waiting.get(m.seq);
        this.#waiting.delete(m.seq);
        this.#load[index] = (this.#load[index] as number) - 1;
        this.#idle();
        waiter?.resolve(m);
      });
      worker.on('error', (error: Error) => this.#fail(error));
      // A worker never ends by itself: any exit fails what is waiting, and what comes after.
      worker.on('exit', (code) => this.#fail(new CairnError('INTERNAL', this.#closed ? 'the chunk hashing pool is closed' : `a chunk hashing worker exited (code ${code})`)));
      if (options.unref) worker.unref();
      return worker;
    });
  }

  /** Workers in the pool. */
  get size(): number {
    return this.#workers.length;
  }

  /** True once a worker failed or the pool was closed: it hashes nothing more. */
  get broken(): boolean {
    return this.#failed !== undefined;
  }

  #fail(error: Error): void {
    this.#failed ??= error;
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
    this.#idle();
  }

  /** An unref'd pool holds the process open only while it has work (else an await on it would end the process). */
  #idle(): void {
    if (this.#unref && this.#waiting.size === 0) for (const worker of this.#workers) worker.unref();
  }

  /**
   * The id of one chunk. Its bytes are copied (the caller keeps its own) unless `owned` says the
   * caller gives up `bytes`, a view of a whole ArrayBuffer of its own: then it is transferred.
   */
  async id(bytes: Uint8Array, options: { owned?: boolean } = {}): Promise<Uint8Array> {
    const whole = options.owned === true && isWhole(bytes);
    const buffer = whole ? (bytes.buffer as ArrayBuffer) : new Uint8Array(bytes).buffer;
    const reply = await this.#send(buffer, [0, bytes.length], false);
    return new Uint8Array(reply.ids);
  }

  /**
   * The ids of the chunks at `spans` (offset, length) of `bytes`, which must be a whole
   * ArrayBuffer of the caller's: it is transferred to a worker and handed back with the ids
   * (use the returned view; the one given is detached), so nothing is copied.
   */
  async ids(bytes: Uint8Array, spans: ReadonlyArray<{ offset: number; length: number }>): Promise<{ ids: Uint8Array[]; bytes: Uint8Array }> {
    if (!isWhole(bytes)) throw new CairnError('INTERNAL', 'ChunkIdPool.ids needs a view of a whole ArrayBuffer');
    const reply = await this.#send(bytes.buffer as ArrayBuffer, spans.flatMap((s) => [s.offset, s.length]), true);
    const ids = new Uint8Array(reply.ids);
    return { ids: spans.map((_, i) => ids.subarray(32 * i, 32 * i + 32)), bytes: new Uint8Array(reply.bytes as ArrayBuffer) };
  }

  #send(buffer: ArrayBuffer, spans: number[], back: boolean): Promise<{ ids: ArrayBuffer; bytes?: ArrayBuffer }> {
    if (this.#failed) return Promise.reject(this.#failed);
    const seq = this.#seq++;
    let index = 0;
    for (let i = 1; i < this.#load.length; i++) if ((this.#load[i] as number) < (this.#load[index] as number)) index = i;
    this.#load[index] = (this.#load[index] as number) + 1;
    const worker = this.#workers[index] as Worker;
    if (this.#unref && this.#waiting.size === 0) for (const w of this.#workers) w.ref();
    return new Promise((resolve, reject) => {
      this.#waiting.set(seq, { resolve, reject });
      worker.postMessage({ seq, bytes: buffer, spans, back }, [buffer]);
    });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#fail(new CairnError('INTERNAL', 'the chunk hashing pool is closed'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

let shared: ChunkIdPool | undefined;

/**
 * The process-wide pool (one worker per core, at most 4), shared by every verification, pull and
 * image creation of the process, so that concurrent pushes do not each start workers of their
 * own: memory stays bounded by the cores, not by the number of pushes. Its workers do not keep
 * the process alive; a pool that broke is replaced on the next call.
 */
export function sharedChunkIdPool(): ChunkIdPool {
  if (!shared || shared.broken) shared = new ChunkIdPool({ unref: true });
  return shared;
}

/**
 * The ids of `chunks`, in order, with at most `inFlight` chunks being hashed at once (default:
 * twice the pool's workers). Each entry carries the chunk's length.
 */
export async function* chunkIdsInOrder(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, pool: ChunkIdPool, inFlight = 2 * pool.size): AsyncGenerator<{ length: number; id: Uint8Array }> {
  const pending: Array<{ length: number; id: Promise<Uint8Array> }> = [];
  for await (const chunk of chunks) {
    const id = pool.id(chunk);
    id.catch(() => undefined); // awaited in order below
    pending.push({ length: chunk.length, id });
    if (pending.length >= inFlight) {
      const head = pending.shift() as { length: number; id: Promise<Uint8Array> };
      yield { length: head.length, id: await head.id };
    }
  }
  for (const entry of pending) yield { length: entry.length, id: await entry.id };
}

function isWhole(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
}

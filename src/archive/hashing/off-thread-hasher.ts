/**
 * SHA3-256 on a worker thread, so a push hashes on one core while the main thread seals and
 * uploads on the other. Bytes pass through a fixed shared ring buffer (default 4 MiB): the
 * main thread copies each chunk in and waits (asynchronously) while the ring is full, so
 * memory is bounded and the worker allocates nothing per chunk.
 */
import { Worker } from 'node:worker_threads';
import { CairnError } from '../../errors.ts';
import { digestFromBytes, type Digest } from '../digest.ts';

const AVAILABLE = 0;
const FINISHED = 1;

/** A streaming SHA3-256 whose work happens off the main thread. */
export class OffThreadHasher {
  readonly #worker: Worker;
  readonly #ring: Uint8Array;
  readonly #state: Int32Array;
  readonly #result: Promise<{ digest: Digest; size: number }>;
  #writeAt = 0;
  #size = 0;
  #failed: Error | undefined;

  constructor(options: { ringBytes?: number } = {}) {
    const ring = new SharedArrayBuffer(options.ringBytes ?? 4 * 1024 * 1024);
    const control = new SharedArrayBuffer(8);
    this.#ring = new Uint8Array(ring);
    this.#state = new Int32Array(control);
    // The worker is a sibling module: .ts when running the sources, .js when running dist/.
    this.#worker = new Worker(new URL(import.meta.url.endsWith('.js') ? './sha3-worker.js' : './sha3-worker.ts', import.meta.url), { workerData: { ring, control }, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 24, stackSizeMb: 1 } });
    this.#result = new Promise((resolve, reject) => {
      this.#worker.once('message', (m: { digest: string; size: number }) => resolve({ digest: digestFromBytes(Buffer.from(m.digest, 'hex')), size: m.size }));
      this.#worker.once('error', (error: Error) => {
        this.#failed = error;
        reject(error);
      });
      this.#worker.once('exit', (code) => {
        if (code !== 0) {
          this.#failed = new CairnError('INTERNAL', `hash worker exited with code ${code}`);
          reject(this.#failed);
        }
      });
    });
    this.#result.catch(() => undefined);
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failed;
  }

  /** Bytes passed to `update` so far. */
  get size(): number {
    return this.#size;
  }

  /** Copies a chunk into the ring, waiting while it is full. */
  async update(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      this.#throwIfFailed();
      let available = Atomics.load(this.#state, AVAILABLE);
      while (available === this.#ring.length) {
        const waited = Atomics.waitAsync(this.#state, AVAILABLE, available, 1000);
        if (waited.async) await waited.value;
        this.#throwIfFailed();
        available = Atomics.load(this.#state, AVAILABLE);
      }
      const free = this.#ring.length - available;
      const n = Math.min(chunk.length - offset, free, this.#ring.length - this.#writeAt);
      this.#ring.set(chunk.subarray(offset, offset + n), this.#writeAt);
      this.#writeAt = (this.#writeAt + n) % this.#ring.length;
      offset += n;
      Atomics.add(this.#state, AVAILABLE, n);
      Atomics.notify(this.#state, AVAILABLE);
    }
    this.#size += chunk.length;
  }

  /** Finishes the hash once the worker has consumed every byte. */
  digest(): Promise<{ digest: Digest; size: number }> {
    Atomics.store(this.#state, FINISHED, 1);
    Atomics.notify(this.#state, AVAILABLE);
    return this.#result;
  }

  /** Stops the worker (if it has not finished by itself). */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

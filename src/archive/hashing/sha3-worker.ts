/**
 * Worker thread body for {@link OffThreadHasher}: hashes bytes from a shared ring buffer with
 * SHA3-256. No per-chunk messages or copies on this side: the worker reads views of the ring.
 *
 * Shared state: `ring` (the bytes) and `control` = Int32Array [available bytes, finished flag].
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

const { ring, control } = workerData as { ring: SharedArrayBuffer; control: SharedArrayBuffer };
const bytes = new Uint8Array(ring);
const state = new Int32Array(control);
const SLICE_BYTES = 256 * 1024;
const AVAILABLE = 0;
const FINISHED = 1;
const hash = createHash('sha3-256');
let readAt = 0;
let size = 0;

for (;;) {
  let available = Atomics.load(state, AVAILABLE);
  while (available === 0) {
    if (Atomics.load(state, FINISHED) === 1 && Atomics.load(state, AVAILABLE) === 0) {
      parentPort?.postMessage({ digest: hash.digest('hex'), size });
      process.exit(0);
    }
    Atomics.wait(state, AVAILABLE, 0, 100);
    available = Atomics.load(state, AVAILABLE);
  }
  // Hash in slices and free each one at once, so the writer can refill while we work.
  const contiguous = Math.min(available, bytes.length - readAt, SLICE_BYTES);
  hash.update(bytes.subarray(readAt, readAt + contiguous));
  readAt = (readAt + contiguous) % bytes.length;
  size += contiguous;
  Atomics.sub(state, AVAILABLE, contiguous);
  Atomics.notify(state, AVAILABLE);
}

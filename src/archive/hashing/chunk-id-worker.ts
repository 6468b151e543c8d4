/**
 * Worker thread body for {@link ChunkIdPool}: SHA3-256 of each chunk it is sent. A chunk arrives
 * as a transferred ArrayBuffer (no copy on this side) and its id goes back with its sequence
 * number; the buffer is dropped here.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', (message: { seq: number; bytes: ArrayBuffer }) => {
  const id = createHash('sha3-256').update(new Uint8Array(message.bytes)).digest();
  parentPort?.postMessage({ seq: message.seq, id }, [id.buffer]);
});

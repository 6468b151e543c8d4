/**
 * Worker thread body for {@link ChunkIdPool}: SHA3-256 of each span of the buffer it is sent. The
 * buffer arrives transferred (no copy on this side); the ids go back with the sequence number,
 * and the buffer too when the sender asked for it back (so it can write what was hashed without
 * a copy), else it is dropped here.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', (message: { seq: number; bytes: ArrayBuffer; spans: number[]; back: boolean }) => {
  const bytes = new Uint8Array(message.bytes);
  const ids = new Uint8Array(32 * (message.spans.length / 2));
  for (let i = 0; i < message.spans.length; i += 2) {
    const offset = message.spans[i] as number;
    ids.set(createHash('sha3-256').update(bytes.subarray(offset, offset + (message.spans[i + 1] as number))).digest(), 16 * i);
  }
  const transfer = message.back ? [ids.buffer, message.bytes] : [ids.buffer];
  parentPort?.postMessage({ seq: message.seq, ids: ids.buffer, ...(message.back ? { bytes: message.bytes } : {}) }, transfer);
});

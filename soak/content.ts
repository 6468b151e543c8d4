/**
 * Image contents the soak can check byte for byte without keeping them: a state file is a seeded
 * ChaCha20 keystream (any byte range regenerates at ~1 GB/s), a queue state is kept as its
 * encoded bytes (they are small). Pulled files and ranged reads are compared against these.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { encodeQueueState, type QueueMessage } from '../src/archive/index.ts';

/** What an image's content is. */
export type ContentSpec = { readonly kind: 'state'; readonly seed: Buffer; readonly size: number } | { readonly kind: 'queue'; readonly bytes: Uint8Array; readonly size: number };

const BLOCK = 1024 * 1024;

/** A new state file's content of `size` bytes. */
export function stateContent(size: number): ContentSpec {
  return { kind: 'state', seed: randomBytes(32), size };
}

/** A queue state of `messages` random messages. */
export function queueContent(messages: number, origin: string): ContentSpec {
  const list: QueueMessage[] = [];
  const kinds = ['BlockImport', 'Vote', 'Transaction'] as const;
  for (let i = 0; i < messages; i++) {
    list.push({ kind: kinds[i % 3] as QueueMessage['kind'], priority: i % 7, payload: randomBytes(16 + (i % 97)), provenance: { origin, receivedAt: 1_767_225_600_000 + i, sequence: i } });
  }
  const bytes = encodeQueueState(list);
  return { kind: 'queue', bytes, size: bytes.length };
}

/** The content's bytes in [start, end). */
export function contentSlice(spec: ContentSpec, start: number, end: number): Buffer {
  if (spec.kind === 'queue') return Buffer.from(spec.bytes.subarray(start, end));
  const iv = Buffer.alloc(16);
  iv.writeUInt32LE(Math.floor(start / 64), 0);
  const cipher = createCipheriv('chacha20', spec.seed, iv);
  const skip = start % 64;
  return cipher.update(Buffer.alloc(end - start + skip)).subarray(skip);
}

/** The content in blocks of at most 1 MiB. */
export function* contentBlocks(spec: ContentSpec): Generator<Buffer> {
  for (let at = 0; at < spec.size; at += BLOCK) yield contentSlice(spec, at, Math.min(spec.size, at + BLOCK));
}

/** Writes the content to `path`. */
export async function writeContent(spec: ContentSpec, path: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    let at = 0;
    for (const block of contentBlocks(spec)) {
      await handle.write(block, 0, block.length, at);
      at += block.length;
    }
  } finally {
    await handle.close();
  }
}

/** Whether `path` holds exactly the content, starting at byte `offset` and ending with it. */
export async function fileHoldsContent(path: string, offset: number, spec: ContentSpec): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    if ((await handle.stat()).size !== offset + spec.size) return false;
    const buffer = Buffer.alloc(BLOCK);
    for (let at = 0; at < spec.size; at += BLOCK) {
      const n = Math.min(BLOCK, spec.size - at);
      const { bytesRead } = await handle.read(buffer, 0, n, offset + at);
      if (bytesRead !== n || !buffer.subarray(0, n).equals(contentSlice(spec, at, at + n))) return false;
    }
    return true;
  } finally {
    await handle.close();
  }
}

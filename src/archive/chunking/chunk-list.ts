/**
 * The chunk list of image format v2 (docs/FORMAT.md §12.2, draft; issue 16) and the digest over it.
 *
 *   chunk id   = SHA3-256(chunk bytes)
 *   entry      = length (u32 big-endian) ‖ chunk id (32 bytes)            — 36 bytes per chunk
 *   list       = entry of each chunk, in content order
 *   digest     = SHA3-256("cairn/chunk-list/v2" ‖ 0x00 ‖ content size (u64 big-endian) ‖ list)
 *   text form  = "sha3-256-chunks:" ‖ 64 lowercase hex digits
 *
 * The distinct prefix keeps a v2 digest from ever being read as a v1 one (`sha3-256:`, the hash
 * of the content itself), and the domain string keeps a chunk list from being a v1 content. Each
 * chunk is verifiable on its own against its entry, so a pull can verify piece by piece, from
 * several sources, and reuse the chunks a node already has.
 */
import { createHash } from 'node:crypto';
import { CairnError } from '../../errors.ts';
import type { Digest } from '../digest.ts';
import { CHUNK_MAX_BYTES, CHUNK_MIN_BYTES } from './content-chunker.ts';

/** The text prefix of a v2 (chunk-list) digest. */
export const CHUNK_LIST_DIGEST_PREFIX = 'sha3-256-chunks:';
/** Bytes per entry of an encoded chunk list. */
export const CHUNK_ENTRY_BYTES = 36;
const DOMAIN = Buffer.from('cairn/chunk-list/v2\0', 'latin1');

/** One chunk of the list. */
export interface ChunkEntry {
  readonly length: number;
  /** SHA3-256 of the chunk's bytes. */
  readonly id: Uint8Array;
}

/** SHA3-256 of a chunk's bytes. */
export function chunkId(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha3-256').update(bytes).digest());
}

/** The encoded list: 36 bytes per chunk. */
export function encodeChunkList(entries: readonly ChunkEntry[]): Uint8Array {
  const out = Buffer.alloc(entries.length * CHUNK_ENTRY_BYTES);
  entries.forEach((entry, i) => {
    if (!Number.isInteger(entry.length) || entry.length < 1 || entry.length > 0xffffffff || entry.id.length !== 32) throw new CairnError('INVALID_ARGUMENT', `chunk ${i}: a length of 1 … 2^32 − 1 and a 32-byte id are required`);
    out.writeUInt32BE(entry.length, i * CHUNK_ENTRY_BYTES);
    out.set(entry.id, i * CHUNK_ENTRY_BYTES + 4);
  });
  return out;
}

/** Decodes an encoded list (36 bytes per entry; every length at least 1). */
export function decodeChunkList(bytes: Uint8Array): ChunkEntry[] {
  if (bytes.length % CHUNK_ENTRY_BYTES !== 0) throw new CairnError('INTEGRITY_ERROR', `a chunk list is a multiple of ${CHUNK_ENTRY_BYTES} bytes, not ${bytes.length}`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ChunkEntry[] = [];
  for (let at = 0; at < view.length; at += CHUNK_ENTRY_BYTES) {
    const length = view.readUInt32BE(at);
    if (length === 0) throw new CairnError('INTEGRITY_ERROR', `chunk ${at / CHUNK_ENTRY_BYTES} has length 0`);
    out.push({ length, id: new Uint8Array(view.subarray(at + 4, at + CHUNK_ENTRY_BYTES)) });
  }
  return out;
}

/** The v2 digest of content whose chunks are `entries`. */
export function chunkListDigest(entries: readonly ChunkEntry[]): Digest {
  return chunkListDigestOf(encodeChunkList(entries), entries.reduce((sum, e) => sum + e.length, 0));
}

/** The v2 digest of an encoded chunk list, for content of `size` bytes. */
export function chunkListDigestOf(list: Uint8Array, size: number): Digest {
  const sizeBytes = Buffer.alloc(8);
  sizeBytes.writeBigUInt64BE(BigInt(size));
  return `${CHUNK_LIST_DIGEST_PREFIX}${createHash('sha3-256').update(DOMAIN).update(sizeBytes).update(list).digest('hex')}`;
}

/**
 * How many chunks content of `size` bytes can have under §12.1's size rules: every chunk but
 * the last has MIN … MAX bytes, the last 1 … MAX; empty content has none.
 */
export function chunkCountBounds(size: number): { min: number; max: number } {
  if (size === 0) return { min: 0, max: 0 };
  return { min: Math.ceil(size / CHUNK_MAX_BYTES), max: Math.floor((size - 1) / CHUNK_MIN_BYTES) + 1 };
}

/**
 * Checks an encoded list against the size rules of §12.1 for content of `size` bytes: a
 * multiple of 36 bytes, every chunk but the last MIN … MAX bytes, the last 1 … MAX, lengths
 * adding up to `size`. Cut points are not checked (FORMAT.md §12.4).
 * @throws CairnError `CHUNK_LIST_INVALID`
 */
export function assertChunkListShape(list: Uint8Array, size: number): void {
  const invalid = (why: string): CairnError => new CairnError('CHUNK_LIST_INVALID', `chunk list: ${why}`);
  if (list.length % CHUNK_ENTRY_BYTES !== 0) throw invalid(`${list.length} bytes is not a multiple of ${CHUNK_ENTRY_BYTES}`);
  const view = Buffer.from(list.buffer, list.byteOffset, list.byteLength);
  const count = list.length / CHUNK_ENTRY_BYTES;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const length = view.readUInt32BE(i * CHUNK_ENTRY_BYTES);
    const last = i === count - 1;
    if (length > CHUNK_MAX_BYTES || length < (last ? 1 : CHUNK_MIN_BYTES)) throw invalid(`chunk ${i} has ${length} bytes (${last ? '1' : String(CHUNK_MIN_BYTES)} … ${CHUNK_MAX_BYTES} allowed)`);
    total += length;
  }
  if (total !== size) throw invalid(`chunk lengths add up to ${total} bytes, the content has ${size}`);
}

/** Length and offset of each chunk of an encoded list (no checks: use on a verified list). */
export function chunkSpans(list: Uint8Array): Array<{ offset: number; length: number; id: Uint8Array }> {
  const view = Buffer.from(list.buffer, list.byteOffset, list.byteLength);
  const out: Array<{ offset: number; length: number; id: Uint8Array }> = [];
  let offset = 0;
  for (let at = 0; at + CHUNK_ENTRY_BYTES <= view.length; at += CHUNK_ENTRY_BYTES) {
    const length = view.readUInt32BE(at);
    out.push({ offset, length, id: view.subarray(at + 4, at + CHUNK_ENTRY_BYTES) });
    offset += length;
  }
  return out;
}

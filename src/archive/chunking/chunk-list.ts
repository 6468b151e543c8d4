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
export function chunkListDigest(entries: readonly ChunkEntry[]): string {
  const size = entries.reduce((sum, e) => sum + e.length, 0);
  const sizeBytes = Buffer.alloc(8);
  sizeBytes.writeBigUInt64BE(BigInt(size));
  const digest = createHash('sha3-256').update(DOMAIN).update(sizeBytes).update(encodeChunkList(entries)).digest('hex');
  return `${CHUNK_LIST_DIGEST_PREFIX}${digest}`;
}

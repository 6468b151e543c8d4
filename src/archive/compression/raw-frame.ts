/**
 * Zstandard frames that store bytes as they are (RFC 8878 §3.1.1: a frame of Raw_Blocks). A
 * block that zstd cannot shrink is kept in one of these, so every stored block is a standalone
 * zstd frame and the stored blocks, concatenated, are a valid zstd stream of the content — served
 * as `Content-Encoding: zstd` without recompressing anything.
 *
 * Layout: magic 0xFD2FB528 (little-endian), a frame header descriptor with Single_Segment_flag
 * set (no window descriptor; the window is the content size), a 4- or 8-byte
 * Frame_Content_Size, then Raw_Blocks of at most 128 KiB, each behind a 3-byte block header
 * (Last_Block bit, Block_Type 0, Block_Size). No checksum: the content is sealed and hashed.
 */

/** A Raw_Block holds at most this many bytes (the zstd block maximum). */
export const RAW_BLOCK_MAX = 128 * 1024;
const MAGIC = 0xfd2fb528;

function contentSizeBytes(length: number): 4 | 8 {
  return length < 2 ** 32 ? 4 : 8;
}

/** Length of the frame header (magic, descriptor, content size). */
function frameHeaderBytes(length: number): number {
  return 4 + 1 + contentSizeBytes(length);
}

/** Length of a raw frame holding `length` bytes. */
export function rawFrameLength(length: number): number {
  const blocks = Math.max(1, Math.ceil(length / RAW_BLOCK_MAX));
  return frameHeaderBytes(length) + blocks * 3 + length;
}

function frameHeader(length: number): Buffer {
  const fcs = contentSizeBytes(length);
  const header = Buffer.alloc(frameHeaderBytes(length));
  header.writeUInt32LE(MAGIC, 0);
  // Frame_Content_Size_flag (bits 7–6): 2 → 4 bytes, 3 → 8 bytes; Single_Segment_flag (bit 5).
  header[4] = ((fcs === 4 ? 2 : 3) << 6) | 0x20;
  if (fcs === 4) header.writeUInt32LE(length, 5);
  else header.writeBigUInt64LE(BigInt(length), 5);
  return header;
}

function blockHeader(size: number, last: boolean): Buffer {
  const value = (size << 3) | (last ? 1 : 0); // Block_Type 0 (Raw_Block) in bits 2–1
  return Buffer.from([value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff]);
}

/**
 * The pieces of a raw frame holding `bytes`: headers and sub-arrays of `bytes` (never copied).
 * Their total length is {@link rawFrameLength}.
 */
export function rawFramePieces(bytes: Uint8Array): Buffer[] {
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pieces = [frameHeader(source.length)];
  if (source.length === 0) {
    pieces.push(blockHeader(0, true));
    return pieces;
  }
  for (let at = 0; at < source.length; at += RAW_BLOCK_MAX) {
    const end = Math.min(at + RAW_BLOCK_MAX, source.length);
    pieces.push(blockHeader(end - at, end === source.length), source.subarray(at, end));
  }
  return pieces;
}

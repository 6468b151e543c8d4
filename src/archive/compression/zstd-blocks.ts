/**
 * Content compressed at rest, block by block (docs/STORAGE.md "Compression at rest"): the
 * content is cut into blocks of `blockBytes` (the last one shorter), and each block becomes one
 * standalone zstd frame — compressed, or a raw frame (raw-frame.ts) when compression saves less
 * than the policy asks. The frames' lengths, recorded with the blob, locate any block, so a byte
 * range decompresses only the blocks it overlaps, and the frames together are a zstd stream of
 * the whole content (what `Content-Encoding: zstd` serves, as it is stored).
 *
 * Whether a blob is compressed at all is decided on its first MiB: content whose first MiB does
 * not shrink by the policy's threshold (random bytes, already compressed data) is stored as it
 * is, costing one MiB of zstd work (about 1 ms) and nothing per byte after it.
 */
import { promisify } from 'node:util';
import { constants, zstdCompress, zstdDecompress } from 'node:zlib';
import { CairnError } from '../../errors.ts';
import { rawFramePieces, rawFrameLength } from './raw-frame.ts';

const compress = promisify(zstdCompress);
const decompress = promisify(zstdDecompress);

/**
 * Default plaintext block. Independent frames lose the history a single stream keeps: at 1 MiB
 * they stored a queue state 1 % larger than `zstd -3` did; 4 MiB at level 4 stores it smaller
 * (docs/DECISIONS.md). A range read decompresses at most one block at each end (~4 ms).
 */
export const DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024;
/** The first bytes compressed to decide whether content is compressed at all. */
const PROBE_BYTES = 1024 * 1024;
/** Blocks compressing at once (on libuv's thread pool). */
const IN_FLIGHT = 2;

/** When and how hard to compress. */
export interface CompressionPolicy {
  /** zstd level (1–19). */
  readonly level: number;
  /** A block is kept compressed only when it shrinks by at least this fraction (0–1). */
  readonly minSavings: number;
  /** Plaintext block size (default 4 MiB). */
  readonly blockBytes?: number;
}

/** How a blob's content is laid out in zstd frames (part of the blob reference). */
export interface ZstdLayout {
  readonly blockBytes: number;
  /** Stored length of each block's frame, u32 big-endian each. */
  readonly frames: Uint8Array;
}

/** Content prepared for sealing: as it is, or as zstd frames whose layout is known at the end. */
export interface EncodedContent {
  readonly body: AsyncIterable<Uint8Array>;
  /** Largest possible length of `body`. */
  readonly maxLength: number;
  /** The layout once `body` has been consumed to the end; undefined for content stored as it is. */
  layout(): ZstdLayout | undefined;
}

/** Upper bound of the stored length of `size` content bytes in blocks of `blockBytes`. */
function maxStoredLength(size: number, blockBytes: number): number {
  const blocks = Math.max(1, Math.ceil(size / blockBytes));
  return size + blocks * (rawFrameLength(0) + 3 * Math.ceil(blockBytes / (128 * 1024)) + 8);
}

async function compressBlock(block: Buffer, policy: CompressionPolicy): Promise<Buffer | undefined> {
  // One output chunk for the whole frame: with the default 16 KiB chunks, the round trips to the
  // thread pool cost 60 % more CPU than the compression itself.
  const out = await compress(block, { params: { [constants.ZSTD_c_compressionLevel]: policy.level, [constants.ZSTD_c_checksumFlag]: 0 }, pledgedSrcSize: block.length, chunkSize: block.length + (block.length >> 7) + 1024 });
  return out.length <= block.length * (1 - policy.minSavings) ? out : undefined;
}

/** Reads up to `length` bytes from `it` into one buffer (shorter only at the end of the stream). */
async function readBlock(it: AsyncIterator<Uint8Array>, carry: { rest: Buffer | undefined }, length: number): Promise<Buffer> {
  const block = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    let piece = carry.rest;
    carry.rest = undefined;
    if (!piece) {
      const next = await it.next();
      if (next.done) break;
      piece = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
    const take = Math.min(piece.length, length - filled);
    piece.copy(block, filled, 0, take);
    filled += take;
    if (take < piece.length) carry.rest = piece.subarray(take);
  }
  if (filled < length) throw new CairnError('SIZE_MISMATCH', `content ended ${length - filled} bytes short of its declared size`);
  return block;
}

/**
 * Prepares `content` (`size` bytes) for sealing under `policy`: reads and compresses its first
 * MiB to decide, then streams. Errors of `content` (a digest mismatch, a client gone) reach
 * the consumer of `body` before its end, as without compression.
 */
export async function encodeContent(content: AsyncIterable<Uint8Array>, size: number, policy: CompressionPolicy | undefined): Promise<EncodedContent> {
  const blockBytes = policy?.blockBytes ?? DEFAULT_BLOCK_BYTES;
  if (!policy || size === 0) return { body: content, maxLength: size, layout: () => undefined };
  const it = content[Symbol.asyncIterator]();
  const carry: { rest: Buffer | undefined } = { rest: undefined };
  const probe = await readBlock(it, carry, Math.min(PROBE_BYTES, blockBytes, size));
  if (!(await compressBlock(probe, policy))) {
    async function* asItIs(): AsyncGenerator<Uint8Array> {
      try {
        yield probe;
        if (carry.rest) yield carry.rest;
        for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
      } finally {
        await it.return?.();
      }
    }
    return { body: asItIs(), maxLength: size, layout: () => undefined };
  }
  const frames: number[] = [];
  async function* framed(): AsyncGenerator<Uint8Array> {
    try {
      const pending: Array<Promise<{ block: Buffer; frame: Buffer | undefined }>> = [];
      let read = 0;
      for (;;) {
        while (pending.length < IN_FLIGHT && read < size) {
          const length = Math.min(blockBytes, size - read);
          // The first block starts with the probe already read.
          const block = read === 0 && probe.length > 0 ? (length === probe.length ? probe : Buffer.concat([probe, await readBlock(it, carry, length - probe.length)])) : await readBlock(it, carry, length);
          read += block.length;
          const job = compressBlock(block, policy as CompressionPolicy).then((frame) => ({ block, frame }));
          job.catch(() => undefined); // awaited in order below; not unhandled meanwhile
          pending.push(job);
        }
        const head = pending.shift();
        if (!head) break;
        const { block, frame } = await head;
        if (frame) {
          frames.push(frame.length);
          yield frame;
        } else {
          frames.push(rawFrameLength(block.length));
          yield* rawFramePieces(block);
        }
      }
      // The source decides whether the content was complete (its digest and size check run at its end).
      if (carry.rest?.length) throw new CairnError('SIZE_MISMATCH', `content is longer than its declared ${size} bytes`);
      for (let next = await it.next(); !next.done; next = await it.next()) {
        if (next.value.length > 0) throw new CairnError('SIZE_MISMATCH', `content is longer than its declared ${size} bytes`);
      }
    } finally {
      await it.return?.();
    }
  }
  return {
    body: framed(),
    maxLength: maxStoredLength(size, blockBytes),
    layout: () => {
      const bytes = Buffer.alloc(frames.length * 4);
      frames.forEach((length, i) => bytes.writeUInt32BE(length, i * 4));
      return { blockBytes, frames: bytes };
    },
  };
}

/** Stored length of every frame, and where each starts in the stored stream. */
export function frameOffsets(layout: ZstdLayout, size: number): { lengths: number[]; offsets: number[]; total: number } {
  const count = layout.frames.length / 4;
  if (!Number.isInteger(count) || count !== Math.max(1, Math.ceil(size / layout.blockBytes))) {
    throw new CairnError('INTEGRITY_ERROR', `the blob's zstd layout has ${layout.frames.length / 4} frames for ${size} bytes in ${layout.blockBytes}-byte blocks`);
  }
  const view = Buffer.from(layout.frames.buffer, layout.frames.byteOffset, layout.frames.byteLength);
  const lengths: number[] = [];
  const offsets: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    offsets.push(total);
    const length = view.readUInt32BE(i * 4);
    lengths.push(length);
    total += length;
  }
  return { lengths, offsets, total };
}

/** Which stored bytes hold content bytes [start, end]. */
export function storedRangeFor(layout: ZstdLayout, size: number, start: number, end: number): { firstBlock: number; lastBlock: number; start: number; end: number } {
  const { lengths, offsets } = frameOffsets(layout, size);
  const firstBlock = Math.floor(start / layout.blockBytes);
  const lastBlock = Math.floor(end / layout.blockBytes);
  return { firstBlock, lastBlock, start: offsets[firstBlock] as number, end: (offsets[lastBlock] as number) + (lengths[lastBlock] as number) - 1 };
}

/**
 * Decodes the frames of blocks `firstBlock … lastBlock` read from `stored` (exactly their
 * bytes, already authenticated) and yields content bytes [start, end]. A frame that does not
 * decode to its block's exact length fails with `INTEGRITY_ERROR`. Up to two frames decompress
 * at once, off the event loop.
 */
export async function* decodeBlocks(stored: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, layout: ZstdLayout, size: number, start: number, end: number): AsyncGenerator<Buffer> {
  const { lengths } = frameOffsets(layout, size);
  const B = layout.blockBytes;
  const range = storedRangeFor(layout, size, start, end);
  const blockLength = (i: number): number => Math.min(B, size - i * B);
  const decode = async (index: number, frame: Buffer): Promise<Buffer> => {
    let out: Buffer;
    try {
      out = await decompress(frame, { maxOutputLength: Math.max(1, blockLength(index)), chunkSize: Math.max(64 * 1024, blockLength(index)) });
    } catch (error) {
      throw new CairnError('INTEGRITY_ERROR', `stored block ${index} is not a valid zstd frame`, { cause: error });
    }
    if (out.length !== blockLength(index)) throw new CairnError('INTEGRITY_ERROR', `stored block ${index} decodes to ${out.length} bytes, expected ${blockLength(index)}`);
    const from = index === range.firstBlock ? start - index * B : 0;
    const to = index === range.lastBlock ? end - index * B + 1 : out.length;
    return from === 0 && to === out.length ? out : out.subarray(from, to);
  };

  let index = range.firstBlock;
  let parts: Buffer[] = [];
  let have = 0;
  const pending: Array<Promise<Buffer>> = [];
  for await (const chunk of stored) {
    let piece = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (piece.length > 0) {
      if (index > range.lastBlock) throw new CairnError('INTEGRITY_ERROR', 'stored content has bytes after its last frame');
      const want = (lengths[index] as number) - have;
      const take = Math.min(want, piece.length);
      parts.push(piece.subarray(0, take));
      have += take;
      piece = piece.subarray(take);
      if (have === lengths[index]) {
        pending.push(decode(index, parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)));
        // A failed decode is awaited in order below; until then it must not count as unhandled.
        (pending.at(-1) as Promise<Buffer>).catch(() => undefined);
        parts = [];
        have = 0;
        index++;
        if (pending.length >= 2) yield await (pending.shift() as Promise<Buffer>);
      }
    }
  }
  while (pending.length > 0) yield await (pending.shift() as Promise<Buffer>);
  if (index <= range.lastBlock) throw new CairnError('INTEGRITY_ERROR', `stored content is truncated (block ${index} of ${lengths.length})`);
}

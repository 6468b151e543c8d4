/**
 * Decoding a zstd stream that arrives from elsewhere (a server's `Content-Encoding: zstd`): a
 * sequence of frames (RFC 8878 §3.1), each decoded on its own. Node's zstd decoder stops after
 * the first frame of a multi-frame input (nodejs/node#64741), so the frames are found here, by
 * their headers and block headers alone, and each one is handed to the decoder separately.
 *
 * The input is hostile until it decodes: frames are bounded in size, the decoder's window in
 * memory (8 MiB, the limit RFC 9659 sets for HTTP), the output by what the caller expects; a
 * reserved bit or block type, a frame cut short, or bytes that are not a frame fail with
 * `INTEGRITY_ERROR` before any of that frame's output is released; more output than expected
 * fails with `SIZE_MISMATCH`.
 */
import { promisify } from 'node:util';
import { constants, zstdDecompress } from 'node:zlib';
import { CairnError } from '../../errors.ts';

const decompress = promisify(zstdDecompress);

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Largest compressed block (zstd's Block_Maximum_Size). */
const MAX_BLOCK_BYTES = 128 * 1024;
/** zstd window limit: 2^23 bytes (RFC 9659). */
export const ZSTD_WINDOW_LOG_MAX = 23;
/** Largest output of one frame (Cairn's servers write frames of one block, at most 64 MiB). */
const MAX_FRAME_OUTPUT = 64 * 1024 * 1024;

function invalid(message: string): CairnError {
  return new CairnError('INTEGRITY_ERROR', `zstd stream: ${message}`);
}

/** Bytes received and not yet consumed, readable at any position. */
class ByteQueue {
  readonly #pieces: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#pieces.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    this.#length += piece.length;
  }

  /** Byte at `position`. */
  at(position: number): number {
    for (const piece of this.#pieces) {
      if (position < piece.length) return piece[position] as number;
      position -= piece.length;
    }
    throw new RangeError('position beyond the queue');
  }

  /** Unsigned little-endian integer of `bytes` bytes (≤ 4) at `position`. */
  uintLE(position: number, bytes: number): number {
    let value = 0;
    for (let i = bytes - 1; i >= 0; i--) value = value * 256 + this.at(position + i);
    return value;
  }

  /** Removes and returns the first `n` bytes (in one buffer). */
  take(n: number): Buffer {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const head = this.#pieces[0] as Buffer;
      if (head.length <= left) {
        out.push(head);
        this.#pieces.shift();
        left -= head.length;
      } else {
        out.push(head.subarray(0, left));
        this.#pieces[0] = head.subarray(left);
        left = 0;
      }
    }
    this.#length -= n;
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, n);
  }
}

/**
 * Cuts a zstd stream into its frames (skippable frames are dropped). Each yielded buffer is one
 * whole frame of at most `maxFrameBytes`.
 */
export async function* zstdFrames(source: AsyncIterable<Uint8Array>, maxFrameBytes: number): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const queue = new ByteQueue();
  /** Makes `n` bytes available; false at the end of the stream. */
  const need = async (n: number): Promise<boolean> => {
    if (n > maxFrameBytes) throw invalid(`a frame is larger than ${maxFrameBytes} bytes`);
    while (queue.length < n) {
      const next = await it.next();
      if (next.done) return false;
      queue.push(next.value);
    }
    return true;
  };
  const must = async (n: number): Promise<void> => {
    if (!(await need(n))) throw invalid('the stream ends inside a frame');
  };
  try {
    for (;;) {
      if (!(await need(1))) return;
      await must(4);
      const magic = queue.uintLE(0, 4);
      if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
        await must(8);
        const length = 8 + queue.uintLE(4, 4);
        await must(length);
        queue.take(length);
        continue;
      }
      if (magic !== FRAME_MAGIC) throw invalid('bytes that are not a zstd frame');
      await must(5);
      const descriptor = queue.at(4);
      if (descriptor & 0x08) throw invalid('the reserved bit of a frame header is set');
      const fcsFlag = descriptor >> 6;
      const singleSegment = (descriptor & 0x20) !== 0;
      const checksum = (descriptor & 0x04) !== 0;
      const dictionaryBytes = [0, 1, 2, 4][descriptor & 0x03] as number;
      const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : ([0, 2, 4, 8][fcsFlag] as number);
      let at = 5 + (singleSegment ? 0 : 1) + dictionaryBytes + fcsBytes;
      for (;;) {
        await must(at + 3);
        const header = queue.uintLE(at, 3);
        const last = (header & 1) === 1;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) throw invalid('a block of the reserved type');
        if (size > MAX_BLOCK_BYTES) throw invalid(`a block of ${size} bytes (the limit is ${MAX_BLOCK_BYTES})`);
        at += 3 + (type === 1 ? 1 : size);
        if (last) break;
      }
      if (checksum) at += 4;
      await must(at);
      yield queue.take(at);
    }
  } finally {
    await it.return?.();
  }
}

/** Decodes one frame into at most `maxOutput` bytes. */
async function decodeFrame(frame: Buffer, maxOutput: number): Promise<Buffer> {
  try {
    return await decompress(frame, { maxOutputLength: Math.max(1, maxOutput), params: { [constants.ZSTD_d_windowLogMax]: ZSTD_WINDOW_LOG_MAX } });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new CairnError('SIZE_MISMATCH', `a zstd frame decodes to more than ${maxOutput} bytes (what is left of the content, or the per-frame limit)`, { cause: error });
    throw new CairnError('INTEGRITY_ERROR', `zstd stream: a frame does not decode (${(error as Error).message})`, { cause: error });
  }
}

/**
 * Decodes a zstd stream of at most `maxOutput` bytes, frame by frame (two decoding at once, off
 * the event loop), yielding each frame's output in order.
 */
export async function* decodeZstdStream(source: AsyncIterable<Uint8Array>, options: { maxOutput: number; maxFrameBytes?: number }): AsyncGenerator<Buffer> {
  let produced = 0;
  const pending: Array<Promise<Buffer>> = [];
  const settle = async (): Promise<Buffer> => {
    const out = await (pending.shift() as Promise<Buffer>);
    produced += out.length;
    if (produced > options.maxOutput) throw new CairnError('SIZE_MISMATCH', `the zstd stream decodes to more than the ${options.maxOutput} bytes expected`);
    return out;
  };
  for await (const frame of zstdFrames(source, options.maxFrameBytes ?? 16 * 1024 * 1024)) {
    const job = decodeFrame(frame, Math.min(options.maxOutput - produced, MAX_FRAME_OUTPUT));
    job.catch(() => undefined); // awaited in order; not unhandled meanwhile
    pending.push(job);
    if (pending.length >= 2) yield await settle();
  }
  while (pending.length > 0) yield await settle();
}

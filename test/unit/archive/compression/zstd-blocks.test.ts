import { randomBytes } from 'node:crypto';
import { zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rawFrameLength, rawFramePieces, RAW_BLOCK_MAX } from '../../../../src/archive/compression/raw-frame.ts';
import { decodeBlocks, encodeContent, frameOffsets, storedRangeFor, type CompressionPolicy } from '../../../../src/archive/compression/zstd-blocks.ts';
import { decodeZstdStream } from '../../../../src/archive/compression/zstd-stream.ts';
import { isCairnError } from '../../../../src/errors.ts';
import { chunked, collectBytes } from '../../../support/fixtures.ts';

const policy = (blockBytes: number): CompressionPolicy => ({ level: 3, minSavings: 0.1, blockBytes });

/** Text-like content: compresses well. */
function compressible(size: number, seed = 1): Buffer {
  const words = ['validator', 'epoch', 'height', 'stake', 'vote', 'block', 'hash', 'queue', 'message', 'nonce'];
  const out = Buffer.alloc(size);
  let at = 0;
  let x = seed;
  while (at < size) {
    x = (x * 1103515245 + 12345) >>> 0;
    at += out.write(`${words[x % words.length]}=${x % 997};`, at);
  }
  return out;
}

async function encode(content: Buffer, blockBytes: number, pieces = 7): Promise<{ stored: Buffer; layout: ReturnType<Awaited<ReturnType<typeof encodeContent>>['layout']>; maxLength: number }> {
  const encoded = await encodeContent(chunked(content, pieces), content.length, policy(blockBytes));
  const stored = await collectBytes(encoded.body);
  return { stored, layout: encoded.layout(), maxLength: encoded.maxLength };
}

describe('raw zstd frames', () => {
  it('decode with libzstd to the bytes they hold, at every length around the block limit', () => {
    for (const length of [0, 1, 2, 255, 256, RAW_BLOCK_MAX - 1, RAW_BLOCK_MAX, RAW_BLOCK_MAX + 1, 3 * RAW_BLOCK_MAX + 17]) {
      const bytes = randomBytes(length);
      const frame = Buffer.concat(rawFramePieces(bytes));
      expect(frame.length).toBe(rawFrameLength(length));
      expect(zstdDecompressSync(frame).equals(bytes)).toBe(true);
    }
  });
});

describe('zstd blocks at rest', () => {
  it('compresses compressible content into frames that decode as one zstd stream', async () => {
    const content = compressible(300_000);
    const { stored, layout, maxLength } = await encode(content, 64 * 1024);
    expect(layout).toBeDefined();
    expect(stored.length).toBeLessThan(content.length / 3);
    expect(stored.length).toBeLessThanOrEqual(maxLength);
    expect(frameOffsets(layout!, content.length).total).toBe(stored.length);
    expect((await collectBytes(decodeZstdStream(chunked(stored, 5), { maxOutput: content.length }))).equals(content)).toBe(true);
  });

  it('stores content whose first block does not shrink as it is', async () => {
    const content = randomBytes(200_000);
    const { stored, layout } = await encode(content, 64 * 1024);
    expect(layout).toBeUndefined();
    expect(stored.equals(content)).toBe(true);
  });

  it('keeps incompressible blocks of compressed content in raw frames', async () => {
    const content = Buffer.concat([compressible(65_536), randomBytes(65_536), compressible(10_000, 7)]);
    const { stored, layout } = await encode(content, 65_536);
    const { lengths } = frameOffsets(layout!, content.length);
    expect(lengths[1]).toBe(rawFrameLength(65_536));
    expect((await collectBytes(decodeZstdStream(chunked(stored, 5), { maxOutput: content.length }))).equals(content)).toBe(true);
  });

  it('reads any byte range back, decoding only the blocks it overlaps', async () => {
    const content = Buffer.concat([compressible(50_000), randomBytes(9_000), compressible(41_000, 3)]);
    const blockBytes = 8_192;
    const { stored, layout } = await encode(content, blockBytes, 13);
    await fc.assert(
      fc.asyncProperty(fc.nat(content.length - 1), fc.nat(content.length - 1), fc.integer({ min: 1, max: 9 }), async (a, b, pieces) => {
        const start = Math.min(a, b);
        const end = Math.max(a, b);
        const range = storedRangeFor(layout!, content.length, start, end);
        expect(range.firstBlock).toBe(Math.floor(start / blockBytes));
        const got = await collectBytes(decodeBlocks(chunked(stored.subarray(range.start, range.end + 1), pieces), layout!, content.length, start, end));
        expect(got.equals(content.subarray(start, end + 1))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('passes the source failure on and never completes a stream that is short or long', async () => {
    const content = compressible(100_000);
    const failing = async function* (): AsyncGenerator<Uint8Array> {
      yield content.subarray(0, 70_000);
      throw new Error('digest mismatch');
    };
    const encoded = await encodeContent(failing(), content.length, policy(32_768));
    await expect(collectBytes(encoded.body)).rejects.toThrow('digest mismatch');

    const short = await encodeContent(chunked(content.subarray(0, 90_000), 3), content.length, policy(32_768));
    await expect(collectBytes(short.body)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    const long = await encodeContent(chunked(Buffer.concat([content, Buffer.from('x')]), 3), content.length, policy(32_768));
    await expect(collectBytes(long.body)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
  });

  it('refuses frames that do not decode to their block, and missing or extra stored bytes', async () => {
    const content = compressible(40_000);
    const { stored, layout } = await encode(content, 16_384);
    const codeOf = async (bytes: Buffer): Promise<string> => {
      try {
        await collectBytes(decodeBlocks([bytes], layout!, content.length, 0, content.length - 1));
        return 'ok';
      } catch (error) {
        return isCairnError(error) ? error.code : String(error);
      }
    };
    expect(await codeOf(stored)).toBe('ok');
    expect(await codeOf(stored.subarray(0, stored.length - 1))).toBe('INTEGRITY_ERROR');
    expect(await codeOf(Buffer.concat([stored, Buffer.from([0])]))).toBe('INTEGRITY_ERROR');
    // A frame swapped for another of the same length (it decodes, to the wrong length or not at all).
    const { lengths } = frameOffsets(layout!, content.length);
    const corrupt = Buffer.from(stored);
    const at = (lengths[0] as number) - 2;
    corrupt[at] = (corrupt[at] as number) ^ 0xff;
    expect(await codeOf(corrupt)).toBe('INTEGRITY_ERROR');
    // A layout that lists the wrong number of frames for the size.
    expect(() => frameOffsets({ blockBytes: 16_384, frames: new Uint8Array(4) }, content.length)).toThrow(/frames/);
  });
});

import { randomBytes } from 'node:crypto';
import { constants, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rawFramePieces } from '../../../../src/archive/compression/raw-frame.ts';
import { decodeZstdStream, zstdFrames } from '../../../../src/archive/compression/zstd-stream.ts';
import { isCairnError } from '../../../../src/errors.ts';
import { chunked, collectBytes } from '../../../support/fixtures.ts';

const text = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * seed) % 7))).join(''));
const skippable = (data: Buffer): Buffer => {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a53, 0);
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data]);
};

async function outcome(stream: Uint8Array, maxOutput: number, pieces = 3): Promise<string | Buffer> {
  try {
    return await collectBytes(decodeZstdStream(chunked(stream, pieces), { maxOutput }));
  } catch (error) {
    return isCairnError(error) ? error.code : `raw ${String(error)}`;
  }
}

describe('zstd stream decoding (hostile input)', () => {
  it('decodes any sequence of compressed, raw and skippable frames, however it is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ kind: fc.constantFrom('zstd', 'raw', 'skip', 'checksum'), size: fc.nat(3000), seed: fc.integer({ min: 1, max: 50 }) }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 4000 }),
        async (frames, pieces) => {
          const parts: Buffer[] = [];
          const expected: Buffer[] = [];
          for (const f of frames) {
            const data = f.seed % 2 ? text(f.size, f.seed) : randomBytes(f.size);
            if (f.kind === 'skip') parts.push(skippable(data));
            else {
              expected.push(data);
              if (f.kind === 'raw') parts.push(...rawFramePieces(data));
              else parts.push(zstdCompressSync(data, f.kind === 'checksum' ? { params: { [constants.ZSTD_c_checksumFlag]: 1 } } : {}));
            }
          }
          const want = Buffer.concat(expected);
          const got = await outcome(Buffer.concat(parts), want.length, pieces);
          expect(Buffer.isBuffer(got) && got.equals(want)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses truncated streams, garbage, reserved bits and block types with INTEGRITY_ERROR', async () => {
    const frame = zstdCompressSync(text(5000, 3));
    expect(await outcome(frame.subarray(0, frame.length - 1), 5000)).toBe('INTEGRITY_ERROR');
    expect(await outcome(Buffer.concat([frame, Buffer.from('garbage!')]), 10_000)).toBe('INTEGRITY_ERROR');
    const reserved = Buffer.from(frame);
    reserved[4] = (reserved[4] as number) | 0x08;
    expect(await outcome(reserved, 5000)).toBe('INTEGRITY_ERROR');
    const raw = Buffer.concat(rawFramePieces(Buffer.from('abc')));
    raw[9] = (raw[9] as number) | 0x06; // Block_Type 3 (reserved)
    expect(await outcome(raw, 3)).toBe('INTEGRITY_ERROR');
  });

  it('stops a decompression bomb at the expected size, and a window beyond 8 MiB', async () => {
    const bomb = zstdCompressSync(Buffer.alloc(40 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(10_000);
    expect(await outcome(bomb, 1024 * 1024)).toBe('SIZE_MISMATCH');
    expect(await outcome(Buffer.concat([bomb.subarray(0, 0), zstdCompressSync(text(2000, 5)), zstdCompressSync(text(2000, 5))]), 3000)).toBe('SIZE_MISMATCH');
    const wide = zstdCompressSync(randomBytes(64 * 1024).toString('hex').repeat(100).slice(0, 12 * 1024 * 1024), { params: { [constants.ZSTD_c_windowLog]: 25 } });
    expect(await outcome(wide, 64 * 1024 * 1024)).toBe('INTEGRITY_ERROR');
  });

  it('bounds the size of one frame', async () => {
    const frames = zstdFrames(chunked(Buffer.concat(rawFramePieces(randomBytes(200_000))), 9), 100_000);
    await expect(collectBytes(frames)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
  });

  it('never fails with anything but a typed error on mutated streams', async () => {
    const base = Buffer.concat([zstdCompressSync(text(3000, 7)), ...rawFramePieces(text(500, 3)), zstdCompressSync(randomBytes(300))]);
    await fc.assert(
      fc.asyncProperty(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 }), fc.nat(base.length), async (at, xor, cut) => {
        const mutated = Buffer.from(base);
        mutated[at] = (mutated[at] as number) ^ xor;
        const got = await outcome(mutated.subarray(0, Math.max(1, cut)), 3800);
        expect(Buffer.isBuffer(got) || got === 'INTEGRITY_ERROR' || got === 'SIZE_MISMATCH').toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

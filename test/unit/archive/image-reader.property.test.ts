/**
 * Hostile input for the streaming reader: random bytes, mutated valid files, random chunking.
 * It must only ever produce a result or a CairnError, and always finish.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openImage, verifyImage, IMAGE_MAGIC } from '../../../src/archive/index.ts';
import { isCairnError } from '../../../src/errors.ts';
import { chunked, collectBytes, smallImage, testKey } from '../../support/fixtures.ts';

async function readAll(bytes: Uint8Array, chunkSize: number): Promise<string> {
  try {
    const opened = await openImage(chunked(bytes, chunkSize), { maxHeaderBytes: 64 * 1024 });
    await collectBytes(opened.content);
    return 'ok';
  } catch (error) {
    if (!isCairnError(error)) throw error;
    return error.code;
  }
}

const valid = smallImage(new TextEncoder().encode('property test content, a little longer than a chunk')).bytes;

describe('image reader under hostile input', () => {
  it('random bytes (with and without the magic) yield only typed errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.integer({ min: 1, max: 64 }), async (tail, withMagic, chunkSize) => {
        const bytes = withMagic ? Buffer.concat([IMAGE_MAGIC, Uint8Array.of(0, 1), tail]) : tail;
        const outcome = await readAll(bytes, chunkSize);
        expect(outcome).not.toBe('ok');
      }),
      { numRuns: 400 },
    );
  });

  it('every mutation of a valid file is refused with a typed error once signatures are checked', async () => {
    const trust = { keys: [testKey().publicKey] };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 4096 }),
        async (flips, chunkSize) => {
          const bytes = new Uint8Array(valid);
          for (const [at, mask] of flips) bytes[at] = (bytes[at] as number) ^ mask;
          fc.pre(Buffer.compare(bytes, valid) !== 0);
          let outcome = 'ok';
          try {
            await verifyImage(chunked(bytes, chunkSize), trust, { maxHeaderBytes: 64 * 1024 });
          } catch (error) {
            if (!isCairnError(error)) throw error;
            outcome = error.code;
          }
          expect(outcome).not.toBe('ok');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('truncations and extensions at every length are refused', async () => {
    for (let length = 0; length < valid.length; length += Math.max(1, Math.floor(valid.length / 97))) {
      expect(await readAll(valid.subarray(0, length), 13)).not.toBe('ok');
    }
    expect(await readAll(valid.subarray(0, valid.length - 1), 13)).toBe('IMAGE_TRUNCATED');
    expect(await readAll(Buffer.concat([valid, Uint8Array.of(0)]), 13)).toBe('IMAGE_TRAILING_BYTES');
    expect(await readAll(valid, 13)).toBe('ok');
  });

  it('a source that errors midway rejects with that error and does not hang', async () => {
    const source = Readable.from(
      (async function* () {
        yield valid.subarray(0, 20);
        await Promise.resolve();
        throw new Error('socket reset');
      })(),
    );
    await expect(openImage(source)).rejects.toThrow('socket reset');
  });
});

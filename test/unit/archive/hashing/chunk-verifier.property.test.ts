/**
 * The format-v2 verifiers under hostile input: content and chunk lists changed anywhere, fed in
 * pieces of any size, on the inline path (small content) and the worker pool (8 MiB and up).
 * Only the original verifies; every change is a typed error naming what failed, and a bad
 * chunk is reported in file order.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chunkListOfBytes, chunkSpans, openImage } from '../../../../src/archive/index.ts';
import { ChunkVerifier } from '../../../../src/archive/hashing/chunk-verifier.ts';
import { isCairnError } from '../../../../src/errors.ts';
import { imageBytes } from '../../../support/archive-fixtures.ts';
import { chunked, collectBytes } from '../../../support/fixtures.ts';

async function verify(list: Uint8Array, content: Uint8Array, pieces: number): Promise<string> {
  const verifier = new ChunkVerifier(list, content.length);
  try {
    for (let at = 0; at < content.length; at += pieces) await verifier.update(content.subarray(at, at + pieces));
    await verifier.finish();
    return 'ok';
  } catch (error) {
    if (!isCairnError(error)) throw error;
    return `${error.code}${typeof error.details?.chunk === 'number' ? ` ${error.details.chunk}` : ''}`;
  } finally {
    await verifier.close();
  }
}

describe('ChunkVerifier', () => {
  const small = randomBytes(1_500_000);
  const smallList = chunkListOfBytes(small).list;
  const spans = chunkSpans(smallList);

  it('accepts the content in pieces of any size and refuses any changed byte, naming its chunk (inline)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: small.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 1, max: 300_000 }), async (at, mask, pieces) => {
        expect(await verify(smallList, small, pieces)).toBe('ok');
        const changed = Buffer.from(small);
        changed[at] = (changed[at] as number) ^ mask;
        const chunk = spans.findIndex((s) => at >= s.offset && at < s.offset + s.length);
        expect(await verify(smallList, changed, pieces)).toBe(`DIGEST_MISMATCH ${chunk}`);
      }),
      { numRuns: 40 },
    );
  });

  it('reports the first bad chunk in file order on the worker pool, and truncation only after it', async () => {
    const large = randomBytes(12 * 1024 * 1024);
    const list = chunkListOfBytes(large).list;
    const largeSpans = chunkSpans(list);
    expect(largeSpans.length).toBeGreaterThan(3);
    expect(await verify(list, large, 65_536)).toBe('ok');
    const changed = Buffer.from(large);
    changed[largeSpans[1]!.offset + 5]! ^= 1;
    changed[largeSpans[3]!.offset + 5]! ^= 1;
    expect(await verify(list, changed, 65_536)).toBe('DIGEST_MISMATCH 1');
    expect(await verify(list, changed.subarray(0, changed.length - 10), 1_000_000)).toBe('DIGEST_MISMATCH 1');
    expect(await verify(list, large.subarray(0, large.length - 10), 1_000_000)).toMatch(/^IMAGE_TRUNCATED/);
  });
});

describe('format-v2 files under hostile input', () => {
  const content = randomBytes(700_000);
  const { bytes } = imageBytes(content, { height: 77 });
  const contentOffset = bytes.length - content.length;

  async function read(file: Uint8Array, pieces: number): Promise<string> {
    try {
      const opened = await openImage(chunked(file, pieces));
      await opened.chunkList();
      await collectBytes(opened.content);
      return 'ok';
    } catch (error) {
      if (!isCairnError(error)) throw error;
      return error.code;
    }
  }

  it('any change to the list or the content is refused, whatever the piece size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: contentOffset - 36, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 1, max: 200_000 }), async (at, mask, pieces) => {
        const changed = new Uint8Array(bytes);
        changed[at] = (changed[at] as number) ^ mask;
        expect(await read(changed, pieces)).toBe('DIGEST_MISMATCH');
      }),
      { numRuns: 60 },
    );
  });

  it('a file cut anywhere after its header, or with bytes after its content, is refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: contentOffset - 36, max: bytes.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 50 }), async (cut, extra) => {
        expect(await read(bytes.subarray(0, cut), 4096)).toBe('IMAGE_TRUNCATED');
        expect(await read(Buffer.concat([bytes, extra]), 4096)).toBe('IMAGE_TRAILING_BYTES');
      }),
      { numRuns: 40 },
    );
    expect(await read(bytes, 1)).toBe('ok');
  });
});


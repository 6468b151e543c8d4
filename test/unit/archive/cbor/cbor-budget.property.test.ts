/**
 * The decoder's work budget: an item count and nesting depth checked on the raw bytes before
 * any decoder allocates. Property-based against an independent count over the value model, and
 * with the hostile shapes that once cost a gigabyte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCbor, decodeHeader, decodeHeaderOf, encodeCbor, encodeHeader } from '../../../../src/archive/index.ts';
import { CborBudgetScanner, checkCborBudget } from '../../../../src/archive/cbor/cbor-budget.ts';
import { isCairnError } from '../../../../src/errors.ts';
import { imageBytes } from '../../../support/archive-fixtures.ts';

/** Items and depth of a value, counted on the model (not on bytes): an independent oracle. */
function shape(value: unknown): { items: number; depth: number } {
  if (Array.isArray(value)) {
    const inner = value.map(shape);
    return { items: 1 + inner.reduce((n, s) => n + s.items, 0), depth: 1 + Math.max(0, ...inner.map((s) => s.depth)) };
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const inner = Object.values(value).map(shape);
    const keys = Object.keys(value).length;
    return { items: 1 + keys + inner.reduce((n, s) => n + s.items, 0), depth: 1 + Math.max(0, ...inner.map((s) => s.depth)) };
  }
  return { items: 1, depth: 0 };
}

const model: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.string({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 6 }),
  ),
})).value;

function refused(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (error) {
    if (isCairnError(error, 'CBOR_LIMIT_EXCEEDED')) return true;
    throw error;
  }
}

describe('CBOR work budget', () => {
  it('refuses exactly the values with more items or deeper nesting than the budget', () => {
    fc.assert(
      fc.property(model, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 6 }), (value, maxItems, maxDepth) => {
        const bytes = encodeCbor(value as never);
        const { items, depth } = shape(value);
        expect(refused(() => checkCborBudget(bytes, { maxItems, maxDepth }))).toBe(items > maxItems || depth > maxDepth);
      }),
      { numRuns: 2000 },
    );
  });

  it('reaches the same verdict on the bytes fed in pieces of any sizes, as they arrive', () => {
    fc.assert(
      fc.property(model, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5 }), (value, cuts, maxItems, maxDepth) => {
        const bytes = encodeCbor(value as never);
        const scanner = new CborBudgetScanner({ maxItems, maxDepth }, bytes.length);
        const streamed = refused(() => {
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const n = cuts[i % cuts.length] ?? 1;
            scanner.push(bytes.subarray(at, at + n));
            at += n;
          }
        });
        expect(streamed).toBe(refused(() => checkCborBudget(bytes, { maxItems, maxDepth })));
      }),
      { numRuns: 2000 },
    );
  });

  it('lets every genuine value through the default budget', () => {
    fc.assert(
      fc.property(model, (value) => {
        const bytes = encodeCbor(value as never);
        expect(decodeCbor(bytes)).toBeDefined();
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but a CairnError on random bytes, and never reads past them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 50 }), (bytes, maxItems) => {
        try {
          checkCborBudget(bytes, { maxItems, maxDepth: 4 });
        } catch (error) {
          expect(isCairnError(error, 'CBOR_LIMIT_EXCEEDED') || isCairnError(error, 'CBOR_MALFORMED')).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses the hostile headers before decoding: millions of empty maps, deep nesting, huge declared counts', () => {
    const flat = Buffer.alloc(4 * 1024 * 1024, 0xa0);
    flat[0] = 0x9a;
    flat.writeUInt32BE(flat.length - 5, 1);
    const deep = Buffer.alloc(4 * 1024 * 1024, 0x81);
    const heapBefore = process.memoryUsage().heapUsed;
    for (const bytes of [flat, deep]) expect(refused(() => decodeHeader(bytes))).toBe(true);
    // A map of 2^32-1 pairs declared in five bytes is not trusted: the bytes cannot hold it.
    expect(() => decodeCbor(Uint8Array.of(0xba, 0xff, 0xff, 0xff, 0xff))).toThrow();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it('accepts a real header with several attestations', () => {
    const { header } = imageBytes(new Uint8Array(10), { attesters: ['bob', 'carol'], format: 1 });
    expect(decodeHeader(encodeHeader(header))).toEqual(header);
    const v2 = imageBytes(new Uint8Array(10), { attesters: ['bob', 'carol'] }).header;
    expect(decodeHeaderOf(encodeHeader(v2), 2)).toEqual({ header: { ...v2, chunkList: undefined }, chunks: 1 });
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encode as cbor2Encode } from 'cbor2';
import { decodeCbor, encodeCbor } from '../../../src/archive/index.ts';
import { isCairnError } from '../../../src/errors.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return isCairnError(error) ? error.code : `not a CairnError: ${String(error)}`;
  }
}

describe('deterministic CBOR', () => {
  it('encodes RFC 8949 examples in their shortest form', () => {
    expect(hex(encodeCbor(0))).toBe('00');
    expect(hex(encodeCbor(23))).toBe('17');
    expect(hex(encodeCbor(24))).toBe('1818');
    expect(hex(encodeCbor(1_000_000))).toBe('1a000f4240');
    expect(hex(encodeCbor(1_000_000_000_000))).toBe('1b000000e8d4a51000');
    expect(hex(encodeCbor(Number.MAX_SAFE_INTEGER))).toBe('1b001fffffffffffff');
    expect(hex(encodeCbor(-1))).toBe('20');
    expect(hex(encodeCbor(-1000))).toBe('3903e7');
    expect(hex(encodeCbor(''))).toBe('60');
    expect(hex(encodeCbor('IETF'))).toBe('6449455446');
    expect(hex(encodeCbor(new Uint8Array([1, 2, 3, 4])))).toBe('4401020304');
    expect(hex(encodeCbor([1, [2, 3], [4, 5]]))).toBe('8301820203820405');
    expect(hex(encodeCbor({ a: 1, b: [2, 3] }))).toBe('a26161016162820203');
    expect(hex(encodeCbor(null))).toBe('f6');
    expect(hex(encodeCbor(true))).toBe('f5');
  });

  it('sorts map keys by their encoded bytes (shorter first) whatever the insertion order', () => {
    expect(hex(encodeCbor({ bb: 1, a: 2, c: 3 }))).toBe(hex(encodeCbor({ a: 2, c: 3, bb: 1 })));
    expect(hex(encodeCbor({ bb: 1, a: 2 }))).toBe('a261610262626201');
  });

  it('refuses values outside the data model', () => {
    expect(codeOf(() => encodeCbor(1.5))).toBe('CBOR_UNSUPPORTED');
    expect(codeOf(() => encodeCbor(2 ** 53))).toBe('CBOR_UNSUPPORTED');
    expect(codeOf(() => encodeCbor(undefined as never))).toBe('CBOR_UNSUPPORTED');
  });

  // docs/FORMAT.md §2: the walk (not well-formed / over budget), then validity, then the data
  // model, then the deterministic encoding — the first category met decides.
  it.each([
    // not well-formed (RFC 8949 Appendix F)
    ['empty input', '', 'CBOR_MALFORMED'],
    ['truncated byte string', '4401', 'CBOR_MALFORMED'],
    ['truncated head', '19', 'CBOR_MALFORMED'],
    ['trailing bytes', '0000', 'CBOR_MALFORMED'],
    ['reserved additional info', '1c', 'CBOR_MALFORMED'],
    ['huge array header', '9b00000000ffffffff', 'CBOR_MALFORMED'],
    ['stray break', 'ff', 'CBOR_MALFORMED'],
    ['break in a definite array', '8201ff', 'CBOR_MALFORMED'],
    ['indefinite-length integer', '1f', 'CBOR_MALFORMED'],
    ['indefinite-length tag', 'df01', 'CBOR_MALFORMED'],
    ['two-byte simple value below 32', 'f810', 'CBOR_MALFORMED'],
    ['text chunk in an indefinite byte string', '5f6161ff', 'CBOR_MALFORMED'],
    ['indefinite chunk in an indefinite string', '7f7f6161ffff', 'CBOR_MALFORMED'],
    ['indefinite map ending after a key', 'bf6161ff', 'CBOR_MALFORMED'],
    // well-formed but not valid (RFC 8949 §5.3.1, §5.6)
    ['invalid UTF-8', '62c328', 'CBOR_MALFORMED'],
    ['UTF-8 split across indefinite chunks', '7f61c361a9ff', 'CBOR_MALFORMED'],
    ['duplicate keys', 'a2616101616102', 'CBOR_MALFORMED'],
    ['duplicate keys, also a tag', 'a26161016161c101', 'CBOR_MALFORMED'],
    // valid but outside the data model
    ['float', 'f93c00', 'CBOR_UNSUPPORTED'],
    ['double that is an integer', 'fb3ff0000000000000', 'CBOR_UNSUPPORTED'],
    ['undefined', 'f7', 'CBOR_UNSUPPORTED'],
    ['simple(16)', 'f0', 'CBOR_UNSUPPORTED'],
    ['simple(255)', 'f8ff', 'CBOR_UNSUPPORTED'],
    ['integer key', 'a10102', 'CBOR_UNSUPPORTED'],
    ['byte-string key', 'a1410102', 'CBOR_UNSUPPORTED'],
    ['uint64 beyond 2^53', '1bffffffffffffffff', 'CBOR_UNSUPPORTED'],
    ['2^53', '1b0020000000000000', 'CBOR_UNSUPPORTED'],
    ['-(2^53)', '3b001fffffffffffff', 'CBOR_UNSUPPORTED'],
    ['tag', 'c11a514b67b0', 'CBOR_UNSUPPORTED'],
    ['bignum tag', 'c24101', 'CBOR_UNSUPPORTED'],
    ['self-describe tag', 'd9d9f7a0', 'CBOR_UNSUPPORTED'],
    ['tag over a non-minimal integer', 'c11817', 'CBOR_UNSUPPORTED'],
    // in the model but not the deterministic encoding
    ['unsorted keys', 'a2616201616102', 'CBOR_NOT_CANONICAL'],
    ['longer key first', 'a262626201616102', 'CBOR_NOT_CANONICAL'],
    ['non-minimal integer', '1817', 'CBOR_NOT_CANONICAL'],
    ['non-minimal negative integer', '3817', 'CBOR_NOT_CANONICAL'],
    ['non-minimal length', '780161', 'CBOR_NOT_CANONICAL'],
    ['non-minimal 8-byte head', '1b00000000ffffffff', 'CBOR_NOT_CANONICAL'],
    ['indefinite array', '9f01ff', 'CBOR_NOT_CANONICAL'],
    ['indefinite map', 'bf616101ff', 'CBOR_NOT_CANONICAL'],
    ['indefinite text', '7f6161ff', 'CBOR_NOT_CANONICAL'],
  ])('rejects %s: %s', (_name, input, code) => {
    expect(codeOf(() => decodeCbor(fromHex(input)))).toBe(code);
  });

  it.each([
    ['2^53 - 1', '1b001fffffffffffff', 2 ** 53 - 1],
    ['-(2^53 - 1)', '3b001ffffffffffffe', -(2 ** 53 - 1)],
    ['false, true, null', '83f4f5f6', [false, true, null]],
  ])('accepts %s', (_name, input, value) => {
    expect(decodeCbor(fromHex(input))).toEqual(value);
  });

  it('decodes maps into null-prototype objects, so "__proto__" keys are inert', () => {
    const value = decodeCbor(encodeCbor({ __proto__x: 1 }));
    expect(Object.getPrototypeOf(value)).toBeNull();
    const tricky = decodeCbor(fromHex('a1695f5f70726f746f5f5f01')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(tricky)).toBeNull();
    expect(tricky['__proto__']).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects nesting deeper than the limit without overflowing the stack', () => {
    const deep = new Uint8Array(100_000).fill(0x81);
    expect(codeOf(() => decodeCbor(deep))).toBe('CBOR_LIMIT_EXCEEDED');
  });

  const model: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.maxSafeInteger(),
      fc.integer(),
      fc.string(),
      fc.uint8Array({ maxLength: 64 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 5 }),
    ),
  })).value;

  it('round-trips random values and agrees byte for byte with an independent encoder (cbor2, CDE mode)', () => {
    fc.assert(
      fc.property(model, (value) => {
        const bytes = encodeCbor(value as never);
        expect(hex(bytes)).toBe(hex(cbor2Encode(value, { cde: true })));
        expect(hex(encodeCbor(decodeCbor(bytes)))).toBe(hex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but a CairnError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeCbor(bytes);
        } catch (error) {
          expect(isCairnError(error)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

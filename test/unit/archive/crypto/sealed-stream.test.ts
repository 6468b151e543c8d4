import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SEAL_HEADER_BYTES, TAG_BYTES, checkSealHeader, newNoncePrefix, openSealedRange, sealStream, sealedRangeFor, sealedSize, type SealParams } from '../../../../src/archive/crypto/sealed-stream.ts';
import { newDataKey, unwrapDataKey, wrapDataKey } from '../../../../src/archive/crypto/data-key.ts';
import { generateMasterKeyEntry, parseKeyring } from '../../../../src/archive/crypto/keyring.ts';
import { isCairnError } from '../../../../src/errors.ts';
import { chunked, collectBytes } from '../../../support/fixtures.ts';

function params(chunkBytes = 16): SealParams {
  return { dataKey: newDataKey(), noncePrefix: newNoncePrefix(), chunkBytes, digest: randomBytes(32) };
}

async function seal(plain: Uint8Array, p: SealParams, pieces = 5): Promise<Buffer> {
  return collectBytes(sealStream(chunked(plain, pieces), p));
}

async function open(sealed: Uint8Array, p: SealParams, size: number, start = 0, end = size - 1): Promise<Buffer> {
  const range = sealedRangeFor(start, Math.max(end, start), size, p.chunkBytes);
  return collectBytes(openSealedRange([sealed.subarray(range.start, range.end + 1)], p, size, start, Math.max(end, start)));
}

describe('sealed content (ChaCha20-Poly1305, STREAM-style chunks)', () => {
  it('round-trips any content and any byte range; the sealed size is as computed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 50 }), fc.nat(), fc.nat(), async (plain, chunkBytes, pieces, a, b) => {
        const p = params(chunkBytes);
        const sealed = await seal(plain, p, pieces);
        expect(sealed.length).toBe(sealedSize(plain.length, chunkBytes));
        checkSealHeader(sealed.subarray(0, SEAL_HEADER_BYTES), p);
        const start = a % plain.length;
        const end = start + (b % (plain.length - start));
        expect((await open(sealed, p, plain.length, start, end)).equals(Buffer.from(plain.subarray(start, end + 1)))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('seals empty content as one final empty chunk', async () => {
    const p = params();
    const sealed = await seal(new Uint8Array(0), p);
    expect(sealed.length).toBe(SEAL_HEADER_BYTES + TAG_BYTES);
  });

  it('never contains the plaintext', async () => {
    const marker = Buffer.from('CAIRN-PLAINTEXT-MARKER-'.repeat(50));
    const sealed = await seal(marker, params(64));
    expect(sealed.includes(Buffer.from('CAIRN-PLAINTEXT-MARKER'))).toBe(false);
  });

  it('detects every single bit flip, truncation, chunk reordering and a wrong digest', async () => {
    const p = params(16);
    const plain = randomBytes(100);
    const sealed = await seal(plain, p);
    const codeOf = async (bytes: Uint8Array, q: SealParams = p): Promise<string> => {
      try {
        await collectBytes(openSealedRange([bytes.subarray(SEAL_HEADER_BYTES)], q, 100, 0, 99));
        return 'ok';
      } catch (error) {
        return isCairnError(error) ? error.code : String(error);
      }
    };
    for (let i = SEAL_HEADER_BYTES; i < sealed.length; i += 7) {
      const flipped = Buffer.from(sealed);
      flipped[i] = flipped[i]! ^ 0x40;
      expect(await codeOf(flipped), `bit flip at ${i}`).toBe('INTEGRITY_ERROR');
    }
    expect(await codeOf(sealed.subarray(0, sealed.length - 1))).toBe('INTEGRITY_ERROR');
    // Dropping the final chunk makes chunk 5 the apparent last one: it was not sealed as last.
    const six = SEAL_HEADER_BYTES + 6 * (16 + TAG_BYTES);
    expect(await codeOf(sealed.subarray(0, six))).toBe('INTEGRITY_ERROR');
    const swapped = Buffer.concat([sealed.subarray(0, SEAL_HEADER_BYTES), sealed.subarray(SEAL_HEADER_BYTES + 32, SEAL_HEADER_BYTES + 64), sealed.subarray(SEAL_HEADER_BYTES, SEAL_HEADER_BYTES + 32), sealed.subarray(SEAL_HEADER_BYTES + 64)]);
    expect(await codeOf(swapped)).toBe('INTEGRITY_ERROR');
    expect(await codeOf(sealed, { ...p, digest: randomBytes(32) })).toBe('INTEGRITY_ERROR');
    expect(await codeOf(sealed)).toBe('ok');
  });
});

describe('data keys and the master keyring', () => {
  it('wraps under the active key and unwraps with any configured key', () => {
    const old = generateMasterKeyEntry('k1');
    const digest = randomBytes(32);
    const dataKey = newDataKey();
    const wrapped = wrapDataKey(parseKeyring([old]), dataKey, digest);
    expect(wrapped.keyId).toBe('k1');
    const both = parseKeyring([generateMasterKeyEntry('k2'), old]);
    expect(both.activeId).toBe('k2');
    expect(unwrapDataKey(both, 'k1', wrapped.wrapped, digest).equals(dataKey)).toBe(true);
    expect(() => unwrapDataKey(both, 'k1', wrapped.wrapped, randomBytes(32))).toThrow(expect.objectContaining({ code: 'INTEGRITY_ERROR' }) as Error);
    expect(() => unwrapDataKey(parseKeyring([generateMasterKeyEntry('k2')]), 'k1', wrapped.wrapped, digest)).toThrow(expect.objectContaining({ code: 'KEY_UNAVAILABLE' }) as Error);
  });

  it('rejects malformed key entries without echoing key material', () => {
    for (const entry of ['nokey', 'k1:c2hvcnQ=', 'BAD ID:' + randomBytes(32).toString('base64'), ':' + randomBytes(32).toString('base64')]) {
      try {
        parseKeyring([entry]);
        expect.unreachable();
      } catch (error) {
        expect(isCairnError(error, 'CONFIG_INVALID')).toBe(true);
        expect((error as Error).message).not.toContain(entry.slice(entry.indexOf(':') + 1) || 'x'.repeat(99));
      }
    }
    const entry = generateMasterKeyEntry('dup');
    expect(() => parseKeyring([entry, entry])).toThrow(/twice/);
  });
});

/**
 * The committed format vectors (test/vectors/image-v1) against both the product and the
 * independent implementation in test/support/independent.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { encodeHeader, openImage, parsePublicKeys, statementBytes, attestationOf, verifyImage, type Trust } from '../../../src/archive/index.ts';
import { dcbor, nobleVerify, parseImage, statement } from '../../support/independent.ts';
import { collectBytes } from '../../support/fixtures.ts';
import type { ImageVector } from '../../support/vector-types.ts';

const dir = join(import.meta.dirname, '../../vectors/image-v1');
const vectors = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8')) as { trust: string[]; valid: ImageVector[]; invalid: Array<{ file: string; code: string; why: string }> };
const trustKeys = parsePublicKeys(vectors.trust.join('\n'));
const trust: Trust = { keys: trustKeys };
const keyOf = (validator: string): Uint8Array => trustKeys.find((k) => k.comment === validator)!.raw;
const read = (file: string): Uint8Array => new Uint8Array(readFileSync(join(dir, file)));

describe.each(vectors.valid)('valid vector $name', (v) => {
  const file = read(v.file);

  it('is accepted by the independent implementation (cborg, @noble/hashes, @noble/post-quantum)', () => {
    const image = parseImage(file);
    expect(Buffer.from(image.headerBytes).toString('hex')).toBe(v.headerHex);
    expect(`sha3-256:${Buffer.from(sha3_256(image.content)).toString('hex')}`).toBe(v.digest);
    expect(image.attestations.map((a) => a.validator)).toEqual(v.attestations.map((a) => a.validator));
    for (const [i, a] of image.attestations.entries()) {
      const bytes = statement(image, a);
      expect(Buffer.from(bytes).toString('hex')).toBe(v.attestations[i]!.statementHex);
      expect(nobleVerify(a.algorithm, keyOf(a.validator), bytes, a.signature)).toBe(true);
    }
  });

  it('is read, re-encoded and verified identically by the product', async () => {
    const opened = await openImage(Readable.from([file]));
    const { header } = opened;
    expect({ chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, createdAt: header.createdAt }).toEqual({
      chain: v.chain, height: v.height, digest: v.digest, size: v.size, contentType: v.contentType, createdAt: v.createdAt,
    });
    expect(Buffer.from(encodeHeader(header)).toString('hex')).toBe(v.headerHex);
    header.attestations.forEach((a, i) => expect(Buffer.from(statementBytes(attestationOf(header, a))).toString('hex')).toBe(v.attestations[i]!.statementHex));
    expect((await collectBytes(opened.content)).toString('hex')).toBe(v.contentHex);
    const report = await verifyImage(Readable.from([file]), trust);
    expect(report.attestations.every((a) => a.status === 'valid')).toBe(true);
  });

  it('has a header the independent encoder reproduces from the decoded fields', () => {
    const image = parseImage(file);
    const { headerBytes: _h, content: _c, ...fields } = image;
    expect(Buffer.from(dcbor(fields)).toString('hex')).toBe(v.headerHex);
  });
});

describe.each(vectors.invalid)('invalid vector $file', ({ file, code, why }) => {
  it(`fails with ${code} (${why})`, async () => {
    await expect(verifyImage(Readable.from([read(file)]), trust)).rejects.toMatchObject({ code });
  });
});

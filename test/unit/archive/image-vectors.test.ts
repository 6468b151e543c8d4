/**
 * The committed format vectors (test/vectors/image-v1) against both the product and the
 * independent implementation in test/support/independent.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { encodeHeader, openImage, parsePublicKeys, parseRegistry, statementBytes, attestationOf, verifyImage, type Trust } from '../../../src/archive/index.ts';
import { isCairnError } from '../../../src/errors.ts';
import { decode as cbor2Decode } from 'cbor2';
import { dcbor, independentChunkList, independentKeyLines, independentVerify, nobleVerify, parseImage, statement, type IndependentTrust } from '../../support/independent.ts';
import { collectBytes } from '../../support/fixtures.ts';
import type { ImageVector, VectorCheck, VectorTrust } from '../../support/vector-types.ts';

type RegistryJson = NonNullable<IndependentTrust['registry']>;
const dir = join(import.meta.dirname, '../../vectors/image-v1');
const vectors = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8')) as {
  trust: string[];
  registries: Record<string, RegistryJson>;
  valid: ImageVector[];
  validV2: Array<{ name: string; description: string; file: string; digest: string; chunks: Array<{ length: number; id: string }>; checks: VectorCheck[] }>;
  invalid: Array<{ file: string; code: string; why: string; trust: VectorTrust }>;
  keyFiles: Array<{ name: string; text: string; keys?: number; code?: string }>;
};
const trustKeys = parsePublicKeys(vectors.trust.join('\n'));
const trust: Trust = { keys: trustKeys };

/** The vector index's trust names, for the product and for the independent implementation. */
function trusts(name: VectorTrust): { product: Trust; independent: IndependentTrust } {
  const registryJson = name === 'keys' ? undefined : vectors.registries[name === 'both' ? 'registry' : name];
  const keys = name === 'keys' || name === 'both' ? vectors.trust : [];
  return {
    product: { keys: keys.length ? parsePublicKeys(keys.join('\n')) : [], ...(registryJson ? { registry: parseRegistry(registryJson) } : {}) },
    independent: { keys, ...(registryJson ? { registry: registryJson } : {}) },
  };
}

/** The product's outcome, in the independent implementation's terms. */
async function productOutcome(file: Uint8Array, t: Trust): Promise<{ ok: true; statuses: string[]; final?: boolean } | { ok: false; code: string }> {
  try {
    const report = await verifyImage(Readable.from([file]), t);
    return { ok: true, statuses: report.attestations.map((a) => a.status), ...(report.quorum ? { final: report.quorum.final } : {}) };
  } catch (error) {
    if (isCairnError(error)) return { ok: false, code: error.code };
    throw error;
  }
}

/** What a check of the vector index expects. */
function expected(check: VectorCheck, attestations: number): { ok: true; statuses: string[]; final?: boolean } | { ok: false; code: string } {
  if (check.code) return { ok: false, code: check.code };
  return { ok: true, statuses: check.statuses ?? Array.from({ length: attestations }, () => 'valid'), ...(check.final === undefined ? {} : { final: check.final }) };
}
const read = (file: string): Uint8Array => new Uint8Array(readFileSync(join(dir, file)));

describe.each(vectors.valid)('valid vector $name', (v) => {
  const file = read(v.file);

  it.each(v.checks)('verifies as the index says under trust $trust, in both implementations', async (check) => {
    const t = trusts(check.trust);
    const attestations = parseImage(file).attestations.length;
    const want = expected(check, attestations);
    expect(await productOutcome(file, t.product)).toEqual(want);
    expect(independentVerify(file, t.independent)).toEqual(want);
  });

  it.skipIf(v.attestations.length === 0)('is accepted by the independent implementation (cbor2, @noble/hashes, @noble/post-quantum)', () => {
    const image = parseImage(file);
    expect(Buffer.from(image.headerBytes).toString('hex')).toBe(v.headerHex);
    expect(`sha3-256:${Buffer.from(sha3_256(image.content)).toString('hex')}`).toBe(v.digest);
    expect(image.attestations.map((a) => a.validator)).toEqual(v.attestations.map((a) => a.validator));
    const statuses = v.checks.find((c) => c.trust === 'keys')?.statuses;
    for (const [i, a] of image.attestations.entries()) {
      const bytes = statement(image, a);
      expect(Buffer.from(bytes).toString('hex')).toBe(v.attestations[i]!.statementHex);
      // Bare keys vouch for any name: valid means some trusted key verifies it.
      expect(trustKeys.some((k) => k.algorithm === a.algorithm && nobleVerify(a.algorithm, k.raw, bytes, a.signature))).toBe((statuses?.[i] ?? 'valid') === 'valid');
    }
  });

  it.skipIf(v.attestations.length === 0)('is read, re-encoded and verified identically by the product', async () => {
    const opened = await openImage(Readable.from([file]));
    const { header } = opened;
    expect({ chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, createdAt: header.createdAt }).toEqual({
      chain: v.chain, height: v.height, digest: v.digest, size: v.size, contentType: v.contentType, createdAt: v.createdAt,
    });
    expect(Buffer.from(encodeHeader(header)).toString('hex')).toBe(v.headerHex);
    header.attestations.forEach((a, i) => expect(Buffer.from(statementBytes(attestationOf(header, a))).toString('hex')).toBe(v.attestations[i]!.statementHex));
    expect((await collectBytes(opened.content)).toString('hex')).toBe(v.contentHex);
    const report = await verifyImage(Readable.from([file]), trust);
    expect(report.attestations.map((a) => a.status)).toEqual(v.checks.find((c) => c.trust === 'keys')?.statuses ?? v.attestations.map(() => 'valid'));
  });

  it.skipIf(v.attestations.length === 0)('has a header the independent encoder reproduces from the decoded fields', () => {
    const image = parseImage(file);
    const { headerBytes: _h, content: _c, ...fields } = image;
    expect(Buffer.from(dcbor(fields)).toString('hex')).toBe(v.headerHex);
  });
});

describe.each(vectors.validV2)('valid format-v2 vector $name', (v) => {
  const file = read(v.file);
  it.each(v.checks)('verifies under trust $trust in both implementations', async (check) => {
    const t = trusts(check.trust);
    const want = expected(check, parseImageV2Attestations(file));
    expect(await productOutcome(file, t.product)).toEqual(want);
    expect(independentVerify(file, t.independent)).toEqual(want);
  });

  it('has the chunks and digest the independent chunker computes from its content (FORMAT.md §12)', async () => {
    const opened = await openImage(Readable.from([file]));
    const list = await opened.chunkList();
    const content = await collectBytes(opened.content);
    const independent = independentChunkList(content);
    expect(independent.entries).toEqual(v.chunks);
    expect(independent.digest).toBe(v.digest);
    expect(opened.header.digest).toBe(v.digest);
    expect(list?.length).toBe(36 * v.chunks.length);
  });
});

/** The number of attestations of a v2 file, read with the independent CBOR decoder. */
function parseImageV2Attestations(file: Uint8Array): number {
  const length = new DataView(file.buffer, file.byteOffset).getUint32(10);
  return cbor2Decode<{ attestations: unknown[] }>(file.subarray(14, 14 + length)).attestations.length;
}

describe.each(vectors.invalid)('invalid vector $file', ({ file, code, why, trust: name }) => {
  it(`fails with ${code} under trust ${name} in both implementations (${why})`, async () => {
    const t = trusts(name);
    expect(await productOutcome(read(file), t.product)).toEqual({ ok: false, code });
    expect(independentVerify(read(file), t.independent)).toEqual({ ok: false, code });
  });
});

describe.each(vectors.keyFiles)('key file vector $name', ({ text, keys, code }) => {
  it(code ? `is ${code} in both implementations` : `holds ${keys} key(s) in both implementations`, () => {
    const outcome = (fn: () => unknown[]): string | number => {
      try {
        return fn().length;
      } catch (error) {
        return (error as { code?: string }).code ?? String(error);
      }
    };
    expect(outcome(() => parsePublicKeys(text))).toBe(code ?? keys);
    expect(outcome(() => independentKeyLines(text))).toBe(code ?? keys);
  });
});

describe('one-byte mutants of the vectors', () => {
  it('get the same outcome from both implementations', async () => {
    const t = trusts('keys');
    const bases = ['raw-slh-dsa-sha2-128s.cimg', 'queue-state-three-attestations.cimg', 'v2-small.cimg'].map(read);
    let compared = 0;
    for (const base of bases) {
      // Every byte of the preamble and the first 300 header bytes, then every 97th byte.
      const positions = [...Array.from({ length: Math.min(314, base.length) }, (_, i) => i), ...Array.from({ length: Math.floor(base.length / 97) }, (_, i) => 314 + i * 97).filter((p) => p < base.length)];
      for (const at of positions) {
        for (const xor of [0x01, 0x80, 0xff]) {
          const mutant = new Uint8Array(base);
          mutant[at] = (mutant[at] as number) ^ xor;
          expect({ at, xor, outcome: await productOutcome(mutant, t.product) }).toEqual({ at, xor, outcome: independentVerify(mutant, t.independent) });
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  }, 300_000);
});

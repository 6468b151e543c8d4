/**
 * Format v2 content-defined chunking and the chunk-list digest (docs/FORMAT.md §12, draft): the
 * committed vectors against the product and the independent implementation, and the properties
 * that make chunks useful — the same cuts however the bytes arrive, sizes within bounds, and
 * edits that move only the chunks around them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { CHUNK_MAX_BYTES, CHUNK_MIN_BYTES, chunkId, chunkLengths, chunkListDigest, chunkStream, decodeChunkList, encodeChunkList } from '../../../src/archive/index.ts';
import { independentChunkList } from '../../support/independent.ts';
import { chunked } from '../../support/fixtures.ts';

interface ChunkVector {
  name: string;
  source: 'keystream' | 'zeros';
  size: number;
  insert?: { at: number; hex: string };
  chunks: Array<{ length: number; id: string }>;
  digest: string;
}
const { vectors } = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/chunking-v2/vectors.json'), 'utf8')) as { vectors: ChunkVector[] };

/** §12.3, rebuilt with other libraries than the generator used (noble's ChaCha20 and SHA3). */
function contentOf(v: ChunkVector): Uint8Array {
  const key = sha3_256(new TextEncoder().encode(`cairn/vector/${v.insert ? 'random-16mib' : v.name}`));
  const base = v.source === 'zeros' ? new Uint8Array(v.size) : chacha20(key, new Uint8Array(12), new Uint8Array(v.size));
  if (!v.insert) return base;
  return Buffer.concat([base.subarray(0, v.insert.at), Buffer.from(v.insert.hex, 'hex'), base.subarray(v.insert.at)]);
}

async function streamLengths(content: Uint8Array, piece: number): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of chunkStream(chunked(content, piece))) out.push(chunk.length);
  return out;
}

describe.each(vectors)('chunking vector $name', (v) => {
  const content = contentOf(v);
  it('is cut and hashed as the vector says, by the product (in memory and streamed) and by the independent implementation', async () => {
    expect(chunkLengths(content)).toEqual(v.chunks.map((c) => c.length));
    expect(await streamLengths(content, 65_536)).toEqual(v.chunks.map((c) => c.length));
    let at = 0;
    const entries = v.chunks.map((c) => {
      const id = chunkId(content.subarray(at, at + c.length));
      at += c.length;
      return { length: c.length, id };
    });
    expect(entries.map((e) => Buffer.from(e.id).toString('hex'))).toEqual(v.chunks.map((c) => c.id));
    expect(chunkListDigest(entries)).toBe(v.digest);
    expect(independentChunkList(content)).toEqual({ entries: v.chunks, digest: v.digest });
  }, 120_000);
});

describe('content-defined chunking', () => {
  it('cuts the same however the bytes arrive, within MIN … MAX but the last', async () => {
    const content = contentOf(vectors.find((v) => v.name === 'random-16mib')!).subarray(0, 9 * 1024 * 1024);
    const expected = chunkLengths(content);
    for (const length of expected.slice(0, -1)) {
      expect(length).toBeGreaterThanOrEqual(CHUNK_MIN_BYTES);
      expect(length).toBeLessThanOrEqual(CHUNK_MAX_BYTES);
    }
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 * 1024 * 1024 }), async (piece) => {
        expect(await streamLengths(content, piece)).toEqual(expected);
      }),
      { numRuns: 12 },
    );
  }, 120_000);

  it('moves only the chunks around a scattered edit', () => {
    const base = Buffer.from(contentOf(vectors.find((v) => v.name === 'random-16mib')!));
    const ids = (bytes: Uint8Array): Set<string> => {
      const out = new Set<string>();
      let at = 0;
      for (const length of chunkLengths(bytes)) {
        out.add(Buffer.from(chunkId(bytes.subarray(at, at + length))).toString('hex'));
        at += length;
      }
      return out;
    };
    const before = ids(base);
    const edited = Buffer.from(base);
    edited[3_000_000] = (edited[3_000_000] as number) ^ 0xff;
    edited[12_000_000] = (edited[12_000_000] as number) ^ 0xff;
    const shortened = Buffer.concat([edited.subarray(0, 6_000_000), edited.subarray(6_000_050)]);
    const after = ids(shortened);
    const changed = [...after].filter((id) => !before.has(id)).length;
    expect(changed).toBeLessThanOrEqual(4);
    expect(after.size).toBeGreaterThan(10);
  }, 60_000);

  it('round-trips chunk lists and refuses malformed ones', () => {
    const entries = [{ length: 5, id: new Uint8Array(32).fill(1) }, { length: 7, id: new Uint8Array(32).fill(2) }];
    expect(decodeChunkList(encodeChunkList(entries))).toEqual(entries);
    expect(() => decodeChunkList(new Uint8Array(35))).toThrow(/multiple of 36/);
    expect(() => decodeChunkList(new Uint8Array(36))).toThrow(/length 0/);
    // A v2 digest can never be read as a v1 one.
    expect(chunkListDigest(entries)).toMatch(/^sha3-256-chunks:[0-9a-f]{64}$/);
  });
});

/**
 * Regenerates test/vectors/chunking-v2/vectors.json — run by hand:
 * `node test/vectors/generate-chunking-vectors.ts`. Deterministic (no randomness): the contents
 * are defined in docs/FORMAT.md §12.3, so any implementation can rebuild them.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkId, chunkListDigest, chunkLengths, type ChunkEntry } from '../../src/archive/index.ts';

/** §12.3: the ChaCha20 keystream (RFC 8439, counter 0, zero nonce) under SHA3-256("cairn/vector/" ‖ name). */
function keystream(name: string, size: number): Buffer {
  const key = createHash('sha3-256').update(`cairn/vector/${name}`).digest();
  return createCipheriv('chacha20', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

interface Spec {
  name: string;
  description: string;
  source: 'keystream' | 'zeros';
  size: number;
  /** Bytes inserted at an offset after the content is generated. */
  insert?: { at: number; hex: string };
}

const specs: Spec[] = [
  { name: 'empty', description: 'no content: no chunks', source: 'keystream', size: 0 },
  { name: 'tiny', description: '100 bytes: one chunk', source: 'keystream', size: 100 },
  { name: 'exactly-min', description: 'MIN bytes: one chunk, nothing hashed', source: 'keystream', size: 256 * 1024 },
  { name: 'min-plus-one', description: 'MIN + 1 bytes: one byte hashed', source: 'keystream', size: 256 * 1024 + 1 },
  { name: 'random-16mib', description: '16 MiB of keystream', source: 'keystream', size: 16 * 1024 * 1024 },
  { name: 'random-16mib-insert', description: 'the same 16 MiB (keystream of "random-16mib") with 100 bytes of 0x41 inserted at 8,000,000: only the chunks around the insertion change', source: 'keystream', size: 16 * 1024 * 1024, insert: { at: 8_000_000, hex: '41'.repeat(100) } },
  { name: 'zeros-9mib', description: '9 MiB of zero bytes: no cut point, MAX-sized chunks', source: 'zeros', size: 9 * 1024 * 1024 },
];

const vectors = specs.map((spec) => {
  const base = spec.source === 'zeros' ? Buffer.alloc(spec.size) : keystream(spec.insert ? 'random-16mib' : spec.name, spec.size);
  const content = spec.insert ? Buffer.concat([base.subarray(0, spec.insert.at), Buffer.from(spec.insert.hex, 'hex'), base.subarray(spec.insert.at)]) : base;
  const entries: ChunkEntry[] = [];
  let at = 0;
  for (const length of chunkLengths(content)) {
    entries.push({ length, id: chunkId(content.subarray(at, at + length)) });
    at += length;
  }
  return { ...spec, chunks: entries.map((e) => ({ length: e.length, id: Buffer.from(e.id).toString('hex') })), digest: chunkListDigest(entries) };
});

const out = join(import.meta.dirname, 'chunking-v2', 'vectors.json');
writeFileSync(out, `${JSON.stringify({ comment: 'Cairn format v2 chunking vectors; see docs/FORMAT.md §12. Regenerate with: node test/vectors/generate-chunking-vectors.ts', vectors }, null, 2)}\n`);
console.log(`wrote ${vectors.length} chunking vectors to ${out}`);

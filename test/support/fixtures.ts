/**
 * Shared test helpers: temporary directories, cached key pairs, small image builders.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach } from 'vitest';
import { createImageBytes, generateSigningKey, type SignatureAlgorithm, type SigningKey } from '../../src/archive/index.ts';

const keyCache = new Map<string, SigningKey>();

/** A key pair per (algorithm, name), generated once per test file. */
export function testKey(algorithm: SignatureAlgorithm = 'ml-dsa-44', name = 'alice'): SigningKey {
  const id = `${algorithm}/${name}`;
  let key = keyCache.get(id);
  if (!key) {
    key = generateSigningKey(algorithm, name);
    keyCache.set(id, key);
  }
  return key;
}

const tempDirs: string[] = [];

/** A fresh temporary directory, removed after the current test. */
export async function tempDir(prefix = 'cairn-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A small image in memory. */
export function smallImage(content: Uint8Array = new TextEncoder().encode('hello cairn'), options: { key?: SigningKey; validator?: string; height?: number; chain?: string } = {}): ReturnType<typeof createImageBytes> {
  return createImageBytes({
    chain: options.chain ?? 'devnet',
    height: options.height ?? 1000,
    validator: options.validator ?? 'alice',
    key: options.key ?? testKey(),
    content,
    createdAt: 1_767_225_600_000,
  });
}

/** A byte array as a stream, cut into chunks of `chunkSize`. */
export function chunked(bytes: Uint8Array, chunkSize = 7): Readable {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

/** Reads a whole stream into one buffer (small test data only). */
export async function collectBytes(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

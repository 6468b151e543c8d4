/**
 * Content at rest: seal a verified stream into a new blob object, open ranges of it again.
 */
import type { Readable } from 'node:stream';
import { CairnError } from '../../errors.ts';
import { digestToBytes, type Digest } from '../digest.ts';
import { unwrapDataKey, newDataKey, wrapDataKey } from '../crypto/data-key.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { DEFAULT_CHUNK_BYTES, SEAL_HEADER_BYTES, checkSealHeader, newNoncePrefix, openSealedRange, sealStream, sealedRangeFor, sealedSize } from '../crypto/sealed-stream.ts';
import type { BlobStore } from '../store/blob-store.ts';
import { decodeBlocks, encodeContent, frameOffsets, storedRangeFor, type CompressionPolicy } from '../compression/zstd-blocks.ts';
import type { BlobRef } from './image-record.ts';

/**
 * Seals `content` (whose digest and size the caller has declared and is verifying as it
 * streams) into the new blob object `key` (see `newBlobKey`), compressed first when `policy`
 * is given and the content shrinks (compression/zstd-blocks.ts). Resolves with the reference
 * once the object is complete; if the stream fails, the store put fails and leaves nothing.
 */
export async function storeSealedContent(store: BlobStore, keyring: Keyring, key: string, digest: Digest, size: number, content: AsyncIterable<Uint8Array>, policy?: CompressionPolicy): Promise<BlobRef> {
  const dataKey = newDataKey();
  const noncePrefix = newNoncePrefix();
  const digestBytes = digestToBytes(digest);
  const { keyId, wrapped } = wrapDataKey(keyring, dataKey, digestBytes);
  const encoded = await encodeContent(content, size, policy);
  const info = await store.put(key, sealStream(encoded.body, { dataKey, noncePrefix, chunkBytes: DEFAULT_CHUNK_BYTES, digest: digestBytes }), { contentLength: sealedSize(encoded.maxLength, DEFAULT_CHUNK_BYTES) });
  const zstd = encoded.layout();
  const expected = sealedSize(zstd ? frameOffsets(zstd, size).total : size, DEFAULT_CHUNK_BYTES);
  if (info.size !== expected) {
    await store.delete(key);
    throw new CairnError('INTEGRITY_ERROR', `sealed object has ${info.size} bytes, expected ${expected}`);
  }
  return { key, chunkBytes: DEFAULT_CHUNK_BYTES, noncePrefix, keyId, wrappedKey: wrapped, ...(zstd ? { zstd } : {}) };
}

/** Length of the stored (sealed) plaintext of a blob: the content, or its zstd frames. */
export function storedLength(size: number, blob: BlobRef): number {
  return blob.zstd ? frameOffsets(blob.zstd, size).total : size;
}

/** Opens stored bytes [start, end] of a blob, authenticated chunk by chunk. */
async function openStored(store: BlobStore, keyring: Keyring, digest: Digest, size: number, blob: BlobRef, start: number, end: number): Promise<AsyncGenerator<Buffer>> {
  const digestBytes = digestToBytes(digest);
  const params = { dataKey: unwrapDataKey(keyring, blob.keyId, blob.wrappedKey, digestBytes), noncePrefix: blob.noncePrefix, chunkBytes: blob.chunkBytes, digest: digestBytes };
  const stored = storedLength(size, blob);
  const range = sealedRangeFor(start, end, stored, blob.chunkBytes);
  // A whole-object read also checks the header; a range read trusts the record for its params.
  const readHeader = range.firstChunk === 0;
  const got = await store.get(blob.key, { start: readHeader ? 0 : range.start, end: range.end });
  if (got.info.size !== sealedSize(stored, blob.chunkBytes)) {
    got.body.destroy();
    throw new CairnError('INTEGRITY_ERROR', `sealed object ${blob.key} has ${got.info.size} bytes, expected ${sealedSize(stored, blob.chunkBytes)}`);
  }
  return openSealedRange(readHeader ? stripHeader(got.body, params) : got.body, params, stored, start, end);
}

/**
 * Opens plaintext bytes [start, end] of sealed content (decompressing the blocks they lie in,
 * for a compressed blob). The returned iterable fails with `INTEGRITY_ERROR` instead of
 * yielding bytes that do not authenticate.
 */
export async function openSealedContent(store: BlobStore, keyring: Keyring, digest: Digest, size: number, blob: BlobRef, start: number, end: number): Promise<AsyncGenerator<Buffer>> {
  if (!blob.zstd) return openStored(store, keyring, digest, size, blob, start, end);
  const stored = storedRangeFor(blob.zstd, size, start, end);
  return decodeBlocks(await openStored(store, keyring, digest, size, blob, stored.start, stored.end), blob.zstd, size, start, end);
}

/** The whole content as a zstd stream: its stored frames, decrypted, opened on demand. */
export interface ZstdContent {
  readonly size: number;
  open(): Promise<AsyncIterable<Uint8Array>>;
}

/**
 * The whole content as stored zstd frames — a zstd stream of it, decrypted but not decompressed
 * — or undefined when the blob is not compressed.
 */
export function zstdContentOf(store: BlobStore, keyring: Keyring, digest: Digest, size: number, blob: BlobRef): ZstdContent | undefined {
  if (!blob.zstd) return undefined;
  const total = storedLength(size, blob);
  return { size: total, open: () => openStored(store, keyring, digest, size, blob, 0, total - 1) };
}

async function* stripHeader(body: Readable, params: { noncePrefix: Uint8Array; chunkBytes: number }): AsyncGenerator<Uint8Array> {
  let header = Buffer.alloc(0);
  let done = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (done) {
      yield chunk;
      continue;
    }
    header = Buffer.concat([header, chunk]);
    if (header.length >= SEAL_HEADER_BYTES) {
      checkSealHeader(header.subarray(0, SEAL_HEADER_BYTES), params);
      done = true;
      if (header.length > SEAL_HEADER_BYTES) yield header.subarray(SEAL_HEADER_BYTES);
    }
  }
  if (!done) throw new CairnError('INTEGRITY_ERROR', 'sealed object is shorter than its header');
}

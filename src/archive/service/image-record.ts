/**
 * The image record: everything Cairn knows about an archived image except attestations added
 * after the push. Deterministic CBOR (docs/STORAGE.md §Records):
 *
 *   { v: 1, chain, height, digest (32 B), size, contentType, createdAt, storedAt,
 *     producer: { validator, signedAt, algorithm, signature },
 *     blob: { key, chunkBytes, noncePrefix (7 B), keyId, wrappedKey (60 B),
 *             zstd?: { blockBytes, frames (4 B per block) } } }
 *
 * `zstd` is present only for content compressed at rest (compression/zstd-blocks.ts); records
 * without it (every record before compression existed) describe content sealed as it is.
 *
 * A format-v2 image's record has `chunksDigest` (32 B) instead of `digest`, and in the bucket
 * `chunkList` (the signed list, 36 B per chunk: ≈ 36 KiB per GiB of content), from which the
 * served file's prefix is rebuilt. The database row keeps the record without the list
 * ({@link encodeIndexedRecord}): rows are read by every listing, so they stay small whatever the
 * image's size, and the list is read from the bucket when a file is served (read-model.ts).
 */
import { CairnError } from '../../errors.ts';
import { decodeCbor, encodeCbor, isCborMap, type CborValue } from '../cbor/deterministic-cbor.ts';
import { digestCborKey, digestFromBytes, digestToBytes } from '../digest.ts';
import { assertChunkListShape, chunkListDigestOf } from '../chunking/chunk-list.ts';
import { assertExactKeys, headerAttestationFromMap } from '../image/attestation.ts';
import { isChainId, isContentType, isUint53, type HeaderAttestation, type ImageHeader } from '../image/format.ts';
import type { ZstdLayout } from '../compression/zstd-blocks.ts';

/** Where and how an image's content is sealed in the store. */
export interface BlobRef {
  readonly key: string;
  readonly chunkBytes: number;
  readonly noncePrefix: Uint8Array;
  readonly keyId: string;
  readonly wrappedKey: Uint8Array;
  /** Present when the content is stored as zstd frames, one per block. */
  readonly zstd?: ZstdLayout;
}

/** An archived image's record: the header's fields but the attestations, plus storage facts. */
export interface ImageRecord extends Omit<ImageHeader, 'attestations'> {
  /** When Cairn first stored it (server clock, ms); retention ages count from here. */
  readonly storedAt: number;
  readonly producer: HeaderAttestation;
  readonly blob: BlobRef;
}

/** The record as the database row keeps it: without the chunk list, which stays in the bucket. */
export function encodeIndexedRecord(record: ImageRecord): Uint8Array {
  const { chunkList: _list, ...indexed } = record;
  return encodeImageRecord(indexed);
}

/** Encodes a record. */
export function encodeImageRecord(record: ImageRecord): Uint8Array {
  return encodeCbor({
    v: 1,
    chain: record.chain,
    height: record.height,
    [digestCborKey(record.digest)]: digestToBytes(record.digest),
    ...(record.chunkList ? { chunkList: record.chunkList } : {}),
    size: record.size,
    contentType: record.contentType,
    createdAt: record.createdAt,
    storedAt: record.storedAt,
    producer: { validator: record.producer.validator, signedAt: record.producer.signedAt, algorithm: record.producer.algorithm, signature: record.producer.signature },
    blob: {
      key: record.blob.key,
      chunkBytes: record.blob.chunkBytes,
      noncePrefix: record.blob.noncePrefix,
      keyId: record.blob.keyId,
      wrappedKey: record.blob.wrappedKey,
      ...(record.blob.zstd ? { zstd: { blockBytes: record.blob.zstd.blockBytes, frames: record.blob.zstd.frames } } : {}),
    },
  });
}

function invalid(what: string): CairnError {
  return new CairnError('INTEGRITY_ERROR', `stored image record is invalid: ${what}`);
}

/** Decodes and validates a record read from the store. */
export function decodeImageRecord(bytes: Uint8Array): ImageRecord {
  let value: CborValue;
  try {
    value = decodeCbor(bytes);
  } catch (error) {
    throw new CairnError('INTEGRITY_ERROR', 'stored image record is not deterministic CBOR', { cause: error });
  }
  if (!isCborMap(value) || value.v !== 1) throw invalid('not a version 1 record');
  const v2 = 'chunksDigest' in value;
  const common = ['v', 'chain', 'height', 'size', 'contentType', 'createdAt', 'storedAt', 'producer', 'blob'];
  // A v2 record has its chunk list in the bucket, not in the database row (encodeIndexedRecord).
  assertExactKeys(value, v2 ? [...common, 'chunksDigest', ...('chunkList' in value ? ['chunkList'] : [])] : [...common, 'digest'], 'image record', 'CBOR_MALFORMED');
  const { chain, height, size, contentType, createdAt, storedAt, producer, blob, chunkList } = value;
  const digest = v2 ? value.chunksDigest : value.digest;
  if (!isChainId(chain) || !isUint53(height) || !(digest instanceof Uint8Array) || digest.length !== 32 || !isUint53(size) || !isContentType(contentType) || !isUint53(createdAt) || !isUint53(storedAt)) {
    throw invalid('bad field');
  }
  if (!isCborMap(producer) || !isCborMap(blob)) throw invalid('producer or blob is not a map');
  const { key, chunkBytes, noncePrefix, keyId, wrappedKey, zstd } = blob;
  if (typeof key !== 'string' || !isUint53(chunkBytes) || chunkBytes === 0 || !(noncePrefix instanceof Uint8Array) || noncePrefix.length !== 7 || typeof keyId !== 'string' || !(wrappedKey instanceof Uint8Array)) {
    throw invalid('bad blob reference');
  }
  const layout = zstd === undefined ? undefined : zstdLayoutOf(zstd, size);
  const text = digestFromBytes(digest, v2 ? 'sha3-256-chunks' : 'sha3-256');
  if (chunkList !== undefined) {
    if (!(chunkList instanceof Uint8Array) || chunkListDigestOf(chunkList, size) !== text) throw invalid('chunk list does not match the digest');
    assertChunkListShape(chunkList, size);
  }
  return {
    chain,
    height,
    digest: text,
    ...(chunkList instanceof Uint8Array ? { chunkList } : {}),
    size,
    contentType,
    createdAt,
    storedAt,
    producer: headerAttestationFromMap(producer, 'image record producer', 'CBOR_MALFORMED'),
    blob: { key, chunkBytes, noncePrefix, keyId, wrappedKey, ...(layout ? { zstd: layout } : {}) },
  };
}

/** Largest block of a compressed blob a record may declare (a range read decompresses up to one at each end). */
const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

function zstdLayoutOf(value: CborValue, size: number): ZstdLayout {
  if (!isCborMap(value)) throw invalid('zstd layout is not a map');
  assertExactKeys(value, ['blockBytes', 'frames'], 'zstd layout', 'CBOR_MALFORMED');
  const { blockBytes, frames } = value;
  if (!isUint53(blockBytes) || blockBytes === 0 || blockBytes > MAX_BLOCK_BYTES || !(frames instanceof Uint8Array)) throw invalid('bad zstd layout');
  if (frames.length !== 4 * Math.max(1, Math.ceil(size / blockBytes))) throw invalid(`zstd layout lists ${frames.length / 4} frames for ${size} bytes`);
  const view = Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength);
  for (let at = 0; at < view.length; at += 4) if (view.readUInt32BE(at) === 0) throw invalid('zstd layout has an empty frame');
  return { blockBytes, frames };
}

/**
 * The archive domain: image format, keys, registry, verification and queue-state snapshots.
 * Other folders import from here only.
 */
export * from './digest.ts';
export * from './cbor/deterministic-cbor.ts';
export * from './keys/algorithms.ts';
export * from './keys/signing.ts';
export * from './keys/key-files.ts';
export * from './keys/falcon.ts';
export * from './image/format.ts';
export * from './image/attestation.ts';
export * from './image/header-codec.ts';
export * from './image/image-reader.ts';
export * from './image/image-writer.ts';
export * from './image/image-verify.ts';
export * from './image/finality.ts';
export * from './registry/registry.ts';
export * from './snapshot/queue-state.ts';
export * from './snapshot/snapshot.ts';
export { writeFileAtomic, createTempSibling } from './fs/atomic-write.ts';
export { readObject, type BlobStore, type ObjectInfo } from './store/blob-store.ts';
export { Archive, openArchive, type ArchiveEvent, type ArchiveOptions } from './service/archive.ts';
export type { ArchivedImage } from './service/archived-image.ts';
export type { ContentRange, FinalityView, ListOptions } from './service/read-model.ts';
export { reindex, type ReindexReport } from './service/reindex.ts';
export { MARKS_PREFIX, digestOfKey, markKey, runKey } from './service/layout.ts';
export { decodeZstdStream } from './compression/zstd-stream.ts';
export * from './chunking/content-chunker.ts';
export * from './chunking/chunk-list.ts';
export * from './chunking/build-chunk-list.ts';
export { ChunkIdPool, chunkIdsInOrder, sharedChunkIdPool } from './hashing/chunk-id-pool.ts';
export { drainedOrClosed, forEachLimited, KeyedMutex } from './concurrency.ts';

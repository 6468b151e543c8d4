/**
 * The bucket after the soak, read directly (not through a server): incomplete multipart
 * uploads, blobs no record points to, per-image objects of images that do not exist, image
 * records without their database row and rows without their record, and temporary files of
 * the fs store. A clean archive has none of them.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImageRecord } from '../src/archive/service/image-record.ts';
import { ATTESTATIONS_PREFIX, BLOBS_PREFIX, FINALITY_PREFIX, HOLDS_PREFIX, IMAGES_PREFIX, MARKS_PREFIX, REVOCATIONS_PREFIX, digestOfKey, parseAttestationKey, parseImageRecordKey } from '../src/archive/service/layout.ts';
import { readObject, type BlobStore } from '../src/archive/store/blob-store.ts';
import type { MetadataStore } from '../src/metadata/index.ts';

/** What the audit found. */
export interface BucketAudit {
  readonly images: number;
  readonly incompleteUploads: number;
  readonly unreferencedBlobs: number;
  readonly orphanObjects: number;
  readonly recordsWithoutRow: number;
  readonly rowsWithoutRecord: number;
  readonly tempFiles: number;
  /** Deletions still standing (their tombstones). */
  readonly unfinishedDeletions: number;
}

async function countTempFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile() && entry.name.endsWith('.tmp')) n++;
  return n;
}

/** Audits `store` against `metadata`; `fsRoot` is the fs store's directory, if any. */
export async function auditBucket(store: BlobStore, metadata: MetadataStore, fsRoot?: string): Promise<BucketAudit> {
  let incompleteUploads = 0;
  if (store.listIncompleteUploads) for await (const _ of store.listIncompleteUploads('')) incompleteUploads++;
  const blobKeys = new Set<string>();
  const digests = new Set<string>();
  let recordsWithoutRow = 0;
  for await (const info of store.list(IMAGES_PREFIX)) {
    const parsed = parseImageRecordKey(info.key);
    if (!parsed) continue;
    const record = decodeImageRecord(await readObject(store, info.key));
    blobKeys.add(record.blob.key);
    digests.add(record.digest);
    if (!(await metadata.image(record.digest))) recordsWithoutRow++;
  }
  let unreferencedBlobs = 0;
  for await (const info of store.list(BLOBS_PREFIX)) if (!blobKeys.has(info.key)) unreferencedBlobs++;
  let orphanObjects = 0;
  for (const prefix of [ATTESTATIONS_PREFIX, FINALITY_PREFIX, HOLDS_PREFIX, MARKS_PREFIX, REVOCATIONS_PREFIX]) {
    for await (const info of store.list(prefix)) {
      const digest = prefix === ATTESTATIONS_PREFIX ? parseAttestationKey(info.key)?.digest : digestOfKey(prefix, info.key);
      if (digest && !digests.has(digest)) orphanObjects++;
    }
  }
  const rows = [...(await metadata.counts()).values()].reduce((a, b) => a + b, 0);
  return {
    images: digests.size,
    incompleteUploads,
    unreferencedBlobs,
    orphanObjects,
    recordsWithoutRow,
    rowsWithoutRecord: Math.max(0, rows - (digests.size - recordsWithoutRow)),
    tempFiles: fsRoot ? await countTempFiles(join(fsRoot, 'objects')) : 0,
    unfinishedDeletions: (await metadata.deletionsBefore(Number.MAX_SAFE_INTEGER, 1000)).length,
  };
}

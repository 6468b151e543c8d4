/**
 * Housekeeping on the store: removing what interrupted pushes left behind, and rewrapping data
 * keys under a new master key.
 */
import { CairnError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { digestKeyPart, digestToBytes, type Digest } from '../digest.ts';
import { unwrapDataKey, wrapDataKey } from '../crypto/data-key.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { readObject, type BlobStore } from '../store/blob-store.ts';
import type { Archive } from './archive.ts';
import { decodeImageRecord, encodeImageRecord, encodeIndexedRecord, type ImageRecord } from './image-record.ts';
import { ATTESTATIONS_PREFIX, BLOBS_PREFIX, FINALITY_PREFIX, HOLDS_PREFIX, MARKS_PREFIX, REVOCATIONS_PREFIX, digestOfKey, finalityKey, holdKey, imageRecordKey, markKey, parseAttestationKey, parseBlobKey, parseFinalityKey, revocationKey } from './layout.ts';
import { rewrapIdentity } from './identity.ts';
import { reindex, type ReindexReport } from './reindex.ts';

/** What a cleanup removed. */
export interface CleanupReport {
  abortedUploads: number;
  orphanBlobs: number;
  orphanAttestations: number;
}

/**
 * Removes leftovers of interrupted pushes older than `graceMs`: incomplete multipart uploads,
 * blob objects no image record points to, attestations, finality records, holds and delete
 * marks of images that do not exist (`lookup` answers from the metadata database). Uploads this
 * process has in flight are skipped (`inFlight`); the grace period protects pushes in flight in
 * another process on the same bucket, so it must exceed the longest push.
 */
export async function cleanupOrphans(store: BlobStore, lookup: (digest: Digest) => Promise<ImageRecord | undefined>, options: { graceMs: number; now: number; logger: Logger; inFlight?: (key: string) => boolean }): Promise<CleanupReport> {
  const cutoff = options.now - options.graceMs;
  const report: CleanupReport = { abortedUploads: 0, orphanBlobs: 0, orphanAttestations: 0 };
  if (store.capabilities.multipart && store.listIncompleteUploads && store.abortIncompleteUpload) {
    const stale = [];
    for await (const upload of store.listIncompleteUploads(BLOBS_PREFIX)) if (upload.initiated.getTime() <= cutoff && !options.inFlight?.(upload.key)) stale.push(upload);
    for (const upload of stale) {
      await store.abortIncompleteUpload(upload);
      report.abortedUploads++;
    }
  }
  const orphanBlobs = [];
  for await (const info of store.list(BLOBS_PREFIX)) {
    const parsed = parseBlobKey(info.key);
    if (!parsed || info.lastModified.getTime() > cutoff) continue;
    if ((await lookup(parsed.digest))?.blob.key !== info.key) orphanBlobs.push(info.key);
  }
  for (const key of orphanBlobs) {
    await store.delete(key);
    report.orphanBlobs++;
  }
  // Per-image objects whose image does not exist (the record is the commit point).
  const orphanAttestations: string[] = [];
  const byDigestKey = (prefix: string) => (key: string) => {
    const digest = digestOfKey(prefix, key);
    return digest ? { digest } : undefined;
  };
  const perImage = [
    [ATTESTATIONS_PREFIX, parseAttestationKey],
    [FINALITY_PREFIX, parseFinalityKey],
    [HOLDS_PREFIX, byDigestKey(HOLDS_PREFIX)],
    [MARKS_PREFIX, byDigestKey(MARKS_PREFIX)],
    [REVOCATIONS_PREFIX, byDigestKey(REVOCATIONS_PREFIX)],
  ] as const;
  for (const [prefix, parse] of perImage) {
    for await (const info of store.list(prefix)) {
      const parsed = parse(info.key);
      if (parsed && info.lastModified.getTime() <= cutoff && !(await lookup(parsed.digest))) orphanAttestations.push(info.key);
    }
  }
  for (const key of orphanAttestations) {
    await store.delete(key);
    report.orphanAttestations++;
  }
  if (report.abortedUploads + report.orphanBlobs + report.orphanAttestations > 0) options.logger.warn('removed leftovers of interrupted pushes', { ...report });
  return report;
}

/**
 * Finishes deletions a crash interrupted: for each tombstone older than `graceMs`, the image's
 * record, per-image objects and blob go (whatever is left of them), then the tombstone. The
 * row went first, so nothing of it is listed meanwhile; the grace lets a live deletion finish.
 */
export async function finishDeletions(archive: Archive, options: { graceMs: number; now: number; logger: Logger }): Promise<number> {
  const { store, metadata } = archive;
  let finished = 0;
  for (;;) {
    const page = await metadata.deletionsBefore(options.now - options.graceMs, 100);
    for (const d of page) {
      const recordKey = imageRecordKey(d.chain, d.height, d.digest);
      const record = await readObject(store, recordKey).then(decodeImageRecord, (error: unknown) => {
        if (error instanceof CairnError && error.code === 'NOT_FOUND') return undefined;
        throw error;
      });
      if (record?.blob && store.setLegalHold) await store.setLegalHold(record.blob.key, false).catch(() => undefined);
      await store.delete(recordKey);
      for await (const info of store.list(`${ATTESTATIONS_PREFIX}${digestKeyPart(d.digest)}/`)) await store.delete(info.key);
      await Promise.all([finalityKey(d.digest), revocationKey(d.digest), holdKey(d.digest), markKey(d.digest)].map((key) => store.delete(key)));
      if (record) await store.delete(record.blob.key);
      await metadata.finishDeletion(d.digest);
      finished++;
    }
    if (page.length < 100) break;
  }
  if (finished > 0) options.logger.warn('finished deletions a crash interrupted', { finished });
  return finished;
}

/** What a reconciliation did. */
export interface ReconcileReport {
  readonly deletionsFinished: number;
  readonly indexed: ReindexReport;
  readonly removed: CleanupReport;
}

/**
 * Brings the bucket and the database back to agreement after crashes, leaving anything younger
 * than `graceMs` to the push or deletion still at work: finishes interrupted deletions, indexes
 * records left without their row, then removes leftovers of interrupted pushes. What `serve`
 * runs at start and every `cleanupIntervalMs`, and `cairn admin reconcile` on demand.
 */
export async function reconcile(archive: Archive, options: { graceMs: number; logger: Logger; inFlight?: (key: string) => boolean }): Promise<ReconcileReport> {
  const deletionsFinished = await finishDeletions(archive, { graceMs: options.graceMs, now: Date.now(), logger: options.logger });
  const indexed = await reindex(archive, { logger: options.logger, graceMs: options.graceMs });
  const removed = await cleanupOrphans(archive.store, async (digest) => (await archive.read.find(digest))?.record, { graceMs: options.graceMs, now: Date.now(), logger: options.logger, ...(options.inFlight ? { inFlight: options.inFlight } : {}) });
  return { deletionsFinished, indexed, removed };
}

/** What a key rotation did. */
export interface RotationReport {
  rewrapped: number;
  alreadyCurrent: number;
}

/**
 * Rewraps every image's data key, and the server identity, under the keyring's active master
 * key (content is not re-encrypted). Records change by compare-and-swap in the bucket, then in
 * the metadata database.
 */
export async function rotateDataKeys(archive: Archive, keyring: Keyring, logger: Logger): Promise<RotationReport> {
  const { store } = archive;
  const report: RotationReport = { rewrapped: 0, alreadyCurrent: 0 };
  for (const chain of (await archive.read.counts()).keys()) {
    for await (const { record } of archive.read.all(chain)) {
      if (record.blob.keyId === keyring.activeId) {
        report.alreadyCurrent++;
        continue;
      }
      const key = imageRecordKey(record.chain, record.height, record.digest);
      for (let attempt = 0; ; attempt++) {
        const got = await store.get(key);
        const parts: Buffer[] = [];
        for await (const chunk of got.body as AsyncIterable<Buffer>) parts.push(chunk);
        const current = decodeImageRecord(Buffer.concat(parts));
        const digestBytes = digestToBytes(current.digest);
        const dataKey = unwrapDataKey(keyring, current.blob.keyId, current.blob.wrappedKey, digestBytes);
        const { keyId, wrapped } = wrapDataKey(keyring, dataKey, digestBytes);
        const next = { ...current, blob: { ...current.blob, keyId, wrappedKey: wrapped } };
        const bytes = encodeImageRecord(next);
        if (await store.replaceIfMatch(key, bytes, got.info.etag)) {
          await archive.metadata.setRecord(record.digest, encodeIndexedRecord(next));
          report.rewrapped++;
          break;
        }
        if (attempt >= 3) throw new CairnError('PRECONDITION_FAILED', `record ${key} kept changing during rotation`);
      }
    }
  }
  const identity = await rewrapIdentity(store, keyring);
  logger.info('data keys rotated', { activeKeyId: keyring.activeId, identityRewrapped: identity, ...report });
  return report;
}

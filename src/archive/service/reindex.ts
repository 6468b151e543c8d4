/**
 * Rebuilding the metadata database from the bucket, the durable copy: every image record gets its
 * row, with its attestations, proven finality and hold. Idempotent (rows and attestations are
 * inserted if absent), so an interrupted run resumes by running again; memory stays flat (the
 * bucket is listed as a stream, a few records at a time).
 *
 * The same pass with a grace period is reconciliation: it adopts records whose row a crash left
 * unwritten (between the record, the commit point, and the row), leaving younger ones to the
 * push that is still committing them.
 */
import type { Logger } from '../../logger.ts';
import { decodeCbor, isCborMap } from '../cbor/deterministic-cbor.ts';
import { decodeAttestation } from '../image/attestation.ts';
import { forEachLimited } from '../concurrency.ts';
import { readObject } from '../store/blob-store.ts';
import type { Archive } from './archive.ts';
import { decodeImageRecord } from './image-record.ts';
import { digestKeyPart } from '../digest.ts';
import { ATTESTATIONS_PREFIX, IMAGES_PREFIX, finalityKey, holdKey, parseAttestationKey, parseImageRecordKey } from './layout.ts';

/** What a pass did. */
export interface ReindexReport {
  /** Records indexed by this pass. */
  adopted: number;
  /** Records that already had their row. */
  present: number;
  /** Records skipped: younger than the grace period, unreadable, or not matching their key. */
  skipped: number;
  attestations: number;
}

/** Options of {@link reindex}. */
export interface ReindexOptions {
  readonly logger: Logger;
  /** Leave records younger than this to the push committing them (default 0: adopt all). */
  readonly graceMs?: number;
  readonly now?: number;
  /** Called after each record with the counts so far. */
  readonly onProgress?: (report: ReindexReport) => void;
}

const CONCURRENCY = 8;

/** Indexes every record of the bucket that has no row yet. */
export async function reindex(archive: Archive, options: ReindexOptions): Promise<ReindexReport> {
  const { store, metadata } = archive;
  const cutoff = (options.now ?? Date.now()) - (options.graceMs ?? 0);
  const report: ReindexReport = { adopted: 0, present: 0, skipped: 0, attestations: 0 };
  await forEachLimited(store.list(IMAGES_PREFIX), CONCURRENCY, async (info) => {
    const parsed = parseImageRecordKey(info.key);
    try {
      if (!parsed || info.lastModified.getTime() > cutoff) {
        report.skipped++;
        return;
      }
      if (await metadata.image(parsed.digest)) {
        report.present++;
        return;
      }
      // Being deleted (or a deletion a crash interrupted, which finishDeletions completes).
      if (await metadata.deletion(parsed.digest)) {
        report.skipped++;
        return;
      }
      const record = decodeImageRecord(await readObject(store, info.key));
      if (record.chain !== parsed.chain || record.height !== parsed.height || record.digest !== parsed.digest) {
        options.logger.error('image record does not match its key; not indexed', { key: info.key });
        report.skipped++;
        return;
      }
      await archive.index(record);
      for await (const entry of store.list(`${ATTESTATIONS_PREFIX}${digestKeyPart(record.digest)}/`)) {
        const key = parseAttestationKey(entry.key);
        if (!key || key.digest !== record.digest) continue;
        const bytes = await readObject(store, entry.key);
        const attestation = decodeAttestation(bytes);
        if (attestation.digest !== record.digest || attestation.validator !== key.validator) continue;
        if (await metadata.addAttestation(record.digest, attestation.validator, bytes)) report.attestations++;
      }
      const finalizedAt = await readTime(archive, finalityKey(record.digest), 'finalizedAt');
      if (finalizedAt !== undefined) await metadata.markFinal(record.digest, finalizedAt);
      const heldAt = await readTime(archive, holdKey(record.digest), 'heldAt');
      if (heldAt !== undefined) await metadata.setHeld(record.digest, heldAt);
      report.adopted++;
    } catch (error) {
      options.logger.error('image record not indexed', { key: info.key, error });
      report.skipped++;
    } finally {
      options.onProgress?.(report);
    }
  });
  if (report.adopted > 0) options.logger.info('records indexed from the bucket', { ...report });
  return report;
}

/** A `{ v: 1, <field>: ms }` record's time, if the object exists. */
async function readTime(archive: Archive, key: string, field: string): Promise<number | undefined> {
  if (!(await archive.store.head(key))) return undefined;
  const value = decodeCbor(await readObject(archive.store, key));
  return isCborMap(value) && typeof value[field] === 'number' ? value[field] : undefined;
}

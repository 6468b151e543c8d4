/**
 * Rebuilds the image index from the store: image records (fetched with bounded concurrency)
 * and the attestation listing (validator ids only; bodies load lazily).
 */
import type { Logger } from '../../logger.ts';
import { readObject, type BlobStore } from '../store/blob-store.ts';
import { forEachLimited } from '../concurrency.ts';
import { ImageIndex, type IndexedImage } from './image-index.ts';
import { decodeImageRecord } from './image-record.ts';
import { ATTESTATIONS_PREFIX, FINALITY_PREFIX, HOLDS_PREFIX, IMAGES_PREFIX, digestOfKey, parseAttestationKey, parseFinalityKey, parseImageRecordKey } from './layout.ts';
import { decodeCbor, isCborMap } from '../cbor/deterministic-cbor.ts';

const CONCURRENCY = 8;


/** Loads every image record and attestation key into a new index. */
export async function loadIndex(store: BlobStore, logger: Logger): Promise<ImageIndex> {
  const index = new ImageIndex();
  const started = Date.now();
  await forEachLimited(store.list(IMAGES_PREFIX), CONCURRENCY, async (info) => {
    const parsed = parseImageRecordKey(info.key);
    if (!parsed) {
      logger.warn('ignoring unexpected object under images/', { key: info.key });
      return;
    }
    try {
      const record = decodeImageRecord(await readObject(store, info.key));
      if (record.chain !== parsed.chain || record.height !== parsed.height || record.digest !== parsed.digest) {
        logger.error('image record does not match its key; not indexed', { key: info.key });
        return;
      }
      const entry: IndexedImage = { record, attesters: new Set([record.producer.validator]) };
      index.add(entry);
    } catch (error) {
      logger.error('unreadable image record; not indexed', { key: info.key, error });
    }
  });
  let attestations = 0;
  for await (const info of store.list(ATTESTATIONS_PREFIX)) {
    const parsed = parseAttestationKey(info.key);
    const entry = parsed && index.get(parsed.digest);
    if (entry && parsed) {
      entry.attesters.add(parsed.validator);
      attestations++;
    }
  }
  for await (const info of store.list(FINALITY_PREFIX)) {
    const parsed = parseFinalityKey(info.key);
    const entry = parsed && index.get(parsed.digest);
    if (!entry) continue;
    try {
      const value = decodeCbor(await readObject(store, info.key));
      if (isCborMap(value) && typeof value.finalizedAt === 'number') entry.finalizedAt = value.finalizedAt;
    } catch (error) {
      logger.warn('unreadable finality record', { key: info.key, error });
    }
  }
  for await (const info of store.list(HOLDS_PREFIX)) {
    const digest = digestOfKey(HOLDS_PREFIX, info.key);
    const entry = digest && index.get(digest);
    if (entry) entry.held = true;
  }
  logger.info('index rebuilt from store', { images: index.size, attestations, ms: Date.now() - started });
  return index;
}

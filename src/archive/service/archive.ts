/**
 * The archive's write path: accepts pushed image files, keeps them sealed in the blob store,
 * records attestations, finality and holds, deletes images; every change goes to the bucket (the
 * durable, self-describing copy) and to the metadata database (the index every process reads,
 * through `read-model.ts`), and is announced through the database's outbox.
 *
 * A push is checked in this order, so nothing is stored for a bad one:
 *  1. preamble and header (size and item limits, structure);
 *  2. chain and validators registered, every attestation's signature (before any content);
 *  3. content streamed through SHA3-256 and sealing into a new blob object; the reader fails the
 *     stream on a digest or size mismatch before the last chunk, so the upload is aborted;
 *  4. commit, in this order (STORAGE.md "Commit order"): blob → image record in the bucket (the
 *     commit point: from here the image exists) → database row → attestations → finality.
 *     A crash after the record leaves a record without a row, which reconciliation adopts.
 * No lock is held while a client's bytes are read: locks (per digest, per process) cover commits.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { MetadataStore } from '../../metadata/index.ts';
import type { Digest } from '../digest.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { attestationOf, encodeAttestation, verifyAttestation } from '../image/attestation.ts';
import type { Attestation, HeaderAttestation, ImageHeader } from '../image/format.ts';
import { openImage } from '../image/image-reader.ts';
import type { ChainRegistry, Registry, RegistryDocument } from '../registry/registry.ts';
import { readObject, type BlobStore } from '../store/blob-store.ts';
import { encodeCbor } from '../cbor/deterministic-cbor.ts';
import { KeyedMutex } from '../concurrency.ts';
import type { ArchivedImage } from './archived-image.ts';
import { decodeImageRecord, encodeImageRecord, encodeIndexedRecord, type ImageRecord } from './image-record.ts';
import { attestationKey, epochChangeKey, finalityKey, holdKey, imageRecordKey, markKey, newBlobKey, revocationKey } from './layout.ts';
import { ReadModel } from './read-model.ts';
import { loadOrSeedRegistry, updateStoredRegistry } from './registry-store.ts';
import { storeSealedContent } from './sealed-content.ts';
import type { CompressionPolicy } from '../compression/zstd-blocks.ts';

/** Everything the archive needs from its host. */
export interface ArchiveOptions {
  readonly store: BlobStore;
  readonly metadata: MetadataStore;
  readonly keyring: Keyring;
  /** The registry to store when the store has none yet; the stored one wins otherwise. */
  readonly registry: Registry;
  readonly logger: Logger;
  /** Header size limit for pushes. */
  readonly maxHeaderBytes: number;
  /** Compression at rest of new content (none when absent). */
  readonly compression?: CompressionPolicy;
  /** Milliseconds since the epoch (injectable for tests). */
  readonly now?: () => number;
  /** How far in the future an attestation's signedAt may be (default 5 minutes). */
  readonly maxClockSkewMs?: number;
}

/** Something that happened to an archived image (the seed's gossip, as announcements). */
export interface ArchiveEvent {
  readonly type: 'image.available' | 'image.attested' | 'image.finalized' | 'image.finality-revoked' | 'image.deleted';
  readonly chain: string;
  readonly height: number;
  readonly digest: Digest;
  /** The attesting validator (image.available: the producer; image.attested: the attester). */
  readonly validator?: string;
  /** Server time of the event, ms. */
  readonly at: number;
}

/** The outcome of a push. */
export interface PushResult {
  /** True when the image was new; false when it was already archived (deduplicated). */
  readonly created: boolean;
  readonly image: ArchivedImage;
  /** Validators whose attestations this push added. */
  readonly addedAttestations: readonly string[];
}

/** The outbox event type by which a process tells the others that the stored registry changed. */
export const REGISTRY_CHANGED = 'registry.changed';

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  await pipeline(stream, new Writable({ write: (_c, _e, cb) => cb() }));
}

/** The archive. Create with {@link openArchive}. */
export class Archive {
  readonly store: BlobStore;
  readonly metadata: MetadataStore;
  /** Every read: indexed queries on the metadata database, content from the store. */
  readonly read: ReadModel;
  readonly #keyring: Keyring;
  readonly #logger: Logger;
  readonly #maxHeaderBytes: number;
  readonly #now: () => number;
  readonly #locks = new KeyedMutex<Digest>();
  readonly #uploading = new Set<string>();
  readonly #listeners = new Set<(event: ArchiveEvent) => void>();
  readonly #maxSkewMs: number;
  readonly #compression: CompressionPolicy | undefined;
  #registry: Registry;

  constructor(options: ArchiveOptions) {
    this.store = options.store;
    this.metadata = options.metadata;
    this.#keyring = options.keyring;
    this.#logger = options.logger;
    this.#maxHeaderBytes = options.maxHeaderBytes;
    this.#now = options.now ?? Date.now;
    this.#registry = options.registry;
    this.#maxSkewMs = options.maxClockSkewMs ?? 5 * 60 * 1000;
    this.#compression = options.compression;
    this.read = new ReadModel(options.metadata, options.store, options.keyring, () => this.#registry);
  }

  /** Calls `listener` for every event this process causes, until the returned function is called. */
  subscribe(listener: (event: ArchiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells this process's subscribers, and records the announcement in the outbox (every process's feed). */
  async #emit(event: Omit<ArchiveEvent, 'at'>): Promise<void> {
    const full: ArchiveEvent = { ...event, at: this.#now() };
    this.#notify(full);
    try {
      await this.metadata.appendEvent(full);
    } catch (error) {
      this.#logger.error('announcement not recorded', { type: full.type, digest: full.digest, error });
    }
  }

  /** Tells this process's subscribers (the outbox has the event already, or gets it from #emit). */
  #notify(full: ArchiveEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(full);
      } catch (error) {
        this.#logger.error('event listener failed', { error });
      }
    }
  }

  /** The current validator registry. */
  get registry(): Registry {
    return this.#registry;
  }

  /** Replaces the in-memory registry after it was updated in the store (by any process). */
  setRegistry(registry: Registry): void {
    this.#registry = registry;
  }

  /**
   * Changes the stored registry (compare-and-swap, retried), uses it here at once, and tells the
   * other processes through the outbox (`registry.changed`), so they re-read it now rather than
   * at their next poll.
   */
  async updateRegistry(change: (current: RegistryDocument) => RegistryDocument, options: { confirmEpochChange?: boolean } = {}): Promise<Registry> {
    // Epoch lengths decide which boundary images retention keeps: they never change by
    // omission (a chain without one keeps its current, or last known, value), and a change
    // needs `confirmEpochChange`.
    const known = new Map<string, number>();
    const changed: Array<{ chain: string; from: number; to: number }> = [];
    const remember = new Map<string, number>();
    const registry = await updateStoredRegistry(this.store, (current) => {
      const next = change(structuredClone(current));
      changed.length = 0;
      // A chain that leaves the registry keeps its epoch length in the database, for its return.
      remember.clear();
      for (const [chain, entry] of Object.entries(current.chains)) if (entry.epochLength !== undefined) remember.set(chain, entry.epochLength);
      for (const [chain, entry] of Object.entries(next.chains)) {
        const previous = current.chains[chain]?.epochLength ?? known.get(chain);
        if (entry.epochLength === undefined) {
          if (previous !== undefined) entry.epochLength = previous;
        } else if (previous !== undefined && entry.epochLength !== previous) {
          if (!options.confirmEpochChange) {
            throw new CairnError('EPOCH_CHANGE_UNCONFIRMED', `chain ${chain}: epoch length ${previous} → ${entry.epochLength} changes which boundary images retention keeps; confirm the change explicitly`, { details: { chain, from: previous, to: entry.epochLength } });
          }
          changed.push({ chain, from: previous, to: entry.epochLength });
        }
      }
      return next;
    }, async (chains) => {
      for (const chain of chains) {
        const remembered = await this.metadata.getSetting(`epoch/${chain}`);
        if (remembered !== undefined) known.set(chain, Number(remembered));
      }
    });
    for (const entry of registry.chains.values()) remember.set(entry.chain, entry.epochLength);
    for (const [chain, epochLength] of remember) await this.metadata.putSetting(`epoch/${chain}`, String(epochLength));
    for (const c of changed) {
      this.#logger.warn('epoch length changed (confirmed)', c);
      await this.store.put(epochChangeKey(c.chain, this.#now()), encodeCbor({ v: 1, from: c.from, to: c.to, at: this.#now() }));
    }
    this.#registry = registry;
    await this.metadata.appendEvent({ chain: '', type: REGISTRY_CHANGED, height: 0, digest: '', at: this.#now() }).catch((error: unknown) => this.#logger.warn('registry change not announced', { error }));
    return registry;
  }

  /** True while this process is uploading the blob `key` (cleanup must leave it alone). */
  isUploading(key: string): boolean {
    return this.#uploading.has(key);
  }

  #chain(chain: string): ChainRegistry {
    const entry = this.#registry.chains.get(chain);
    if (!entry) throw new CairnError('UNKNOWN_CHAIN', `chain ${chain} is not in the registry`, { details: { chain } });
    return entry;
  }

  /** Throws unless `attestation` is by a registered validator of its chain, not from the future, and verifies. */
  #checkAttestation(chain: ChainRegistry, attestation: Attestation): void {
    if (attestation.signedAt > this.#now() + this.#maxSkewMs) {
      throw new CairnError('SIGNED_AT_IN_FUTURE', `attestation by ${attestation.validator} is dated ${new Date(attestation.signedAt).toISOString()}, beyond the allowed clock skew`, {
        details: { validator: attestation.validator, signedAt: attestation.signedAt, maxSkewMs: this.#maxSkewMs },
      });
    }
    const validator = chain.validators.get(attestation.validator);
    if (!validator) {
      throw new CairnError('UNKNOWN_VALIDATOR', `validator ${attestation.validator} is not registered for chain ${chain.chain}`, { details: { chain: chain.chain, validator: attestation.validator } });
    }
    if (!validator.keys.some((key) => verifyAttestation(attestation, key))) {
      throw new CairnError('SIGNATURE_INVALID', `attestation by ${attestation.validator} does not verify under its registered keys`, { details: { validator: attestation.validator } });
    }
  }

  #conflict(existing: ArchivedImage): CairnError {
    const { chain, height, digest } = existing.record;
    return new CairnError('DIGEST_CONFLICT', `${digest} is archived as ${chain} height ${height}`, { details: { chain, height } });
  }

  /**
   * Accepts an image file stream. `declaredLength` (the HTTP Content-Length, when sent) must
   * equal the image's length.
   */
  async push(body: AsyncIterable<Uint8Array>, declaredLength?: number): Promise<PushResult> {
    const opened = await openImage(body, { maxHeaderBytes: this.#maxHeaderBytes });
    try {
      const { header } = opened;
      const chain = this.#chain(header.chain);
      const attestations = header.attestations.map((entry) => attestationOf(header, entry));
      for (const attestation of attestations) this.#checkAttestation(chain, attestation);
      if (declaredLength !== undefined && declaredLength !== opened.contentOffset + header.size) {
        throw new CairnError('BODY_SIZE_MISMATCH', `Content-Length ${declaredLength} differs from the image's ${opened.contentOffset + header.size} bytes`);
      }
      const existing = await this.read.find(header.digest);
      if (existing && (existing.record.chain !== header.chain || existing.record.height !== header.height)) throw this.#conflict(existing);
      if (existing) {
        await drain(opened.content); // the pusher still has to deliver content that matches
        const added = await this.#locks.run(header.digest, async () => {
          const current = await this.read.find(header.digest);
          if (!current) throw new CairnError('PRECONDITION_FAILED', `${header.digest} was deleted while it was being pushed again; push it once more`);
          return this.#addAttestations(current, attestations);
        });
        return { created: false, image: (await this.read.find(header.digest)) ?? existing, addedAttestations: added };
      }
      const blobKey = newBlobKey(header.digest);
      this.#uploading.add(blobKey);
      let blob: ImageRecord['blob'];
      try {
        blob = await storeSealedContent(this.store, this.#keyring, blobKey, header.digest, header.size, opened.content, this.#compression);
      } finally {
        this.#uploading.delete(blobKey);
      }
      const chunkList = await opened.chunkList(); // read and checked by the content stream already
      const full = chunkList ? { ...header, chunkList } : header;
      return await this.#locks.run(header.digest, () => this.#commit(full, blob, attestations));
    } catch (error) {
      opened.content.destroy();
      throw error;
    }
  }

  /**
   * Commits an uploaded image: its record is created in the bucket if absent (the commit
   * point), then indexed. When another push (of this process or another one) committed the same
   * image first, ours is redundant: its blob goes and its attestations are added to the winner.
   */
  async #commit(header: ImageHeader, blob: ImageRecord['blob'], attestations: readonly Attestation[]): Promise<PushResult> {
    const raced = await this.read.find(header.digest);
    if (raced) {
      await this.store.delete(blob.key);
      if (raced.record.chain !== header.chain || raced.record.height !== header.height) throw this.#conflict(raced);
      return { created: false, image: raced, addedAttestations: await this.#addAttestations(raced, attestations) };
    }
    const record: ImageRecord = {
      chain: header.chain,
      height: header.height,
      digest: header.digest,
      ...(header.chunkList ? { chunkList: header.chunkList } : {}),
      size: header.size,
      contentType: header.contentType,
      createdAt: header.createdAt,
      storedAt: this.#now(),
      producer: header.attestations[0] as HeaderAttestation,
      blob,
    };
    let created: boolean;
    try {
      created = await this.store.createIfAbsent(imageRecordKey(header.chain, header.height, header.digest), encodeImageRecord(record));
    } catch (error) {
      await this.store.delete(blob.key).catch(() => undefined);
      throw error;
    }
    if (!created) {
      // Another process committed the same image first: ours is redundant; index the winner.
      await this.store.delete(blob.key);
      const winner = await this.#loadRecord(header.chain, header.height, header.digest);
      const image = await this.index(winner);
      return { created: false, image, addedAttestations: await this.#addAttestations(image, attestations) };
    }
    const image = await this.index(record);
    if (image.record.chain !== record.chain || image.record.height !== record.height) {
      // Another process indexed the same content under another chain or height between our
      // check and our commit: its row won; ours goes, record and blob.
      await this.store.delete(imageRecordKey(record.chain, record.height, record.digest));
      await this.store.delete(blob.key);
      throw this.#conflict(image);
    }
    await this.#emit({ type: 'image.available', chain: record.chain, height: record.height, digest: record.digest, validator: record.producer.validator });
    const added = await this.#addAttestations(image, attestations.slice(1));
    // Logged by the caller, which knows the request (id, client).
    return { created: true, image: (await this.read.find(record.digest)) ?? image, addedAttestations: [record.producer.validator, ...added] };
  }

  /**
   * Indexes a committed image record (idempotent): its row and its producer's attestation. Used
   * by commits and by reconciliation, which adopts records whose row a crash left unwritten.
   */
  async index(record: ImageRecord): Promise<ArchivedImage> {
    const inserted = await this.metadata.insertImage({
      digest: record.digest,
      chain: record.chain,
      height: record.height,
      size: record.size,
      contentType: record.contentType,
      createdAt: record.createdAt,
      storedAt: record.storedAt,
      producer: record.producer.validator,
      record: encodeIndexedRecord(record),
    });
    // Not inserted and not there: a deletion of this image is under way (its tombstone stands);
    // the record and blob about to go must not be listed again.
    if (!inserted && !(await this.metadata.image(record.digest))) {
      throw new CairnError('PRECONDITION_FAILED', `${record.digest} is being deleted by retention; push it again once the deletion completes`);
    }
    await this.metadata.addAttestation(record.digest, record.producer.validator, encodeAttestation(attestationOf(record, record.producer)));
    return this.read.image(record.digest);
  }

  async #loadRecord(chain: string, height: number, digest: Digest): Promise<ImageRecord> {
    return decodeImageRecord(await readObject(this.store, imageRecordKey(chain, height, digest)));
  }

  /** Stores the attestations not yet stored (already verified by the caller); returns their validators. */
  async #addAttestations(image: ArchivedImage, attestations: readonly Attestation[]): Promise<string[]> {
    const added: string[] = [];
    const r = image.record;
    for (const attestation of attestations) {
      const statement = encodeAttestation(attestation);
      // The bucket first (the durable copy), then the row; the producer's lives in the record.
      if (attestation.validator !== r.producer.validator) await this.store.createIfAbsent(attestationKey(r.digest, attestation.validator), statement);
      if (!(await this.metadata.addAttestation(r.digest, attestation.validator, statement))) continue;
      added.push(attestation.validator);
      await this.#emit({ type: 'image.attested', chain: r.chain, height: r.height, digest: r.digest, validator: attestation.validator });
    }
    await this.#checkFinality(image);
    return added;
  }

  /**
   * Records and announces the moment an image's attestations first carry > 2/3 of the registry's
   * weight. An image whose finality an admin revoked is not made final again by attestations.
   */
  async #checkFinality(image: ArchivedImage): Promise<void> {
    if (image.finalizedAt !== undefined) return;
    const r = image.record;
    const attesters = (await this.read.attesters([image])).get(r.digest) ?? [];
    if (!this.read.quorum(r.chain, attesters).final) return;
    if (await this.store.head(revocationKey(r.digest))) return;
    const finalizedAt = this.#now();
    await this.store.createIfAbsent(finalityKey(r.digest), encodeCbor({ v: 1, finalizedAt }));
    // The finality and its announcement commit together: a node following the feed never misses it.
    const announcement: ArchiveEvent = { type: 'image.finalized', chain: r.chain, height: r.height, digest: r.digest, at: finalizedAt };
    if (!(await this.metadata.markFinal(r.digest, finalizedAt, announcement))) return;
    this.#logger.info('image finalized', { chain: r.chain, height: r.height, digest: r.digest });
    this.#notify(announcement);
  }

  /**
   * Adds one standalone attestation to an archived image: it must name the image's chain,
   * height, digest, size and content type, and verify under the validator's registered keys.
   * Idempotent. Returns whether it was new.
   */
  async attest(attestation: Attestation): Promise<{ added: boolean; image: ArchivedImage }> {
    const found = await this.read.image(attestation.digest);
    const r = found.record;
    if (attestation.chain !== r.chain || attestation.height !== r.height || attestation.size !== r.size || attestation.contentType !== r.contentType) {
      throw new CairnError('INVALID_ARGUMENT', 'attestation does not match the archived image (chain, height, size or content type)', {
        details: { chain: r.chain, height: r.height, size: r.size, contentType: r.contentType },
      });
    }
    this.#checkAttestation(this.#chain(r.chain), attestation);
    const added = await this.#locks.run(r.digest, async () => this.#addAttestations(await this.read.image(r.digest), [attestation]));
    return { added: added.length > 0, image: await this.read.image(r.digest) };
  }

  /** Keeps an S3 legal hold on the image's blob (Object Lock buckets only); recorded, so done once. */
  async protect(image: ArchivedImage): Promise<boolean> {
    if (!this.store.setLegalHold || image.legalHold) return false;
    await this.store.setLegalHold(image.record.blob.key, true);
    await this.metadata.setLegalHold(image.record.digest, this.#now());
    return true;
  }

  /**
   * Revokes an image's proven finality — the only way finality ends (a registry change does not
   * end it). Recorded in the bucket with its reason (and the proof's time), the proof removed, the
   * row updated, and announced (`image.finality-revoked`). Attestations do not make it final again.
   */
  async revokeFinality(digest: Digest, reason: string): Promise<ArchivedImage> {
    return this.#locks.run(digest, async () => {
      const image = await this.read.image(digest);
      if (image.finalizedAt === undefined) throw new CairnError('PRECONDITION_FAILED', `${digest} is not final: there is nothing to revoke`);
      const r = image.record;
      await this.store.put(revocationKey(digest), encodeCbor({ v: 1, revokedAt: this.#now(), reason, finalizedAt: image.finalizedAt }));
      await this.metadata.revokeFinal(digest);
      await this.store.delete(finalityKey(digest));
      this.#logger.warn('finality revoked', { chain: r.chain, height: r.height, digest, reason });
      await this.#emit({ type: 'image.finality-revoked', chain: r.chain, height: r.height, digest });
      return this.read.image(digest);
    });
  }

  /**
   * Places an admin hold on an image (idempotent). Under the image's lock, like a deletion: a
   * hold acknowledged is never followed by a retention deletion decided before it.
   */
  async hold(digest: Digest, reason?: string): Promise<ArchivedImage> {
    return this.#locks.run(digest, async () => {
      await this.read.image(digest);
      const heldAt = this.#now();
      await this.store.put(holdKey(digest), encodeCbor({ v: 1, heldAt, ...(reason ? { reason } : {}) }));
      await this.metadata.setHeld(digest, heldAt);
      return this.read.image(digest);
    });
  }

  /** Lifts an admin hold (idempotent). */
  async release(digest: Digest): Promise<ArchivedImage> {
    await this.read.image(digest);
    await this.store.delete(holdKey(digest));
    await this.metadata.setHeld(digest, undefined);
    return this.read.image(digest);
  }

  /**
   * Deletes an image: its row first, with a tombstone in the same transaction (from then on no
   * process lists, serves or indexes it again), then its record, its attestations, finality
   * record, hold, delete mark, its sealed content, and last the tombstone. A crash in between
   * leaves a tombstone that reconciliation uses to finish the deletion (`finishDeletions`).
   * Never a listed image without its blob: a push racing the deletion is refused, not listed.
   */
  async deleteImage(digest: Digest, options: { confirm?: (image: ArchivedImage) => Promise<boolean> } = {}): Promise<boolean> {
    return this.#locks.run(digest, async () => {
      const image = await this.read.image(digest);
      // The caller's last word, from fresh state, before anything (the legal hold included) goes.
      if (options.confirm && !(await options.confirm(image))) return false;
      const r = image.record;
      const attesters = (await this.read.attesters([image])).get(digest) ?? [];
      // A legal hold would make the blob undeletable: lift it before anything goes.
      if (this.store.setLegalHold) await this.store.setLegalHold(r.blob.key, false);
      // A confirmed deletion goes only if no process held the image or recorded its finality
      // since the confirmation read it (the lock above is this process's only).
      if (!(await this.metadata.deleteImage(digest, options.confirm ? { finalizedAt: image.finalizedAt } : undefined))) {
        if (image.legalHold && this.store.setLegalHold) await this.store.setLegalHold(r.blob.key, true);
        return false;
      }
      await this.store.delete(imageRecordKey(r.chain, r.height, r.digest));
      await Promise.all([
        ...attesters.filter((v) => v !== r.producer.validator).map((v) => this.store.delete(attestationKey(digest, v))),
        this.store.delete(finalityKey(digest)),
        this.store.delete(revocationKey(digest)),
        this.store.delete(holdKey(digest)),
        this.store.delete(markKey(digest)),
      ]);
      await this.store.delete(r.blob.key);
      await this.metadata.finishDeletion(digest);
      this.#logger.info('image deleted', { chain: r.chain, height: r.height, digest });
      await this.#emit({ type: 'image.deleted', chain: r.chain, height: r.height, digest });
      return true;
    });
  }

  /** Releases the store and the database. */
  async close(): Promise<void> {
    await this.metadata.close();
    await this.store.close();
  }
}

/** Opens the archive: loads (or seeds) the stored registry. No work per image. */
export async function openArchive(options: ArchiveOptions): Promise<Archive> {
  const { registry, seeded } = await loadOrSeedRegistry(options.store, options.registry);
  if (seeded) options.logger.info('registry seeded into the store', { chains: registry.chains.size });
  return new Archive({ ...options, registry });
}

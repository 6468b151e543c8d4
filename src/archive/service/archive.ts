/**
 * The archive service: accepts pushed image files, keeps them sealed in the blob store, and
 * serves images, content ranges and attestations. The store is the only source of truth; the
 * index is rebuilt from it by {@link openArchive}.
 *
 * A push is checked in this order, so nothing is stored for a bad one:
 *  1. preamble and header (size limit, structure);
 *  2. chain and validators registered, every attestation's signature (before any content);
 *  3. content streamed through SHA3-256 and sealing into a new blob object; the reader fails the
 *     stream on a digest or size mismatch before the last chunk, so the upload is aborted;
 *  4. the image record is created if absent: the commit point.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { Digest } from '../digest.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { attestationOf, decodeAttestation, encodeAttestation, verifyAttestation } from '../image/attestation.ts';
import { quorumOf, type QuorumStatus } from '../image/finality.ts';
import type { Attestation, HeaderAttestation, ImageHeader } from '../image/format.ts';
import { orderAttestations } from '../image/header-codec.ts';
import { openImage } from '../image/image-reader.ts';
import type { ChainRegistry, Registry } from '../registry/registry.ts';
import { readObject, type BlobStore } from '../store/blob-store.ts';
import type { ImageIndex} from './image-index.ts';
import { type IndexedImage, type ListOptions } from './image-index.ts';
import { decodeImageRecord, encodeImageRecord, type ImageRecord } from './image-record.ts';
import { attestationKey, finalityKey, holdKey, imageRecordKey, markKey, newBlobKey } from './layout.ts';
import { encodeCbor } from '../cbor/deterministic-cbor.ts';
import { loadIndex } from './load-index.ts';
import { KeyedMutex } from '../concurrency.ts';
import { loadOrSeedRegistry } from './registry-store.ts';
import { openSealedContent, storeSealedContent } from './sealed-content.ts';

/** Everything the archive needs from its host. */
export interface ArchiveOptions {
  readonly store: BlobStore;
  readonly keyring: Keyring;
  /** The registry to store when the store has none yet; the stored one wins otherwise. */
  readonly registry: Registry;
  readonly logger: Logger;
  /** Header size limit for pushes. */
  readonly maxHeaderBytes: number;
  /** Milliseconds since the epoch (injectable for tests). */
  readonly now?: () => number;
  /** How far in the future an attestation's signedAt may be (default 5 minutes). */
  readonly maxClockSkewMs?: number;
}

/** Something that happened to an archived image (the seed's gossip, as announcements). */
export interface ArchiveEvent {
  readonly type: 'image.available' | 'image.attested' | 'image.finalized' | 'image.deleted';
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
  readonly image: IndexedImage;
  /** Validators whose attestations this push added. */
  readonly addedAttestations: readonly string[];
}

/** A readable range of content. */
export interface ContentRange {
  readonly start: number;
  readonly end: number;
  readonly body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  await pipeline(stream, new Writable({ write: (_c, _e, cb) => cb() }));
}

/** The archive. Create with {@link openArchive}. */
export class Archive {
  readonly store: BlobStore;
  readonly #keyring: Keyring;
  readonly #logger: Logger;
  readonly #maxHeaderBytes: number;
  readonly #now: () => number;
  readonly #index: ImageIndex;
  readonly #locks = new KeyedMutex<Digest>();
  readonly #uploading = new Set<string>();
  readonly #listeners = new Set<(event: ArchiveEvent) => void>();
  readonly #maxSkewMs: number;
  #registry: Registry;

  constructor(options: ArchiveOptions, index: ImageIndex) {
    this.store = options.store;
    this.#keyring = options.keyring;
    this.#logger = options.logger;
    this.#maxHeaderBytes = options.maxHeaderBytes;
    this.#now = options.now ?? Date.now;
    this.#registry = options.registry;
    this.#index = index;
    this.#maxSkewMs = options.maxClockSkewMs ?? 5 * 60 * 1000;
  }

  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: (event: ArchiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Emits an event to every subscriber (a throwing subscriber does not affect the others). */
  emit(event: Omit<ArchiveEvent, 'at'>): void {
    const full: ArchiveEvent = { ...event, at: this.#now() };
    for (const listener of this.#listeners) {
      try {
        listener(full);
      } catch (error) {
        this.#logger.error('event listener failed', { error });
      }
    }
  }

  /** Records and announces the moment an image first becomes final. */
  async #checkFinality(entry: IndexedImage): Promise<void> {
    if (entry.finalizedAt !== undefined || !this.quorum(entry).final) return;
    entry.finalizedAt = this.#now();
    await this.store.createIfAbsent(finalityKey(entry.record.digest), encodeCbor({ v: 1, finalizedAt: entry.finalizedAt }));
    const r = entry.record;
    this.#logger.info('image finalized', { chain: r.chain, height: r.height, digest: r.digest });
    this.emit({ type: 'image.finalized', chain: r.chain, height: r.height, digest: r.digest });
  }

  /** The current validator registry. */
  get registry(): Registry {
    return this.#registry;
  }

  /** Replaces the in-memory registry after it was updated in the store. */
  setRegistry(registry: Registry): void {
    this.#registry = registry;
  }

  /** True while this process is uploading the blob `key` (cleanup must leave it alone). */
  isUploading(key: string): boolean {
    return this.#uploading.has(key);
  }

  /** The image index (read-only use). */
  get index(): ImageIndex {
    return this.#index;
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
      const existing = this.#index.get(header.digest);
      if (existing && (existing.record.chain !== header.chain || existing.record.height !== header.height)) throw this.#conflict(existing);
      // No lock is ever held while the client's bytes are read: a stalled pusher must not hold
      // up attestations of the image (or anything else). Locks cover only the commit.
      if (existing) {
        await drain(opened.content); // the pusher still has to deliver content that matches
        const added = await this.#locks.run(header.digest, () => {
          if (this.#index.get(header.digest) !== existing) throw new CairnError('PRECONDITION_FAILED', `${header.digest} was deleted while it was being pushed again; push it once more`);
          return this.#addAttestations(existing, attestations);
        });
        return { created: false, image: existing, addedAttestations: added };
      }
      const blobKey = newBlobKey(header.digest);
      this.#uploading.add(blobKey);
      let blob: ImageRecord['blob'];
      try {
        blob = await storeSealedContent(this.store, this.#keyring, blobKey, header.digest, header.size, opened.content);
      } finally {
        this.#uploading.delete(blobKey);
      }
      return await this.#locks.run(header.digest, () => this.#commit(header, blob, attestations));
    } catch (error) {
      opened.content.destroy();
      throw error;
    }
  }

  /**
   * Commits an uploaded image: its record is created if absent (the commit point). When another
   * push (of this process or another one) committed the same image first, ours is redundant: its
   * blob goes and its attestations are added to the winner.
   */
  async #commit(header: ImageHeader, blob: ImageRecord['blob'], attestations: readonly Attestation[]): Promise<PushResult> {
    const raced = this.#index.get(header.digest);
    if (raced) {
      await this.store.delete(blob.key);
      if (raced.record.chain !== header.chain || raced.record.height !== header.height) throw this.#conflict(raced);
      return { created: false, image: raced, addedAttestations: await this.#addAttestations(raced, attestations) };
    }
    const record: ImageRecord = { chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, createdAt: header.createdAt, storedAt: this.#now(), producer: header.attestations[0] as HeaderAttestation, blob };
    let created: boolean;
    try {
      created = await this.store.createIfAbsent(imageRecordKey(header.chain, header.height, header.digest), encodeImageRecord(record));
    } catch (error) {
      await this.store.delete(blob.key).catch(() => undefined);
      throw error;
    }
    if (!created) {
      await this.store.delete(blob.key);
      const winner = await this.#loadRecord(header.chain, header.height, header.digest);
      const entry: IndexedImage = { record: winner, attesters: new Set([winner.producer.validator]) };
      this.#index.add(entry);
      return { created: false, image: entry, addedAttestations: await this.#addAttestations(entry, attestations) };
    }
    const entry: IndexedImage = { record, attesters: new Set([record.producer.validator]) };
    this.#index.add(entry);
    this.emit({ type: 'image.available', chain: record.chain, height: record.height, digest: record.digest, validator: record.producer.validator });
    const added = await this.#addAttestations(entry, attestations.slice(1));
    // Logged by the caller, which knows the request (id, client).
    return { created: true, image: entry, addedAttestations: [record.producer.validator, ...added] };
  }

  #conflict(existing: IndexedImage): CairnError {
    const { chain, height, digest } = existing.record;
    return new CairnError('DIGEST_CONFLICT', `${digest} is archived as ${chain} height ${height}`, { details: { chain, height } });
  }

  async #loadRecord(chain: string, height: number, digest: Digest): Promise<ImageRecord> {
    return decodeImageRecord(await readObject(this.store, imageRecordKey(chain, height, digest)));
  }

  /** Stores the attestations not yet stored (already verified by the caller); returns their validators. */
  async #addAttestations(entry: IndexedImage, attestations: readonly Attestation[]): Promise<string[]> {
    const added: string[] = [];
    for (const attestation of attestations) {
      if (entry.attesters.has(attestation.validator)) continue;
      await this.store.createIfAbsent(attestationKey(entry.record.digest, attestation.validator), encodeAttestation(attestation));
      entry.attesters.add(attestation.validator);
      entry.loaded?.set(attestation.validator, attestation);
      added.push(attestation.validator);
      const r = entry.record;
      this.emit({ type: 'image.attested', chain: r.chain, height: r.height, digest: r.digest, validator: attestation.validator });
    }
    await this.#checkFinality(entry);
    return added;
  }

  /**
   * Adds one standalone attestation to an archived image: it must name the image's chain,
   * height, digest, size and content type, and verify under the validator's registered keys.
   * Idempotent. Returns whether it was new.
   */
  async attest(attestation: Attestation): Promise<{ added: boolean; image: IndexedImage }> {
    const entry = this.image(attestation.digest);
    const r = entry.record;
    if (attestation.chain !== r.chain || attestation.height !== r.height || attestation.size !== r.size || attestation.contentType !== r.contentType) {
      throw new CairnError('INVALID_ARGUMENT', 'attestation does not match the archived image (chain, height, size or content type)', {
        details: { chain: r.chain, height: r.height, size: r.size, contentType: r.contentType },
      });
    }
    this.#checkAttestation(this.#chain(r.chain), attestation);
    const added = await this.#locks.run(r.digest, () => this.#addAttestations(entry, [attestation]));
    return { added: added.length > 0, image: entry };
  }

  /** An archived image, or `NOT_FOUND`. */
  image(digest: Digest): IndexedImage {
    const entry = this.#index.get(digest);
    if (!entry) throw new CairnError('NOT_FOUND', `no archived image ${digest}`);
    return entry;
  }

  /** A page of a chain's images (only the final ones with `final`). */
  list(chain: string, options: ListOptions & { final?: boolean }): { images: IndexedImage[]; nextCursor?: string } {
    this.#chain(chain);
    const { final, ...page } = options;
    return this.#index.list(chain, final ? { ...page, accept: (e) => this.quorum(e).final } : page);
  }

  /** Quorum status of an image under the current registry. */
  quorum(entry: IndexedImage): QuorumStatus {
    const chain = this.#registry.chains.get(entry.record.chain);
    const weights = new Map(chain ? [...chain.validators.values()].map((v) => [v.id, v.weight] as const) : []);
    return quorumOf(entry.attesters, weights);
  }

  /** The highest image of a chain (optionally the highest final one). */
  latest(chain: string, options: { final?: boolean } = {}): IndexedImage | undefined {
    this.#chain(chain);
    return this.#index.latest(chain, options.final ? (e) => this.quorum(e).final : undefined);
  }

  /** Every stored attestation of an image, producer first, then by validator id. */
  async attestations(entry: IndexedImage): Promise<HeaderAttestation[]> {
    if (!entry.loaded) {
      const loaded = new Map<string, Attestation>();
      for await (const info of this.store.list(`attestations/${entry.record.digest.slice(9)}/`)) {
        const attestation = decodeAttestation(await readObject(this.store, info.key));
        if (attestation.digest === entry.record.digest) loaded.set(attestation.validator, attestation);
      }
      entry.loaded = loaded;
    }
    const others = [...entry.loaded.values()].map((a) => ({ validator: a.validator, signedAt: a.signedAt, algorithm: a.algorithm, signature: a.signature }));
    return orderAttestations(entry.record.producer, others);
  }

  /** The image header with every current attestation: what a served image file starts with. */
  async header(entry: IndexedImage): Promise<ImageHeader> {
    const r = entry.record;
    return { chain: r.chain, height: r.height, digest: r.digest, size: r.size, contentType: r.contentType, createdAt: r.createdAt, attestations: await this.attestations(entry) };
  }

  /** Opens plaintext content bytes [start, end] (whole content by default). */
  async content(entry: IndexedImage, start = 0, end = entry.record.size - 1): Promise<ContentRange> {
    const r = entry.record;
    if (r.size === 0) return { start: 0, end: -1, body: [] };
    return { start, end, body: await openSealedContent(this.store, this.#keyring, r.digest, r.size, r.blob, start, end) };
  }

  /** Keeps an S3 legal hold on the image's blob (Object Lock buckets only); idempotent per process. */
  async protect(entry: IndexedImage): Promise<boolean> {
    if (!this.store.setLegalHold || entry.legalHold) return false;
    await this.store.setLegalHold(entry.record.blob.key, true);
    entry.legalHold = true;
    return true;
  }

  /** Places an admin hold on an image (idempotent). */
  async hold(digest: Digest, reason?: string): Promise<IndexedImage> {
    const entry = this.image(digest);
    await this.store.put(holdKey(digest), encodeCbor({ v: 1, heldAt: this.#now(), ...(reason ? { reason } : {}) }));
    entry.held = true;
    return entry;
  }

  /** Lifts an admin hold (idempotent). */
  async release(digest: Digest): Promise<IndexedImage> {
    const entry = this.image(digest);
    await this.store.delete(holdKey(digest));
    entry.held = false;
    return entry;
  }

  /**
   * Deletes an image: the record first (from then on the image does not exist), then its
   * attestations, finality record, hold, delete mark and finally its sealed content. A crash
   * part-way leaves only objects the orphan cleanup removes.
   */
  async deleteImage(digest: Digest): Promise<void> {
    await this.#locks.run(digest, async () => {
      const entry = this.image(digest);
      const r = entry.record;
      // A legal hold would make the blob undeletable: lift it before anything goes.
      if (this.store.setLegalHold) await this.store.setLegalHold(r.blob.key, false);
      await this.store.delete(imageRecordKey(r.chain, r.height, r.digest));
      this.#index.remove(digest);
      // Only objects the index knows exist (anything missed is an orphan the cleanup removes).
      const others = [...entry.attesters].filter((v) => v !== r.producer.validator).map((v) => attestationKey(digest, v));
      await Promise.all([
        ...others.map((key) => this.store.delete(key)),
        ...(entry.finalizedAt === undefined ? [] : [this.store.delete(finalityKey(digest))]),
        ...(entry.held ? [this.store.delete(holdKey(digest))] : []),
        this.store.delete(markKey(digest)),
      ]);
      await this.store.delete(r.blob.key);
      this.#logger.info('image deleted', { chain: r.chain, height: r.height, digest });
      this.emit({ type: 'image.deleted', chain: r.chain, height: r.height, digest });
    });
  }

  /** Releases the store. */
  async close(): Promise<void> {
    await this.store.close();
  }
}

/** Opens the archive: loads (or seeds) the stored registry and rebuilds the index from the store. */
export async function openArchive(options: ArchiveOptions): Promise<Archive> {
  const { registry, seeded } = await loadOrSeedRegistry(options.store, options.registry);
  if (seeded) options.logger.info('registry seeded into the store', { chains: registry.chains.size });
  const index = await loadIndex(options.store, options.logger);
  return new Archive({ ...options, registry }, index);
}

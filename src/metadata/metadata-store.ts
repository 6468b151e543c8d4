/**
 * The metadata contract: the index of the archive and its coordination point, beside the bucket
 * (which stays the durable, self-describing copy). Two drivers implement it — `sqlite`
 * (node:sqlite, a file under the data directory, the embedded default) and `postgres` (several
 * processes on one bucket) — and one conformance suite (test/support/metadata-conformance.ts)
 * holds both to it. Every method answers from the database itself, so every process sees every
 * change at once; nothing here caches.
 */
import type { Digest } from '../archive/digest.ts';

/** One archived image, as indexed. */
export interface ImageRow {
  readonly digest: Digest;
  readonly chain: string;
  readonly height: number;
  readonly size: number;
  readonly contentType: string;
  /** The producer's signedAt (ms). */
  readonly createdAt: number;
  /** When Cairn first stored it (server clock, ms): retention ages count from here. */
  readonly storedAt: number;
  /** The producing validator. */
  readonly producer: string;
  /** The image record exactly as in the bucket (CBOR: blob key, sealing, producer attestation). */
  readonly record: Uint8Array;
  /** When finality was proven (ms), once it was. */
  readonly finalizedAt?: number;
  /** When an admin hold was placed (ms), while it is held. */
  readonly heldAt?: number;
  /** When an S3 legal hold was placed on its blob (ms), while it is there. */
  readonly legalHoldAt?: number;
}

/** A page of one chain's images in (height, digest) order. */
export interface PageQuery {
  readonly fromHeight?: number;
  readonly toHeight?: number;
  /** Start after this image (the previous page's last one). */
  readonly after?: { readonly height: number; readonly digest: string };
  readonly limit: number;
  /** Only images whose finality was proven. */
  readonly finalOnly?: boolean;
  /** Highest first (then `after` means "below"). */
  readonly descending?: boolean;
}

/** What retention needs of an image: no record bytes, so a chain streams cheaply. */
export interface PlanRow {
  readonly digest: Digest;
  readonly height: number;
  readonly storedAt: number;
  readonly size: number;
  readonly final: boolean;
  readonly held: boolean;
}

/** An announcement in the outbox: ids are global, increasing, and resumable across processes. */
export interface EventRow {
  readonly id: number;
  readonly chain: string;
  readonly type: string;
  readonly height: number;
  readonly digest: string;
  readonly validator?: string;
  readonly at: number;
}

/** An image whose deletion started (its row is gone, its objects may not be yet). */
export interface DeletionRow {
  readonly digest: Digest;
  readonly chain: string;
  readonly height: number;
  readonly startedAt: number;
}

/** The contract. All methods reject with CairnErrors (`METADATA_UNAVAILABLE` when the database cannot be reached). */
export interface MetadataStore {
  readonly driver: 'sqlite' | 'postgres';

  /**
   * Indexes an image; resolves false (changing nothing) when its digest is already indexed, or
   * is being deleted (a tombstone stands: see {@link deleteImage}). The tombstone is checked
   * after the insert, so a deletion committed while the insert waited still wins.
   */
  insertImage(row: ImageRow): Promise<boolean>;
  image(digest: Digest): Promise<ImageRow | undefined>;
  page(chain: string, query: PageQuery): Promise<ImageRow[]>;
  /** The highest image of a chain (by height, then digest), optionally the highest final one. */
  latest(chain: string, options?: { finalOnly?: boolean }): Promise<ImageRow | undefined>;
  /** Every image at one height (forks). */
  atHeight(chain: string, height: number): Promise<ImageRow[]>;
  /** A page of a chain's images as {@link PlanRow}s, in (height, digest) order. */
  planRows(chain: string, query: PageQuery): Promise<PlanRow[]>;
  /** The highest distinct heights of a chain, highest first, at most `limit`. */
  topHeights(chain: string, limit: number): Promise<number[]>;
  /** Number of images per chain. */
  counts(): Promise<Map<string, number>>;
  /** The validators with a recorded attestation, per image, for a set of images. */
  attesters(digests: readonly Digest[]): Promise<Map<Digest, string[]>>;
  /**
   * Removes an image and its attestations; resolves whether it was there. With `unchanged`, only
   * while the image is not held and its finality is still what the caller saw (`finalizedAt`,
   * undefined: not final): a hold or a finality recorded meanwhile, by any process, spares it.
   */
  deleteImage(digest: Digest, unchanged?: { finalizedAt: number | undefined }): Promise<boolean>;
  /**
   * The tombstone {@link deleteImage} leaves, in the same transaction as the row's removal,
   * until {@link finishDeletion}: while it stands the image cannot be indexed again.
   */
  deletion(digest: Digest): Promise<DeletionRow | undefined>;
  /** Removes the tombstone once the image's objects are gone. */
  finishDeletion(digest: Digest): Promise<void>;
  /** Tombstones older than `cutoff` (deletions a crash interrupted), oldest first, at most `limit`. */
  deletionsBefore(cutoff: number, limit: number): Promise<DeletionRow[]>;

  /** Records a validator's attestation (its deterministic CBOR); false when that validator's is already there. */
  addAttestation(digest: Digest, validator: string, statement: Uint8Array): Promise<boolean>;
  /** Every recorded attestation of an image, by validator id. */
  attestations(digest: Digest): Promise<Array<{ validator: string; statement: Uint8Array }>>;
  /**
   * Records when finality was proven; false when it already was (the first time stays). With
   * `announce`, that announcement is appended to the outbox in the same transaction, so a
   * finality is never recorded without its announcement (nor announced twice).
   */
  markFinal(digest: Digest, at: number, announce?: Omit<EventRow, 'id'>): Promise<boolean>;
  /** Withdraws a recorded finality proof (an admin's revocation); false when there was none. */
  revokeFinal(digest: Digest): Promise<boolean>;
  /** Places (`at`) or lifts (undefined) an admin hold. */
  setHeld(digest: Digest, at: number | undefined): Promise<void>;
  /** Replaces an image's record bytes (a key rotation rewrapped its data key). */
  setRecord(digest: Digest, record: Uint8Array): Promise<void>;
  /** Records that an S3 legal hold was placed (`at`) on the image's blob, or lifted. */
  setLegalHold(digest: Digest, at: number | undefined): Promise<void>;

  /** Appends an announcement to the outbox; ids are assigned in commit order. */
  appendEvent(event: Omit<EventRow, 'id'>): Promise<EventRow>;
  /** Announcements of a chain after an id, oldest first. */
  eventsAfter(chain: string, afterId: number, limit: number): Promise<EventRow[]>;
  /** Calls `listener` with every announcement appended from now on, by any process, in id order. */
  subscribe(listener: (event: EventRow) => void): () => void;

  /** Takes (or renews, for the same holder) a named lease until `now + ttlMs`; false while another holder has it. */
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;

  /** A named fact kept in the database (e.g. a chain's last epoch length), if set. */
  getSetting(name: string): Promise<string | undefined>;
  /** Sets a named fact. */
  putSetting(name: string, value: string): Promise<void>;
  /** This database's identity: a random id chosen once, when it was first asked for. */
  databaseId(): Promise<string>;
  /** The database server's clock (ms since the epoch); SQLite's is this host's. */
  now(): Promise<number>;
  /** Resolves when the database answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The blob store contract: the only interface between Cairn and its storage. Drivers (memory,
 * fs, s3) implement a small required core; optional capabilities are declared in
 * `capabilities`, never discovered by throwing. Every driver passes the same conformance suite
 * (`test/support/store-conformance.ts`).
 *
 * Keys are relative paths of lowercase `a-z 0-9 . _ -` segments joined by `/` (see
 * {@link assertStoreKey}); the archive's layout is documented in `docs/STORAGE.md`.
 */
import type { Readable } from 'node:stream';
import { CairnError } from '../../errors.ts';

/** Metadata of one stored object. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** Opaque version tag for conditional replaces (quoted S3 ETag, or the fs driver's own). */
  readonly etag: string;
  readonly lastModified: Date;
}

/** An inclusive byte range, as HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Body of a put: whole bytes for small records, a stream for content. */
export type PutBody = Uint8Array | AsyncIterable<Uint8Array>;

/** Options for {@link BlobStore.put}. */
export interface PutOptions {
  /** Body length when known, or an upper bound of it: drivers plan their uploads by it. */
  readonly contentLength?: number;
}

/** A stored object's bytes (a range of them, if asked) and its metadata. */
export interface GetResult {
  readonly body: Readable;
  readonly info: ObjectInfo;
}

/** A multipart upload that was started and never completed or aborted. */
export interface IncompleteUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly initiated: Date;
}

/** What a driver can do beyond the required core. */
export interface StoreCapabilities {
  /** Large puts are multipart uploads that can be left incomplete (and must be aborted). */
  readonly multipart: boolean;
  /** The bucket has S3 Object Lock (legal holds). */
  readonly objectLock: boolean;
}

/** The store contract. All methods reject with {@link CairnError}s. */
export interface BlobStore {
  /** Driver name for logs and metrics: `memory`, `fs`, `s3`. */
  readonly driver: string;
  readonly capabilities: StoreCapabilities;
  /** Writes an object (replacing any), atomically: readers see the old or the whole new one. */
  put(key: string, body: PutBody, options?: PutOptions): Promise<ObjectInfo>;
  /** Creates an object only if the key is absent; resolves false (writing nothing) if present. */
  createIfAbsent(key: string, body: Uint8Array): Promise<boolean>;
  /** Replaces an object only if its etag is still `etag`; resolves false otherwise. */
  replaceIfMatch(key: string, body: Uint8Array, etag: string): Promise<boolean>;
  /** Reads an object or one byte range of it. Rejects `NOT_FOUND`, `RANGE_NOT_SATISFIABLE`. */
  get(key: string, range?: ByteRange): Promise<GetResult>;
  /** Metadata, or undefined when the object does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in ascending key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes an object (every version of it, where the store keeps versions); absent is fine. */
  delete(key: string): Promise<void>;
  /** Incomplete multipart uploads under `prefix` (only when `capabilities.multipart`). */
  listIncompleteUploads?(prefix: string): AsyncIterable<IncompleteUpload>;
  /** Aborts one incomplete multipart upload. */
  abortIncompleteUpload?(upload: IncompleteUpload): Promise<void>;
  /** Places or lifts an S3 Object Lock legal hold on the object's current version (only when `capabilities.objectLock`). */
  setLegalHold?(key: string, on: boolean): Promise<void>;
  /** Whether the store is reachable and the bucket usable (for /readyz). */
  ping(): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

const SEGMENT = /^[a-z0-9][a-z0-9._-]{0,199}$/;

/** True when `key` is a valid store key. */
export function isStoreKey(key: string): boolean {
  if (key.length === 0 || key.length > 1024) return false;
  return key.split('/').every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..');
}

/**
 * Rejects anything that is not a store key: empty, absolute, `..`, uppercase, odd characters.
 * Prefixes for `list` may end with `/`.
 */
export function assertStoreKey(key: string, what = 'key'): void {
  if (!isStoreKey(key)) throw new CairnError('INTERNAL', `invalid store ${what} "${key.slice(0, 120)}"`);
}

/** Validates a list prefix: empty, or a key optionally followed by `/`. */
export function assertStorePrefix(prefix: string): void {
  if (prefix === '') return;
  assertStoreKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
}

/** Checks a range against an object size; throws `RANGE_NOT_SATISFIABLE`. */
export function assertRangeWithin(range: ByteRange, size: number): void {
  if (!(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end)) || range.start < 0 || range.end < range.start || range.end >= size) {
    throw new CairnError('RANGE_NOT_SATISFIABLE', `range ${range.start}-${range.end} is outside an object of ${size} bytes`, { details: { size } });
  }
}

/** Reads a whole (small) object: records, attestations, the registry. */
export async function readObject(store: BlobStore, key: string): Promise<Buffer> {
  const { body } = await store.get(key);
  const parts: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

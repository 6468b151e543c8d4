/**
 * The in-memory index of archived images, rebuilt from the store at start. Per chain, images
 * are kept sorted by (height, digest) for range queries and cursors.
 */
import { CairnError } from '../../errors.ts';
import type { Digest } from '../digest.ts';
import type { Attestation } from '../image/format.ts';
import type { ImageRecord } from './image-record.ts';

/** One indexed image. */
export interface IndexedImage {
  readonly record: ImageRecord;
  /** Validators with a stored attestation, the producer included. */
  readonly attesters: Set<string>;
  /** Loaded attestations of validators other than the producer (filled lazily). */
  loaded?: Map<string, Attestation>;
  /** When the image first reached finality (server clock, ms), once it has. */
  finalizedAt?: number;
  /** An admin hold keeps the image whatever the retention rules say. */
  held?: boolean;
  /** This process has placed an S3 legal hold on the image's blob. */
  legalHold?: boolean;
}

/** Options for {@link ImageIndex.list}. */
export interface ListOptions {
  readonly fromHeight?: number;
  readonly toHeight?: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
  readonly limit: number;
  /** Only images this accepts (e.g. the final ones); the page is filled from those. */
  readonly accept?: (entry: IndexedImage) => boolean;
}

function compare(a: ImageRecord, b: { height: number; digest: string }): number {
  return a.height - b.height || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
}

function encodeCursor(record: ImageRecord): string {
  return Buffer.from(`${record.height}:${record.digest.slice(9)}`).toString('base64url');
}

function decodeCursor(cursor: string): { height: number; digest: string } {
  const match = /^(\d{1,16}):([0-9a-f]{64})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new CairnError('INVALID_ARGUMENT', 'invalid cursor');
  return { height: Number(match[1]), digest: `sha3-256:${match[2] as string}` };
}

/** The index. Not thread-safe by design: Node runs it on one thread. */
export class ImageIndex {
  readonly #byDigest = new Map<Digest, IndexedImage>();
  readonly #byChain = new Map<string, IndexedImage[]>();

  /** Number of images. */
  get size(): number {
    return this.#byDigest.size;
  }

  /** Chains with at least one image. */
  chains(): string[] {
    return [...this.#byChain.keys()].sort();
  }

  get(digest: Digest): IndexedImage | undefined {
    return this.#byDigest.get(digest);
  }

  /** Adds an image (replacing one with the same digest). */
  add(entry: IndexedImage): void {
    this.remove(entry.record.digest);
    this.#byDigest.set(entry.record.digest, entry);
    const list = this.#byChain.get(entry.record.chain) ?? [];
    list.splice(this.#position(list, entry.record), 0, entry);
    this.#byChain.set(entry.record.chain, list);
  }

  /** Removes an image; returns it if it was there. */
  remove(digest: Digest): IndexedImage | undefined {
    const entry = this.#byDigest.get(digest);
    if (!entry) return undefined;
    this.#byDigest.delete(digest);
    const list = this.#byChain.get(entry.record.chain) ?? [];
    const at = this.#position(list, entry.record);
    if (list[at] === entry) list.splice(at, 1);
    if (list.length === 0) this.#byChain.delete(entry.record.chain);
    return entry;
  }

  /** Every image of `chain`, ascending by height. */
  all(chain: string): readonly IndexedImage[] {
    return this.#byChain.get(chain) ?? [];
  }

  /** One page of a chain's images in ascending (height, digest) order. */
  list(chain: string, options: ListOptions): { images: IndexedImage[]; nextCursor?: string } {
    const list = this.all(chain);
    let start = options.fromHeight === undefined ? 0 : this.#position(list, { height: options.fromHeight, digest: '' });
    if (options.cursor) {
      const after = decodeCursor(options.cursor);
      start = Math.max(start, this.#position(list, after));
      const atCursor = list[start];
      if (atCursor && compare(atCursor.record, after) === 0) start++;
    }
    const images: IndexedImage[] = [];
    let i = start;
    for (; i < list.length && images.length < options.limit; i++) {
      const entry = list[i] as IndexedImage;
      if (options.toHeight !== undefined && entry.record.height > options.toHeight) break;
      if (!options.accept || options.accept(entry)) images.push(entry);
    }
    while (options.accept && i < list.length && !options.accept(list[i] as IndexedImage)) i++;
    const more = i < list.length && (options.toHeight === undefined || (list[i] as IndexedImage).record.height <= options.toHeight);
    const last = images.at(-1);
    return more && last ? { images, nextCursor: encodeCursor(last.record) } : { images };
  }

  /** The highest image of `chain` that satisfies `accept`, if any. */
  latest(chain: string, accept: (entry: IndexedImage) => boolean = () => true): IndexedImage | undefined {
    const list = this.all(chain);
    for (let i = list.length - 1; i >= 0; i--) if (accept(list[i] as IndexedImage)) return list[i];
    return undefined;
  }

  #position(list: readonly IndexedImage[], key: { height: number; digest: string }): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare((list[mid] as IndexedImage).record, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

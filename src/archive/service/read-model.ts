/**
 * The archive's read model: every question about archived images answered by an indexed query on
 * the metadata database (so every process sees every change at once), and their bytes read from
 * the blob store. The write path is `archive.ts`; the HTTP routes, the SFTP tree, the dashboard
 * and retention read through here.
 */
import { CairnError } from '../../errors.ts';
import type { ImageRow, MetadataStore } from '../../metadata/index.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { isChunkListDigest, type Digest } from '../digest.ts';
import { decodeAttestation } from '../image/attestation.ts';
import { quorumOf, type QuorumStatus } from '../image/finality.ts';
import type { HeaderAttestation, ImageHeader } from '../image/format.ts';
import { orderAttestations } from '../image/header-codec.ts';
import type { Registry } from '../registry/registry.ts';
import { readObject, type BlobStore } from '../store/blob-store.ts';
import { decodeImageRecord } from './image-record.ts';
import { imageRecordKey } from './layout.ts';
import { archivedImage, decodeCursor, encodeCursor, type ArchivedImage } from './archived-image.ts';
import { openSealedContent, zstdContentOf, type ZstdContent } from './sealed-content.ts';


/** Bytes of chunk lists the read model keeps (≈ 450 GiB of content at the 1 MiB average). */
const LIST_CACHE_BYTES = 16 * 1024 * 1024;
/** Options for {@link ReadModel.list}. */
export interface ListOptions {
  readonly fromHeight?: number;
  readonly toHeight?: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
  readonly limit: number;
  /** Only images whose finality was proven. */
  readonly final?: boolean;
}

/** A readable range of content. */
export interface ContentRange {
  readonly start: number;
  readonly end: number;
  readonly body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** Finality as shown: proven (recorded) or not, and the weights under today's registry. */
export interface FinalityView extends QuorumStatus {
  readonly finalizedAt?: number;
}

/** Reads of the archive. */
export class ReadModel {
  readonly #meta: MetadataStore;
  readonly #store: BlobStore;
  /** Chunk lists read from the bucket, least recently used first. */
  readonly #lists = new Map<Digest, Uint8Array>();
  #listBytes = 0;
  readonly #keyring: Keyring;
  readonly #registry: () => Registry;

  constructor(meta: MetadataStore, store: BlobStore, keyring: Keyring, registry: () => Registry) {
    this.#meta = meta;
    this.#store = store;
    this.#keyring = keyring;
    this.#registry = registry;
  }

  #knownChain(chain: string): void {
    if (!this.#registry().chains.has(chain)) throw new CairnError('UNKNOWN_CHAIN', `chain ${chain} is not in the registry`, { details: { chain } });
  }

  /** An archived image, if there is one. */
  async find(digest: Digest): Promise<ArchivedImage | undefined> {
    const row = await this.#meta.image(digest);
    return row ? archivedImage(row) : undefined;
  }

  /** An archived image, or `NOT_FOUND`. */
  async image(digest: Digest): Promise<ArchivedImage> {
    const found = await this.find(digest);
    if (!found) throw new CairnError('NOT_FOUND', `no archived image ${digest}`);
    return found;
  }

  /** A page of a chain's images by (height, digest). */
  async list(chain: string, options: ListOptions): Promise<{ images: ArchivedImage[]; nextCursor?: string }> {
    const page = await this.listRows(chain, options);
    return { images: page.rows.map(archivedImage), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }

  /** The same page as database rows: for listings, which need no decoded record. */
  async listRows(chain: string, options: ListOptions): Promise<{ rows: ImageRow[]; nextCursor?: string }> {
    this.#knownChain(chain);
    const after = options.cursor ? decodeCursor(options.cursor) : undefined;
    const rows = await this.#meta.page(chain, {
      limit: options.limit + 1,
      ...(options.fromHeight === undefined ? {} : { fromHeight: options.fromHeight }),
      ...(options.toHeight === undefined ? {} : { toHeight: options.toHeight }),
      ...(after ? { after } : {}),
      ...(options.final ? { finalOnly: true } : {}),
    });
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return rows.length > options.limit && last ? { rows: page, nextCursor: encodeCursor(last) } : { rows: page };
  }

  /** The validators that attested each of these images (by digest). */
  attestersOf(digests: readonly Digest[]): Promise<Map<Digest, string[]>> {
    return this.#meta.attesters(digests);
  }

  /** The highest image of a chain (the highest final one with `final`). */
  async latest(chain: string, options: { final?: boolean } = {}): Promise<ArchivedImage | undefined> {
    this.#knownChain(chain);
    const row = await this.#meta.latest(chain, options.final ? { finalOnly: true } : {});
    return row ? archivedImage(row) : undefined;
  }

  /** The newest `limit` images of a chain below `before` (all heights without it), highest first. */
  async newest(chain: string, limit: number, before?: number): Promise<ArchivedImage[]> {
    if (before !== undefined && before <= 0) return [];
    return (await this.#meta.page(chain, { limit, descending: true, ...(before === undefined ? {} : { toHeight: before - 1 }) })).map(archivedImage);
  }

  /** Every image of a chain at one height (forks). */
  async atHeight(chain: string, height: number): Promise<ArchivedImage[]> {
    return (await this.#meta.atHeight(chain, height)).map(archivedImage);
  }

  /** Every image of a chain, a page at a time (lowest first, or highest first). */
  async *all(chain: string, options: { descending?: boolean; pageSize?: number } = {}): AsyncGenerator<ArchivedImage> {
    let after: { height: number; digest: string } | undefined;
    const limit = options.pageSize ?? 1000;
    for (;;) {
      const rows = await this.#meta.page(chain, { limit, ...(options.descending ? { descending: true } : {}), ...(after ? { after } : {}) });
      for (const row of rows) yield archivedImage(row);
      const last = rows.at(-1);
      if (!last || rows.length < limit) return;
      after = { height: last.height, digest: last.digest };
    }
  }

  /** Images per chain. */
  counts(): Promise<Map<string, number>> {
    return this.#meta.counts();
  }

  /** The validators that attested each image (the producer included). */
  async attesters(images: readonly ArchivedImage[]): Promise<Map<Digest, string[]>> {
    return this.#meta.attesters(images.map((i) => i.record.digest));
  }

  /** Finality of an image: proven or not, and its attested weight under today's registry. */
  finalityOf(image: ArchivedImage, attesters: readonly string[]): FinalityView {
    const quorum = this.quorum(image.record.chain, attesters);
    return { ...quorum, final: image.finalizedAt !== undefined, ...(image.finalizedAt === undefined ? {} : { finalizedAt: image.finalizedAt }) };
  }

  /** The chain's validators and their weights in today's registry (empty for an unknown chain). */
  weights(chain: string): Map<string, number> {
    const entry = this.#registry().chains.get(chain);
    return new Map(entry ? [...entry.validators.values()].map((v) => [v.id, v.weight] as const) : []);
  }

  /** Whether `attesters` hold more than 2/3 of the chain's weight in today's registry. */
  quorum(chain: string, attesters: readonly string[]): QuorumStatus {
    return quorumOf(attesters, this.weights(chain));
  }

  /** Every recorded attestation of an image, producer first, then by validator id. */
  async attestations(image: ArchivedImage): Promise<HeaderAttestation[]> {
    const producer = image.record.producer;
    const others: HeaderAttestation[] = [];
    for (const { validator, statement } of await this.#meta.attestations(image.record.digest)) {
      if (validator === producer.validator) continue;
      const a = decodeAttestation(statement);
      if (a.digest === image.record.digest) others.push({ validator: a.validator, signedAt: a.signedAt, algorithm: a.algorithm, signature: a.signature });
    }
    return orderAttestations(producer, others);
  }

  /** The image header with every current attestation (and, v2, its chunk list): what a served image file starts with. */
  async header(image: ArchivedImage): Promise<ImageHeader> {
    const r = image.record;
    const header = { chain: r.chain, height: r.height, digest: r.digest, size: r.size, contentType: r.contentType, createdAt: r.createdAt, attestations: await this.attestations(image) };
    const chunkList = await this.chunkList(image);
    return chunkList ? { ...header, chunkList } : header;
  }

  /**
   * A v2 image's chunk list: from the record in the bucket (database rows do not carry it), kept
   * in a small cache by digest — lists never change — of at most {@link LIST_CACHE_BYTES}.
   * Undefined for a v1 image.
   */
  async chunkList(image: ArchivedImage): Promise<Uint8Array | undefined> {
    const r = image.record;
    if (r.chunkList || !isChunkListDigest(r.digest)) return r.chunkList;
    const cached = this.#lists.get(r.digest);
    if (cached) {
      this.#lists.delete(r.digest);
      this.#lists.set(r.digest, cached);
      return cached;
    }
    const { chunkList } = decodeImageRecord(await readObject(this.#store, imageRecordKey(r.chain, r.height, r.digest)));
    if (!chunkList) throw new CairnError('INTEGRITY_ERROR', `the stored record of ${r.digest} has no chunk list`);
    this.#lists.set(r.digest, chunkList);
    this.#listBytes += chunkList.length;
    for (const [digest, list] of this.#lists) {
      if (this.#listBytes <= LIST_CACHE_BYTES || digest === r.digest) break;
      this.#lists.delete(digest);
      this.#listBytes -= list.length;
    }
    return chunkList;
  }

  /** Opens plaintext content bytes [start, end] (whole content by default). */
  async content(image: ArchivedImage, start = 0, end = image.record.size - 1): Promise<ContentRange> {
    const r = image.record;
    if (r.size === 0) return { start: 0, end: -1, body: [] };
    return { start, end, body: await openSealedContent(this.#store, this.#keyring, r.digest, r.size, r.blob, start, end) };
  }

  /**
   * The whole content as a zstd stream, exactly as stored (decrypted, not decompressed), or
   * undefined when the image's content is not compressed at rest.
   */
  zstdContent(image: ArchivedImage): ZstdContent | undefined {
    const r = image.record;
    return zstdContentOf(this.#store, this.#keyring, r.digest, r.size, r.blob);
  }
}

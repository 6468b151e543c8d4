/**
 * The manifest of an archived image: everything a client needs to decide what to fetch and to
 * verify it offline (every attestation with its signature). JSON by default, deterministic CBOR
 * on `Accept: application/cbor`. Times are milliseconds since the epoch, as signed.
 */
import { digestKeyPart, type Archive, type ArchivedImage } from '../archive/index.ts';
import type { ImageRow } from '../metadata/index.ts';
import { openImageFile } from '../archive/service/image-file.ts';

/** Listing entry of an image. */
export interface ImageSummary {
  digest: string;
  chain: string;
  height: number;
  size: number;
  contentType: string;
  createdAt: number;
  storedAt: number;
  producer: string;
  attesters: string[];
  /** Finality was proven (recorded when > 2/3 of the registry's weight had attested). */
  final: boolean;
  finalizedAt?: number;
}

/** Full manifest of an image. */
export interface Manifest extends Omit<ImageSummary, 'attesters'> {
  attestations: Array<{ validator: string; algorithm: string; signedAt: number; signature: Uint8Array }>;
  finality: { final: boolean; attestedWeight: number; totalWeight: number; finalizedAt?: number };
  file: { url: string; size: number; headerBytes: number; etag: string };
  content: { url: string; etag: string };
}

function summaryOf(image: ArchivedImage, attesters: readonly string[]): ImageSummary {
  const r = image.record;
  return { digest: r.digest, chain: r.chain, height: r.height, size: r.size, contentType: r.contentType, createdAt: r.createdAt, storedAt: r.storedAt, producer: r.producer.validator, attesters: [...attesters].sort(), final: image.finalizedAt !== undefined, ...(image.finalizedAt === undefined ? {} : { finalizedAt: image.finalizedAt }) };
}

/** The listing summaries of database rows (no record decoded; one query for all their attesters). */
export async function rowSummaries(archive: Archive, rows: readonly ImageRow[]): Promise<ImageSummary[]> {
  const attesters = await archive.read.attestersOf(rows.map((r) => r.digest));
  return rows.map((r) => ({ digest: r.digest, chain: r.chain, height: r.height, size: r.size, contentType: r.contentType, createdAt: r.createdAt, storedAt: r.storedAt, producer: r.producer, attesters: [...(attesters.get(r.digest) ?? [])].sort(), final: r.finalizedAt !== undefined, ...(r.finalizedAt === undefined ? {} : { finalizedAt: r.finalizedAt }) }));
}

/** The listing summaries of images (one query for all their attesters). */
export async function summaries(archive: Archive, images: readonly ArchivedImage[]): Promise<ImageSummary[]> {
  const attesters = await archive.read.attesters(images);
  return images.map((image) => summaryOf(image, attesters.get(image.record.digest) ?? []));
}

/** The content's strong ETag: the digest. */
export function contentEtag(image: ArchivedImage): string {
  return `"${digestKeyPart(image.record.digest)}"`;
}

/** Builds the manifest. */
export async function manifest(archive: Archive, image: ArchivedImage): Promise<Manifest> {
  // Every attestation, also those a large validator set leaves out of the served file (FORMAT.md §5.1).
  const { attestations, prefix, etag } = await openImageFile(archive, image);
  const attesters = attestations.map((a) => a.validator);
  const { attesters: _attesters, ...base } = summaryOf(image, attesters);
  const finality = archive.read.finalityOf(image, attesters);
  const url = `/v1/images/${image.record.digest}`;
  return {
    ...base,
    attestations: attestations.map((a) => ({ validator: a.validator, algorithm: a.algorithm, signedAt: a.signedAt, signature: a.signature })),
    finality: { final: finality.final, attestedWeight: finality.attestedWeight, totalWeight: finality.totalWeight, ...(finality.finalizedAt === undefined ? {} : { finalizedAt: finality.finalizedAt }) },
    file: { url: `${url}/file`, size: prefix.length + image.record.size, headerBytes: prefix.length, etag },
    content: { url: `${url}/content`, etag: contentEtag(image) },
  };
}

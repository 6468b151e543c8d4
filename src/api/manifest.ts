/**
 * The manifest of an archived image: everything a client needs to decide what to fetch and to
 * verify it offline (every attestation with its signature). JSON by default, deterministic CBOR
 * on `Accept: application/cbor`. Times are milliseconds since the epoch, as signed.
 */
import type { Archive } from '../archive/service/archive.ts';
import type { IndexedImage } from '../archive/service/image-index.ts';
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
  final: boolean;
}

/** Full manifest of an image. */
export interface Manifest extends Omit<ImageSummary, 'attesters'> {
  attestations: Array<{ validator: string; algorithm: string; signedAt: number; signature: Uint8Array }>;
  finality: { final: boolean; attestedWeight: number; totalWeight: number };
  file: { url: string; size: number; headerBytes: number; etag: string };
  content: { url: string; etag: string };
}

/** The listing summary of an image. */
export function summary(archive: Archive, entry: IndexedImage): ImageSummary {
  const r = entry.record;
  return { digest: r.digest, chain: r.chain, height: r.height, size: r.size, contentType: r.contentType, createdAt: r.createdAt, storedAt: r.storedAt, producer: r.producer.validator, attesters: [...entry.attesters].sort(), final: archive.quorum(entry).final };
}

/** The content's strong ETag: the digest. */
export function contentEtag(entry: IndexedImage): string {
  return `"${entry.record.digest.slice(9)}"`;
}

/** Builds the manifest. */
export async function manifest(archive: Archive, entry: IndexedImage): Promise<Manifest> {
  const { header, prefix, etag } = await openImageFile(archive, entry);
  const { attesters: _attesters, ...base } = summary(archive, entry);
  const quorum = archive.quorum(entry);
  const url = `/v1/images/${entry.record.digest}`;
  return {
    ...base,
    attestations: header.attestations.map((a) => ({ validator: a.validator, algorithm: a.algorithm, signedAt: a.signedAt, signature: a.signature })),
    finality: { final: quorum.final, attestedWeight: quorum.attestedWeight, totalWeight: quorum.totalWeight },
    file: { url: `${url}/file`, size: prefix.length + entry.record.size, headerBytes: prefix.length, etag },
    content: { url: `${url}/content`, etag: contentEtag(entry) },
  };
}

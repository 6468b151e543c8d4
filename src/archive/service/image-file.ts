/**
 * The served image file: the self-contained image with every attestation the archive holds
 * now — preamble + header (re-encoded with the current attestations) + the stored content,
 * decrypted as it streams. HTTP `/file` and the QSSH/SFTP view both serve it through here.
 * When the content is compressed at rest, the file is also available as a zstd stream: the
 * prefix in a raw frame, then the stored frames of the content as they are.
 */
import { createHash } from 'node:crypto';
import { digestKeyPart } from '../digest.ts';
import { encodeImagePrefix } from '../image/image-writer.ts';
import { servedHeader } from '../image/served-header.ts';
import { rawFrameLength, rawFramePieces } from '../compression/raw-frame.ts';
import type { ImageHeader } from '../image/format.ts';
import type { Archive } from './archive.ts';
import type { ArchivedImage } from './archived-image.ts';

/** A snapshot of an image file: its prefix is fixed when opened, so reads stay consistent. */
export interface ImageFile {
  readonly entry: ArchivedImage;
  /** The served header: every attestation, or a quorum-first subset when they do not fit in 4 MiB (FORMAT.md §5.1). */
  readonly header: ImageHeader;
  /** Every attestation the archive holds, producer first (the manifest lists these). */
  readonly attestations: ImageHeader['attestations'];
  /** Preamble and header bytes. */
  readonly prefix: Uint8Array;
  /** Strong ETag of this representation (digest + hash of the prefix), quoted. */
  readonly etag: string;
  /** Total file size. */
  readonly size: number;
  /** Bytes [start, end] (inclusive) of the file. */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
  /** The whole file as a zstd stream (only when the content is compressed at rest). */
  readonly zstd?: { readonly size: number; read(): AsyncIterable<Uint8Array> };
}

/** Opens the current image file of `entry`. */
export async function openImageFile(archive: Archive, entry: ArchivedImage): Promise<ImageFile> {
  const all = await archive.read.header(entry);
  const header = servedHeader(all, archive.read.weights(entry.record.chain));
  const prefix = encodeImagePrefix(header);
  const tag = createHash('sha3-256').update(prefix).digest('hex').slice(0, 16);
  const contentSize = entry.record.size;
  const zstd = archive.read.zstdContent(entry);
  return {
    entry,
    header,
    attestations: all.attestations,
    prefix,
    etag: `"${digestKeyPart(entry.record.digest)}-${tag}"`,
    size: prefix.length + contentSize,
    async *read(start, end) {
      if (start < prefix.length) yield prefix.subarray(start, Math.min(end + 1, prefix.length));
      const contentStart = Math.max(0, start - prefix.length);
      const contentEnd = end - prefix.length;
      if (contentEnd >= contentStart && contentSize > 0) yield* (await archive.read.content(entry, contentStart, contentEnd)).body;
    },
    ...(zstd
      ? {
          zstd: {
            size: rawFrameLength(prefix.length) + zstd.size,
            async *read() {
              yield* rawFramePieces(prefix);
              yield* await zstd.open();
            },
          },
        }
      : {}),
  };
}

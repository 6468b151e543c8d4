/**
 * Cairn image formats v1 and v2 — constants, types and field rules. `docs/FORMAT.md` is normative.
 *
 *   offset  size  field
 *   0       8     magic            89 43 49 4D 47 0D 0A 1A   ("\x89CIMG\r\n\x1a")
 *   8       2     format version   u16 big-endian, 1 or 2
 *   10      4     header length L  u32 big-endian, 1 ≤ L ≤ 16 MiB
 *   14      L     header           deterministic CBOR map (see ImageHeader)
 *   v2 only:
 *   14+L    36·n  chunk list       n = header.chunks entries (FORMAT.md §12.2)
 *   then    size  content          exactly header.size bytes, then end of file
 *
 * The digest's form decides the version: `sha3-256:` (the content's hash) is v1,
 * `sha3-256-chunks:` (the hash of the chunk list) is v2.
 */
import { CairnError } from '../../errors.ts';
import type { Digest } from '../digest.ts';
import type { SignatureAlgorithm } from '../keys/algorithms.ts';

/** The 8 magic bytes every image file starts with. */
export const IMAGE_MAGIC = Uint8Array.of(0x89, 0x43, 0x49, 0x4d, 0x47, 0x0d, 0x0a, 0x1a);
/** Format v1: the digest is SHA3-256 of the content. */
export const IMAGE_FORMAT_V1 = 1;
/** Format v2: the digest is SHA3-256 of the content's chunk list, which follows the header. */
export const IMAGE_FORMAT_V2 = 2;
/** The format versions this implementation reads and writes. */
export type ImageFormatVersion = typeof IMAGE_FORMAT_V1 | typeof IMAGE_FORMAT_V2;
/** Newest format version, written by default. */
export const IMAGE_FORMAT_VERSION: ImageFormatVersion = IMAGE_FORMAT_V2;
/** Bytes before the header: magic, version, header length. */
export const PREAMBLE_BYTES = 14;
/** Largest header length the format allows. */
export const MAX_HEADER_BYTES_LIMIT = 16 * 1024 * 1024;
/** Default header length limit for readers (configurable up to {@link MAX_HEADER_BYTES_LIMIT}). */
export const DEFAULT_MAX_HEADER_BYTES = 4 * 1024 * 1024;
/** Most attestations one header may carry. */
export const MAX_ATTESTATIONS = 1024;
/** Content type of opaque content. */
export const CONTENT_TYPE_OCTET_STREAM = 'application/octet-stream';
/** Content type of a queue state (see `src/archive/snapshot`). */
export const CONTENT_TYPE_QUEUE_STATE = 'application/vnd.cairn.queue-state+cbor';
/** File name extension of image files. */
export const IMAGE_FILE_EXTENSION = '.cimg';

/** What a validator signs: every field of an attestation but the signature. */
export interface AttestationStatement {
  readonly chain: string;
  readonly height: number;
  readonly digest: Digest;
  readonly size: number;
  readonly contentType: string;
  readonly validator: string;
  /** Milliseconds since the Unix epoch. */
  readonly signedAt: number;
  readonly algorithm: SignatureAlgorithm;
}

/** A signed statement "on chain C, the state at height H has digest D". */
export interface Attestation extends AttestationStatement {
  readonly signature: Uint8Array;
}

/** The signer-specific part of an attestation, as carried in an image header. */
export interface HeaderAttestation {
  readonly validator: string;
  readonly signedAt: number;
  readonly algorithm: SignatureAlgorithm;
  readonly signature: Uint8Array;
}

/** The header of an image file. */
export interface ImageHeader {
  readonly chain: string;
  readonly height: number;
  readonly digest: Digest;
  readonly size: number;
  readonly contentType: string;
  /** Milliseconds since the Unix epoch; equals the producer attestation's signedAt. */
  readonly createdAt: number;
  /** Producer first, then the other validators in ascending id order. */
  readonly attestations: readonly HeaderAttestation[];
  /**
   * Format v2 only (a `sha3-256-chunks:` digest): the encoded chunk list (36 bytes per chunk,
   * FORMAT.md §12.2), which hashes to `digest`. Absent for v1.
   */
  readonly chunkList?: Uint8Array;
}

/** The format version of an image with this header: 2 for a chunk-list digest, else 1. */
export function formatVersionOf(header: Pick<ImageHeader, 'digest'>): ImageFormatVersion {
  return header.digest.startsWith('sha3-256-chunks:') ? IMAGE_FORMAT_V2 : IMAGE_FORMAT_V1;
}

const CHAIN_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const VALIDATOR_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** True for a valid chain id: 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit. */
export function isChainId(value: unknown): value is string {
  return typeof value === 'string' && CHAIN_ID.test(value);
}

/** True for a valid validator id: 1–64 of `A-Z a-z 0-9 . _ @ -`, starting with a letter or digit. */
export function isValidatorId(value: unknown): value is string {
  return typeof value === 'string' && VALIDATOR_ID.test(value);
}

/** True for a valid lowercase `type/subtype` media type without parameters. */
export function isContentType(value: unknown): value is string {
  return typeof value === 'string' && CONTENT_TYPE.test(value);
}

/** True for an integer in [0, 2^53 − 1]. */
export function isUint53(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Throws `INVALID_ARGUMENT` unless `chain` is a valid chain id. */
export function assertChainId(chain: string): void {
  if (!isChainId(chain)) throw new CairnError('INVALID_ARGUMENT', `invalid chain id "${String(chain).slice(0, 70)}": use 1-64 of a-z 0-9 . _ - starting with a letter or digit`);
}

/** Throws `INVALID_ARGUMENT` unless `validator` is a valid validator id. */
export function assertValidatorId(validator: string): void {
  if (!isValidatorId(validator)) throw new CairnError('INVALID_ARGUMENT', `invalid validator id "${String(validator).slice(0, 70)}": use 1-64 of A-Z a-z 0-9 . _ @ - starting with a letter or digit`);
}

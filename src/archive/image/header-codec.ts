/**
 * Encoding and strict decoding of the image preamble and header (formats v1 and v2).
 */
import { CairnError } from '../../errors.ts';
import { decodeCbor, encodeCbor, isCborMap, type CborValue } from '../cbor/deterministic-cbor.ts';
import { algorithmSpec, isSignatureAlgorithm, type SignatureAlgorithm } from '../keys/algorithms.ts';
import { digestFromBytes, digestToBytes } from '../digest.ts';
import { CHUNK_ENTRY_BYTES, chunkCountBounds } from '../chunking/chunk-list.ts';
import { assertExactKeys, signedEntryOf, signerFieldsOf } from './attestation.ts';
import {
  IMAGE_FORMAT_V1,
  IMAGE_FORMAT_V2,
  IMAGE_MAGIC,
  MAX_ATTESTATIONS,
  MAX_HEADER_BYTES_LIMIT,
  PREAMBLE_BYTES,
  isChainId,
  isContentType,
  isUint53,
  formatVersionOf,
  type HeaderAttestation,
  type ImageFormatVersion,
  type ImageHeader,
} from './format.ts';

const HEADER_KEYS = ['attestations', 'chain', 'contentType', 'createdAt', 'digest', 'height', 'size'];
/** Format v2: the chunk-list digest under its own key, and the number of chunks in the list. */
const HEADER_KEYS_V2 = ['attestations', 'chain', 'chunks', 'chunksDigest', 'contentType', 'createdAt', 'height', 'size'];
const ATTESTATION_KEYS = ['algorithm', 'signature', 'signedAt', 'validator'];
/**
 * The most a well-formed header can hold: the header map (7 keys, 7 values), the attestations
 * array, and per attestation a map of 4 keys and 4 values; three levels deep. Checked before
 * decoding, so no header makes the decoder build more than this many items.
 */
export const HEADER_CBOR_BUDGET = { maxItems: 1 + 2 * HEADER_KEYS.length + 1 + MAX_ATTESTATIONS * (1 + 2 * ATTESTATION_KEYS.length), maxDepth: 3 };
/** The same for a v2 header (one more key). */
export const HEADER_CBOR_BUDGET_V2 = { maxItems: HEADER_CBOR_BUDGET.maxItems + 2, maxDepth: 3 };

/** The item budget of a header of format `version`. */
export function headerBudget(version: ImageFormatVersion): { maxItems: number; maxDepth: number } {
  return version === IMAGE_FORMAT_V2 ? HEADER_CBOR_BUDGET_V2 : HEADER_CBOR_BUDGET;
}

/** Encodes the 14-byte preamble for a header of `headerLength` bytes. */
export function encodePreamble(headerLength: number, version: ImageFormatVersion = IMAGE_FORMAT_V1): Uint8Array {
  const out = new Uint8Array(PREAMBLE_BYTES);
  out.set(IMAGE_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint16(8, version);
  view.setUint32(10, headerLength);
  return out;
}

/**
 * Checks the first bytes of a preamble as they arrive (docs/FORMAT.md §1.1, steps 1–2): the
 * magic over the bytes present, then the version once its two bytes are. A file too short for
 * the whole preamble is `IMAGE_TRUNCATED` only if what it has passes these.
 */
export function checkPreamblePrefix(bytes: Uint8Array): void {
  for (let i = 0; i < Math.min(bytes.length, IMAGE_MAGIC.length); i++) {
    if (bytes[i] !== IMAGE_MAGIC[i]) throw new CairnError('IMAGE_BAD_MAGIC', 'not a Cairn image file (bad magic)');
  }
  if (bytes.length >= 10) {
    const version = ((bytes[8] as number) << 8) | (bytes[9] as number);
    if (version !== IMAGE_FORMAT_V1 && version !== IMAGE_FORMAT_V2) {
      throw new CairnError('IMAGE_UNSUPPORTED_VERSION', `image format version ${version} is not supported (this reader supports ${IMAGE_FORMAT_V1} and ${IMAGE_FORMAT_V2})`, { details: { version } });
    }
  }
}

/**
 * Parses the preamble and returns the header length.
 * @throws CairnError `IMAGE_BAD_MAGIC`, `IMAGE_UNSUPPORTED_VERSION`, `IMAGE_HEADER_INVALID`
 *   (zero length) or `IMAGE_HEADER_TOO_LARGE` (above `maxHeaderBytes`).
 */
export function decodePreamble(bytes: Uint8Array, maxHeaderBytes: number): number {
  checkPreamblePrefix(bytes.subarray(0, PREAMBLE_BYTES));
  const view = new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE_BYTES);
  const length = view.getUint32(10);
  if (length === 0) throw new CairnError('IMAGE_HEADER_INVALID', 'header length is zero');
  const limit = Math.min(maxHeaderBytes, MAX_HEADER_BYTES_LIMIT);
  if (length > limit) throw new CairnError('IMAGE_HEADER_TOO_LARGE', `header of ${length} bytes exceeds the limit of ${limit}`, { details: { headerBytes: length, limit } });
  return length;
}

/** The format version a preamble declares (call after {@link decodePreamble} accepted it). */
export function preambleVersion(preamble: Uint8Array): ImageFormatVersion {
  return (((preamble[8] as number) << 8) | (preamble[9] as number)) === IMAGE_FORMAT_V2 ? IMAGE_FORMAT_V2 : IMAGE_FORMAT_V1;
}

/**
 * Length of an image's prefix — preamble, header and (v2) chunk list: the offset of its content —
 * from its preamble and header bytes (the header is decoded and validated).
 */
export function prefixLengthOf(preamble: Uint8Array, headerBytes: Uint8Array): number {
  const { chunks } = decodeHeaderOf(headerBytes, preambleVersion(preamble));
  return PREAMBLE_BYTES + headerBytes.length + chunks * CHUNK_ENTRY_BYTES;
}

/** Encodes a header as deterministic CBOR, after checking its invariants (v2 when its digest is a chunk-list digest). */
export function encodeHeader(header: ImageHeader): Uint8Array {
  assertHeaderInvariants(header);
  const common = {
    attestations: header.attestations.map((a) => ({ algorithm: a.algorithm, signature: a.signature, signedAt: a.signedAt, validator: a.validator })),
    chain: header.chain,
    contentType: header.contentType,
    createdAt: header.createdAt,
    height: header.height,
    size: header.size,
  };
  if (formatVersionOf(header) === IMAGE_FORMAT_V1) return encodeCbor({ ...common, digest: digestToBytes(header.digest) });
  if (!header.chunkList) throw new CairnError('INTERNAL', 'a format-v2 header needs its chunk list');
  return encodeCbor({ ...common, chunks: header.chunkList.length / CHUNK_ENTRY_BYTES, chunksDigest: digestToBytes(header.digest) });
}

/** An entry's fields, its algorithm unchecked (and its signature length unchecked when the algorithm is unknown). */
function entryOf(item: CborValue | undefined, i: number): { entry: HeaderAttestation; unknownAlgorithm?: string } {
  const what = `header attestation ${i}`;
  if (!isCborMap(item)) throw new CairnError('IMAGE_HEADER_INVALID', `${what} must be a map`);
  assertExactKeys(item, ATTESTATION_KEYS, what, 'IMAGE_HEADER_INVALID');
  const fields = signerFieldsOf(item, what, 'IMAGE_HEADER_INVALID');
  if (isSignatureAlgorithm(fields.algorithm)) return { entry: signedEntryOf(fields, item.signature, what, 'IMAGE_HEADER_INVALID') };
  // Unknown algorithm: its signature can only be checked for being bytes.
  const { signature } = item;
  if (!(signature instanceof Uint8Array)) throw new CairnError('IMAGE_HEADER_INVALID', `${what}: signature must be bytes`);
  return { entry: { ...fields, algorithm: fields.algorithm as SignatureAlgorithm, signature }, unknownAlgorithm: fields.algorithm };
}

/**
 * Decodes and validates header bytes (docs/FORMAT.md §1.1, steps 5–7). Signatures are checked
 * for shape, not validity. Every fault of §3 and §4.2 is `IMAGE_HEADER_INVALID` and comes
 * before `UNKNOWN_ALGORITHM`, which a header gets only when it is otherwise valid.
 * @throws CairnError `CBOR_*` (§2), `IMAGE_HEADER_INVALID`, `UNKNOWN_ALGORITHM`
 */
export function decodeHeader(bytes: Uint8Array): ImageHeader {
  return decodeHeaderOf(bytes, IMAGE_FORMAT_V1).header;
}

/**
 * Decodes and validates the header of a file of format `version`. For v2 the header has no
 * `chunkList` yet: `chunks` says how many entries the list after the header has (checked against
 * the bounds the size allows, so the list is bounded by the signed size).
 */
export function decodeHeaderOf(bytes: Uint8Array, version: ImageFormatVersion): { header: ImageHeader; chunks: number } {
  const v2 = version === IMAGE_FORMAT_V2;
  const value = decodeCbor(bytes, headerBudget(version));
  if (!isCborMap(value)) throw new CairnError('IMAGE_HEADER_INVALID', 'header must be a CBOR map');
  assertExactKeys(value, v2 ? HEADER_KEYS_V2 : HEADER_KEYS, 'header', 'IMAGE_HEADER_INVALID');
  const { chain, height, size, contentType, createdAt, attestations, chunks } = value;
  const digest = v2 ? value.chunksDigest : value.digest;
  if (!isChainId(chain)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: invalid chain id');
  if (!isUint53(height)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: height must be an unsigned integer below 2^53');
  if (!isUint53(size)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: size must be an unsigned integer below 2^53');
  if (!isContentType(contentType)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: invalid contentType (§7: lowercase type/subtype, RFC 6838 characters, at most 64/127)');
  if (!isUint53(createdAt)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: createdAt must be an unsigned integer (ms since epoch)');
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new CairnError('IMAGE_HEADER_INVALID', `header: ${v2 ? 'chunksDigest' : 'digest'} must be 32 bytes`);
  if (v2) {
    const bounds = chunkCountBounds(size);
    if (!isUint53(chunks) || chunks < bounds.min || chunks > bounds.max) {
      throw new CairnError('IMAGE_HEADER_INVALID', `header: chunks must be an integer in [${bounds.min}, ${bounds.max}] for ${size} bytes of content`);
    }
  }
  if (!Array.isArray(attestations)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: attestations must be an array');
  if (attestations.length === 0) throw new CairnError('IMAGE_HEADER_INVALID', 'header: at least the producer attestation is required');
  if (attestations.length > MAX_ATTESTATIONS) throw new CairnError('IMAGE_HEADER_INVALID', `header: more than ${MAX_ATTESTATIONS} attestations`);
  const parsed = attestations.map((item, i) => entryOf(item, i));
  const header: ImageHeader = { chain, height, size, contentType, createdAt, digest: digestFromBytes(digest, v2 ? 'sha3-256-chunks' : 'sha3-256'), attestations: parsed.map((p) => p.entry) };
  assertHeaderInvariants(header);
  const unknown = parsed.find((p) => p.unknownAlgorithm !== undefined)?.unknownAlgorithm;
  if (unknown !== undefined) algorithmSpec(unknown); // throws UNKNOWN_ALGORITHM
  return { header, chunks: v2 ? (chunks as number) : 0 };
}

/**
 * Cross-field rules: at least one attestation (the producer's), at most {@link MAX_ATTESTATIONS};
 * createdAt equals the producer's signedAt; the others sorted by validator id, strictly
 * ascending, none by the producer again.
 */
export function assertHeaderInvariants(header: ImageHeader): void {
  const [producer, ...others] = header.attestations;
  if (!producer) throw new CairnError('IMAGE_HEADER_INVALID', 'header: at least the producer attestation is required');
  if (header.attestations.length > MAX_ATTESTATIONS) throw new CairnError('IMAGE_HEADER_INVALID', `header: more than ${MAX_ATTESTATIONS} attestations`);
  if (producer.signedAt !== header.createdAt) throw new CairnError('IMAGE_HEADER_INVALID', 'header: createdAt must equal the producer attestation signedAt');
  let previous = '';
  for (const a of others) {
    if (a.validator === producer.validator) throw new CairnError('IMAGE_HEADER_INVALID', `header: validator ${a.validator} attests twice`);
    if (a.validator <= previous) throw new CairnError('IMAGE_HEADER_INVALID', 'header: attestations after the producer must be in strictly ascending validator order');
    previous = a.validator;
  }
}

/** Orders attestations the way a header requires: producer first, the rest by validator id. */
export function orderAttestations(producer: HeaderAttestation, others: Iterable<HeaderAttestation>): HeaderAttestation[] {
  const rest = [...others].filter((a) => a.validator !== producer.validator);
  rest.sort((a, b) => (a.validator < b.validator ? -1 : a.validator > b.validator ? 1 : 0));
  return [producer, ...rest];
}

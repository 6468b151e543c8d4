/**
 * Encoding and strict decoding of the image preamble and header (format v1).
 */
import { CairnError } from '../../errors.ts';
import { decodeCbor, encodeCbor, isCborMap } from '../cbor/deterministic-cbor.ts';
import { digestFromBytes, digestToBytes } from '../digest.ts';
import { assertExactKeys, headerAttestationFromMap } from './attestation.ts';
import {
  IMAGE_FORMAT_VERSION,
  IMAGE_MAGIC,
  MAX_ATTESTATIONS,
  MAX_HEADER_BYTES_LIMIT,
  PREAMBLE_BYTES,
  isChainId,
  isContentType,
  isUint53,
  type HeaderAttestation,
  type ImageHeader,
} from './format.ts';

const HEADER_KEYS = ['attestations', 'chain', 'contentType', 'createdAt', 'digest', 'height', 'size'];
const ATTESTATION_KEYS = ['algorithm', 'signature', 'signedAt', 'validator'];
/**
 * The most a well-formed header can hold: the header map (7 keys, 7 values), the attestations
 * array, and per attestation a map of 4 keys and 4 values; three levels deep. Checked before
 * decoding, so no header makes the decoder build more than this many items.
 */
export const HEADER_CBOR_BUDGET = { maxItems: 1 + 2 * HEADER_KEYS.length + 1 + MAX_ATTESTATIONS * (1 + 2 * ATTESTATION_KEYS.length), maxDepth: 3 };

/** Encodes the 14-byte preamble for a header of `headerLength` bytes. */
export function encodePreamble(headerLength: number): Uint8Array {
  const out = new Uint8Array(PREAMBLE_BYTES);
  out.set(IMAGE_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint16(8, IMAGE_FORMAT_VERSION);
  view.setUint32(10, headerLength);
  return out;
}

/**
 * Parses the preamble and returns the header length.
 * @throws CairnError `IMAGE_BAD_MAGIC`, `IMAGE_UNSUPPORTED_VERSION`, `IMAGE_HEADER_INVALID`
 *   (zero length) or `IMAGE_HEADER_TOO_LARGE` (above `maxHeaderBytes`).
 */
export function decodePreamble(bytes: Uint8Array, maxHeaderBytes: number): number {
  for (let i = 0; i < IMAGE_MAGIC.length; i++) {
    if (bytes[i] !== IMAGE_MAGIC[i]) throw new CairnError('IMAGE_BAD_MAGIC', 'not a Cairn image file (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE_BYTES);
  const version = view.getUint16(8);
  if (version !== IMAGE_FORMAT_VERSION) {
    throw new CairnError('IMAGE_UNSUPPORTED_VERSION', `image format version ${version} is not supported (this reader supports ${IMAGE_FORMAT_VERSION})`, { details: { version } });
  }
  const length = view.getUint32(10);
  if (length === 0) throw new CairnError('IMAGE_HEADER_INVALID', 'header length is zero');
  const limit = Math.min(maxHeaderBytes, MAX_HEADER_BYTES_LIMIT);
  if (length > limit) throw new CairnError('IMAGE_HEADER_TOO_LARGE', `header of ${length} bytes exceeds the limit of ${limit}`, { details: { headerBytes: length, limit } });
  return length;
}

/** Encodes a header as deterministic CBOR, after checking its invariants. */
export function encodeHeader(header: ImageHeader): Uint8Array {
  assertHeaderInvariants(header);
  return encodeCbor({
    attestations: header.attestations.map((a) => ({ algorithm: a.algorithm, signature: a.signature, signedAt: a.signedAt, validator: a.validator })),
    chain: header.chain,
    contentType: header.contentType,
    createdAt: header.createdAt,
    digest: digestToBytes(header.digest),
    height: header.height,
    size: header.size,
  });
}

/**
 * Decodes and validates header bytes. Signatures are checked for shape, not validity.
 * @throws CairnError `CBOR_MALFORMED`, `CBOR_NOT_CANONICAL`, `IMAGE_HEADER_INVALID`, `UNKNOWN_ALGORITHM`
 */
export function decodeHeader(bytes: Uint8Array): ImageHeader {
  const value = decodeCbor(bytes, HEADER_CBOR_BUDGET);
  if (!isCborMap(value)) throw new CairnError('IMAGE_HEADER_INVALID', 'header must be a CBOR map');
  assertExactKeys(value, HEADER_KEYS, 'header', 'IMAGE_HEADER_INVALID');
  const { chain, height, size, contentType, createdAt, digest, attestations } = value;
  if (!isChainId(chain)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: invalid chain id');
  if (!isUint53(height)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: height must be an unsigned integer below 2^53');
  if (!isUint53(size)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: size must be an unsigned integer below 2^53');
  if (!isContentType(contentType)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: invalid contentType');
  if (!isUint53(createdAt)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: createdAt must be an unsigned integer (ms since epoch)');
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new CairnError('IMAGE_HEADER_INVALID', 'header: digest must be 32 bytes');
  if (!Array.isArray(attestations)) throw new CairnError('IMAGE_HEADER_INVALID', 'header: attestations must be an array');
  const entries: HeaderAttestation[] = attestations.map((item, i) => {
    if (!isCborMap(item)) throw new CairnError('IMAGE_HEADER_INVALID', `header: attestation ${i} must be a map`);
    assertExactKeys(item, ATTESTATION_KEYS, `header attestation ${i}`, 'IMAGE_HEADER_INVALID');
    return headerAttestationFromMap(item, `header attestation ${i}`, 'IMAGE_HEADER_INVALID');
  });
  const header: ImageHeader = { chain, height, size, contentType, createdAt, digest: digestFromBytes(digest), attestations: entries };
  assertHeaderInvariants(header);
  return header;
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

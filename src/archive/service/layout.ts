/**
 * The archive's object layout in the blob store (normative description: docs/STORAGE.md).
 *
 *   images/<chain>/<height, 16 digits>/<digest hex>.cbor   image record: the commit point
 *   attestations/<digest hex>/<hex of validator id>.cbor   one attestation per validator (not the producer's)
 *   blobs/<digest hex>/<upload id>                         sealed content of one successful upload
 *   finality/<digest hex>.cbor                             when the image first became final
 *   identity/server.cbor                                   the server's signing identity (wrapped)
 *   holds/<digest hex>.cbor                                an admin hold (retention keeps the image)
 *   retention/marks/<digest hex>.cbor                      a delete mark (swept after the grace period)
 *   retention/runs/<chain>/<started at, 16 digits>.cbor    history of retention runs
 *   registry/registry.json                                 the validator registry
 *
 * Everything about an image but its extra attestations is in its record, written last, with
 * create-if-absent: an image exists exactly when its record does. Keys carry chain, height and
 * digest so the index can be rebuilt from listings.
 */
import { randomBytes } from 'node:crypto';
import { DIGEST_KEY_PART, digestFromKeyPart, digestKeyPart, type Digest } from '../digest.ts';
import { isChainId, isValidatorId } from '../image/format.ts';

export const IMAGES_PREFIX = 'images/';
export const ATTESTATIONS_PREFIX = 'attestations/';
export const BLOBS_PREFIX = 'blobs/';
export const REGISTRY_KEY = 'registry/registry.json';
export const FINALITY_PREFIX = 'finality/';
export const IDENTITY_KEY = 'identity/server.cbor';
export const HOLDS_PREFIX = 'holds/';
export const MARKS_PREFIX = 'retention/marks/';
/** A confirmed epoch-length change of a chain, beside its retention runs. */
export function epochChangeKey(chain: string, at: number): string {
  return `retention/epoch-changes/${chain}/${String(at).padStart(16, '0')}.cbor`;
}

/** Revoked finality proofs: `{ v: 1, revokedAt, reason, finalizedAt }` (an admin's explicit act). */
export const REVOCATIONS_PREFIX = 'finality-revoked/';

/** The revocation record of an image's finality. */
export function revocationKey(digest: Digest): string {
  return `${REVOCATIONS_PREFIX}${digestKeyPart(digest)}.cbor`;
}

/** Which metadata database indexes this bucket (bucket-claim.ts). */
export const DATABASE_MARKER_KEY = 'metadata/database.json';

/** Key of an image's admin hold. */
export function holdKey(digest: Digest): string {
  return `${HOLDS_PREFIX}${digestKeyPart(digest)}.cbor`;
}

/** Key of an image's retention delete mark. */
export function markKey(digest: Digest): string {
  return `${MARKS_PREFIX}${digestKeyPart(digest)}.cbor`;
}

/** Key of one retention run's history record. */
export function runKey(chain: string, startedAt: number): string {
  return `retention/runs/${chain}/${String(startedAt).padStart(16, '0')}.cbor`;
}

/** Digest of a key `<prefix><digest key part>.cbor`. */
export function digestOfKey(prefix: string, key: string): Digest | undefined {
  const match = new RegExp(`^${prefix.replace(/\//g, '\\/')}(${DIGEST_KEY_PART})\\.cbor$`).exec(key);
  return match ? digestFromKeyPart(match[1] as string) : undefined;
}

/** Key of an image's finality record. */
export function finalityKey(digest: Digest): string {
  return `${FINALITY_PREFIX}${digestKeyPart(digest)}.cbor`;
}

/** Parses a finality record key. */
export function parseFinalityKey(key: string): { digest: Digest } | undefined {
  const digest = digestOfKey(FINALITY_PREFIX, key);
  return digest ? { digest } : undefined;
}

const HEIGHT_DIGITS = 16;

/** Key of an image record. */
export function imageRecordKey(chain: string, height: number, digest: Digest): string {
  return `${IMAGES_PREFIX}${chain}/${String(height).padStart(HEIGHT_DIGITS, '0')}/${digestKeyPart(digest)}.cbor`;
}

/** Parses an image record key; undefined for anything else. */
export function parseImageRecordKey(key: string): { chain: string; height: number; digest: Digest } | undefined {
  const match = new RegExp(`^images/([^/]+)/(\\d{16})/(${DIGEST_KEY_PART})\\.cbor$`).exec(key);
  if (!match || !isChainId(match[1])) return undefined;
  const height = Number(match[2]);
  const digest = digestFromKeyPart(match[3] as string);
  if (!Number.isSafeInteger(height) || !digest) return undefined;
  return { chain: match[1], height, digest };
}

/** Key of one validator's attestation of an image (validator ids may hold characters keys cannot). */
export function attestationKey(digest: Digest, validator: string): string {
  return `${ATTESTATIONS_PREFIX}${digestKeyPart(digest)}/${Buffer.from(validator).toString('hex')}.cbor`;
}

/** Parses an attestation key into digest and validator id. */
export function parseAttestationKey(key: string): { digest: Digest; validator: string } | undefined {
  const match = new RegExp(`^attestations/(${DIGEST_KEY_PART})/((?:[0-9a-f]{2})+)\\.cbor$`).exec(key);
  const digest = match ? digestFromKeyPart(match[1] as string) : undefined;
  if (!match || !digest) return undefined;
  const validator = Buffer.from(match[2] as string, 'hex').toString();
  return isValidatorId(validator) ? { digest, validator } : undefined;
}

/** A new, unique key for sealed content of `digest`. */
export function newBlobKey(digest: Digest): string {
  return `${BLOBS_PREFIX}${digestKeyPart(digest)}/${randomBytes(12).toString('hex')}`;
}

/** Parses a blob key. */
export function parseBlobKey(key: string): { digest: Digest } | undefined {
  const match = new RegExp(`^blobs/(${DIGEST_KEY_PART})/[0-9a-f]{24}$`).exec(key);
  const digest = match ? digestFromKeyPart(match[1] as string) : undefined;
  return digest ? { digest } : undefined;
}

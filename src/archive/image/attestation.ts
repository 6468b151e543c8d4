/**
 * Attestations: the signed statement "on chain C, the state at height H has digest D".
 *
 * Signed bytes = `cairn/attestation/v1` ‖ 0x00 ‖ dCBOR(statement), where the statement is the
 * map of all eight fields other than the signature (algorithm, chain, contentType, digest as 32
 * bytes, height, signedAt, size, validator). See `docs/FORMAT.md` §Attestations. The digest of
 * a format-v2 image (a chunk-list digest) is carried under the key `chunksDigest` instead of
 * `digest`, so a statement about one form can never be read as one about the other.
 */
import { CairnError } from '../../errors.ts';
import { decodeCbor, encodeCbor, isCborMap, type CborValue } from '../cbor/deterministic-cbor.ts';
import { digestCborKey, digestFromBytes, digestToBytes } from '../digest.ts';
import { algorithmSpec, isSignatureAlgorithm, type SignatureAlgorithm } from '../keys/algorithms.ts';
import { signMessage, verifyMessage, type PublicKey, type SigningKey } from '../keys/signing.ts';
import { isChainId, isContentType, isUint53, isValidatorId, type Attestation, type AttestationStatement, type HeaderAttestation, type ImageHeader } from './format.ts';

/** Domain-separation prefix of every signed attestation statement. */
export const ATTESTATION_DOMAIN = 'cairn/attestation/v1';
const DOMAIN_BYTES = new TextEncoder().encode(`${ATTESTATION_DOMAIN}\0`);

/** The exact bytes a validator signs for `statement`. */
export function statementBytes(statement: AttestationStatement): Uint8Array {
  const body = encodeCbor({
    algorithm: statement.algorithm,
    chain: statement.chain,
    contentType: statement.contentType,
    [digestCborKey(statement.digest)]: digestToBytes(statement.digest),
    height: statement.height,
    signedAt: statement.signedAt,
    size: statement.size,
    validator: statement.validator,
  });
  const out = new Uint8Array(DOMAIN_BYTES.length + body.length);
  out.set(DOMAIN_BYTES, 0);
  out.set(body, DOMAIN_BYTES.length);
  return out;
}

/** Signs a statement with `key`; the statement's algorithm must be the key's. */
export function signAttestation(statement: Omit<AttestationStatement, 'algorithm'>, key: SigningKey): Attestation {
  const full: AttestationStatement = { ...statement, algorithm: key.algorithm };
  assertStatement(full);
  return { ...full, signature: signMessage(key, statementBytes(full)) };
}

/** True when `attestation.signature` verifies under `key` (same algorithm required). */
export function verifyAttestation(attestation: Attestation, key: PublicKey): boolean {
  if (key.algorithm !== attestation.algorithm) return false;
  return verifyMessage(key, statementBytes(attestation), attestation.signature);
}

/** The full attestation of one header entry (header fields + signer fields). */
export function attestationOf(header: Omit<ImageHeader, 'attestations' | 'createdAt'>, entry: HeaderAttestation): Attestation {
  return {
    chain: header.chain,
    height: header.height,
    digest: header.digest,
    size: header.size,
    contentType: header.contentType,
    validator: entry.validator,
    signedAt: entry.signedAt,
    algorithm: entry.algorithm,
    signature: entry.signature,
  };
}

/** Validates every statement field; throws `INVALID_ARGUMENT` naming the first bad one. */
export function assertStatement(statement: AttestationStatement): void {
  const problems: string[] = [];
  if (!isChainId(statement.chain)) problems.push('chain');
  if (!isUint53(statement.height)) problems.push('height');
  if (!isUint53(statement.size)) problems.push('size');
  if (!isContentType(statement.contentType)) problems.push('contentType');
  if (!isValidatorId(statement.validator)) problems.push('validator');
  if (!isUint53(statement.signedAt)) problems.push('signedAt');
  if (!isSignatureAlgorithm(statement.algorithm)) problems.push('algorithm');
  if (problems.length > 0) throw new CairnError('INVALID_ARGUMENT', `invalid attestation fields: ${problems.join(', ')}`, { details: { fields: problems } });
  digestToBytes(statement.digest);
}

const STANDALONE_KEYS = ['algorithm', 'chain', 'contentType', 'digest', 'height', 'signature', 'signedAt', 'size', 'validator'];
/** A standalone attestation of a format-v2 image: its chunk-list digest under `chunksDigest`. */
const STANDALONE_KEYS_V2 = STANDALONE_KEYS.map((k) => (k === 'digest' ? 'chunksDigest' : k));

/** Encodes a standalone attestation (all nine fields) as deterministic CBOR. */
export function encodeAttestation(attestation: Attestation): Uint8Array {
  return encodeCbor({
    algorithm: attestation.algorithm,
    chain: attestation.chain,
    contentType: attestation.contentType,
    [digestCborKey(attestation.digest)]: digestToBytes(attestation.digest),
    height: attestation.height,
    signature: attestation.signature,
    signedAt: attestation.signedAt,
    size: attestation.size,
    validator: attestation.validator,
  });
}

/** Decodes and validates a standalone attestation (signature not verified here). */
export function decodeAttestation(bytes: Uint8Array): Attestation {
  const value = decodeCbor(bytes);
  if (!isCborMap(value)) throw new CairnError('CBOR_MALFORMED', 'attestation must be a CBOR map');
  const v2 = 'chunksDigest' in value;
  assertExactKeys(value, v2 ? STANDALONE_KEYS_V2 : STANDALONE_KEYS, 'attestation', 'CBOR_MALFORMED');
  const signer = headerAttestationFromMap(value, 'attestation', 'CBOR_MALFORMED');
  const { chain, height, size, contentType } = value;
  const digest = v2 ? value.chunksDigest : value.digest;
  if (!isChainId(chain) || !isUint53(height) || !isUint53(size) || !isContentType(contentType) || !(digest instanceof Uint8Array) || digest.length !== 32) {
    throw new CairnError('CBOR_MALFORMED', 'attestation has an invalid chain, height, size, contentType or digest');
  }
  return { chain, height, size, contentType, digest: digestFromBytes(digest, v2 ? 'sha3-256-chunks' : 'sha3-256'), ...signer };
}

/** Checks that a decoded map has exactly `keys`. */
export function assertExactKeys(map: { [key: string]: CborValue }, keys: readonly string[], what: string, code: 'IMAGE_HEADER_INVALID' | 'CBOR_MALFORMED'): void {
  const present = Object.keys(map);
  const missing = keys.filter((k) => !(k in map));
  const extra = present.filter((k) => !keys.includes(k));
  if (missing.length > 0 || extra.length > 0) {
    throw new CairnError(code, `${what}: ${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.map((k) => k.slice(0, 40)).join(', ')}` : ''].filter(Boolean).join('; ')}`, {
      details: { missing, extra: extra.map((k) => k.slice(0, 40)) },
    });
  }
}

/** The signer fields of a decoded map that do not depend on the algorithm being known. */
export function signerFieldsOf(map: { [key: string]: CborValue }, what: string, code: 'IMAGE_HEADER_INVALID' | 'CBOR_MALFORMED'): { validator: string; signedAt: number; algorithm: string } {
  const { validator, signedAt, algorithm } = map;
  if (!isValidatorId(validator)) throw new CairnError(code, `${what}: invalid validator id`);
  if (!isUint53(signedAt)) throw new CairnError(code, `${what}: signedAt must be an unsigned integer (ms since epoch)`);
  if (typeof algorithm !== 'string') throw new CairnError(code, `${what}: algorithm must be text`);
  return { validator, signedAt, algorithm };
}

/** Completes signer fields with their signature: the algorithm must be known (`UNKNOWN_ALGORITHM`) and the signature of its length. */
export function signedEntryOf(fields: { validator: string; signedAt: number; algorithm: string }, signature: CborValue | undefined, what: string, code: 'IMAGE_HEADER_INVALID' | 'CBOR_MALFORMED'): HeaderAttestation {
  const spec = algorithmSpec(fields.algorithm);
  if (!(signature instanceof Uint8Array) || signature.length !== spec.signatureBytes) {
    throw new CairnError(code, `${what}: signature must be ${spec.signatureBytes} bytes for ${spec.name}`);
  }
  return { validator: fields.validator, signedAt: fields.signedAt, algorithm: spec.name as SignatureAlgorithm, signature };
}

/** Reads and validates the four signer fields of a decoded map. */
export function headerAttestationFromMap(map: { [key: string]: CborValue }, what: string, code: 'IMAGE_HEADER_INVALID' | 'CBOR_MALFORMED'): HeaderAttestation {
  return signedEntryOf(signerFieldsOf(map, what, code), map.signature, what, code);
}

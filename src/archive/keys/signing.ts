/**
 * Image-signing keys: generation, signing and verification through node:crypto.
 *
 * Every supported algorithm is "pure" (no pre-hash, empty context string); Cairn provides its
 * own domain separation by prefixing each signed statement (see `docs/FORMAT.md`).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { CairnError } from '../../errors.ts';
import { digestOf, type Digest } from '../digest.ts';
import { algorithmSpec, isSignatureAlgorithm, type SignatureAlgorithm } from './algorithms.ts';

/** A public image-signing key. */
export interface PublicKey {
  readonly algorithm: SignatureAlgorithm;
  /** The raw public key bytes as the algorithm's standard defines them. */
  readonly raw: Uint8Array;
  /** `sha3-256:` digest of `raw`; identifies the key in logs and listings. */
  readonly fingerprint: Digest;
  /** Free-text comment from the key file (often the validator id); not authenticated. */
  readonly comment?: string;
  /** node:crypto handle used for verification. */
  readonly keyObject: KeyObject;
}

/** A private image-signing key and its public half. */
export interface SigningKey {
  readonly algorithm: SignatureAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: PublicKey;
}

/** Builds a {@link PublicKey} from raw bytes, checking the length the algorithm requires. */
export function publicKeyFromRaw(algorithm: string, raw: Uint8Array, comment?: string): PublicKey {
  const spec = algorithmSpec(algorithm);
  if (raw.length !== spec.publicKeyBytes) {
    throw new CairnError('KEY_INVALID', `${spec.name} public key must be ${spec.publicKeyBytes} bytes, got ${raw.length}`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: Buffer.from(raw), format: 'raw-public', asymmetricKeyType: spec.name } as never);
  } catch (error) {
    throw new CairnError('KEY_INVALID', `invalid ${spec.name} public key`, { cause: error });
  }
  return Object.freeze({ algorithm: spec.name as SignatureAlgorithm, raw: new Uint8Array(raw), fingerprint: digestOf(raw), keyObject, ...(comment ? { comment } : {}) });
}

function publicKeyFromObject(keyObject: KeyObject, comment?: string): PublicKey {
  const algorithm = keyObject.asymmetricKeyType;
  if (!isSignatureAlgorithm(algorithm)) throw new CairnError('UNKNOWN_ALGORITHM', `unsupported key type "${String(algorithm)}"`);
  const raw = new Uint8Array(keyObject.export({ format: 'raw-public' } as never) as unknown as Buffer);
  return publicKeyFromRaw(algorithm, raw, comment);
}

/** Wraps a node:crypto private key object as a {@link SigningKey}. */
export function signingKeyFromObject(privateKey: KeyObject, comment?: string): SigningKey {
  if (privateKey.type !== 'private') throw new CairnError('KEY_INVALID', 'expected a private key');
  const publicKey = publicKeyFromObject(createPublicKey(privateKey), comment);
  return Object.freeze({ algorithm: publicKey.algorithm, privateKey, publicKey });
}

/** Generates a fresh key pair for `algorithm` (SLH-DSA-SHA2-128s by default in the CLI). */
export function generateSigningKey(algorithm: SignatureAlgorithm, comment?: string): SigningKey {
  const spec = algorithmSpec(algorithm);
  const { privateKey } = generateKeyPairSync(spec.name as never) as unknown as { privateKey: KeyObject };
  return signingKeyFromObject(privateKey, comment);
}

/** Parses a PKCS#8 (PEM or DER) private key. */
export function signingKeyFromPkcs8(pkcs8: string | Uint8Array, comment?: string): SigningKey {
  let keyObject: KeyObject;
  try {
    keyObject = typeof pkcs8 === 'string' ? createPrivateKey(pkcs8) : createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new CairnError('KEY_INVALID', 'not a PKCS#8 private key', { cause: error });
  }
  return signingKeyFromObject(keyObject, comment);
}

/** Signs `message` (already domain-separated by the caller). */
export function signMessage(key: SigningKey, message: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, key.privateKey));
}

/**
 * Verifies `signature` over `message`. Returns false for a wrong signature, including one of
 * the wrong length; never throws for bad signature bytes.
 */
export function verifyMessage(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== algorithmSpec(key.algorithm).signatureBytes) return false;
  try {
    return nodeVerify(null, message, key.keyObject, signature);
  } catch {
    return false;
  }
}

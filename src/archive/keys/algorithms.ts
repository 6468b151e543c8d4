/**
 * The image-signing algorithms Cairn supports, all provided natively by node:crypto
 * (OpenSSL 3.5). SLH-DSA-SHA2-128s, the standardised SPHINCS+ of the seed, is the default.
 */
import { CairnError } from '../../errors.ts';

/** Properties of one signature algorithm. */
export interface SignatureAlgorithmSpec {
  /** Name used in key files, attestations and on the command line; also node:crypto's key type. */
  readonly name: string;
  /** The standard that defines it. */
  readonly standard: string;
  /** Raw public key length in bytes. */
  readonly publicKeyBytes: number;
  /** Signature length in bytes (all supported algorithms have fixed-length signatures). */
  readonly signatureBytes: number;
}

const SPECS = [
  { name: 'slh-dsa-sha2-128s', standard: 'FIPS 205', publicKeyBytes: 32, signatureBytes: 7856 },
  { name: 'slh-dsa-sha2-128f', standard: 'FIPS 205', publicKeyBytes: 32, signatureBytes: 17088 },
  { name: 'ml-dsa-44', standard: 'FIPS 204', publicKeyBytes: 1312, signatureBytes: 2420 },
  { name: 'ml-dsa-65', standard: 'FIPS 204', publicKeyBytes: 1952, signatureBytes: 3309 },
  { name: 'ml-dsa-87', standard: 'FIPS 204', publicKeyBytes: 2592, signatureBytes: 4627 },
] as const satisfies readonly SignatureAlgorithmSpec[];

/** A supported signature algorithm name. */
export type SignatureAlgorithm = (typeof SPECS)[number]['name'];

/** The default algorithm for image signing keys. */
export const DEFAULT_SIGNATURE_ALGORITHM: SignatureAlgorithm = 'slh-dsa-sha2-128s';

/** Every supported algorithm, default first. */
export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = SPECS.map((s) => s.name);

const BY_NAME = new Map<string, SignatureAlgorithmSpec>(SPECS.map((s) => [s.name, s]));

/** True when `name` is a supported algorithm. */
export function isSignatureAlgorithm(name: unknown): name is SignatureAlgorithm {
  return typeof name === 'string' && BY_NAME.has(name);
}

/**
 * The spec of a supported algorithm.
 * @throws CairnError `UNKNOWN_ALGORITHM`
 */
export function algorithmSpec(name: string): SignatureAlgorithmSpec {
  const spec = BY_NAME.get(name);
  if (!spec) {
    throw new CairnError('UNKNOWN_ALGORITHM', `unknown signature algorithm "${name.slice(0, 40)}"`, {
      details: { algorithm: name.slice(0, 40), supported: SIGNATURE_ALGORITHMS },
    });
  }
  return spec;
}

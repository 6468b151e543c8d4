/**
 * An independent implementation of Cairn's image format v1, written from docs/FORMAT.md with
 * other libraries than the product uses: cbor2 (in CDE mode) for CBOR, @noble/hashes for SHA3-256,
 * @noble/post-quantum for signatures. Tests check the product against it.
 */
import { decode as cbor2Decode, encode as cbor2Encode } from 'cbor2';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { slh_dsa_sha2_128f, slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js';

/** noble's implementation of each Cairn algorithm. */
export const NOBLE_SIGNERS = {
  'slh-dsa-sha2-128s': slh_dsa_sha2_128s,
  'slh-dsa-sha2-128f': slh_dsa_sha2_128f,
  'ml-dsa-44': ml_dsa44,
  'ml-dsa-65': ml_dsa65,
  'ml-dsa-87': ml_dsa87,
} as const;

export type NobleAlgorithm = keyof typeof NOBLE_SIGNERS;

const MAGIC = [0x89, 0x43, 0x49, 0x4d, 0x47, 0x0d, 0x0a, 0x1a];
const DOMAIN = new TextEncoder().encode('cairn/attestation/v1\0');

export interface IndependentAttestation {
  validator: string;
  signedAt: number;
  algorithm: NobleAlgorithm;
  signature: Uint8Array;
}

export interface IndependentImage {
  chain: string;
  height: number;
  digest: Uint8Array;
  size: number;
  contentType: string;
  createdAt: number;
  attestations: IndependentAttestation[];
  headerBytes: Uint8Array;
  content: Uint8Array;
}

/** Deterministic CBOR as the spec defines it (RFC 8949 §4.2.1), via cbor2's CDE mode. */
export function dcbor(value: unknown): Uint8Array {
  return cbor2Encode(value, { cde: true });
}

/** Parses a whole image file held in memory; throws plain Errors on any violation. */
export function parseImage(file: Uint8Array): IndependentImage {
  MAGIC.forEach((b, i) => {
    if (file[i] !== b) throw new Error('bad magic');
  });
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint16(8) !== 1) throw new Error('bad version');
  const headerLength = view.getUint32(10);
  const headerBytes = file.subarray(14, 14 + headerLength);
  const header = cbor2Decode<Record<string, unknown>>(headerBytes);
  if (Buffer.compare(dcbor(header), headerBytes) !== 0) throw new Error('header not deterministic');
  const content = file.subarray(14 + headerLength);
  if (content.length !== header.size) throw new Error('size mismatch');
  if (Buffer.compare(sha3_256(content), header.digest as Uint8Array) !== 0) throw new Error('digest mismatch');
  return { ...(header as unknown as Omit<IndependentImage, 'headerBytes' | 'content'>), headerBytes, content };
}

/** The statement bytes for one attestation of an image, built independently. */
export function statement(image: Omit<IndependentImage, 'attestations' | 'headerBytes' | 'content' | 'createdAt'>, a: Omit<IndependentAttestation, 'signature'>): Uint8Array {
  const body = dcbor({
    algorithm: a.algorithm,
    chain: image.chain,
    contentType: image.contentType,
    digest: image.digest,
    height: image.height,
    signedAt: a.signedAt,
    size: image.size,
    validator: a.validator,
  });
  const out = new Uint8Array(DOMAIN.length + body.length);
  out.set(DOMAIN);
  out.set(body, DOMAIN.length);
  return out;
}

/** Verifies one attestation with noble. */
export function nobleVerify(algorithm: NobleAlgorithm, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return NOBLE_SIGNERS[algorithm].verify(signature, message, publicKey);
}

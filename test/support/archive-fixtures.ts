/**
 * Helpers for archive tests: a registry with named validators and their keys, image bytes
 * signed by them, and an archive on a given store.
 */
import { Readable } from 'node:stream';
import { chunkListOfBytes, chunkSpans, createImageBytes, encodeImagePrefix, formatPublicKey, orderAttestations, parseRegistry, signAttestation, type ImageHeader, type Registry, type SigningKey } from '../../src/archive/index.ts';
import { generateMasterKeyEntry, parseKeyring, type Keyring } from '../../src/archive/crypto/keyring.ts';
import { openArchive, type Archive } from '../../src/archive/service/archive.ts';
import type { ArchivedImage } from '../../src/archive/index.ts';
import type { BlobStore } from '../../src/archive/store/blob-store.ts';
import { silentLogger } from '../../src/logger.ts';
import { openMetadata, type MetadataStore } from '../../src/metadata/index.ts';
import { testKey } from './fixtures.ts';

export const VALIDATORS = ['alice', 'bob', 'carol'] as const;
export type ValidatorName = (typeof VALIDATORS)[number];

/** The ML-DSA-44 key of a test validator (fast to sign with). */
export function validatorKey(name: string): SigningKey {
  return testKey('ml-dsa-44', name);
}

/** A registry of `devnet` (and `testnet`) with alice, bob and carol, weight 1 each. */
export function testRegistry(): Registry {
  const validators = VALIDATORS.map((id) => ({ id, weight: 1, keys: [formatPublicKey(validatorKey(id).publicKey)] }));
  return parseRegistry({ chains: { devnet: { epochLength: 1000, validators }, testnet: { epochLength: 100, validators } } });
}

/** A fresh single-key keyring. */
export function testKeyring(): Keyring {
  return parseKeyring([generateMasterKeyEntry('k1')]);
}

/** Image bytes for content, produced by `producer` and optionally attested by others. */
export function imageBytes(content: Uint8Array, options: { chain?: string; height?: number; producer?: string; attesters?: string[]; createdAt?: number; format?: 1 | 2 } = {}): { header: ImageHeader; bytes: Uint8Array } {
  const producer = options.producer ?? 'alice';
  const { header, bytes } = createImageBytes({ chain: options.chain ?? 'devnet', height: options.height ?? 1000, validator: producer, key: validatorKey(producer), content, createdAt: options.createdAt ?? 1_767_225_600_000, ...(options.format ? { format: options.format } : {}) });
  if (!options.attesters?.length) return { header, bytes };
  const extra = options.attesters.map((v) => {
    const a = signAttestation({ chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, validator: v, signedAt: header.createdAt + 1 }, validatorKey(v));
    return { validator: a.validator, signedAt: a.signedAt, algorithm: a.algorithm, signature: a.signature };
  });
  const full = { ...header, attestations: orderAttestations(header.attestations[0]!, extra) };
  return { header: full, bytes: Buffer.concat([encodeImagePrefix(full), content]) };
}

/** Opens an archive on `store` with the test registry and a private in-memory SQLite database (or `metadata`). */
export async function testArchive(store: BlobStore, options: { keyring?: Keyring; now?: () => number; metadata?: MetadataStore } = {}): Promise<Archive> {
  const metadata = options.metadata ?? (await openMetadata('sqlite::memory:', { pollMs: 20 }));
  return openArchive({ store, metadata, keyring: options.keyring ?? testKeyring(), registry: testRegistry(), logger: silentLogger, maxHeaderBytes: 1024 * 1024, ...(options.now ? { now: options.now } : {}) });
}

/** Bytes as a chunked stream. */
export function bodyOf(bytes: Uint8Array, chunk = 64 * 1024): Readable {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  return Readable.from(parts, { objectMode: false });
}

/** Every key in a store. */
export async function allKeys(store: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list('')) keys.push(info.key);
  return keys;
}

/** Every image of a chain, lowest first (small test archives only). */
export async function allImages(archive: Archive, chain: string): Promise<ArchivedImage[]> {
  const out: ArchivedImage[] = [];
  for await (const image of archive.read.all(chain)) out.push(image);
  return out;
}

/** Number of archived images. */
export async function imageCount(archive: Archive): Promise<number> {
  return [...(await archive.read.counts()).values()].reduce((a, b) => a + b, 0);
}

/**
 * Bytes of the format-v2 chunks of `content` that lie wholly in its first `upTo` bytes: what a
 * resumed v2 pull keeps of a partial holding that much content.
 */
export function wholeChunkBytes(content: Uint8Array, upTo: number): number {
  return chunkSpans(chunkListOfBytes(content).list)
    .filter((c) => c.offset + c.length <= upTo)
    .reduce((sum, c) => sum + c.length, 0);
}

/**
 * The server's own signing identity (ML-DSA-65), shared by every process on the bucket: its
 * 32-byte seed is stored wrapped by the master key (like a data key, bound to a fixed label),
 * created once with create-if-absent. Announcements are signed with it; its public key is
 * published at /v1/identity.
 */
import { createPrivateKey } from 'node:crypto';
import { CairnError } from '../../errors.ts';
import { decodeCbor, encodeCbor, isCborMap } from '../cbor/deterministic-cbor.ts';
import { unwrapDataKey, wrapDataKey } from '../crypto/data-key.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { digestOf, digestToBytes } from '../digest.ts';
import { generateSigningKey, signingKeyFromObject, type SigningKey } from '../keys/signing.ts';
import { readObject, type BlobStore } from '../store/blob-store.ts';
import { IDENTITY_KEY } from './layout.ts';

const LABEL = digestToBytes(digestOf(new TextEncoder().encode('cairn/server-identity/v1')));
const ALGORITHM = 'ml-dsa-65';

function fromSeed(seed: Uint8Array): SigningKey {
  return signingKeyFromObject(createPrivateKey({ key: Buffer.from(seed), format: 'raw-seed', asymmetricKeyType: ALGORITHM } as never), 'cairn-server');
}

async function read(store: BlobStore, keyring: Keyring): Promise<SigningKey> {
  const value = decodeCbor(await readObject(store, IDENTITY_KEY));
  if (!isCborMap(value) || value.algorithm !== ALGORITHM || typeof value.keyId !== 'string' || !(value.wrapped instanceof Uint8Array)) {
    throw new CairnError('INTEGRITY_ERROR', 'stored server identity is invalid');
  }
  return fromSeed(unwrapDataKey(keyring, value.keyId, value.wrapped, LABEL));
}

/** Loads the server identity, creating it on first use. */
export async function loadOrCreateIdentity(store: BlobStore, keyring: Keyring): Promise<SigningKey> {
  if (await store.head(IDENTITY_KEY)) return read(store, keyring);
  const key = generateSigningKey(ALGORITHM, 'cairn-server');
  const seed = new Uint8Array(key.privateKey.export({ format: 'raw-seed' } as never) as unknown as Buffer);
  const { keyId, wrapped } = wrapDataKey(keyring, seed, LABEL);
  const created = await store.createIfAbsent(IDENTITY_KEY, encodeCbor({ v: 1, algorithm: ALGORITHM, keyId, wrapped, publicKey: key.publicKey.raw }));
  return created ? key : read(store, keyring);
}

/** Rewraps the stored identity under the active master key (part of key rotation). */
export async function rewrapIdentity(store: BlobStore, keyring: Keyring): Promise<boolean> {
  const info = await store.head(IDENTITY_KEY);
  if (!info) return false;
  const value = decodeCbor(await readObject(store, IDENTITY_KEY));
  if (!isCborMap(value) || value.keyId === keyring.activeId) return false;
  const key = await read(store, keyring);
  const seed = new Uint8Array(key.privateKey.export({ format: 'raw-seed' } as never) as unknown as Buffer);
  const { keyId, wrapped } = wrapDataKey(keyring, seed, LABEL);
  return store.replaceIfMatch(IDENTITY_KEY, encodeCbor({ v: 1, algorithm: ALGORITHM, keyId, wrapped, publicKey: key.publicKey.raw }), info.etag);
}

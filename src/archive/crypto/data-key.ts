/**
 * Per-blob data keys, wrapped by a master key with ChaCha20-Poly1305.
 *
 * wrapped = nonce (12, random) ‖ ciphertext of the 32-byte data key ‖ tag (16)
 * AAD     = "cairn/data-key/v1" ‖ 0x00 ‖ key id ‖ 0x00 ‖ content digest (32 bytes)
 * The AAD binds a wrapped key to its master key id and to the content it encrypts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CairnError } from '../../errors.ts';
import type { Keyring } from './keyring.ts';

/** Length of a wrapped data key. */
export const WRAPPED_KEY_BYTES = 12 + 32 + 16;

function aad(keyId: string, digest: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`cairn/data-key/v1\0${keyId}\0`), digest]);
}

/** A fresh random data key. */
export function newDataKey(): Buffer {
  return randomBytes(32);
}

/** Wraps `dataKey` under the keyring's active key. */
export function wrapDataKey(keyring: Keyring, dataKey: Uint8Array, digest: Uint8Array): { keyId: string; wrapped: Uint8Array } {
  const keyId = keyring.activeId;
  const nonce = randomBytes(12);
  const cipher = createCipheriv('chacha20-poly1305', keyring.key(keyId), nonce, { authTagLength: 16 });
  cipher.setAAD(aad(keyId, digest), { plaintextLength: dataKey.length });
  const sealed = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return { keyId, wrapped: Buffer.concat([nonce, sealed, cipher.getAuthTag()]) };
}

/** Unwraps a data key; `INTEGRITY_ERROR` if it does not authenticate. */
export function unwrapDataKey(keyring: Keyring, keyId: string, wrapped: Uint8Array, digest: Uint8Array): Buffer {
  if (wrapped.length !== WRAPPED_KEY_BYTES) throw new CairnError('INTEGRITY_ERROR', 'wrapped data key has the wrong length');
  const decipher = createDecipheriv('chacha20-poly1305', keyring.key(keyId), wrapped.subarray(0, 12), { authTagLength: 16 });
  decipher.setAAD(aad(keyId, digest), { plaintextLength: 32 });
  decipher.setAuthTag(wrapped.subarray(12 + 32));
  try {
    return Buffer.concat([decipher.update(wrapped.subarray(12, 12 + 32)), decipher.final()]);
  } catch (error) {
    throw new CairnError('INTEGRITY_ERROR', `wrapped data key does not authenticate under master key "${keyId}"`, { cause: error });
  }
}

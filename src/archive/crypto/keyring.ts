/**
 * Master keys: 32-byte ChaCha20-Poly1305 keys with ids. The active key wraps new data keys;
 * the others only unwrap, until `cairn admin rotate-key` has rewrapped everything under the
 * active one. Configured as `id:base64` entries, the first one active.
 */
import { randomBytes } from 'node:crypto';
import { CairnError } from '../../errors.ts';

/** A set of master keys. */
export interface Keyring {
  readonly activeId: string;
  /** The key for `id`; throws `KEY_UNAVAILABLE` if it is not configured. */
  key(id: string): Buffer;
  readonly ids: readonly string[];
}

const KEY_ID = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** Parses `id:base64` entries (first active). Errors never echo key material. */
export function parseKeyring(entries: readonly string[]): Keyring {
  if (entries.length === 0) throw new CairnError('CONFIG_INVALID', 'at least one master key is required');
  const keys = new Map<string, Buffer>();
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!KEY_ID.test(id)) throw new CairnError('CONFIG_INVALID', `master key ${i + 1}: expected "<id>:<base64 of 32 bytes>" with id of 1-32 of a-z 0-9 . _ -`);
    const encoded = entry.slice(colon + 1);
    const key = Buffer.from(encoded, 'base64');
    if (!/^[A-Za-z0-9+/]{43}=?$/.test(encoded) || key.length !== 32) throw new CairnError('CONFIG_INVALID', `master key "${id}": must be 32 bytes of base64`);
    if (keys.has(id)) throw new CairnError('CONFIG_INVALID', `master key id "${id}" appears twice`);
    keys.set(id, key);
  });
  const ids = [...keys.keys()];
  return Object.freeze({
    activeId: ids[0] as string,
    ids,
    key(id: string): Buffer {
      const key = keys.get(id);
      if (!key) throw new CairnError('KEY_UNAVAILABLE', `master key "${id.slice(0, 40)}" is not configured`);
      return key;
    },
  });
}

/** A new random master key entry `id:base64`. */
export function generateMasterKeyEntry(id: string): string {
  if (!KEY_ID.test(id)) throw new CairnError('INVALID_ARGUMENT', 'key id must be 1-32 of a-z 0-9 . _ -');
  return `${id}:${randomBytes(32).toString('base64')}`;
}

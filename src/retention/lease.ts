/**
 * A lease in the object store, so retention runs never overlap across processes sharing a
 * bucket: `retention/lease/<chain>.cbor` holds { owner, expiresAt }. Taking it is a conditional
 * write (create-if-absent, or compare-and-swap over an expired lease); only one writer wins.
 */
import { randomBytes } from 'node:crypto';
import { decodeCbor, encodeCbor, isCborMap, readObject, type BlobStore } from '../archive/index.ts';

function leaseKey(chain: string): string {
  return `retention/lease/${chain}.cbor`;
}

/** A lease handle for one process. */
export class RetentionLease {
  readonly owner = randomBytes(8).toString('hex');
  readonly #store: BlobStore;

  constructor(store: BlobStore) {
    this.#store = store;
  }

  /** Takes the chain's lease until `now + ttlMs`; false if another owner holds it unexpired. */
  async acquire(chain: string, now: number, ttlMs: number): Promise<boolean> {
    const body = encodeCbor({ owner: this.owner, expiresAt: now + ttlMs });
    const info = await this.#store.head(leaseKey(chain));
    if (!info) return this.#store.createIfAbsent(leaseKey(chain), body);
    let expiresAt = 0;
    try {
      const value = decodeCbor(await readObject(this.#store, leaseKey(chain)));
      if (isCborMap(value) && typeof value.expiresAt === 'number') expiresAt = value.expiresAt;
    } catch {
      expiresAt = 0; // unreadable: treat as expired
    }
    if (expiresAt > now) return false;
    return this.#store.replaceIfMatch(leaseKey(chain), body, info.etag);
  }

  /** Gives the lease back if this process still holds it. */
  async release(chain: string): Promise<void> {
    const info = await this.#store.head(leaseKey(chain));
    if (!info) return;
    const value = decodeCbor(await readObject(this.#store, leaseKey(chain)));
    if (isCborMap(value) && value.owner === this.owner) await this.#store.replaceIfMatch(leaseKey(chain), encodeCbor({ owner: this.owner, expiresAt: 0 }), info.etag);
  }
}

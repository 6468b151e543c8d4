/**
 * The retention lease, in the metadata database, so runs of one chain never overlap across the
 * processes sharing an archive: a named row (`retention/<chain>`) with a holder and an expiry,
 * taken by one atomic upsert that succeeds only when it is free, expired, or already ours. The
 * scheduler renews it while a run lasts.
 */
import { randomBytes } from 'node:crypto';
import type { MetadataStore } from '../metadata/index.ts';

/** A lease handle for one process. */
export class RetentionLease {
  readonly owner = randomBytes(8).toString('hex');
  readonly #metadata: MetadataStore;

  constructor(metadata: MetadataStore) {
    this.#metadata = metadata;
  }

  /** Takes (or renews) the chain's lease until `now + ttlMs`; false while another owner holds it unexpired. */
  acquire(chain: string, now: number, ttlMs: number): Promise<boolean> {
    return this.#metadata.acquireLease(`retention/${chain}`, this.owner, ttlMs, now);
  }

  /** Gives the lease back if this process still holds it. */
  release(chain: string): Promise<void> {
    return this.#metadata.releaseLease(`retention/${chain}`, this.owner);
  }
}

/**
 * Signed announcements per chain, for the server-sent-events feed. Every archive event gets an
 * id (`<boot>-<sequence>`), is signed by the server identity (announcement.ts), and kept
 * in a per-chain ring (the last `capacity` events) so a client can resume with Last-Event-ID.
 * A resume from an id this process does not have (another boot, or fallen out of the ring) gets
 * a `stream.reset` event: re-read the listing, then follow the feed.
 */
import type { ArchiveEvent, Archive } from '../archive/service/archive.ts';
import { eventBytes, type SignedEvent } from '../archive/service/announcement.ts';
import { signMessage, type SigningKey } from '../archive/index.ts';

export type { SignedEvent } from '../archive/service/announcement.ts';

/** The per-chain logs. */
export class EventLog {
  readonly #identity: SigningKey;
  readonly #capacity: number;
  readonly #boot = Date.now().toString(36);
  #sequence = 0;
  readonly #rings = new Map<string, SignedEvent[]>();
  readonly #listeners = new Map<string, Set<(event: SignedEvent) => void>>();

  constructor(archive: Archive, identity: SigningKey, options: { capacity?: number } = {}) {
    this.#identity = identity;
    this.#capacity = options.capacity ?? 10_000;
    archive.subscribe((event) => this.#record(event));
  }

  #record(event: ArchiveEvent): void {
    const id = `${this.#boot}-${++this.#sequence}`;
    const unsigned = { ...event, id };
    const signed: SignedEvent = { ...unsigned, signature: Buffer.from(signMessage(this.#identity, eventBytes(unsigned))).toString('base64') };
    const ring = this.#rings.get(event.chain) ?? [];
    ring.push(signed);
    if (ring.length > this.#capacity) ring.splice(0, ring.length - this.#capacity);
    this.#rings.set(event.chain, ring);
    for (const listener of this.#listeners.get(event.chain) ?? []) listener(signed);
  }

  /** Events of `chain` after `lastId`; `reset` when `lastId` is unknown here. */
  since(chain: string, lastId: string | undefined): { events: SignedEvent[]; reset: boolean } {
    const ring = this.#rings.get(chain) ?? [];
    if (!lastId) return { events: [], reset: false };
    const at = ring.findIndex((e) => e.id === lastId);
    if (at >= 0) return { events: ring.slice(at + 1), reset: false };
    const [boot, seq] = lastId.split('-');
    if (boot === this.#boot && Number(seq) > this.#sequence) return { events: [], reset: true };
    return { events: boot === this.#boot && ring[0] && Number(seq) < Number(ring[0].id.split('-')[1]) ? ring : [], reset: true };
  }

  /** Calls `listener` for each new event of `chain`; returns the unsubscribe function. */
  listen(chain: string, listener: (event: SignedEvent) => void): () => void {
    const set = this.#listeners.get(chain) ?? new Set();
    set.add(listener);
    this.#listeners.set(chain, set);
    return () => set.delete(listener);
  }
}

/**
 * Signed announcements per chain, for the server-sent-events feed, from the metadata database's
 * outbox: every event any process records gets the outbox's global id, is signed by the server
 * identity (shared by every process on the bucket; announcement.ts) and handed to this process's
 * listeners. A client resumes with Last-Event-ID on any process, even after restarts: the events
 * after that id come from the outbox. An id that is not an outbox id (an older server's) gets a
 * `stream.reset` event: re-read the listing, then follow the feed.
 */
import type { Archive, ArchiveEvent } from '../archive/service/archive.ts';
import { eventBytes, type SignedEvent } from '../archive/service/announcement.ts';
import { signMessage, type SigningKey } from '../archive/index.ts';
import type { EventRow, MetadataStore } from '../metadata/index.ts';

export type { SignedEvent } from '../archive/service/announcement.ts';

/** Events replayed to one resuming client at most (older ones: re-read the listing). */
const MAX_REPLAY = 10_000;

/** The per-chain feeds. */
export class EventLog {
  readonly #identity: SigningKey;
  readonly #metadata: MetadataStore;
  readonly #listeners = new Map<string, Set<(event: SignedEvent) => void>>();
  readonly #stop: () => void;

  constructor(archive: Archive, identity: SigningKey) {
    this.#identity = identity;
    this.#metadata = archive.metadata;
    this.#stop = this.#metadata.subscribe((row) => {
      const listeners = this.#listeners.get(row.chain);
      if (!listeners?.size) return;
      const signed = this.#sign(row);
      for (const listener of listeners) listener(signed);
    });
  }

  #sign(row: EventRow): SignedEvent {
    const unsigned = { id: String(row.id), type: row.type as ArchiveEvent['type'], chain: row.chain, height: row.height, digest: row.digest as ArchiveEvent['digest'], ...(row.validator ? { validator: row.validator } : {}), at: row.at };
    return { ...unsigned, signature: Buffer.from(signMessage(this.#identity, eventBytes(unsigned))).toString('base64') };
  }

  /** Events of `chain` after `lastId`; `reset` when `lastId` is not an outbox id, or too far behind. */
  async since(chain: string, lastId: string | undefined): Promise<{ events: SignedEvent[]; reset: boolean }> {
    if (!lastId) return { events: [], reset: false };
    if (!/^\d{1,15}$/.test(lastId)) return { events: [], reset: true };
    const rows = await this.#metadata.eventsAfter(chain, Number(lastId), MAX_REPLAY + 1);
    if (rows.length > MAX_REPLAY) return { events: [], reset: true };
    return { events: rows.map((row) => this.#sign(row)), reset: false };
  }

  /** Calls `listener` for each new event of `chain`; returns the unsubscribe function. */
  listen(chain: string, listener: (event: SignedEvent) => void): () => void {
    const set = this.#listeners.get(chain) ?? new Set();
    set.add(listener);
    this.#listeners.set(chain, set);
    return () => set.delete(listener);
  }

  /** Stops following the outbox. */
  close(): void {
    this.#stop();
  }
}

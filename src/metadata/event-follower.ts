/**
 * Delivers outbox events to this process's subscribers, in id order, exactly once each, whoever
 * appended them: both drivers wake it (PostgreSQL on NOTIFY, SQLite on a poll timer, both right
 * after their own appends), and it reads the outbox from the last id it delivered.
 */
import type { EventRow } from './metadata-store.ts';

/** What the follower reads. */
export interface OutboxReader {
  /** Events after `id`, oldest first, at most `limit`. */
  after(id: number, limit: number): Promise<EventRow[]>;
  /** The newest id now (subscribers get what comes after it). */
  lastId(): Promise<number>;
}

/** Follows the outbox for a set of listeners. */
export class EventFollower {
  readonly #reader: OutboxReader;
  readonly #onError: (error: unknown) => void;
  readonly #listeners = new Set<(event: EventRow) => void>();
  #last: Promise<number> | undefined;
  #draining: Promise<void> | undefined;
  #again = false;

  constructor(reader: OutboxReader, onError: (error: unknown) => void) {
    this.#reader = reader;
    this.#onError = onError;
  }

  /** True while anyone listens. */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

  subscribe(listener: (event: EventRow) => void): () => void {
    if (this.#listeners.size === 0) this.#last = this.#reader.lastId();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Something may have been appended: read and deliver it (coalesces concurrent wake-ups). */
  wake(): void {
    if (!this.active) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = this.#drain()
      .catch((error: unknown) => this.#onError(error))
      .finally(() => {
        this.#draining = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  /** Resolves once the current drain (if any) is done. */
  async settled(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    let last = await (this.#last ?? this.#reader.lastId());
    for (;;) {
      const batch = await this.#reader.after(last, 500);
      for (const event of batch) {
        last = event.id;
        this.#last = Promise.resolve(last);
        for (const listener of this.#listeners) {
          try {
            listener(event);
          } catch (error) {
            this.#onError(error);
          }
        }
      }
      if (batch.length < 500) return;
    }
  }
}

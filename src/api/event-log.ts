/**
 * Signed announcements per chain, for the server-sent-events feed. Every archive event gets an
 * id (`<boot>-<sequence>`), is signed by the server identity over
 * `"cairn/event/v1" ‖ 0x00 ‖ dCBOR({ id, type, chain, height, digest, validator?, at })`, and kept
 * in a per-chain ring (the last `capacity` events) so a client can resume with Last-Event-ID.
 * A resume from an id this process does not have (another boot, or fallen out of the ring) gets
 * a `stream.reset` event: re-read the listing, then follow the feed.
 */
import type { ArchiveEvent, Archive } from '../archive/service/archive.ts';
import { encodeCbor, signMessage, verifyMessage, type PublicKey, type SigningKey } from '../archive/index.ts';

/** An announcement as sent to clients. */
export interface SignedEvent extends ArchiveEvent {
  readonly id: string;
  /** Base64 ML-DSA-65 signature by the server identity. */
  readonly signature: string;
}

const DOMAIN = new TextEncoder().encode('cairn/event/v1\0');

/** The exact bytes the server signs for an event. */
export function eventBytes(event: Omit<SignedEvent, 'signature'>): Uint8Array {
  const body = encodeCbor({ id: event.id, type: event.type, chain: event.chain, height: event.height, digest: event.digest, ...(event.validator ? { validator: event.validator } : {}), at: event.at });
  const out = new Uint8Array(DOMAIN.length + body.length);
  out.set(DOMAIN);
  out.set(body, DOMAIN.length);
  return out;
}

/** Verifies an event's signature against the server's public key. */
export function verifyEvent(event: SignedEvent, key: PublicKey): boolean {
  const { signature, ...rest } = event;
  return verifyMessage(key, eventBytes(rest), Buffer.from(signature, 'base64'));
}

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

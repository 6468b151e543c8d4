/**
 * Signed announcements: an archive event with an id, signed by the server identity over
 * `"cairn/event/v1" ‖ 0x00 ‖ dCBOR({ id, type, chain, height, digest, validator?, at })`.
 * Peers check them against the key at /v1/identity before fetching anything.
 */
import { encodeCbor } from '../cbor/deterministic-cbor.ts';
import { verifyMessage, type PublicKey } from '../keys/signing.ts';
import type { ArchiveEvent } from './archive.ts';

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

/** Verifies an announcement's signature against the server's public key. */
export function verifyEvent(event: SignedEvent, key: PublicKey): boolean {
  const { signature, ...rest } = event;
  return verifyMessage(key, eventBytes(rest), Buffer.from(signature, 'base64'));
}

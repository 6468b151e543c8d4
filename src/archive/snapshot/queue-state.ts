/**
 * Queue-state content (`application/vnd.cairn.queue-state+cbor`): the seed's snapshot of a
 * validator's prioritised message queue, as a deterministic-CBOR array of messages
 * `{ kind, priority, payload, provenance: { origin, receivedAt, sequence } }`.
 * Lower priority numbers are more urgent (0 first). See `docs/FORMAT.md` §Queue state.
 */
import { CairnError } from '../../errors.ts';
import type { CborBudget } from '../cbor/cbor-budget.ts';
import { decodeCbor, encodeCbor, isCborMap, type CborValue } from '../cbor/deterministic-cbor.ts';
import { isUint53, isValidatorId } from '../image/format.ts';

/** The message kinds of the seed's validator queue. */
export const QUEUE_MESSAGE_KINDS = ['BlockImport', 'Vote', 'Transaction'] as const;
/** A queue message kind. */
export type QueueMessageKind = (typeof QUEUE_MESSAGE_KINDS)[number];

/** Where a message came from. */
export interface Provenance {
  /** Id of the validator or peer the message came from. */
  readonly origin: string;
  /** When it entered the queue, ms since the epoch. */
  readonly receivedAt: number;
  /** Monotonic arrival number at the snapshotting validator. */
  readonly sequence: number;
}

/** One message of a validator queue. */
export interface QueueMessage {
  readonly kind: QueueMessageKind;
  /** 0 is the most urgent. */
  readonly priority: number;
  readonly payload: Uint8Array;
  readonly provenance: Provenance;
}

/** Largest queue-state content decoded in memory. */
export const MAX_QUEUE_STATE_BYTES = 256 * 1024 * 1024;
const MESSAGE_KEYS = ['kind', 'payload', 'priority', 'provenance'];
const PROVENANCE_KEYS = ['origin', 'receivedAt', 'sequence'];

function invalid(message: string): CairnError {
  return new CairnError('QUEUE_STATE_INVALID', message);
}

function hasExactly(map: { [key: string]: CborValue }, keys: readonly string[]): boolean {
  const present = Object.keys(map);
  return present.length === keys.length && keys.every((k) => k in map);
}

/** Validates one message (from CBOR or from a caller) and returns a clean copy. */
export function checkQueueMessage(value: unknown, index: number): QueueMessage {
  const where = `message ${index}`;
  if (!isCborMap(value as CborValue) || !hasExactly(value as { [key: string]: CborValue }, MESSAGE_KEYS)) {
    throw invalid(`${where}: must be a map with exactly kind, priority, payload, provenance`);
  }
  const { kind, priority, payload, provenance } = value as { [key: string]: CborValue };
  if (typeof kind !== 'string' || !(QUEUE_MESSAGE_KINDS as readonly string[]).includes(kind)) throw invalid(`${where}: kind must be one of ${QUEUE_MESSAGE_KINDS.join(', ')}`);
  if (!isUint53(priority)) throw invalid(`${where}: priority must be an unsigned integer`);
  if (!(payload instanceof Uint8Array)) throw invalid(`${where}: payload must be bytes`);
  if (!isCborMap(provenance) || !hasExactly(provenance, PROVENANCE_KEYS)) throw invalid(`${where}: provenance must be a map with exactly origin, receivedAt, sequence`);
  const { origin, receivedAt, sequence } = provenance;
  if (!isValidatorId(origin)) throw invalid(`${where}: provenance.origin must be a validator or peer id`);
  if (!isUint53(receivedAt) || !isUint53(sequence)) throw invalid(`${where}: provenance.receivedAt and sequence must be unsigned integers`);
  return { kind: kind as QueueMessageKind, priority, payload, provenance: { origin, receivedAt, sequence } };
}

/**
 * The decoding budget of queue-state content of `length` bytes, from its schema (FORMAT.md §2):
 * a message is 15 data items in at least 73 bytes (empty payload, one-character origin), so no
 * valid queue state holds more than one item per 4 bytes, plus its array; 3 levels.
 */
export function queueStateCborBudget(length: number): CborBudget {
  return { maxItems: 1 + Math.floor(length / 4), maxDepth: 3 };
}

/** Encodes messages as queue-state content, in the order given. */
export function encodeQueueState(messages: readonly QueueMessage[]): Uint8Array {
  const checked = messages.map((m, i) => checkQueueMessage(m, i));
  return encodeCbor(checked.map((m) => ({ kind: m.kind, priority: m.priority, payload: m.payload, provenance: { origin: m.provenance.origin, receivedAt: m.provenance.receivedAt, sequence: m.provenance.sequence } })));
}

/** The error for queue-state content over {@link MAX_QUEUE_STATE_BYTES}. */
export function queueStateTooLarge(): CairnError {
  return invalid(`queue state larger than ${MAX_QUEUE_STATE_BYTES} bytes`);
}

/** Decodes and validates queue-state content. */
export function decodeQueueState(bytes: Uint8Array): QueueMessage[] {
  if (bytes.length > MAX_QUEUE_STATE_BYTES) throw queueStateTooLarge();
  let value: CborValue;
  try {
    value = decodeCbor(bytes, queueStateCborBudget(bytes.length));
  } catch (error) {
    throw new CairnError('QUEUE_STATE_INVALID', `queue state is not valid CBOR: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(value)) throw invalid('queue state must be a CBOR array of messages');
  return value.map((m, i) => checkQueueMessage(m, i));
}

/** Messages in restore order: priority ascending; equal priorities keep their snapshot order. */
export function inPriorityOrder(messages: readonly QueueMessage[]): QueueMessage[] {
  return messages
    .map((message, index) => ({ message, index }))
    .sort((a, b) => a.message.priority - b.message.priority || a.index - b.index)
    .map((e) => e.message);
}

/**
 * Reads queue-state content from a stream and decodes it; refused (`QUEUE_STATE_INVALID`) as
 * soon as it passes {@link MAX_QUEUE_STATE_BYTES}, before the rest is read.
 */
export async function readQueueState(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ bytes: Buffer; messages: QueueMessage[] }> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > MAX_QUEUE_STATE_BYTES) throw queueStateTooLarge();
    parts.push(chunk);
  }
  const bytes = Buffer.concat(parts);
  return { bytes, messages: decodeQueueState(bytes) };
}

/**
 * The seed's create / verify / restore, for validators that embed Cairn as a library: a queue
 * state becomes a signed image, an image is verified against trusted keys (or a registry), and
 * a verified image restores the queue in priority order.
 */
import { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { CairnError } from '../../errors.ts';
import type { PublicKey, SigningKey } from '../keys/signing.ts';
import { CONTENT_TYPE_QUEUE_STATE, type ImageHeader } from '../image/format.ts';
import { createImageBytes } from '../image/image-writer.ts';
import { verifyImage, type Trust, type VerificationReport } from '../image/image-verify.ts';
import { decodeQueueState, encodeQueueState, inPriorityOrder, MAX_QUEUE_STATE_BYTES, type QueueMessage } from './queue-state.ts';

/** Options for {@link createSnapshot}. */
export interface CreateSnapshotOptions {
  chain: string;
  height: number;
  validator: string;
  key: SigningKey;
  /** ms since the epoch (default now). */
  createdAt?: number;
}

/** A snapshot image in memory. */
export interface Snapshot {
  readonly header: ImageHeader;
  /** The complete, self-contained image file. */
  readonly bytes: Uint8Array;
}

/** Serialises `messages` (in queue order) into a signed queue-state image. */
export function createSnapshot(messages: readonly QueueMessage[], options: CreateSnapshotOptions): Snapshot {
  return createImageBytes({ ...options, contentType: CONTENT_TYPE_QUEUE_STATE, content: encodeQueueState(messages) });
}

/** Result of {@link verifySnapshot}: the verification report and the decoded messages. */
export interface VerifiedSnapshot extends VerificationReport {
  readonly messages: readonly QueueMessage[];
}

function asTrust(trust: Trust | readonly PublicKey[]): Trust {
  return Array.isArray(trust) ? { keys: trust } : (trust as Trust);
}

/**
 * Verifies a snapshot image against trusted keys or a registry: producer signature (and every
 * attestation by a trusted validator), digest, size, queue-state content.
 * @param requireFinal also demand a registry quorum (> 2/3 of the chain's weight).
 */
export async function verifySnapshot(image: Uint8Array | AsyncIterable<Uint8Array>, trust: Trust | readonly PublicKey[], options: { requireFinal?: boolean } = {}): Promise<VerifiedSnapshot> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > MAX_QUEUE_STATE_BYTES) return callback(new CairnError('QUEUE_STATE_INVALID', `queue state larger than ${MAX_QUEUE_STATE_BYTES} bytes`));
      chunks.push(chunk);
      callback();
    },
  });
  const source = image instanceof Uint8Array ? Readable.from([image], { objectMode: false }) : image;
  const report = await verifyImage(source, asTrust(trust), { sink });
  if (report.header.contentType !== CONTENT_TYPE_QUEUE_STATE) {
    throw new CairnError('QUEUE_STATE_INVALID', `image content type is ${report.header.contentType}, not ${CONTENT_TYPE_QUEUE_STATE}`);
  }
  if (options.requireFinal && !report.quorum?.final) {
    throw new CairnError('UNTRUSTED_SIGNER', 'snapshot is not final under the trusted registry (needs attestations from > 2/3 of the weight)', {
      details: { quorum: report.quorum ?? null },
    });
  }
  return { ...report, messages: decodeQueueState(Buffer.concat(chunks, size)) };
}

/** Verifies a snapshot and returns its messages in restore (priority) order. */
export async function restoreFromSnapshot(image: Uint8Array | AsyncIterable<Uint8Array>, trust: Trust | readonly PublicKey[], options: { requireFinal?: boolean } = {}): Promise<QueueMessage[]> {
  const verified = await verifySnapshot(image, trust, options);
  return inPriorityOrder(verified.messages);
}

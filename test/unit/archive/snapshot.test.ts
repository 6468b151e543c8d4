import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CONTENT_TYPE_QUEUE_STATE,
  createSnapshot,
  decodeQueueState,
  encodeQueueState,
  formatPublicKey,
  parseRegistry,
  restoreFromSnapshot,
  verifySnapshot,
  type QueueMessage,
} from '../../../src/index.ts';
import { isCairnError } from '../../../src/errors.ts';
import { smallImage, testKey } from '../../support/fixtures.ts';

const messages: QueueMessage[] = [
  { kind: 'Transaction', priority: 5, payload: Uint8Array.of(9), provenance: { origin: 'alice', receivedAt: 3, sequence: 3 } },
  { kind: 'BlockImport', priority: 0, payload: Uint8Array.of(1), provenance: { origin: 'bob', receivedAt: 1, sequence: 1 } },
  { kind: 'Vote', priority: 2, payload: Uint8Array.of(2), provenance: { origin: 'carol', receivedAt: 2, sequence: 2 } },
  { kind: 'Vote', priority: 2, payload: Uint8Array.of(3), provenance: { origin: 'dave', receivedAt: 4, sequence: 4 } },
];

describe('queue-state snapshots (create / verify / restore)', () => {
  const key = testKey('slh-dsa-sha2-128f', 'alice');

  it('restores messages in priority order, ties in snapshot order', async () => {
    const snapshot = createSnapshot(messages, { chain: 'devnet', height: 1000, validator: 'alice', key });
    expect(snapshot.header.contentType).toBe(CONTENT_TYPE_QUEUE_STATE);
    const restored = await restoreFromSnapshot(snapshot.bytes, [key.publicKey]);
    expect(restored.map((m) => m.provenance.origin)).toEqual(['bob', 'carol', 'dave', 'alice']);
    expect(restored[0]?.payload).toEqual(Uint8Array.of(1));
  });

  it('refuses a snapshot from an untrusted key, a tampered one, and non-queue content', async () => {
    const snapshot = createSnapshot(messages, { chain: 'devnet', height: 1000, validator: 'alice', key });
    await expect(verifySnapshot(snapshot.bytes, [testKey('ml-dsa-44', 'eve').publicKey])).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
    const tampered = new Uint8Array(snapshot.bytes);
    tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 1;
    await expect(verifySnapshot(tampered, [key.publicKey])).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    const opaque = smallImage(new Uint8Array(3), { key });
    await expect(verifySnapshot(opaque.bytes, [key.publicKey])).rejects.toMatchObject({ code: 'QUEUE_STATE_INVALID' });
  });

  it('requires a quorum when asked and a registry is given', async () => {
    const snapshot = createSnapshot(messages, { chain: 'devnet', height: 1000, validator: 'alice', key });
    const registry = parseRegistry({
      chains: { devnet: { validators: [{ id: 'alice', weight: 1, keys: [formatPublicKey(key.publicKey)] }, { id: 'bob', weight: 1, keys: [formatPublicKey(testKey('ml-dsa-44', 'bob').publicKey)] }] } },
    });
    await expect(verifySnapshot(snapshot.bytes, { registry, keys: [] })).resolves.toMatchObject({ quorum: { attestedWeight: 1, totalWeight: 2, final: false } });
    await expect(verifySnapshot(snapshot.bytes, { registry, keys: [] }, { requireFinal: true })).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
  });

  it.each([
    ['not an array', { a: 1 }],
    ['unknown kind', [{ kind: 'Gossip', priority: 1, payload: new Uint8Array(0), provenance: { origin: 'a', receivedAt: 0, sequence: 0 } }]],
    ['extra field', [{ kind: 'Vote', priority: 1, payload: new Uint8Array(0), provenance: { origin: 'a', receivedAt: 0, sequence: 0 }, x: 1 }]],
    ['text payload', [{ kind: 'Vote', priority: 1, payload: 'abc', provenance: { origin: 'a', receivedAt: 0, sequence: 0 } }]],
  ])('rejects queue-state content that is %s', async (_name, value) => {
    const { encodeCbor } = await import('../../../src/archive/index.ts');
    expect(() => decodeQueueState(encodeCbor(value as never))).toThrow(expect.objectContaining({ code: 'QUEUE_STATE_INVALID' }) as Error);
  });

  it('decodes queue states of many small messages (the densest the schema allows) and refuses denser CBOR', () => {
    const minimal = (i: number): QueueMessage => ({ kind: 'Vote', priority: i % 24, payload: new Uint8Array(0), provenance: { origin: 'a', receivedAt: i % 24, sequence: i % 24 } });
    for (const count of [1, 70, 5_000]) {
      const list = Array.from({ length: count }, (_, i) => minimal(i));
      expect(decodeQueueState(encodeQueueState(list))).toHaveLength(count);
    }
    // One item per byte (an array of 100,000 zeros) is far denser than any valid queue state.
    const dense = Buffer.concat([Buffer.from([0x9a, 0x00, 0x01, 0x86, 0xa0]), Buffer.alloc(100_000)]);
    let refused: unknown;
    try {
      decodeQueueState(dense);
    } catch (error) {
      refused = error;
    }
    expect(isCairnError(refused, 'QUEUE_STATE_INVALID')).toBe(true);
    expect((refused as Error).message).toContain('more than 25002 items');
  });

  it('property: encode/decode round-trips; random bytes give only QUEUE_STATE_INVALID', () => {
    const message = fc.record({
      kind: fc.constantFrom('BlockImport' as const, 'Vote' as const, 'Transaction' as const),
      priority: fc.nat(),
      payload: fc.uint8Array({ maxLength: 32 }),
      provenance: fc.record({ origin: fc.constantFrom('alice', 'bob', 'node-7'), receivedAt: fc.nat(), sequence: fc.nat() }),
    });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 400 }), (ms) => {
        expect(decodeQueueState(encodeQueueState(ms))).toEqual(ms);
      }),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        try {
          decodeQueueState(bytes);
        } catch (error) {
          expect(isCairnError(error, 'QUEUE_STATE_INVALID')).toBe(true);
        }
      }),
    );
  });
});

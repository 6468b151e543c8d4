/**
 * The retention invariants (ARCHITECTURE.md "Retention safety"), checked after every step of
 * random sequences of operations on two processes sharing one bucket and one database: pushes
 * (with and without quorum), attestations, registry changes of weights and members (and
 * attempted epoch-length changes without confirmation), holds and releases, clock advances,
 * retention runs on either process, and runs that crash part-way (their store refuses deletes).
 * After each step:
 *  - the highest image ever proven final exists, and latest-final finds a final image;
 *  - no epoch-boundary image is gone unless another image at its height is final;
 *  - every held image exists.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPublicKey, signAttestation, type Archive, type Digest } from '../../../src/archive/index.ts';
import type { BlobStore } from '../../../src/archive/store/blob-store.ts';
import { createMemoryStore } from '../../../src/archive/store/drivers/memory-driver.ts';
import { silentLogger } from '../../../src/logger.ts';
import { openMetadata } from '../../../src/metadata/index.ts';
import { RetentionSweeper, type RetentionPolicy } from '../../../src/retention/index.ts';
import { allImages, bodyOf, imageBytes, testArchive, testKeyring, validatorKey } from '../../support/archive-fixtures.ts';

const HOUR = 3_600_000;
const EPOCH = 100;
const policy: RetentionPolicy = { keepLast: 2, epochLength: EPOCH, maxAgeMs: 2 * 24 * HOUR };
const GRACE = HOUR;

type Op =
  | { kind: 'push'; height: number; attesters: string[]; via: 0 | 1 }
  | { kind: 'attest'; pick: number; validator: string }
  | { kind: 'weights'; bob: number; dave: number | null }
  | { kind: 'epoch'; to: number }
  | { kind: 'hold'; pick: number; on: boolean }
  | { kind: 'advance'; hours: number }
  | { kind: 'run'; via: 0 | 1 | 'crashing' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), height: fc.integer({ min: 1, max: 8 }).map((h) => h * 50), attesters: fc.subarray(['bob', 'carol']), via: fc.constantFrom(0 as const, 1 as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('attest' as const), pick: fc.nat(), validator: fc.constantFrom('bob', 'carol', 'dave') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('weights' as const), bob: fc.integer({ min: 1, max: 3 }), dave: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('epoch' as const), to: fc.constantFrom(50, 1000) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('hold' as const), pick: fc.nat(), on: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 72 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('run' as const), via: fc.constantFrom(0 as const, 1 as const, 'crashing' as const) }) },
);

/** A store whose deletes fail: a run on it crashes part-way. */
function crashing(store: BlobStore): BlobStore {
  return { ...store, delete: () => Promise.reject(new Error('process killed')) };
}

describe('retention invariants', () => {
  it('hold after every step of random sequences on two processes', async () => {
    let sequences = 0;
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 30 }), async (ops) => {
        sequences++;
        let now = 1_900_000_000_000;
        const store = createMemoryStore();
        const metadata = await openMetadata('sqlite::memory:');
        const keyring = testKeyring();
        const clock = { now: () => now, metadata, keyring };
        const [a, b] = [await testArchive(store, clock), await testArchive(store, clock)];
        const broken = await testArchive(crashing(store), clock);
        const processes: Archive[] = [a, b];
        const epochNow = { value: 0 };
        const heldNow = new Set<string>();
        const boundaries = new Map<string, number>(); // digest → height of boundary images pushed
        let highestFinal: { height: number; digests: Set<string> } | undefined;
        const images = (): Promise<Array<{ digest: Digest; height: number; final: boolean }>> => allImages(a, 'testnet').then((list) => list.map((e) => ({ digest: e.record.digest, height: e.record.height, final: e.finalizedAt !== undefined })));

        for (const step of ops) {
          steps++;
          const live = await images();
          switch (step.kind) {
            case 'push': {
              const { header, bytes } = imageBytes(randomBytes(64), { chain: 'testnet', height: step.height, attesters: step.attesters, createdAt: now - 1 });
              await processes[step.via]!.push(bodyOf(bytes)).catch(() => undefined);
              if (step.height % EPOCH === 0) boundaries.set(header.digest, step.height);
              break;
            }
            case 'attest': {
              const image = live[step.pick % Math.max(1, live.length)];
              if (!image) break;
              const got = await a.read.image(image.digest);
              const r = got.record;
              const attestation = signAttestation({ chain: r.chain, height: r.height, digest: r.digest, size: r.size, contentType: r.contentType, validator: step.validator, signedAt: now }, validatorKey(step.validator));
              await b.attest(attestation).catch(() => undefined); // dave may not be registered
              break;
            }
            case 'weights':
              await a.updateRegistry((doc) => {
                const chain = doc.chains.testnet!;
                chain.validators = chain.validators.filter((v) => v.id !== 'dave').map((v) => (v.id === 'bob' ? { ...v, weight: step.bob } : v));
                if (step.dave !== null) chain.validators.push({ id: 'dave', weight: step.dave, keys: [formatPublicKey(validatorKey('dave').publicKey).trim()] });
                return doc;
              });
              b.setRegistry(a.registry);
              broken.setRegistry(a.registry);
              break;
            case 'epoch':
              // Never by accident: without confirmation the change is refused and nothing moves.
              await expect(a.updateRegistry((doc) => ({ chains: { ...doc.chains, testnet: { ...doc.chains.testnet!, epochLength: step.to } } }))).rejects.toMatchObject({ code: 'EPOCH_CHANGE_UNCONFIRMED' });
              break;
            case 'hold': {
              const image = live[step.pick % Math.max(1, live.length)];
              if (!image) break;
              if (step.on) {
                await a.hold(image.digest);
                heldNow.add(image.digest);
              } else {
                await b.release(image.digest);
                heldNow.delete(image.digest);
              }
              break;
            }
            case 'advance':
              now += step.hours * HOUR;
              break;
            case 'run': {
              const archive = step.via === 'crashing' ? broken : processes[step.via]!;
              await new RetentionSweeper(archive, silentLogger).run('testnet', { policy: { ...policy, epochLength: archive.registry.chains.get('testnet')!.epochLength }, graceMs: GRACE, now }).catch(() => undefined);
              break;
            }
          }
          epochNow.value = a.registry.chains.get('testnet')!.epochLength;
          // Track the highest finality ever proven.
          const after = await images();
          for (const image of after.filter((i) => i.final)) {
            if (!highestFinal || image.height > highestFinal.height) highestFinal = { height: image.height, digests: new Set([image.digest]) };
            else if (image.height === highestFinal.height) highestFinal.digests.add(image.digest);
          }
          const present = new Set<string>(after.map((i) => i.digest));
          // 1. The highest image ever proven final exists; a catch-up finds a final image.
          if (highestFinal) {
            for (const digest of highestFinal.digests) expect(present.has(digest), `highest final ${digest} at ${highestFinal.height}`).toBe(true);
            expect(await a.read.latest('testnet', { final: true })).toBeDefined();
          }
          // 2. A boundary image is gone only when another image at its height is final.
          for (const [digest, height] of boundaries) {
            if (present.has(digest)) continue;
            expect(after.some((i) => i.height === height && i.final), `boundary ${height} deleted without a final image at its height`).toBe(true);
          }
          // 3. Held images exist.
          for (const digest of heldNow) expect(present.has(digest), `held ${digest}`).toBe(true);
          expect(epochNow.value).toBe(EPOCH);
        }
        await metadata.close();
      }),
      { numRuns: 40 },
    );
    // The suite's size, for the record.
    console.info(`retention invariants: ${sequences} sequences, ${steps} steps`);
  }, 300_000);
});

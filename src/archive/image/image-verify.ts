/**
 * Offline verification of an image against the verifier's own trust anchors: a registry file
 * (validators, weights, keys: enables the quorum check) and/or bare public keys.
 *
 * Signatures are checked from the header before any content is read; the content is then
 * hashed as it streams (optionally into a sink) and must match the digest and size.
 */
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Transform, Writable } from 'node:stream';
import { CairnError } from '../../errors.ts';
import { parsePublicKeys } from '../keys/key-files.ts';
import type { PublicKey } from '../keys/signing.ts';
import { parseRegistry, type ChainRegistry, type Registry } from '../registry/registry.ts';
import { attestationOf, verifyAttestation } from './attestation.ts';
import { quorumOf, type QuorumStatus } from './finality.ts';
import type { HeaderAttestation, ImageHeader } from './format.ts';
import { openImage, type OpenImageOptions } from './image-reader.ts';
import { CONTENT_TYPE_QUEUE_STATE } from './format.ts';
import { decodeQueueState, MAX_QUEUE_STATE_BYTES, queueStateTooLarge } from '../snapshot/queue-state.ts';

/** What a verifier trusts. */
export interface Trust {
  /** Registered validators per chain (enables the finality check). */
  readonly registry?: Registry;
  /**
   * Bare public keys, trusted for any validator id. A key whose comment equals a validator id
   * is also taken as that validator's key, so a signature it does not verify is `invalid`.
   */
  readonly keys: readonly PublicKey[];
}

/** The outcome for one attestation. */
export interface AttestationCheck {
  readonly validator: string;
  readonly algorithm: string;
  readonly signedAt: number;
  /** valid: verified under a trusted key; invalid: a trusted key of this validator exists but none verifies; untrusted: no trusted key known. */
  readonly status: 'valid' | 'invalid' | 'untrusted';
  /** Fingerprint of the key that verified it. */
  readonly keyFingerprint?: string;
  /** Registered weight, when the registry knows the validator. */
  readonly weight?: number;
}

/** The result of verifying an image's attestations (and, from {@link verifyImage}, its content). */
export interface VerificationReport {
  readonly header: ImageHeader;
  /** Producer first, as in the header. */
  readonly attestations: readonly AttestationCheck[];
  /** Present when the registry has the image's chain. */
  readonly quorum?: QuorumStatus;
}

/** Loads trust anchors: each file is either a registry (JSON) or public key lines. */
export async function loadTrust(paths: readonly string[]): Promise<Trust> {
  if (paths.length === 0) throw new CairnError('INVALID_ARGUMENT', 'at least one --trust file is required');
  const keys: PublicKey[] = [];
  const chains = new Map<string, ChainRegistry>();
  for (const path of paths) {
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new CairnError('INVALID_ARGUMENT', `cannot read trust file ${path}: ${error.code ?? 'error'}`, { cause: error });
    });
    if (text.trimStart().startsWith('{')) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new CairnError('INVALID_ARGUMENT', `trust file ${path} is not valid JSON`, { cause: error });
      }
      for (const [chain, entry] of parseRegistry(json).chains) {
        if (chains.has(chain)) throw new CairnError('INVALID_ARGUMENT', `chain ${chain} appears in more than one trust file`);
        chains.set(chain, entry);
      }
    } else {
      keys.push(...parsePublicKeys(text));
    }
  }
  return { keys, ...(chains.size > 0 ? { registry: { chains } } : {}) };
}

function checkOne(header: ImageHeader, entry: HeaderAttestation, chain: ChainRegistry | undefined, trust: Trust): AttestationCheck {
  const base = { validator: entry.validator, algorithm: entry.algorithm, signedAt: entry.signedAt };
  const attestation = attestationOf(header, entry);
  const registered = chain?.validators.get(entry.validator);
  if (registered) {
    const key = registered.keys.find((k) => verifyAttestation(attestation, k));
    return key ? { ...base, status: 'valid', keyFingerprint: key.fingerprint, weight: registered.weight } : { ...base, status: 'invalid', weight: registered.weight };
  }
  const key = trust.keys.find((k) => verifyAttestation(attestation, k));
  if (key) return { ...base, status: 'valid', keyFingerprint: key.fingerprint };
  // A bare key whose comment names this validator is taken as the validator's own key.
  return { ...base, status: trust.keys.some((k) => k.comment === entry.validator) ? 'invalid' : 'untrusted' };
}

/**
 * The status of every attestation of `header` under `trust`, producer first, without judging
 * the image (`image inspect --trust` shows them; {@link verifyAttestations} judges).
 */
export function checkAttestations(header: ImageHeader, trust: Trust): AttestationCheck[] {
  const chain = trust.registry?.chains.get(header.chain);
  return header.attestations.map((entry) => checkOne(header, entry, chain, trust));
}

/**
 * Checks every attestation of `header` against `trust` (no content is involved). Attestations
 * the trust cannot check (`untrusted`: a validator it does not know — which is also what an
 * entry whose id was altered looks like) are reported and never counted toward finality.
 * @throws CairnError `SIGNATURE_INVALID` when any attestation by a trusted validator fails;
 *   `UNTRUSTED_SIGNER` when the producer has no trusted key.
 */
export function verifyAttestations(header: ImageHeader, trust: Trust): VerificationReport {
  const chain = trust.registry?.chains.get(header.chain);
  const checks = checkAttestations(header, trust);
  const invalid = checks.filter((c) => c.status === 'invalid');
  if (invalid.length > 0) {
    throw new CairnError('SIGNATURE_INVALID', `attestation signature by ${invalid.map((c) => c.validator).join(', ')} does not verify`, {
      details: { validators: invalid.map((c) => c.validator) },
    });
  }
  const producer = checks[0] as AttestationCheck;
  if (producer.status !== 'valid') {
    throw new CairnError('UNTRUSTED_SIGNER', `no trusted key for producer ${producer.validator} of chain ${header.chain}`, { details: { validator: producer.validator, chain: header.chain } });
  }
  if (!chain) return { header, attestations: checks };
  const weights = new Map([...chain.validators.values()].map((v) => [v.id, v.weight]));
  const quorum = quorumOf(
    checks.filter((c) => c.status === 'valid').map((c) => c.validator),
    weights,
  );
  return { header, attestations: checks, quorum };
}

/** Options for {@link verifyImage}. */
export interface VerifyImageOptions extends OpenImageOptions {
  /** Receives the verified content; it must not treat it as valid before the promise resolves. */
  sink?: Writable;
}

/**
 * Verifies a whole image stream in the order of docs/FORMAT.md §1.1: preamble and header, then
 * signatures (before any content is read), then content length and digest, then what the content
 * type promises (a queue state must decode: `QUEUE_STATE_INVALID`). Resolves with the report;
 * rejects with a {@link CairnError} on any failure.
 */
export async function verifyImage(source: AsyncIterable<Uint8Array>, trust: Trust, options: VerifyImageOptions = {}): Promise<VerificationReport> {
  const image = await openImage(source, options);
  let report: VerificationReport;
  try {
    report = verifyAttestations(image.header, trust);
  } catch (error) {
    image.content.destroy();
    throw error;
  }
  const queue = image.header.contentType === CONTENT_TYPE_QUEUE_STATE ? queueCollector(image.header.size) : undefined;
  if (queue) await pipeline(image.content, queue.stream, options.sink ?? discard());
  else await pipeline(image.content, options.sink ?? discard());
  queue?.check();
  return report;
}

/** Passes content through, keeping it (up to the queue-state limit) to check once it verified. */
function queueCollector(size: number): { stream: Transform; check(): void } {
  const keep = size <= MAX_QUEUE_STATE_BYTES;
  const parts: Buffer[] = [];
  return {
    stream: new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        if (keep) parts.push(chunk);
        callback(null, chunk);
      },
    }),
    check() {
      if (!keep) throw queueStateTooLarge();
      decodeQueueState(Buffer.concat(parts));
    },
  };
}

function discard(): Writable {
  return new Writable({
    highWaterMark: 1,
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

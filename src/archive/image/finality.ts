/**
 * Finality: an image is final when distinct validators holding strictly more than two thirds of
 * the chain's registered weight have valid attestations for it. Pure functions over plain data.
 */

/** Quorum arithmetic for one image. */
export interface QuorumStatus {
  /** Sum of the weights of distinct registered validators with a valid attestation. */
  readonly attestedWeight: number;
  /** Sum of all registered validators' weights for the chain. */
  readonly totalWeight: number;
  /** attestedWeight > 2/3 · totalWeight, in exact integer arithmetic. */
  readonly final: boolean;
}

/** True when `attestedWeight` is strictly more than two thirds of `totalWeight`. */
export function isQuorum(attestedWeight: number, totalWeight: number): boolean {
  return totalWeight > 0 && 3 * attestedWeight > 2 * totalWeight;
}

/** Quorum status from the validators with valid attestations and the registered weights. */
export function quorumOf(validAttesters: Iterable<string>, weights: ReadonlyMap<string, number>): QuorumStatus {
  let totalWeight = 0;
  for (const w of weights.values()) totalWeight += w;
  let attestedWeight = 0;
  for (const id of new Set(validAttesters)) attestedWeight += weights.get(id) ?? 0;
  return { attestedWeight, totalWeight, final: isQuorum(attestedWeight, totalWeight) };
}

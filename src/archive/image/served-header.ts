/**
 * The header an archive serves when an image has more attestations than fit (docs/FORMAT.md
 * §5.1): the producer's, then registered validators' in descending weight (ties by id) until
 * more than two thirds of the chain's weight is in, then the others in id order while they fit;
 * sorted as §3 requires. The file stays valid, and final wherever the archive had a quorum.
 */
import { encodeCbor } from '../cbor/deterministic-cbor.ts';
import { encodeHeader, orderAttestations } from './header-codec.ts';
import type { HeaderAttestation, ImageHeader } from './format.ts';

/** The largest header an archive serves (the default reader limit). */
export const SERVED_HEADER_LIMIT = 4 * 1024 * 1024;

function entryBytes(a: HeaderAttestation): number {
  return encodeCbor({ algorithm: a.algorithm, signature: a.signature, signedAt: a.signedAt, validator: a.validator }).length;
}

/** `header`, or its quorum-first subset when its encoding exceeds `limitBytes`. */
export function servedHeader(header: ImageHeader, weights: ReadonlyMap<string, number>, limitBytes = SERVED_HEADER_LIMIT): ImageHeader {
  if (encodeHeader(header).length <= limitBytes) return header;
  const [producer, ...others] = header.attestations as [HeaderAttestation, ...HeaderAttestation[]];
  const total = [...weights.values()].reduce((sum, w) => sum + w, 0);
  const chosen = new Set<HeaderAttestation>();
  // The array head may grow from 1 to 3 bytes as entries are added: keep that much slack.
  let size = encodeHeader({ ...header, attestations: [producer] }).length + 4;
  let attested = weights.get(producer.validator) ?? 0;
  const add = (a: HeaderAttestation): boolean => {
    const bytes = entryBytes(a);
    if (size + bytes > limitBytes) return false;
    chosen.add(a);
    size += bytes;
    return true;
  };
  const registered = others.filter((a) => weights.has(a.validator)).sort((a, b) => (weights.get(b.validator) ?? 0) - (weights.get(a.validator) ?? 0) || (a.validator < b.validator ? -1 : 1));
  for (const a of registered) {
    if (3 * attested > 2 * total) break;
    if (add(a)) attested += weights.get(a.validator) ?? 0;
  }
  for (const a of others) if (!chosen.has(a)) add(a);
  return { ...header, attestations: orderAttestations(producer, chosen) };
}

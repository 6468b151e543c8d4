/** Which trust a vector is checked against: the bare key lines, a registry document, or both. */
export type VectorTrust = 'keys' | 'registry' | 'both' | 'registry-alice-is-bob';

/** One verification of a vector: its trust and the outcome (a code, or statuses and finality). */
export interface VectorCheck {
  trust: VectorTrust;
  /** The error code, when the image does not verify under this trust. */
  code?: string;
  /** Per attestation, producer first, when it verifies (all valid if absent). */
  statuses?: Array<'valid' | 'invalid' | 'untrusted'>;
  /** Finality under a registry. */
  final?: boolean;
}

/** The shape of one valid vector in test/vectors/image-v1/vectors.json. */
export interface ImageVector {
  name: string;
  description: string;
  file: string;
  checks: VectorCheck[];
  chain: string;
  height: number;
  contentType: string;
  createdAt: number;
  size: number;
  digest: string;
  contentHex: string;
  headerHex: string;
  attestations: Array<{ validator: string; algorithm: string; signedAt: number; statementHex: string }>;
}

/** The shape of one valid vector in test/vectors/image-v1/vectors.json. */
export interface ImageVector {
  name: string;
  description: string;
  file: string;
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

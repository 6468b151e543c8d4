/**
 * Cairn's library API, for validators written in TypeScript that embed image creation,
 * verification and restore (the seed's create / verify / restore) without running a server.
 */
export { CairnError, ERROR_CODES, isCairnError, type ErrorCode } from './errors.ts';
export {
  // snapshots of a validator queue (the seed's API)
  createSnapshot,
  verifySnapshot,
  restoreFromSnapshot,
  encodeQueueState,
  decodeQueueState,
  inPriorityOrder,
  QUEUE_MESSAGE_KINDS,
  type QueueMessage,
  type QueueMessageKind,
  type Provenance,
  type Snapshot,
  type VerifiedSnapshot,
  // images
  createImageFile,
  createImageBytes,
  openImage,
  readImageHeader,
  verifyImage,
  verifyAttestations,
  loadTrust,
  signAttestation,
  verifyAttestation,
  isQuorum,
  CONTENT_TYPE_QUEUE_STATE,
  CONTENT_TYPE_OCTET_STREAM,
  type ImageHeader,
  type Attestation,
  type Trust,
  type VerificationReport,
  // keys
  generateSigningKey,
  readSigningKeyFile,
  readPublicKeyFile,
  writeKeyPair,
  parsePublicKeyLine,
  formatPublicKey,
  SIGNATURE_ALGORITHMS,
  DEFAULT_SIGNATURE_ALGORITHM,
  type SignatureAlgorithm,
  type SigningKey,
  type PublicKey,
  // registry
  parseRegistry,
  readRegistryFile,
  type Registry,
  // digests
  parseDigest,
  digestOf,
  type Digest,
} from './archive/index.ts';

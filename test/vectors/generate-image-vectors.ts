/**
 * Regenerates test/vectors/image-v1/ — run by hand: `node test/vectors/generate-image-vectors.ts`.
 *
 * Keys come from fixed seeds (so they never change); signatures are randomised (hedged) by the
 * algorithms, so regenerating changes signature bytes and therefore the files: commit the
 * result as a whole. Valid vectors are made by the product; invalid ones are hand-built from
 * them with cbor2, so they do not depend on the product's encoder.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode as cbor2Decode, encode as cbor2Encode } from 'cbor2';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js';
import {
  CONTENT_TYPE_QUEUE_STATE,
  createImageBytes,
  encodeQueueState,
  formatPublicKey,
  orderAttestations,
  encodeImagePrefix,
  signAttestation,
  signingKeyFromObject,
  statementBytes,
  attestationOf,
  type SigningKey,
} from '../../src/archive/index.ts';
import type { ImageVector } from '../support/vector-types.ts';

const dir = join(import.meta.dirname, 'image-v1');
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'invalid'), { recursive: true });

function seed(byte: number, length: number): Uint8Array {
  return new Uint8Array(length).fill(byte);
}

function nodeKey(secret: Uint8Array, algorithm: string, format: 'raw-seed' | 'raw-private', comment: string): SigningKey {
  const keyObject: KeyObject = createPrivateKey({ key: Buffer.from(secret), format, asymmetricKeyType: algorithm } as never);
  return signingKeyFromObject(keyObject, comment);
}

// alice: SLH-DSA-SHA2-128s from noble's seeded keygen; bob/carol/dave: ML-DSA from 32-byte seeds.
const keys = {
  alice: nodeKey(slh_dsa_sha2_128s.keygen(seed(0xa1, 48)).secretKey, 'slh-dsa-sha2-128s', 'raw-private', 'alice'),
  bob: nodeKey(seed(0xb0, 32), 'ml-dsa-65', 'raw-seed', 'bob'),
  carol: nodeKey(seed(0xc0, 32), 'ml-dsa-44', 'raw-seed', 'carol'),
  dave: nodeKey(seed(0xd0, 32), 'ml-dsa-87', 'raw-seed', 'dave'),
};
// Sanity: noble derives the same ML-DSA public keys from the seeds.
for (const [name, noble] of [['bob', ml_dsa65], ['carol', ml_dsa44], ['dave', ml_dsa87]] as const) {
  const seedByte = { bob: 0xb0, carol: 0xc0, dave: 0xd0 }[name];
  if (Buffer.compare(noble.keygen(seed(seedByte, 32)).publicKey, keys[name].publicKey.raw) !== 0) throw new Error(`seed mismatch for ${name}`);
}

const CREATED_AT = Date.UTC(2026, 0, 15, 12, 0, 0);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const vectors: ImageVector[] = [];

function addVector(name: string, description: string, fields: { chain: string; height: number; contentType?: string; content: Uint8Array; producer: keyof typeof keys; others?: Array<keyof typeof keys> }): Uint8Array {
  const { header, bytes: single } = createImageBytes({ chain: fields.chain, height: fields.height, validator: fields.producer, key: keys[fields.producer], content: fields.content, createdAt: CREATED_AT, ...(fields.contentType ? { contentType: fields.contentType } : {}) });
  let fullHeader = header;
  let bytes = single;
  if (fields.others?.length) {
    const extra = fields.others.map((v, i) => {
      const a = signAttestation({ chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, validator: v, signedAt: CREATED_AT + 60_000 * (i + 1) }, keys[v]);
      return { validator: a.validator, signedAt: a.signedAt, algorithm: a.algorithm, signature: a.signature };
    });
    fullHeader = { ...header, attestations: orderAttestations(header.attestations[0]!, extra) };
    const prefix = encodeImagePrefix(fullHeader);
    bytes = Buffer.concat([prefix, fields.content]);
  }
  const file = `${name}.cimg`;
  writeFileSync(join(dir, file), bytes);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(10);
  vectors.push({
    name,
    description,
    file,
    chain: fullHeader.chain,
    height: fullHeader.height,
    contentType: fullHeader.contentType,
    createdAt: fullHeader.createdAt,
    size: fullHeader.size,
    digest: fullHeader.digest,
    contentHex: hex(fields.content),
    headerHex: hex(bytes.subarray(14, 14 + headerLength)),
    attestations: fullHeader.attestations.map((a) => ({
      validator: a.validator,
      algorithm: a.algorithm,
      signedAt: a.signedAt,
      statementHex: hex(statementBytes(attestationOf(fullHeader, a))),
    })),
  });
  return bytes;
}

const raw = addVector('raw-slh-dsa-sha2-128s', 'opaque content, producer alice with SLH-DSA-SHA2-128s', {
  chain: 'devnet',
  height: 1000,
  content: new TextEncoder().encode('Cairn test vector 1: opaque content\n'),
  producer: 'alice',
});
const queue = encodeQueueState([
  { kind: 'Vote', priority: 2, payload: Uint8Array.of(1, 2, 3), provenance: { origin: 'carol', receivedAt: CREATED_AT - 2000, sequence: 7 } },
  { kind: 'BlockImport', priority: 0, payload: new TextEncoder().encode('block 999'), provenance: { origin: 'bob', receivedAt: CREATED_AT - 3000, sequence: 5 } },
  { kind: 'Transaction', priority: 5, payload: new Uint8Array(0), provenance: { origin: 'alice', receivedAt: CREATED_AT - 1000, sequence: 9 } },
]);
addVector('queue-state-three-attestations', 'queue-state content, producer bob (ML-DSA-65), attested by carol (ML-DSA-44) and alice (SLH-DSA-SHA2-128s)', {
  chain: 'devnet',
  height: 2000,
  contentType: CONTENT_TYPE_QUEUE_STATE,
  content: queue,
  producer: 'bob',
  others: ['carol', 'alice'],
});
addVector('empty-ml-dsa-87', 'empty content (size 0), producer dave with ML-DSA-87, chain ids with dots and dashes', {
  chain: 'test-net.2',
  height: 0,
  content: new Uint8Array(0),
  producer: 'dave',
});

// Invalid vectors, hand-built from the first valid one.
const headerLength = new DataView(raw.buffer, raw.byteOffset).getUint32(10);
const rawHeader = raw.subarray(14, 14 + headerLength);
const rawContent = raw.subarray(14 + headerLength);
const baseHeader = cbor2Decode<Record<string, unknown> & { attestations: Array<Record<string, unknown>> }>(rawHeader);

function fileWith(header: Uint8Array, content: Uint8Array = rawContent, version = 1): Uint8Array {
  const pre = new Uint8Array(14);
  pre.set([0x89, 0x43, 0x49, 0x4d, 0x47, 0x0d, 0x0a, 0x1a]);
  new DataView(pre.buffer).setUint16(8, version);
  new DataView(pre.buffer).setUint32(10, header.length);
  return Buffer.concat([pre, header, content]);
}

/** Deterministic CBOR (cbor2's CDE mode), the encoding a valid header must use. */
const dcbor = (value: unknown): Uint8Array => cbor2Encode(value, { cde: true });

const invalid: Array<{ file: string; code: string; why: string }> = [];
function addInvalid(name: string, code: string, why: string, bytes: Uint8Array): void {
  writeFileSync(join(dir, 'invalid', `${name}.cimg`), bytes);
  invalid.push({ file: `invalid/${name}.cimg`, code, why });
}
const flipped = (b: Uint8Array, at: number): Uint8Array => {
  const c = new Uint8Array(b);
  c[at] = (c[at] as number) ^ 0x01;
  return c;
};

addInvalid('bad-magic', 'IMAGE_BAD_MAGIC', 'first byte changed', flipped(raw, 0));
addInvalid('version-2', 'IMAGE_UNSUPPORTED_VERSION', 'format version 2', fileWith(rawHeader, rawContent, 2));
addInvalid('truncated-preamble', 'IMAGE_TRUNCATED', 'file ends after 10 bytes', raw.subarray(0, 10));
addInvalid('truncated-header', 'IMAGE_TRUNCATED', 'file ends inside the header', raw.subarray(0, 14 + 100));
addInvalid('truncated-content', 'IMAGE_TRUNCATED', 'last content byte missing', raw.subarray(0, raw.length - 1));
addInvalid('trailing-bytes', 'IMAGE_TRAILING_BYTES', 'one byte after the content', Buffer.concat([raw, Uint8Array.of(0)]));
addInvalid('digest-mismatch', 'DIGEST_MISMATCH', 'one content bit flipped', flipped(raw, raw.length - 5));
const tooLarge = new Uint8Array(raw);
new DataView(tooLarge.buffer).setUint32(10, 0x7fff_ffff);
addInvalid('header-too-large', 'IMAGE_HEADER_TOO_LARGE', 'header length field 2^31-1', tooLarge);
addInvalid('header-not-canonical', 'CBOR_NOT_CANONICAL', 'header map keys in reverse order', fileWith(cbor2Encode(new Map(Object.entries(baseHeader).reverse()))));
addInvalid('header-not-map', 'IMAGE_HEADER_INVALID', 'header is a CBOR array', fileWith(dcbor([baseHeader.chain, baseHeader.height])));
addInvalid('header-missing-field', 'IMAGE_HEADER_INVALID', 'no contentType', fileWith(dcbor(Object.fromEntries(Object.entries(baseHeader).filter(([k]) => k !== 'contentType')))));
addInvalid('header-extra-field', 'IMAGE_HEADER_INVALID', 'extra key "note"', fileWith(dcbor({ ...baseHeader, note: 'x' })));
addInvalid('header-float-height', 'CBOR_NOT_CANONICAL', 'height encoded as a float', fileWith(dcbor({ ...baseHeader, height: 1000.5 })));
addInvalid('unknown-algorithm', 'UNKNOWN_ALGORITHM', 'algorithm "rsa-2048"', fileWith(dcbor({ ...baseHeader, attestations: [{ ...baseHeader.attestations[0], algorithm: 'rsa-2048' }] })));
addInvalid('bad-signature', 'SIGNATURE_INVALID', 'one signature bit flipped', fileWith(dcbor({ ...baseHeader, attestations: [{ ...baseHeader.attestations[0], signature: flipped(baseHeader.attestations[0]!.signature as Uint8Array, 100) }] })));
addInvalid('signature-over-other-fields', 'SIGNATURE_INVALID', 'height changed after signing', fileWith(dcbor({ ...baseHeader, height: 1001 })));
addInvalid('signed-by-other-key', 'UNTRUSTED_SIGNER', 'producer renamed to "mallory", who is not trusted', fileWith(dcbor({ ...baseHeader, attestations: [{ ...baseHeader.attestations[0], validator: 'mallory' }] })));

const trust = Object.values(keys).map((k) => formatPublicKey(k.publicKey).trim());
const privateKeys = Object.fromEntries(Object.entries(keys).map(([name, k]) => [name, k.privateKey.export({ type: 'pkcs8', format: 'pem' })]));
writeFileSync(
  join(dir, 'vectors.json'),
  `${JSON.stringify({ comment: 'Cairn image format v1 test vectors; see docs/FORMAT.md. Regenerate with: node test/vectors/generate-image-vectors.ts', trust, privateKeys, valid: vectors, invalid }, null, 2)}\n`,
);
console.log(`wrote ${vectors.length} valid and ${invalid.length} invalid vectors to ${dir}`);

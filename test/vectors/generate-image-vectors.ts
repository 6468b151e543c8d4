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
import { decode as cbor2Decode, encode as cbor2Encode, Simple, Tag } from 'cbor2';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { slh_dsa_sha2_128f, slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js';
import { sha3_256 } from '@noble/hashes/sha3.js';
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
  CHUNK_MIN_BYTES,
  GEAR,
  chunkLengths,
  chunkListDigestOf,
  producerHeader,
  type SigningKey,
} from '../../src/archive/index.ts';
import type { ImageVector, VectorCheck, VectorTrust } from '../support/vector-types.ts';

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

// alice, erin: SLH-DSA-SHA2-128s/128f from noble's seeded keygen; bob/carol/dave: ML-DSA from 32-byte seeds.
const keys = {
  alice: nodeKey(slh_dsa_sha2_128s.keygen(seed(0xa1, 48)).secretKey, 'slh-dsa-sha2-128s', 'raw-private', 'alice'),
  erin: nodeKey(slh_dsa_sha2_128f.keygen(seed(0xe0, 48)).secretKey, 'slh-dsa-sha2-128f', 'raw-private', 'erin'),
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
const KEYS_VALID: VectorCheck = { trust: 'keys' };

function addVector(name: string, description: string, fields: { chain: string; height: number; contentType?: string; content: Uint8Array; producer: keyof typeof keys; as?: string; others?: Array<keyof typeof keys>; checks?: VectorCheck[] }): Uint8Array {
  const { header, bytes: single } = createImageBytes({ chain: fields.chain, height: fields.height, validator: fields.as ?? fields.producer, key: keys[fields.producer], content: fields.content, createdAt: CREATED_AT, format: 1, ...(fields.contentType ? { contentType: fields.contentType } : {}) });
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
    checks: fields.checks ?? [KEYS_VALID],
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
const queueFields = { chain: 'devnet', height: 2000, contentType: CONTENT_TYPE_QUEUE_STATE, content: queue, producer: 'bob', others: ['carol', 'alice'] } as const;
const queueFile = addVector('queue-state-three-attestations', 'queue-state content, producer bob (ML-DSA-65), attested by carol (ML-DSA-44) and alice (SLH-DSA-SHA2-128s)', {
  ...queueFields,
  others: [...queueFields.others],
  checks: [KEYS_VALID, { trust: 'registry', statuses: ['valid', 'valid', 'valid'], final: true }],
});
addVector('empty-ml-dsa-87', 'empty content (size 0), producer dave with ML-DSA-87, chain ids with dots and dashes', {
  chain: 'test-net.2',
  height: 0,
  content: new Uint8Array(0),
  producer: 'dave',
  // Registry lookups are per chain: this chain is not in the registry, so dave is untrusted
  // there; with the bare keys as well, dave's key verifies.
  checks: [KEYS_VALID, { trust: 'registry', code: 'UNTRUSTED_SIGNER' }, { trust: 'both', statuses: ['valid'] }],
});
addVector('raw-slh-dsa-sha2-128f', 'opaque content, producer erin with SLH-DSA-SHA2-128f', {
  chain: 'devnet',
  height: 1001,
  content: new TextEncoder().encode('Cairn test vector: SLH-DSA-SHA2-128f\n'),
  producer: 'erin',
  checks: [KEYS_VALID, { trust: 'registry', statuses: ['valid'], final: false }],
});
addVector('content-type-longest', 'a 64-character type and a 127-character subtype (RFC 6838 limits), producer carol', {
  chain: 'devnet',
  height: 1002,
  contentType: `${'a'.repeat(63)}x/${'b'.repeat(60)}.+-!#$&^_${'c'.repeat(58)}`,
  content: Uint8Array.of(1, 2, 3),
  producer: 'carol',
});
addVector('alice-named-signed-by-erin', 'producer named alice, signed with erin\'s key: bare keys vouch for any name; the registry binds alice to her own key', {
  chain: 'devnet',
  height: 1003,
  content: Uint8Array.of(4, 5, 6),
  producer: 'erin',
  as: 'alice',
  checks: [{ trust: 'keys', statuses: ['valid'] }, { trust: 'registry', code: 'SIGNATURE_INVALID' }, { trust: 'both', code: 'SIGNATURE_INVALID' }],
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

const invalid: Array<{ file: string; code: string; why: string; trust: VectorTrust }> = [];
function addInvalid(name: string, code: string, why: string, bytes: Uint8Array, trust: VectorTrust = 'keys'): void {
  writeFileSync(join(dir, 'invalid', `${name}.cimg`), bytes);
  invalid.push({ file: `invalid/${name}.cimg`, code, why, trust });
}
const flipped = (b: Uint8Array, at: number): Uint8Array => {
  const c = new Uint8Array(b);
  c[at] = (c[at] as number) ^ 0x01;
  return c;
};

addInvalid('bad-magic', 'IMAGE_BAD_MAGIC', 'first byte changed', flipped(raw, 0));
addInvalid('version-3', 'IMAGE_UNSUPPORTED_VERSION', 'format version 3', fileWith(rawHeader, rawContent, 3));
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
addInvalid('header-float-height', 'CBOR_UNSUPPORTED', 'height encoded as a float', fileWith(dcbor({ ...baseHeader, height: 1000.5 })));
addInvalid('unknown-algorithm', 'UNKNOWN_ALGORITHM', 'algorithm "rsa-2048"', fileWith(dcbor({ ...baseHeader, attestations: [{ ...baseHeader.attestations[0], algorithm: 'rsa-2048' }] })));
addInvalid('bad-signature', 'SIGNATURE_INVALID', 'one signature bit flipped', fileWith(dcbor({ ...baseHeader, attestations: [{ ...baseHeader.attestations[0], signature: flipped(baseHeader.attestations[0]!.signature as Uint8Array, 100) }] })));
addInvalid('signature-over-other-fields', 'SIGNATURE_INVALID', 'height changed after signing', fileWith(dcbor({ ...baseHeader, height: 1001 })));
addInvalid('producer-renamed', 'UNTRUSTED_SIGNER', 'alice\'s attestation with the producer renamed to "mallory", whom no trusted key names', fileWith(dcbor({ ...baseHeader, attestations: [{ ...baseHeader.attestations[0], validator: 'mallory' }] })));

// §1.1 order of checks: files with several faults get the code of the first step that fails.
const magic = Uint8Array.of(0x89, 0x43, 0x49, 0x4d, 0x47, 0x0d, 0x0a, 0x1a);
addInvalid('short-bad-magic', 'IMAGE_BAD_MAGIC', '5 bytes, not the magic: the magic is judged on the bytes present before the length', new TextEncoder().encode('GIF89'));
addInvalid('short-magic-prefix', 'IMAGE_TRUNCATED', '5 bytes of the magic and nothing else', magic.subarray(0, 5));
addInvalid('short-version-3', 'IMAGE_UNSUPPORTED_VERSION', '12 bytes: magic, version 3', Buffer.concat([magic, Uint8Array.of(0, 3, 0, 0)]));
addInvalid('header-length-zero', 'IMAGE_HEADER_INVALID', 'header length 0', fileWith(new Uint8Array(0), new Uint8Array(0)));
addInvalid('header-too-large-and-short', 'IMAGE_HEADER_TOO_LARGE', 'header length 2^31-1 in a 20-byte file: the limit comes before truncation', tooLarge.subarray(0, 20));
const indefinite = Buffer.concat([Uint8Array.of(0x9f), new Uint8Array(10_000).fill(0x80)]);
const overBudget = fileWith(Buffer.concat([indefinite, new Uint8Array(100_000 - indefinite.length)]), new Uint8Array(0)).subarray(0, 14 + 10_001);
addInvalid('header-over-budget-and-short', 'CBOR_LIMIT_EXCEEDED', '10,000 empty arrays in the first 10,001 bytes of a 100,000-byte header the file cuts short: the walk meets the budget first', overBudget);
addInvalid('header-stray-break', 'CBOR_MALFORMED', 'a break byte after the header map, inside the header length', fileWith(Buffer.concat([rawHeader, Uint8Array.of(0xff)])));
const utf8Bad = Buffer.from(rawHeader);
utf8Bad.set([0xc3, 0x28], utf8Bad.indexOf(Buffer.from('devnet')));
addInvalid('header-invalid-utf8', 'CBOR_MALFORMED', 'the chain text holds C3 28, not UTF-8', fileWith(utf8Bad));
const duplicate = Buffer.concat([Uint8Array.of(0xa8), rawHeader.subarray(1), dcbor('size'), dcbor(36)]);
addInvalid('header-duplicate-key', 'CBOR_MALFORMED', '"size" twice (also out of order: validity comes first)', fileWith(duplicate));
addInvalid('header-tag', 'CBOR_UNSUPPORTED', 'height wrapped in tag 1', fileWith(dcbor({ ...baseHeader, height: new Tag(1, 1000) })));
addInvalid('header-height-2-53', 'CBOR_UNSUPPORTED', 'height 2^53, beyond the data model', fileWith(dcbor({ ...baseHeader, height: 2n ** 53n })));
addInvalid('header-simple-16', 'CBOR_UNSUPPORTED', 'height is simple(16)', fileWith(dcbor({ ...baseHeader, height: new Simple(16) })));
addInvalid('header-bytes-key', 'CBOR_UNSUPPORTED', 'an extra map key that is a byte string', fileWith(dcbor(new Map<unknown, unknown>([...Object.entries(baseHeader), [Uint8Array.of(1), 1]]))));
addInvalid('header-tag-not-canonical', 'CBOR_UNSUPPORTED', 'a tag and map keys out of order: the data model comes before the encoding', fileWith(cbor2Encode(new Map(Object.entries({ ...baseHeader, height: new Tag(1, 1000) }).reverse()))));
const queueHeaderLength = new DataView(queueFile.buffer, queueFile.byteOffset).getUint32(10);
const queueHeader = cbor2Decode<Record<string, unknown> & { attestations: Array<Record<string, unknown>> }>(new Uint8Array(queueFile.subarray(14, 14 + queueHeaderLength)));
const queueContent = new Uint8Array(queueFile.subarray(14 + queueHeaderLength));
const [qProducer, qAlice, qCarol] = queueHeader.attestations as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
addInvalid('attestations-out-of-order', 'IMAGE_HEADER_INVALID', 'carol before alice after the producer', fileWith(dcbor({ ...queueHeader, attestations: [qProducer, qCarol, qAlice] }), queueContent));
addInvalid('created-at-differs', 'IMAGE_HEADER_INVALID', 'createdAt one ms after the producer\'s signedAt', fileWith(dcbor({ ...baseHeader, createdAt: (baseHeader.createdAt as number) + 1 })));
addInvalid('signature-wrong-length', 'IMAGE_HEADER_INVALID', 'the producer\'s signature one byte short', fileWith(dcbor({ ...baseHeader, attestations: [{ ...baseHeader.attestations[0], signature: (baseHeader.attestations[0]!.signature as Uint8Array).subarray(1) }] })));
addInvalid('unknown-algorithm-and-extra-key', 'IMAGE_HEADER_INVALID', 'an unknown algorithm and an extra header key: every other header fault comes before the algorithm', fileWith(dcbor({ ...baseHeader, note: 'x', attestations: [{ ...baseHeader.attestations[0], algorithm: 'rsa-2048' }] })));
addInvalid('unknown-algorithm-short-signature', 'UNKNOWN_ALGORITHM', 'algorithm "rsa-2048" with a 10-byte signature: a length is only checked for a known algorithm', fileWith(dcbor({ ...baseHeader, attestations: [{ ...baseHeader.attestations[0], algorithm: 'rsa-2048', signature: new Uint8Array(10) }] })));
addInvalid('attestations-1025', 'IMAGE_HEADER_INVALID', '1,025 attestation entries (the limit is 1,024; the count is checked before the entries)', fileWith(dcbor({ ...baseHeader, attestations: Array.from({ length: 1025 }, () => ({})) })));
addInvalid('content-type-uppercase', 'IMAGE_HEADER_INVALID', 'contentType "Application/octet-stream"', fileWith(dcbor({ ...baseHeader, contentType: 'Application/octet-stream' })));
addInvalid('content-type-type-65', 'IMAGE_HEADER_INVALID', 'a 65-character type', fileWith(dcbor({ ...baseHeader, contentType: `${'a'.repeat(65)}/b` })));
addInvalid('content-type-parameter', 'IMAGE_HEADER_INVALID', 'contentType with a parameter', fileWith(dcbor({ ...baseHeader, contentType: 'text/plain;charset=utf-8' })));
addInvalid('size-changed', 'SIGNATURE_INVALID', 'size 37 for 36 bytes: signatures are judged before the content', fileWith(dcbor({ ...baseHeader, size: 37 })));
addInvalid('invalid-and-untrusted', 'SIGNATURE_INVALID', 'producer renamed to an untrusted name and carol\'s signature flipped: SIGNATURE_INVALID comes before UNTRUSTED_SIGNER', fileWith(dcbor({ ...queueHeader, attestations: [{ ...qProducer, validator: 'mallory' }, qAlice, { ...qCarol, signature: flipped(qCarol.signature as Uint8Array, 7) }] }), queueContent));
addInvalid('truncated-and-wrong-digest', 'IMAGE_TRUNCATED', 'a content bit flipped and the last byte missing', flipped(raw, raw.length - 5).subarray(0, raw.length - 1));
addInvalid('trailing-and-wrong-digest', 'IMAGE_TRAILING_BYTES', 'a content bit flipped and one byte too many', Buffer.concat([flipped(raw, raw.length - 5), Uint8Array.of(0)]));
addInvalid('queue-state-garbage', 'QUEUE_STATE_INVALID', 'signed queue-state content type over bytes that are not a queue state', createImageBytes({ chain: 'devnet', height: 2001, validator: 'bob', key: keys.bob, content: new TextEncoder().encode('not a queue state'), contentType: CONTENT_TYPE_QUEUE_STATE, createdAt: CREATED_AT, format: 1 }).bytes);
addInvalid('registry-producer-other-key', 'SIGNATURE_INVALID', 'with the registry: alice\'s producer attestation verified against bob\'s registered key only', raw, 'registry-alice-is-bob');

// §4.4: an entry whose validator id was altered is one the verifier cannot check: reported, never
// counted. Registered like the queue-state vector, then its file replaced by the altered one.
addVector('unverifiable-attestation', 'the queue-state image with carol\'s entry renamed "carok" (no signature covers the set of entries): valid, carok untrusted, and no longer final under the registry', { ...queueFields, others: [...queueFields.others] });
{
  const last = vectors.at(-1) as ImageVector;
  const renamed = dcbor({ ...queueHeader, attestations: [qProducer, qAlice, { ...qCarol, validator: 'carok' }] });
  const bytes = fileWith(renamed, queueContent);
  writeFileSync(join(dir, last.file), bytes);
  last.headerHex = hex(renamed);
  last.attestations = last.attestations.map((a) => (a.validator === 'carol' ? { ...a, validator: 'carok', statementHex: hex(statementBytes(attestationOf({ chain: 'devnet', height: 2000, digest: last.digest as never, size: last.size, contentType: last.contentType }, { validator: 'carok', algorithm: a.algorithm as never, signedAt: a.signedAt, signature: new Uint8Array(0) }))) } : a));
  last.checks = [{ trust: 'keys', statuses: ['valid', 'valid', 'untrusted'] }, { trust: 'registry', statuses: ['valid', 'valid', 'untrusted'], final: false }];
}

// The limit: 1,024 entries (carol, then 1,023 validators nobody trusts, with well-formed ML-DSA-44 signatures).
{
  const { header, bytes } = createImageBytes({ chain: 'devnet', height: 3000, validator: 'carol', key: keys.carol, content: Uint8Array.of(9), createdAt: CREATED_AT, format: 1 });
  const others = Array.from({ length: 1023 }, (_, i) => ({ validator: `v${String(i + 1).padStart(4, '0')}`, signedAt: CREATED_AT, algorithm: 'ml-dsa-44' as const, signature: new Uint8Array(2420).fill(i % 251) }));
  const full = { ...header, attestations: orderAttestations(header.attestations[0]!, others) };
  const prefix = encodeImagePrefix(full);
  const file = 'attestations-1024.cimg';
  const out = Buffer.concat([prefix, bytes.subarray(bytes.length - 1)]);
  writeFileSync(join(dir, file), out);
  vectors.push({
    name: 'attestations-1024', description: 'the limit: the producer and 1,023 more entries (by validators nobody trusts: reported untrusted)', file, chain: full.chain, height: full.height, contentType: full.contentType, createdAt: full.createdAt, size: full.size, digest: full.digest, contentHex: '09', headerHex: '', attestations: [],
    checks: [{ trust: 'keys', statuses: ['valid', ...Array.from({ length: 1023 }, () => 'untrusted' as const)] }],
  });
}

// Format v2 (FORMAT.md §12): valid files made by the product, invalid ones hand-built from them.
const validV2: Array<{ name: string; description: string; file: string; digest: string; chunks: Array<{ length: number; id: string }>; checks: VectorCheck[] }> = [];
function addV2(name: string, description: string, fields: { content: Uint8Array; producer: keyof typeof keys; others?: Array<keyof typeof keys>; height: number }): { bytes: Uint8Array; headerLength: number; listBytes: number } {
  const { header } = createImageBytes({ chain: 'devnet', height: fields.height, validator: fields.producer, key: keys[fields.producer], content: fields.content, createdAt: CREATED_AT });
  const extra = (fields.others ?? []).map((v, i) => {
    const a = signAttestation({ chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, validator: v, signedAt: CREATED_AT + 60_000 * (i + 1) }, keys[v]);
    return { validator: a.validator, signedAt: a.signedAt, algorithm: a.algorithm, signature: a.signature };
  });
  const full = { ...header, attestations: orderAttestations(header.attestations[0]!, extra) };
  const bytes = new Uint8Array(Buffer.concat([encodeImagePrefix(full), fields.content]));
  const file = `${name}.cimg`;
  writeFileSync(join(dir, file), bytes);
  const list = full.chunkList!;
  const chunks = Array.from({ length: list.length / 36 }, (_, i) => ({ length: new DataView(list.buffer, list.byteOffset + 36 * i).getUint32(0), id: hex(list.subarray(36 * i + 4, 36 * i + 36)) }));
  validV2.push({ name, description, file, digest: full.digest, chunks, checks: [{ trust: 'keys' }, { trust: 'registry', statuses: full.attestations.map(() => 'valid' as const), final: false }] });
  return { bytes, headerLength: new DataView(bytes.buffer, bytes.byteOffset).getUint32(10), listBytes: list.length };
}
const v2Small = addV2('v2-small', 'format v2: 40 bytes of content in one chunk, producer alice (SLH-DSA-SHA2-128s), attested by carol', { content: new TextEncoder().encode('Cairn test vector v2: one chunk, 40 B.\n!'), producer: 'alice', others: ['carol'], height: 4000 });
// Two chunks in 257 KiB: after MIN zero bytes (never hashed), the first 32-byte window (found by
// search; the Gear hash depends on the last 32 bytes only) whose hash has its top 22 bits zero.
const zeros = (() => {
  const window = new Uint8Array(32);
  for (let n = 0; ; n++) {
    for (let i = 0; i < 8; i++) new DataView(window.buffer).setUint32(4 * i, Math.imul(n + i, 2654435761) >>> 0);
    let h = 0;
    let cut = -1;
    for (let k = 0; k < 32 && cut < 0; k++) {
      h = (h * 2 + GEAR[window[k]!]!) % 2 ** 32;
      if (h < 2 ** 10) cut = k;
    }
    if (cut === 31) break;
  }
  const content = new Uint8Array(CHUNK_MIN_BYTES + 32 + 1000);
  content.set(window, CHUNK_MIN_BYTES);
  return content;
})();
if (JSON.stringify(chunkLengths(zeros)) !== JSON.stringify([CHUNK_MIN_BYTES + 32, 1000])) throw new Error(`two-chunk content cut as ${JSON.stringify(chunkLengths(zeros))}`);
const v2Zeros = addV2('v2-two-chunks', 'format v2: 256 KiB of zeros, a 32-byte window that cuts, 1,000 zeros: chunks of 262,176 and 1,000 bytes; producer bob (ML-DSA-65)', { content: zeros, producer: 'bob', height: 5000 });
{
  const { bytes, headerLength, listBytes } = v2Zeros;
  const listAt = 14 + headerLength;
  const contentAt = listAt + listBytes;
  const v2Header = cbor2Decode<Record<string, unknown>>(new Uint8Array(bytes.subarray(14, listAt)));
  const withHeader = (header: Record<string, unknown>, rest: Uint8Array = bytes.subarray(listAt), version = 2): Uint8Array => fileWith(dcbor(header), rest, version);
  addInvalid('v2-list-bit-flipped', 'DIGEST_MISMATCH', 'v2: one bit of the chunk list flipped: the list must hash to the signed digest', flipped(bytes, listAt + 40));
  addInvalid('v2-chunk-bit-flipped', 'DIGEST_MISMATCH', 'v2: one bit of the second chunk flipped', flipped(bytes, bytes.length - 7));
  addInvalid('v2-truncated-list', 'IMAGE_TRUNCATED', 'v2: the file ends inside the chunk list', bytes.subarray(0, listAt + 50));
  addInvalid('v2-bad-chunk-then-truncated', 'DIGEST_MISMATCH', 'v2: the first chunk has a flipped bit and the file ends inside the second: chunks are judged in file order', flipped(bytes, contentAt + 10).subarray(0, bytes.length - 1));
  addInvalid('v2-truncated-in-first-chunk', 'IMAGE_TRUNCATED', 'v2: the file ends inside the first chunk', bytes.subarray(0, contentAt + 1000));
  addInvalid('v2-trailing-and-bad-chunk', 'DIGEST_MISMATCH', 'v2: a bit of the last chunk flipped and one byte too many: the chunk comes before the trailing byte', Buffer.concat([flipped(bytes, bytes.length - 7), Uint8Array.of(0)]));
  addInvalid('v2-trailing', 'IMAGE_TRAILING_BYTES', 'v2: one byte after the last chunk', Buffer.concat([bytes, Uint8Array.of(0)]));
  addInvalid('v2-chunks-impossible', 'IMAGE_HEADER_INVALID', 'v2: chunks 3 for 263,176 bytes (at most 1 chunk of 256 KiB and one more)', withHeader({ ...v2Header, chunks: 3 }));
  addInvalid('v2-chunks-zero', 'IMAGE_HEADER_INVALID', 'v2: chunks 0 for 263,176 bytes (at least 1)', withHeader({ ...v2Header, chunks: 0 }));
  addInvalid('v2-digest-key', 'IMAGE_HEADER_INVALID', 'v2: the chunk-list digest under the v1 key "digest"', withHeader(Object.fromEntries(Object.entries(v2Header).map(([k, v]) => [k === 'chunksDigest' ? 'digest' : k, v]))));
  addInvalid('v1-with-v2-header', 'IMAGE_HEADER_INVALID', 'version 1 preamble in front of a v2 header', withHeader(v2Header, bytes.subarray(listAt), 1));
  addInvalid('v2-with-v1-header', 'IMAGE_HEADER_INVALID', 'version 2 preamble in front of a v1 header', fileWith(rawHeader, rawContent, 2));
  // A producer-signed list that breaks the size rules: chunks of 1,000 and 262,176 bytes.
  const badList = new Uint8Array(72);
  const lengths = [1000, zeros.length - 1000];
  lengths.forEach((length, i) => {
    new DataView(badList.buffer).setUint32(36 * i, length);
    badList.set(sha3_256(zeros.subarray(i === 0 ? 0 : 1000, i === 0 ? 1000 : zeros.length)), 36 * i + 4);
  });
  const badHeader = producerHeader({ chain: 'devnet', height: 5001, validator: 'bob', contentType: 'application/octet-stream', createdAt: CREATED_AT, digest: chunkListDigestOf(badList, zeros.length), size: zeros.length, chunkList: badList }, keys.bob);
  addInvalid('v2-list-chunk-too-small', 'CHUNK_LIST_INVALID', 'v2: a signed list whose first chunk has 1,000 bytes (below MIN, and not the last)', Buffer.concat([encodeImagePrefix(badHeader), zeros]));
}
void v2Small;

const line = (name: keyof typeof keys): string => formatPublicKey(keys[name].publicKey).trim();
const trust = (Object.keys(keys) as Array<keyof typeof keys>).map(line);
// The registry (FORMAT.md §6): chain devnet only; weights make carol's attestation decisive.
const registry = { chains: { devnet: { epochLength: 1000, validators: [{ id: 'alice', weight: 1, keys: [line('alice')] }, { id: 'bob', weight: 2, keys: [line('bob')] }, { id: 'carol', weight: 2, keys: [line('carol')] }, { id: 'erin', weight: 1, keys: [line('erin')] }] } } };
const registries = { registry, 'registry-alice-is-bob': { chains: { devnet: { epochLength: 1000, validators: [{ id: 'alice', weight: 1, keys: [formatPublicKey(keys.bob.publicKey, 'alice').trim()] }] } } } };
const privateKeys = Object.fromEntries(Object.entries(keys).map(([name, k]) => [name, k.privateKey.export({ type: 'pkcs8', format: 'pem' })]));

// Key files (FORMAT.md §5): one grammar; everything else KEY_INVALID.
const [aliceAlg, aliceB64] = line('alice').split(' ') as [string, string];
const keyFiles = [
  { name: 'one-line', text: `${line('alice')}\n`, keys: 1 },
  { name: 'comments-empty-lines-crlf', text: `# trusted validators\r\n\r\n${line('bob')}\r\n${line('carol')}`, keys: 2 },
  { name: 'no-comment', text: `${aliceAlg} ${aliceB64}`, keys: 1 },
  { name: 'comment-200-with-spaces', text: `${aliceAlg} ${aliceB64} ${'ab '.repeat(66)}ab`, keys: 1 },
  { name: 'comment-201', text: `${aliceAlg} ${aliceB64} ${'a'.repeat(201)}`, code: 'KEY_INVALID' },
  { name: 'comment-non-ascii', text: `${aliceAlg} ${aliceB64} alicé`, code: 'KEY_INVALID' },
  { name: 'two-spaces', text: `${aliceAlg}  ${aliceB64} alice`, code: 'KEY_INVALID' },
  { name: 'leading-space', text: ` ${line('alice')}`, code: 'KEY_INVALID' },
  { name: 'trailing-space', text: `${line('alice')} `, code: 'KEY_INVALID' },
  { name: 'indented-comment-line', text: `  # note\n${line('alice')}`, code: 'KEY_INVALID' },
  { name: 'unknown-algorithm', text: `rsa-2048 ${aliceB64} alice`, code: 'KEY_INVALID' },
  { name: 'wrong-key-length', text: `ml-dsa-44 ${aliceB64} alice`, code: 'KEY_INVALID' },
  { name: 'non-canonical-base64', text: `${aliceAlg} ${aliceB64.slice(0, -2)}B= alice`, code: 'KEY_INVALID' },
  { name: 'only-comments', text: '# nothing here\n', code: 'KEY_INVALID' },
];
writeFileSync(
  join(dir, 'vectors.json'),
  `${JSON.stringify({ comment: 'Cairn image format v1 test vectors; see docs/FORMAT.md §11. Regenerate with: node test/vectors/generate-image-vectors.ts', trust, registries, privateKeys, valid: vectors, validV2, invalid, keyFiles }, null, 2)}\n`,
);
console.log(`wrote ${vectors.length} valid and ${invalid.length} invalid vectors to ${dir}`);

/**
 * An independent implementation of Cairn's image format v1, written from docs/FORMAT.md with
 * other libraries than the product uses: cbor2 (in CDE mode) for CBOR, @noble/hashes for SHA3-256,
 * @noble/post-quantum for signatures. Tests check the product against it.
 */
import { decode as cbor2Decode, encode as cbor2Encode } from 'cbor2';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { slh_dsa_sha2_128f, slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js';

/** noble's implementation of each Cairn algorithm. */
export const NOBLE_SIGNERS = {
  'slh-dsa-sha2-128s': slh_dsa_sha2_128s,
  'slh-dsa-sha2-128f': slh_dsa_sha2_128f,
  'ml-dsa-44': ml_dsa44,
  'ml-dsa-65': ml_dsa65,
  'ml-dsa-87': ml_dsa87,
} as const;

export type NobleAlgorithm = keyof typeof NOBLE_SIGNERS;

const MAGIC = [0x89, 0x43, 0x49, 0x4d, 0x47, 0x0d, 0x0a, 0x1a];
const DOMAIN = new TextEncoder().encode('cairn/attestation/v1\0');

export interface IndependentAttestation {
  validator: string;
  signedAt: number;
  algorithm: NobleAlgorithm;
  signature: Uint8Array;
}

export interface IndependentImage {
  chain: string;
  height: number;
  digest: Uint8Array;
  size: number;
  contentType: string;
  createdAt: number;
  attestations: IndependentAttestation[];
  headerBytes: Uint8Array;
  content: Uint8Array;
}

/** Deterministic CBOR as the spec defines it (RFC 8949 §4.2.1), via cbor2's CDE mode. */
export function dcbor(value: unknown): Uint8Array {
  return cbor2Encode(value, { cde: true });
}

/** Parses a whole image file held in memory; throws plain Errors on any violation. */
export function parseImage(file: Uint8Array): IndependentImage {
  MAGIC.forEach((b, i) => {
    if (file[i] !== b) throw new Error('bad magic');
  });
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint16(8) !== 1) throw new Error('bad version');
  const headerLength = view.getUint32(10);
  const headerBytes = file.subarray(14, 14 + headerLength);
  const header = cbor2Decode<Record<string, unknown>>(headerBytes);
  if (Buffer.compare(dcbor(header), headerBytes) !== 0) throw new Error('header not deterministic');
  const content = file.subarray(14 + headerLength);
  if (content.length !== header.size) throw new Error('size mismatch');
  if (Buffer.compare(sha3_256(content), header.digest as Uint8Array) !== 0) throw new Error('digest mismatch');
  return { ...(header as unknown as Omit<IndependentImage, 'headerBytes' | 'content'>), headerBytes, content };
}

/** The statement bytes for one attestation of an image, built independently. */
export function statement(image: Omit<IndependentImage, 'attestations' | 'headerBytes' | 'content' | 'createdAt'> & { v2?: boolean }, a: Omit<IndependentAttestation, 'signature'>): Uint8Array {
  const body = dcbor({
    algorithm: a.algorithm,
    chain: image.chain,
    contentType: image.contentType,
    [image.v2 ? 'chunksDigest' : 'digest']: image.digest,
    height: image.height,
    signedAt: a.signedAt,
    size: image.size,
    validator: a.validator,
  });
  const out = new Uint8Array(DOMAIN.length + body.length);
  out.set(DOMAIN);
  out.set(body, DOMAIN.length);
  return out;
}

/** Verifies one attestation with noble. */
export function nobleVerify(algorithm: NobleAlgorithm, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return NOBLE_SIGNERS[algorithm].verify(signature, message, publicKey);
}

// ---------------------------------------------------------------------------------------------
// A whole verifier, written from docs/FORMAT.md §1.1 (order of checks), §2 (CBOR categories and
// budgets), §3–§5 and §7 — not from src/. It returns the error code the spec prescribes.
// ---------------------------------------------------------------------------------------------

/** What a verifier trusts: bare key lines and/or a registry document (FORMAT.md §5, §6). */
export interface IndependentTrust {
  keys?: string[];
  registry?: { chains: Record<string, { validators: Array<{ id: string; weight: number; keys: string[] }> }> };
}

export type IndependentOutcome =
  | { ok: true; statuses: Array<'valid' | 'invalid' | 'untrusted'>; final?: boolean }
  | { ok: false; code: string };

class Fault extends Error {
  readonly code: string;
  constructor(code: string) {
    super(code);
    this.code = code;
  }
}
const fail = (code: string): never => {
  throw new Fault(code);
};

const SIG_BYTES: Record<string, number> = { 'slh-dsa-sha2-128s': 7856, 'slh-dsa-sha2-128f': 17088, 'ml-dsa-44': 2420, 'ml-dsa-65': 3309, 'ml-dsa-87': 4627 };
const PUB_BYTES: Record<string, number> = { 'slh-dsa-sha2-128s': 32, 'slh-dsa-sha2-128f': 32, 'ml-dsa-44': 1312, 'ml-dsa-65': 1952, 'ml-dsa-87': 2592 };

/**
 * §2 step 1, the walk: heads in order over `bytes` (the part of an item of `total` bytes that is
 * present). Returns 'complete' or 'short' (the bytes ran out before the item did); throws
 * CBOR_MALFORMED / CBOR_LIMIT_EXCEEDED at the first fault met.
 */
export function walkCbor(bytes: Uint8Array, total: number, budget: { maxItems: number; maxDepth: number }): 'complete' | 'short' {
  let pos = 0;
  let items = 0;
  class Short extends Error {}
  const need = (n: number): void => {
    if (pos + n > total) fail('CBOR_MALFORMED');
    if (pos + n > bytes.length) throw new Short();
  };
  const head = (): { major: number; ai: number; arg: number } => {
    need(1);
    const ib = bytes[pos] as number;
    const major = ib >> 5;
    const ai = ib & 31;
    let arg = ai;
    const extra = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : 0;
    need(1 + extra);
    if (extra) {
      arg = 0;
      for (let i = 1; i <= extra; i++) arg = arg * 256 + (bytes[pos + i] as number);
    }
    pos += 1 + extra;
    return { major, ai, arg };
  };
  /** One data item; `depth` counts the arrays and maps around it; `inString` for chunks. */
  const item = (depth: number, inString?: number): void => {
    const { major, ai, arg } = head();
    if (ai >= 28 && ai <= 30) fail('CBOR_MALFORMED');
    if (ai === 31 && major !== 2 && major !== 3 && major !== 4 && major !== 5) fail('CBOR_MALFORMED'); // incl. a stray break
    if (inString !== undefined && (major !== inString || ai === 31)) fail('CBOR_MALFORMED');
    if (major === 7 && ai === 24 && arg < 32) fail('CBOR_MALFORMED');
    items++;
    if (items > budget.maxItems) fail('CBOR_LIMIT_EXCEEDED');
    if (major === 2 || major === 3) {
      if (ai === 31) {
        for (;;) {
          need(1);
          if (bytes[pos] === 0xff) {
            pos++;
            return;
          }
          item(depth, major);
        }
      }
      if (arg > total - pos) fail('CBOR_MALFORMED');
      need(arg);
      pos += arg;
      return;
    }
    if (major === 4 || major === 5) {
      const count = ai === 31 ? -1 : major === 5 ? arg * 2 : arg;
      if (count > total - pos) fail('CBOR_MALFORMED');
      if (depth + 1 > budget.maxDepth) fail('CBOR_LIMIT_EXCEEDED');
      if (count >= 0) {
        for (let i = 0; i < count; i++) item(depth + 1);
        return;
      }
      for (let n = 0; ; n++) {
        need(1);
        if (bytes[pos] === 0xff) {
          if (major === 5 && n % 2 === 1) fail('CBOR_MALFORMED');
          pos++;
          return;
        }
        item(depth + 1);
      }
    }
    if (major === 6) item(depth);
  };
  try {
    item(0);
  } catch (error) {
    if (error instanceof Short) return 'short';
    throw error;
  }
  // Bytes present after the item are a fault met; bytes announced but absent are not (yet).
  if (pos !== bytes.length) fail('CBOR_MALFORMED');
  return bytes.length < total ? 'short' : 'complete';
}

/**
 * §2 steps 2–4 on a well-formed item: validity (CBOR_MALFORMED), then the data model
 * (CBOR_UNSUPPORTED), then the deterministic encoding (CBOR_NOT_CANONICAL), by priority.
 */
export function classifyCbor(bytes: Uint8Array): void {
  let pos = 0;
  const found = { invalid: false, unsupported: false, noncanonical: false };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const head = (): { major: number; ai: number; arg: bigint } => {
    const ib = bytes[pos++] as number;
    const major = ib >> 5;
    const ai = ib & 31;
    const extra = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : 0;
    let arg = BigInt(ai);
    if (extra) {
      arg = 0n;
      for (let i = 0; i < extra; i++) arg = arg * 256n + BigInt(bytes[pos + i] as number);
      pos += extra;
      const least = [24n, 256n, 65536n, 4294967296n][[1, 2, 4, 8].indexOf(extra)] as bigint;
      if (major !== 7 && arg < least) found.noncanonical = true;
    }
    return { major, ai, arg };
  };
  const text = (b: Uint8Array): string => {
    try {
      return decoder.decode(b);
    } catch {
      found.invalid = true;
      return '\u0000invalid';
    }
  };
  const stringBytes = (ai: number, arg: bigint, major: number): Uint8Array[] => {
    if (ai !== 31) {
      const n = Number(arg);
      const out = bytes.subarray(pos, pos + n);
      pos += n;
      return [out];
    }
    found.noncanonical = true;
    const chunks: Uint8Array[] = [];
    while (bytes[pos] !== 0xff) {
      const h = head();
      chunks.push(...stringBytes(h.ai, h.arg, major));
    }
    pos++;
    return chunks;
  };
  /** Returns a key string for text items (for duplicate checks), undefined otherwise. */
  const item = (): string | undefined => {
    const { major, ai, arg } = head();
    if (major === 0 && arg > 9007199254740991n) found.unsupported = true;
    if (major === 1 && arg > 9007199254740990n) found.unsupported = true;
    if (major === 2) stringBytes(ai, arg, 2);
    if (major === 3) return stringBytes(ai, arg, 3).map(text).join('');
    // The members of an array or map: `arg` of them, or (indefinite, not deterministic) up to a break.
    const members = (member: () => unknown): void => {
      if (ai === 31) {
        found.noncanonical = true;
        while (bytes[pos] !== 0xff) member();
        pos++;
      } else for (let i = 0n; i < arg; i++) member();
    };
    if (major === 4) members(item);
    if (major === 5) {
      const seen = new Set<string>();
      let previous: Uint8Array | undefined;
      const pair = (): void => {
        const start = pos;
        const key = item();
        const encoded = bytes.subarray(start, pos);
        item();
        if (key === undefined) {
          found.unsupported = true;
          return;
        }
        if (seen.has(key)) found.invalid = true;
        else if (previous && Buffer.compare(Buffer.from(previous), Buffer.from(encoded)) >= 0) found.noncanonical = true;
        seen.add(key);
        previous = encoded;
      };
      members(pair);
    }
    if (major === 6) {
      found.unsupported = true;
      item();
    }
    if (major === 7 && !(ai === 20 || ai === 21 || ai === 22)) found.unsupported = true;
    return undefined;
  };
  item();
  if (found.invalid) fail('CBOR_MALFORMED');
  if (found.unsupported) fail('CBOR_UNSUPPORTED');
  if (found.noncanonical) fail('CBOR_NOT_CANONICAL');
}

const CHAIN_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const VALIDATOR_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** §7: RFC 6838 restricted-name characters, lowercase; type 1–64, subtype 1–127 characters. */
const CONTENT_TYPE_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
const uint53 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER;
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const exactKeys = (m: Record<string, unknown>, keys: string[]): boolean => Object.keys(m).length === keys.length && keys.every((k) => Object.hasOwn(m, k));

/** §5 key-line grammar; throws KEY_INVALID. */
export function independentKeyLines(text: string): Array<{ algorithm: string; raw: Uint8Array; comment?: string }> {
  const out: Array<{ algorithm: string; raw: Uint8Array; comment?: string }> = [];
  for (let line of text.split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!/^[\x20-\x7e]*$/.test(line)) fail('KEY_INVALID');
    if (line === '' || line[0] === '#') continue;
    const m = /^([a-z0-9-]+) ([A-Za-z0-9+/]+={0,2})(?: ([\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?))?$/.exec(line);
    if (!m) fail('KEY_INVALID');
    const [, algorithm, b64, comment] = m as RegExpExecArray;
    if (!(algorithm! in PUB_BYTES) || b64!.length % 4 !== 0) fail('KEY_INVALID');
    const raw = new Uint8Array(Buffer.from(b64!, 'base64'));
    if (Buffer.from(raw).toString('base64') !== b64 || raw.length !== PUB_BYTES[algorithm!]) fail('KEY_INVALID');
    out.push({ algorithm: algorithm!, raw, ...(comment ? { comment } : {}) });
  }
  if (out.length === 0) fail('KEY_INVALID');
  return out;
}

/** §7: a queue state, or QUEUE_STATE_INVALID. */
function checkQueueState(content: Uint8Array): void {
  if (content.length > 256 * 1024 * 1024) fail('QUEUE_STATE_INVALID');
  try {
    if (walkCbor(content, content.length, { maxItems: 1 + Math.floor(content.length / 4), maxDepth: 3 }) !== 'complete') fail('QUEUE_STATE_INVALID');
    classifyCbor(content);
  } catch {
    fail('QUEUE_STATE_INVALID');
  }
  const value = cbor2Decode<unknown>(content);
  if (!Array.isArray(value)) fail('QUEUE_STATE_INVALID');
  for (const m of value as unknown[]) {
    if (!isMap(m) || !exactKeys(m, ['kind', 'priority', 'payload', 'provenance'])) fail('QUEUE_STATE_INVALID');
    const { kind, priority, payload, provenance } = m as Record<string, unknown>;
    if (!['BlockImport', 'Vote', 'Transaction'].includes(kind as string) || !uint53(priority) || !(payload instanceof Uint8Array)) fail('QUEUE_STATE_INVALID');
    if (!isMap(provenance) || !exactKeys(provenance, ['origin', 'receivedAt', 'sequence'])) fail('QUEUE_STATE_INVALID');
    const p = provenance as Record<string, unknown>;
    if (typeof p.origin !== 'string' || !uint53(p.receivedAt) || !uint53(p.sequence)) fail('QUEUE_STATE_INVALID');
  }
}

/** Verifies a whole image file in the order of FORMAT.md §1.1; returns the spec's outcome. */
export function independentVerify(file: Uint8Array, trust: IndependentTrust, maxHeaderBytes = 4 * 1024 * 1024): IndependentOutcome {
  try {
    return { ok: true, ...verifySteps(file, trust, maxHeaderBytes) };
  } catch (error) {
    if (error instanceof Fault) return { ok: false, code: error.code };
    throw error;
  }
}

function verifySteps(file: Uint8Array, trust: IndependentTrust, maxHeaderBytes: number): { statuses: Array<'valid' | 'invalid' | 'untrusted'>; final?: boolean } {
  // 1–3: preamble.
  for (let i = 0; i < Math.min(8, file.length); i++) if (file[i] !== MAGIC[i]) fail('IMAGE_BAD_MAGIC');
  const version = file.length >= 10 ? (file[8]! << 8 | file[9]!) : 0;
  if (file.length >= 10 && version !== 1 && version !== 2) fail('IMAGE_UNSUPPORTED_VERSION');
  const v2 = version === 2;
  if (file.length < 14) fail('IMAGE_TRUNCATED');
  const L = new DataView(file.buffer, file.byteOffset).getUint32(10);
  if (L === 0) fail('IMAGE_HEADER_INVALID');
  if (L > Math.min(maxHeaderBytes, 16 * 1024 * 1024)) fail('IMAGE_HEADER_TOO_LARGE');
  // 4: the walk over the header bytes present, then truncation.
  const header = file.subarray(14, Math.min(file.length, 14 + L));
  if (walkCbor(header, L, { maxItems: v2 ? 9234 : 9232, maxDepth: 3 }) === 'short' || header.length < L) fail('IMAGE_TRUNCATED');
  // 5: validity, model, encoding.
  classifyCbor(header);
  // 6: schema; unknown algorithms last.
  const h = cbor2Decode<unknown>(header);
  const keys = v2 ? ['attestations', 'chain', 'chunks', 'chunksDigest', 'contentType', 'createdAt', 'height', 'size'] : ['attestations', 'chain', 'contentType', 'createdAt', 'digest', 'height', 'size'];
  if (!isMap(h) || !exactKeys(h, keys)) fail('IMAGE_HEADER_INVALID');
  const { chain, height, size, contentType, createdAt, attestations, chunks } = h as Record<string, unknown>;
  const digest = (h as Record<string, unknown>)[v2 ? 'chunksDigest' : 'digest'];
  if (typeof chain !== 'string' || !CHAIN_ID.test(chain) || !uint53(height) || !uint53(size) || typeof contentType !== 'string' || !CONTENT_TYPE_RE.test(contentType) || !uint53(createdAt)) fail('IMAGE_HEADER_INVALID');
  if (!(digest instanceof Uint8Array) || digest.length !== 32) fail('IMAGE_HEADER_INVALID');
  // v2: the chunk count must be possible for the size (§12.3): ⌈size / MAX⌉ … ⌊(size − 1) / MIN⌋ + 1, 0 for empty content.
  if (v2 && (!uint53(chunks) || (size === 0 ? chunks !== 0 : (chunks) < Math.ceil((size as number) / 4_194_304) || (chunks) > Math.floor(((size as number) - 1) / 262_144) + 1))) fail('IMAGE_HEADER_INVALID');
  if (!Array.isArray(attestations) || attestations.length < 1 || attestations.length > 1024) fail('IMAGE_HEADER_INVALID');
  let unknownAlgorithm = false;
  const entries = (attestations as unknown[]).map((a) => {
    if (!isMap(a) || !exactKeys(a, ['algorithm', 'signature', 'signedAt', 'validator'])) fail('IMAGE_HEADER_INVALID');
    const e = a as { algorithm: unknown; signature: unknown; signedAt: unknown; validator: unknown };
    if (typeof e.validator !== 'string' || !VALIDATOR_ID.test(e.validator) || !uint53(e.signedAt) || typeof e.algorithm !== 'string' || !(e.signature instanceof Uint8Array)) fail('IMAGE_HEADER_INVALID');
    if (!((e.algorithm as string) in SIG_BYTES)) unknownAlgorithm = true;
    else if ((e.signature as Uint8Array).length !== SIG_BYTES[e.algorithm as string]) fail('IMAGE_HEADER_INVALID');
    return e as IndependentAttestation;
  });
  if (entries[0]!.signedAt !== createdAt) fail('IMAGE_HEADER_INVALID');
  for (let i = 1; i < entries.length; i++) {
    const v = entries[i]!.validator;
    if (v === entries[0]!.validator || (i > 1 && !(Buffer.compare(Buffer.from(entries[i - 1]!.validator), Buffer.from(v)) < 0))) fail('IMAGE_HEADER_INVALID');
  }
  if (unknownAlgorithm) fail('UNKNOWN_ALGORITHM');
  // 7: signatures against the verifier's own trust.
  const image = { chain: chain as string, height: height as number, digest: digest as Uint8Array, size: size as number, contentType: contentType as string, v2 };
  const registered = trust.registry?.chains[image.chain];
  const bare = trust.keys?.length ? independentKeyLines(trust.keys.join('\n')) : [];
  const statuses = entries.map((a): 'valid' | 'invalid' | 'untrusted' => {
    const message = statement(image, a);
    const verifies = (k: { algorithm: string; raw: Uint8Array }): boolean => k.algorithm === a.algorithm && (() => {
      try {
        return nobleVerify(a.algorithm, k.raw, message, a.signature);
      } catch {
        return false;
      }
    })();
    const member = registered?.validators.find((v) => v.id === a.validator);
    if (member) return member.keys.flatMap((line) => independentKeyLines(line)).some(verifies) ? 'valid' : 'invalid';
    if (bare.some(verifies)) return 'valid';
    return bare.some((k) => k.comment === a.validator) ? 'invalid' : 'untrusted';
  });
  if (statuses.includes('invalid')) fail('SIGNATURE_INVALID');
  if (statuses[0] !== 'valid') fail('UNTRUSTED_SIGNER');
  // v2, 8: the chunk list — present, hashing to the signed digest, then within the size rules.
  const count = v2 ? (chunks as number) : 0;
  const listBytes = 36 * count;
  const list = file.subarray(14 + L, Math.min(file.length, 14 + L + listBytes));
  const lengthAt = (i: number): number => new DataView(list.buffer, list.byteOffset + 36 * i).getUint32(0);
  if (v2) {
    if (list.length < listBytes) fail('IMAGE_TRUNCATED');
    const sizeBytes = new Uint8Array(8);
    new DataView(sizeBytes.buffer).setBigUint64(0, BigInt(image.size));
    const listDigest = sha3_256(Uint8Array.from([...new TextEncoder().encode('cairn/chunk-list/v2'), 0, ...sizeBytes, ...list]));
    if (Buffer.compare(Buffer.from(listDigest), Buffer.from(image.digest)) !== 0) fail('DIGEST_MISMATCH');
    let total = 0;
    for (let i = 0; i < count; i++) {
      const length = lengthAt(i);
      if (length > 4_194_304 || length < (i === count - 1 ? 1 : 262_144)) fail('CHUNK_LIST_INVALID');
      total += length;
    }
    if (total !== image.size) fail('CHUNK_LIST_INVALID');
  }
  const content = file.subarray(14 + L + listBytes);
  if (v2) {
    // 9 (v2): chunk by chunk in file order — the file ending inside a chunk, or a chunk not
    // matching its entry, whichever comes first; then bytes after the last chunk.
    let at = 0;
    for (let i = 0; i < count; i++) {
      const length = lengthAt(i);
      if (content.length < at + length) fail('IMAGE_TRUNCATED');
      if (Buffer.compare(Buffer.from(sha3_256(content.subarray(at, at + length))), Buffer.from(list.subarray(36 * i + 4, 36 * i + 36))) !== 0) fail('DIGEST_MISMATCH');
      at += length;
    }
    if (content.length > image.size) fail('IMAGE_TRAILING_BYTES');
  } else {
    // 8–9 (v1): content length, then digest.
    if (content.length < image.size) fail('IMAGE_TRUNCATED');
    if (content.length > image.size) fail('IMAGE_TRAILING_BYTES');
    if (Buffer.compare(Buffer.from(sha3_256(content)), Buffer.from(image.digest)) !== 0) fail('DIGEST_MISMATCH');
  }
  // 10: what the content type promises.
  if (image.contentType === 'application/vnd.cairn.queue-state+cbor') checkQueueState(content);
  if (!registered) return { statuses };
  const weights = new Map(registered.validators.map((v) => [v.id, v.weight]));
  const attested = entries.reduce((sum, a, i) => sum + (statuses[i] === 'valid' ? (weights.get(a.validator) ?? 0) : 0), 0);
  const totalWeight = registered.validators.reduce((sum, v) => sum + v.weight, 0);
  return { statuses, final: 3 * attested > 2 * totalWeight };
}

// ---------------------------------------------------------------------------------------------
// Format v2 chunking and chunk-list digest (FORMAT.md §12, draft), from the text alone.
// ---------------------------------------------------------------------------------------------

const GEAR_TABLE: number[] = Array.from({ length: 256 }, (_, i) => {
  const h = sha3_256(Uint8Array.from([...new TextEncoder().encode('cairn/gear/v2'), i]));
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
});

/** §12.1: the lengths of the chunks of `content`. */
export function independentChunks(content: Uint8Array): number[] {
  const MIN = 262_144;
  const AVG = 1_048_576;
  const MAX = 4_194_304;
  const lengths: number[] = [];
  let start = 0;
  while (start < content.length) {
    const left = content.length - start;
    let cut = Math.min(left, MAX);
    if (left > MIN) {
      let h = 0;
      for (let k = MIN + 1; k <= Math.min(left, MAX); k++) {
        h = (h * 2 + GEAR_TABLE[content[start + k - 1]!]!) % 2 ** 32;
        // Top 22 bits zero up to AVG, top 18 bits after.
        if ((k <= AVG && Math.floor(h / 2 ** 10) === 0) || (k > AVG && Math.floor(h / 2 ** 14) === 0)) {
          cut = k;
          break;
        }
      }
    }
    lengths.push(cut);
    start += cut;
  }
  return lengths;
}

/** §12.2: the chunk-list digest of `content`, and its entries. */
export function independentChunkList(content: Uint8Array): { entries: Array<{ length: number; id: string }>; digest: string } {
  const entries: Array<{ length: number; id: string }> = [];
  const list: number[] = [];
  let at = 0;
  for (const length of independentChunks(content)) {
    const id = sha3_256(content.subarray(at, at + length));
    entries.push({ length, id: Buffer.from(id).toString('hex') });
    list.push((length >>> 24) & 255, (length >>> 16) & 255, (length >>> 8) & 255, length & 255, ...id);
    at += length;
  }
  const size = new Uint8Array(8);
  new DataView(size.buffer).setBigUint64(0, BigInt(content.length));
  const message = Uint8Array.from([...new TextEncoder().encode('cairn/chunk-list/v2'), 0, ...size, ...list]);
  return { entries, digest: `sha3-256-chunks:${Buffer.from(sha3_256(message)).toString('hex')}` };
}

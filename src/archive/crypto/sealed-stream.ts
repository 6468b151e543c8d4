/**
 * Content sealing at rest: ChaCha20-Poly1305 over fixed-size chunks, STREAM-style.
 *
 * Sealed object layout (see docs/STORAGE.md):
 *
 *   offset  size  field
 *   0       8     magic "\x89CSEAL\r\n"
 *   8       1     version = 1
 *   9       3     zero
 *   12      4     chunk size C (plaintext bytes per chunk), u32 big-endian
 *   16      7     nonce prefix (random per blob)
 *   23      1     zero
 *   24      ...   n = max(1, ceil(size / C)) sealed chunks: ciphertext ‖ 16-byte tag;
 *                 every chunk holds C plaintext bytes except the last (0 … C)
 *
 * Chunk i is sealed with nonce = prefix (7) ‖ i (u32 BE) ‖ last (0x01 for chunk n−1, else
 * 0x00) and AAD = the content digest (32 bytes). Reordered or repeated chunks fail (nonce), a
 * truncated object fails (the chunk read as last was not sealed as last, or bytes are missing),
 * a flipped bit fails (tag), and a blob moved under another digest fails (AAD). A plaintext
 * range needs only the chunks it overlaps. Plaintext is released only after its chunk's tag
 * verifies.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type DecipherChaCha20Poly1305, type KeyObject } from 'node:crypto';
import { CairnError } from '../../errors.ts';

/** Size of the sealed object header. */
export const SEAL_HEADER_BYTES = 24;
/** Authentication tag per chunk. */
export const TAG_BYTES = 16;
/** Default plaintext chunk size: small enough that ranges decrypt little, large enough to stream fast. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
const MAGIC = Buffer.from([0x89, 0x43, 0x53, 0x45, 0x41, 0x4c, 0x0d, 0x0a]);

/** Parameters of one sealed blob. */
export interface SealParams {
  readonly dataKey: Uint8Array;
  readonly noncePrefix: Uint8Array;
  readonly chunkBytes: number;
  /** Content digest bytes, bound to every chunk as AAD. */
  readonly digest: Uint8Array;
}

/** A fresh random nonce prefix. */
export function newNoncePrefix(): Buffer {
  return randomBytes(7);
}

function nonce(prefix: Uint8Array, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.set(prefix, 0);
  n.writeUInt32BE(index, 7);
  n[11] = last ? 1 : 0;
  return n;
}

/** Number of chunks for `size` plaintext bytes. */
export function chunkCount(size: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(size / chunkBytes));
}

/** Size of the sealed object for `size` plaintext bytes. */
export function sealedSize(size: number, chunkBytes: number): number {
  return SEAL_HEADER_BYTES + size + chunkCount(size, chunkBytes) * TAG_BYTES;
}

function encodeHeader(params: SealParams): Buffer {
  const header = Buffer.alloc(SEAL_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[8] = 1;
  header.writeUInt32BE(params.chunkBytes, 12);
  header.set(params.noncePrefix, 16);
  return header;
}

/** Checks a sealed object header against the expected parameters. */
export function checkSealHeader(header: Uint8Array, params: Pick<SealParams, 'noncePrefix' | 'chunkBytes'>): void {
  const h = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  if (h.length !== SEAL_HEADER_BYTES || !h.subarray(0, 8).equals(MAGIC) || h[8] !== 1 || h.readUInt32BE(12) !== params.chunkBytes || !h.subarray(16, 23).equals(Buffer.from(params.noncePrefix))) {
    throw new CairnError('INTEGRITY_ERROR', 'sealed object header does not match its metadata');
  }
}

function keyObjectOf(params: SealParams): KeyObject {
  return createSecretKey(params.dataKey);
}

/**
 * Seals a plaintext stream; yields the header and then each sealed chunk's ciphertext and tag.
 * A chunk's plaintext may arrive in several pieces: they are fed to the cipher one by one,
 * never concatenated. Memory is bounded by one chunk of look-ahead.
 */
export async function* sealStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, params: SealParams): AsyncGenerator<Buffer> {
  const C = params.chunkBytes;
  const key = keyObjectOf(params);
  yield encodeHeader(params);
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;

  function* seal(length: number, last: boolean): Generator<Buffer> {
    const cipher = createCipheriv('chacha20-poly1305', key, nonce(params.noncePrefix, index++, last), { authTagLength: TAG_BYTES });
    cipher.setAAD(params.digest, { plaintextLength: length });
    let remaining = length;
    while (remaining > 0) {
      const head = pending[0] as Buffer;
      const piece = head.length <= remaining ? head : head.subarray(0, remaining);
      if (piece === head) pending.shift();
      else pending[0] = head.subarray(remaining);
      remaining -= piece.length;
      pendingBytes -= piece.length;
      yield cipher.update(piece);
    }
    cipher.final();
    yield cipher.getAuthTag();
  }

  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    pendingBytes += chunk.length;
    // Seal only while more than one chunk is pending: the final chunk must be known as final.
    while (pendingBytes > C) yield* seal(C, false);
  }
  yield* seal(pendingBytes, true);
}

/** Where a plaintext range lies in a sealed object. */
export interface SealedRange {
  /** First and last chunk indexes touched. */
  readonly firstChunk: number;
  readonly lastChunk: number;
  /** Inclusive byte range of those chunks in the sealed object. */
  readonly start: number;
  readonly end: number;
}

/** Maps plaintext bytes [start, end] (inclusive) of a `size`-byte content onto sealed chunks. */
export function sealedRangeFor(start: number, end: number, size: number, chunkBytes: number): SealedRange {
  const n = chunkCount(size, chunkBytes);
  const firstChunk = Math.floor(start / chunkBytes);
  const lastChunk = Math.min(n - 1, Math.floor(end / chunkBytes));
  const chunkStart = (i: number): number => SEAL_HEADER_BYTES + i * (chunkBytes + TAG_BYTES);
  const lastPlain = lastChunk === n - 1 ? size - lastChunk * chunkBytes : chunkBytes;
  return { firstChunk, lastChunk, start: chunkStart(firstChunk), end: chunkStart(lastChunk) + lastPlain + TAG_BYTES - 1 };
}

/**
 * Opens sealed chunks `range.firstChunk … range.lastChunk` read from `sealed` (exactly the bytes
 * of `range`) and yields plaintext bytes [start, end]. Fails with `INTEGRITY_ERROR` before
 * releasing any plaintext of a chunk that does not authenticate, or if bytes are missing.
 * Ciphertext is fed to the cipher piece by piece as it arrives (never concatenated); a chunk's
 * plaintext pieces are held until its tag verifies, then released as they are.
 */
export async function* openSealedRange(sealed: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, params: SealParams, size: number, start: number, end: number): AsyncGenerator<Buffer> {
  const C = params.chunkBytes;
  const key = keyObjectOf(params);
  const n = chunkCount(size, C);
  const range = sealedRangeFor(start, end, size, C);
  const cipherLength = (i: number): number => (i === n - 1 ? size - i * C : C);

  let index = range.firstChunk;
  let decipher: DecipherChaCha20Poly1305 | undefined;
  let fed = 0; // ciphertext bytes of chunk `index` fed so far
  const plain: Buffer[] = [];
  const tag = Buffer.alloc(TAG_BYTES);
  let tagBytes = 0;

  /** Verifies chunk `index` and returns its plaintext pieces cut to the range. */
  const finish = (): Buffer[] => {
    const d = decipher as DecipherChaCha20Poly1305;
    d.setAuthTag(tag);
    try {
      const last = d.final();
      if (last.length) plain.push(last);
    } catch (error) {
      throw new CairnError('INTEGRITY_ERROR', `stored content chunk ${index} failed authentication`, { cause: error });
    }
    const from = index === range.firstChunk ? start - index * C : 0;
    const to = index === range.lastChunk ? end - index * C + 1 : cipherLength(index);
    const out: Buffer[] = [];
    let at = 0;
    for (const piece of plain) {
      const a = Math.max(from - at, 0);
      const b = Math.min(to - at, piece.length);
      if (b > a) out.push(a === 0 && b === piece.length ? piece : piece.subarray(a, b));
      at += piece.length;
    }
    plain.length = 0;
    decipher = undefined;
    fed = 0;
    tagBytes = 0;
    index++;
    return out;
  };

  for await (const chunk of sealed) {
    let piece = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const ready: Buffer[] = [];
    while (piece.length > 0) {
      if (index > range.lastChunk) throw new CairnError('INTEGRITY_ERROR', `stored content has extra bytes after chunk ${index - 1} of ${n}`);
      if (!decipher) {
        decipher = createDecipheriv('chacha20-poly1305', key, nonce(params.noncePrefix, index, index === n - 1), { authTagLength: TAG_BYTES });
        decipher.setAAD(params.digest, { plaintextLength: cipherLength(index) });
      }
      const want = cipherLength(index) - fed;
      if (want > 0) {
        const take = Math.min(want, piece.length);
        const out = decipher.update(piece.subarray(0, take));
        if (out.length) plain.push(out);
        fed += take;
        piece = piece.subarray(take);
        continue;
      }
      const take = Math.min(TAG_BYTES - tagBytes, piece.length);
      piece.copy(tag, tagBytes, 0, take);
      tagBytes += take;
      piece = piece.subarray(take);
      if (tagBytes === TAG_BYTES) ready.push(...finish());
    }
    for (const out of ready) yield out;
  }
  if (index <= range.lastChunk) {
    throw new CairnError('INTEGRITY_ERROR', `stored content is truncated (chunk ${index} of ${n})`);
  }
}

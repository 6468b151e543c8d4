/**
 * Content digests: `sha3-256:<64 lowercase hex>`, the image id used everywhere in Cairn.
 */
import { createHash, type Hash } from 'node:crypto';
import { CairnError } from '../errors.ts';

/** A content digest in its text form, `sha3-256:<64 lowercase hex>`. */
export type Digest = `sha3-256:${string}`;

/** Length of a SHA3-256 digest in bytes. */
export const DIGEST_BYTES = 32;
const DIGEST_PATTERN = /^sha3-256:[0-9a-f]{64}$/;

/** True when `text` is a well-formed digest (lowercase hex, correct length and prefix). */
export function isDigest(text: unknown): text is Digest {
  return typeof text === 'string' && DIGEST_PATTERN.test(text);
}

/**
 * Parses a digest string strictly.
 * @throws CairnError `DIGEST_INVALID`
 */
export function parseDigest(text: string): Digest {
  if (!isDigest(text)) {
    throw new CairnError('DIGEST_INVALID', 'digest must be sha3-256:<64 lowercase hex>', { details: { digest: String(text).slice(0, 80) } });
  }
  return text;
}

/** The text form of 32 raw digest bytes. */
export function digestFromBytes(bytes: Uint8Array): Digest {
  if (bytes.length !== DIGEST_BYTES) throw new CairnError('DIGEST_INVALID', `digest must be ${DIGEST_BYTES} bytes, got ${bytes.length}`);
  return `sha3-256:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** The 32 raw bytes of a digest. */
export function digestToBytes(digest: Digest): Uint8Array {
  return new Uint8Array(Buffer.from(parseDigest(digest).slice('sha3-256:'.length), 'hex'));
}

/** An incremental SHA3-256 over a byte stream that also counts the bytes it saw. */
export class ContentHasher {
  readonly #hash: Hash = createHash('sha3-256');
  #size = 0;

  /** Feeds the next chunk. */
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  /** Finishes the hash; the hasher cannot be used afterwards. */
  digest(): Digest {
    return digestFromBytes(this.#hash.digest());
  }
}

/** SHA3-256 of a whole in-memory buffer (small records, tests). */
export function digestOf(bytes: Uint8Array): Digest {
  return digestFromBytes(createHash('sha3-256').update(bytes).digest());
}

/** Streams an async iterable of chunks through SHA3-256; returns digest and byte count. */
export async function digestStream(source: AsyncIterable<Uint8Array>): Promise<{ digest: Digest; size: number }> {
  const hasher = new ContentHasher();
  for await (const chunk of source) hasher.update(chunk);
  return { digest: hasher.digest(), size: hasher.size };
}

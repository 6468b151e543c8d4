/**
 * Content digests, the image id used everywhere in Cairn, in one of two forms:
 *
 *   sha3-256:<64 lowercase hex>          format v1: SHA3-256 of the content itself
 *   sha3-256-chunks:<64 lowercase hex>   format v2: SHA3-256 over the content's chunk list
 *                                        (FORMAT.md §12; chunking/chunk-list.ts)
 *
 * Both are 32 bytes; the form travels with them (the text prefix here, the CBOR key `digest` or
 * `chunksDigest` in headers, statements and records), so one is never read as the other.
 */
import { createHash, type Hash } from 'node:crypto';
import { CairnError } from '../errors.ts';

/** The two digest forms. */
export type DigestForm = 'sha3-256' | 'sha3-256-chunks';

/** A digest in its text form. */
export type Digest = `sha3-256:${string}` | `sha3-256-chunks:${string}`;

/** Length of a SHA3-256 digest in bytes. */
export const DIGEST_BYTES = 32;
const DIGEST_PATTERN = /^sha3-256(?:-chunks)?:[0-9a-f]{64}$/;

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
    throw new CairnError('DIGEST_INVALID', 'digest must be sha3-256:<64 lowercase hex> or sha3-256-chunks:<64 lowercase hex>', { details: { digest: String(text).slice(0, 80) } });
  }
  return text;
}

/** The form of a digest. */
export function digestForm(digest: Digest): DigestForm {
  return digest.startsWith('sha3-256-chunks:') ? 'sha3-256-chunks' : 'sha3-256';
}

/** True for a format-v2 (chunk-list) digest. */
export function isChunkListDigest(digest: Digest): digest is `sha3-256-chunks:${string}` {
  return digestForm(digest) === 'sha3-256-chunks';
}

/** The 64 hex digits of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/**
 * The digest as one path segment of an object key or file name: the hex digits for a v1 digest
 * (as every key written before v2), `chunks-` and the hex digits for a v2 one.
 */
export function digestKeyPart(digest: Digest): string {
  return isChunkListDigest(digest) ? `chunks-${digestHex(digest)}` : digestHex(digest);
}

/** Pattern source of {@link digestKeyPart}'s output (no anchors, one capture-free group). */
export const DIGEST_KEY_PART = '(?:chunks-)?[0-9a-f]{64}';

/** The digest a key part names (undefined for anything else). */
export function digestFromKeyPart(part: string): Digest | undefined {
  if (/^[0-9a-f]{64}$/.test(part)) return `sha3-256:${part}`;
  const match = /^chunks-([0-9a-f]{64})$/.exec(part);
  return match ? `sha3-256-chunks:${match[1] as string}` : undefined;
}

/** The text form of 32 raw digest bytes (a v1 content digest unless `form` says otherwise). */
export function digestFromBytes(bytes: Uint8Array, form: DigestForm = 'sha3-256'): Digest {
  if (bytes.length !== DIGEST_BYTES) throw new CairnError('DIGEST_INVALID', `digest must be ${DIGEST_BYTES} bytes, got ${bytes.length}`);
  return `${form}:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** The 32 raw bytes of a digest (of either form). */
export function digestToBytes(digest: Digest): Uint8Array {
  return new Uint8Array(Buffer.from(digestHex(parseDigest(digest)), 'hex'));
}

/** The CBOR key under which a digest of this form is carried (headers, statements, records). */
export function digestCborKey(digest: Digest): 'digest' | 'chunksDigest' {
  return isChunkListDigest(digest) ? 'chunksDigest' : 'digest';
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

/**
 * Streaming image writers, of format v2 by default (`format: 1` for v1).
 *
 * Format v2: a first pass over the content cuts it and hashes its chunks on worker threads (the
 * chunk list gives the header's length and digest), a second pass copies the content after the
 * header and list. Content given as a stream is spooled to a temporary file first.
 *
 * Format v1: `createImageFile` writes a signed image file in one pass over the content: the header's
 * length does not depend on the digest or signature values (both fixed-length byte strings),
 * so the content is written at its final offset while it is hashed, and the real header is
 * written in front of it at the end. Content of unknown length is first spooled to a temporary
 * file next to the output. Memory stays flat whatever the content size; on any failure the
 * output path is left untouched.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { CairnError } from '../../errors.ts';
import { ContentHasher, type Digest } from '../digest.ts';
import { createTempSibling, type TempSibling } from '../fs/atomic-write.ts';
import { algorithmSpec } from '../keys/algorithms.ts';
import type { SigningKey } from '../keys/signing.ts';
import { signAttestation } from './attestation.ts';
import { buildChunkList, chunkListOfBytes } from '../chunking/build-chunk-list.ts';
import { CONTENT_TYPE_OCTET_STREAM, IMAGE_FORMAT_V2, IMAGE_FORMAT_VERSION, PREAMBLE_BYTES, formatVersionOf, type ImageFormatVersion, assertChainId, assertValidatorId, isContentType, isUint53, type HeaderAttestation, type ImageHeader } from './format.ts';
import { encodeHeader, encodePreamble } from './header-codec.ts';

/** Read size used when streaming content from files. */
export const FILE_CHUNK_BYTES = 4 * 1024 * 1024;

/** Where the content of a new image comes from. */
export type ImageContentSource = { path: string } | { stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>; size?: number };

/** Options for {@link createImageFile}. */
export interface CreateImageFileOptions {
  chain: string;
  height: number;
  /** Producer's validator id, as registered. */
  validator: string;
  key: SigningKey;
  content: ImageContentSource;
  out: string;
  contentType?: string;
  /** Creation time in ms since the epoch (default: now). */
  createdAt?: number;
  /** Replace an existing `out` (default false). */
  overwrite?: boolean;
  /** Image format version (default {@link IMAGE_FORMAT_VERSION}, 2). */
  format?: ImageFormatVersion;
}

/** Everything before the content: the preamble, the encoded header and (format v2) the chunk list. */
export function encodeImagePrefix(header: ImageHeader): Uint8Array {
  const headerBytes = encodeHeader(header);
  const list = header.chunkList ?? new Uint8Array(0);
  const out = new Uint8Array(PREAMBLE_BYTES + headerBytes.length + list.length);
  out.set(encodePreamble(headerBytes.length, formatVersionOf(header)), 0);
  out.set(headerBytes, PREAMBLE_BYTES);
  out.set(list, PREAMBLE_BYTES + headerBytes.length);
  return out;
}

/** Signs the producer attestation and returns the header for given content digest and size (and, v2, chunk list). */
export function producerHeader(fields: { chain: string; height: number; validator: string; contentType: string; createdAt: number; digest: Digest; size: number; chunkList?: Uint8Array }, key: SigningKey): ImageHeader {
  const attestation = signAttestation(
    { chain: fields.chain, height: fields.height, digest: fields.digest, size: fields.size, contentType: fields.contentType, validator: fields.validator, signedAt: fields.createdAt },
    key,
  );
  const producer: HeaderAttestation = { validator: attestation.validator, signedAt: attestation.signedAt, algorithm: attestation.algorithm, signature: attestation.signature };
  const header = { chain: fields.chain, height: fields.height, digest: fields.digest, size: fields.size, contentType: fields.contentType, createdAt: fields.createdAt, attestations: [producer] };
  return fields.chunkList ? { ...header, chunkList: fields.chunkList } : header;
}

/** Builds a whole image in memory; for small content such as queue states. */
export function createImageBytes(options: Omit<CreateImageFileOptions, 'content' | 'out' | 'overwrite'> & { content: Uint8Array }): { header: ImageHeader; bytes: Uint8Array } {
  const fields = checkFields(options);
  let hashed: { digest: Digest; chunkList?: Uint8Array };
  if ((options.format ?? IMAGE_FORMAT_VERSION) === IMAGE_FORMAT_V2) {
    const built = chunkListOfBytes(options.content);
    hashed = { digest: built.digest, chunkList: built.list };
  } else {
    const hasher = new ContentHasher();
    hasher.update(options.content);
    hashed = { digest: hasher.digest() };
  }
  const header = producerHeader({ ...fields, ...hashed, size: options.content.length }, options.key);
  const prefix = encodeImagePrefix(header);
  const bytes = new Uint8Array(prefix.length + options.content.length);
  bytes.set(prefix, 0);
  bytes.set(options.content, prefix.length);
  return { header, bytes };
}

function checkFields(options: Omit<CreateImageFileOptions, 'content' | 'out'>): { chain: string; height: number; validator: string; contentType: string; createdAt: number } {
  assertChainId(options.chain);
  assertValidatorId(options.validator);
  const contentType = options.contentType ?? CONTENT_TYPE_OCTET_STREAM;
  const createdAt = options.createdAt ?? Date.now();
  if (!isUint53(options.height)) throw new CairnError('INVALID_ARGUMENT', 'height must be an integer in [0, 2^53 - 1]');
  if (!isContentType(contentType)) throw new CairnError('INVALID_ARGUMENT', `invalid content type "${String(contentType).slice(0, 80)}"`);
  if (!isUint53(createdAt)) throw new CairnError('INVALID_ARGUMENT', 'createdAt must be ms since the epoch');
  return { chain: options.chain, height: options.height, validator: options.validator, contentType, createdAt };
}

/**
 * Length of the prefix the final header will have: digest and signature are fixed-length byte
 * strings, so a header with zero-filled ones encodes to the same length (without signing).
 */
function placeholderPrefixLength(fields: { chain: string; height: number; validator: string; contentType: string; createdAt: number; size: number }, key: SigningKey): number {
  const signature = new Uint8Array(algorithmSpec(key.algorithm).signatureBytes);
  return encodeImagePrefix({
    chain: fields.chain,
    height: fields.height,
    digest: `sha3-256:${'0'.repeat(64)}`, // v1 only: a v2 prefix is written once its list is known
    size: fields.size,
    contentType: fields.contentType,
    createdAt: fields.createdAt,
    attestations: [{ validator: fields.validator, signedAt: fields.createdAt, algorithm: key.algorithm, signature }],
  }).length;
}

/** Creates a signed image file from content in one pass; returns its header. */
export async function createImageFile(options: CreateImageFileOptions): Promise<ImageHeader> {
  const fields = checkFields(options);
  const v2 = (options.format ?? IMAGE_FORMAT_VERSION) === IMAGE_FORMAT_V2;
  if ('stream' in options.content && (options.content.size === undefined || v2)) {
    const declared = options.content.size;
    if (declared !== undefined && !isUint53(declared)) throw new CairnError('INVALID_ARGUMENT', 'content size must be an integer in [0, 2^53 - 1]');
    const spool = await spoolToTemp(options.out, options.content.stream);
    try {
      if (declared !== undefined && spool.size !== declared) {
        throw new CairnError('SIZE_MISMATCH', `content was ${spool.size} bytes, expected ${declared}`, { details: { expected: declared, actual: spool.size } });
      }
      return await createImageFile({ ...options, content: { path: spool.path } });
    } finally {
      await spool.discard();
    }
  }
  if (v2) return createChunkedImageFile(options, fields, options.content as { path: string });
  const source = await openSource(options.content);
  const prefixLength = placeholderPrefixLength({ ...fields, size: source.size }, options.key);
  const temp = await createTempSibling(options.out, { overwrite: options.overwrite ?? false });
  try {
    const { digest, size } = await copyHashing(source.chunks, temp, prefixLength);
    if (size !== source.size) {
      throw new CairnError('SIZE_MISMATCH', `content was ${size} bytes, expected ${source.size} (did the input change while it was read?)`, { details: { expected: source.size, actual: size } });
    }
    const header = producerHeader({ ...fields, digest, size }, options.key);
    const prefix = encodeImagePrefix(header);
    if (prefix.length !== prefixLength) throw new CairnError('INTERNAL', 'image header length changed between placeholder and final header');
    await temp.handle.write(prefix, 0, prefix.length, 0);
    await temp.commit();
    return header;
  } catch (error) {
    await temp.discard();
    throw error;
  }
}

/**
 * Format v2 from a file: pass 1 builds the chunk list (hashing on workers), pass 2 copies the
 * content after the signed prefix. The input must not change in between (size and mtime are
 * compared after the copy).
 */
async function createChunkedImageFile(options: CreateImageFileOptions, fields: ReturnType<typeof checkFields>, content: { path: string }): Promise<ImageHeader> {
  const first = await openSource(content);
  const before = await stat(content.path);
  const built = await buildChunkList(first.chunks, first.size);
  const header = producerHeader({ ...fields, digest: built.digest, size: built.size, chunkList: built.list }, options.key);
  const prefix = encodeImagePrefix(header);
  const temp = await createTempSibling(options.out, { overwrite: options.overwrite ?? false });
  try {
    await temp.handle.write(prefix, 0, prefix.length, 0);
    const second = await openSource(content);
    const copied = await copyHashing(second.chunks, temp, prefix.length, { hash: false });
    const after = await stat(content.path);
    if (copied.size !== built.size || after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new CairnError('SIZE_MISMATCH', `${content.path} changed while the image was created; create it again`, { details: { expected: built.size, actual: copied.size } });
    }
    await temp.commit();
    return header;
  } catch (error) {
    await temp.discard();
    throw error;
  }
}

async function openSource(content: ImageContentSource): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> }> {
  if ('path' in content) {
    const handle = await open(content.path, 'r').catch((error: NodeJS.ErrnoException) => {
      throw new CairnError(error.code === 'ENOENT' ? 'INVALID_ARGUMENT' : 'IO_ERROR', `cannot open ${content.path}: ${error.code ?? 'error'}`, { cause: error });
    });
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      throw new CairnError('INVALID_ARGUMENT', `${content.path} is not a regular file`);
    }
    return { size: stat.size, chunks: createReadStream('', { fd: handle, highWaterMark: FILE_CHUNK_BYTES }) };
  }
  if (!isUint53(content.size)) throw new CairnError('INVALID_ARGUMENT', 'content size must be an integer in [0, 2^53 - 1]');
  return { size: content.size, chunks: content.stream };
}

/** Writes allowed in flight while the next chunk is hashed. */
const MAX_WRITES_IN_FLIGHT = 2;
/** Bytes written between background fdatasync calls. */
const FLUSH_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * Hashes chunks and writes them at `offset` onwards, with a bounded number of writes in flight
 * so hashing (main thread) and writing (libuv pool) overlap while memory stays bounded.
 */
async function copyHashing(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, temp: TempSibling, offset: number, options: { hash?: boolean } = {}): Promise<{ digest: Digest; size: number }> {
  const hasher = new ContentHasher();
  const hash = options.hash ?? true;
  let size = 0;
  let position = offset;
  let unflushed = 0;
  let flush: Promise<unknown> | undefined;
  const inFlight: Array<Promise<unknown>> = [];
  try {
    for await (const chunk of chunks) {
      if (hash) hasher.update(chunk);
      size += chunk.length;
      while (inFlight.length >= MAX_WRITES_IN_FLIGHT) await inFlight.shift();
      const write = temp.handle.write(chunk, 0, chunk.length, position);
      write.catch(() => undefined); // observed when awaited; avoids an unhandled rejection meanwhile
      inFlight.push(write);
      position += chunk.length;
      unflushed += chunk.length;
      // Start writeback early so the disk works while we hash, instead of all at the final fsync.
      if (unflushed >= FLUSH_EVERY_BYTES && !flush) {
        unflushed = 0;
        flush = temp.handle.datasync().finally(() => (flush = undefined));
        flush.catch(() => undefined);
      }
    }
  } finally {
    await Promise.allSettled([...inFlight, flush]);
  }
  await Promise.all(inFlight);
  return { digest: hasher.digest(), size };
}

async function spoolToTemp(out: string, stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<TempSibling & { size: number }> {
  const spool = await createTempSibling(`${out}.spool`, { mode: 0o600 });
  try {
    let position = 0;
    for await (const chunk of stream) {
      await spool.handle.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    }
    return Object.assign(spool, { size: position });
  } catch (error) {
    await spool.discard();
    throw error;
  }
}

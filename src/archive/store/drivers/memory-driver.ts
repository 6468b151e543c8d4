/**
 * In-memory blob store, for unit tests only (whole objects are held in memory).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CairnError } from '../../../errors.ts';
import { assertRangeWithin, assertStoreKey, assertStorePrefix, type BlobStore, type ByteRange, type GetResult, type ObjectInfo, type PutBody } from '../blob-store.ts';

interface Entry {
  bytes: Buffer;
  info: ObjectInfo;
}

async function collect(body: PutBody): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/** Creates an empty in-memory store. */
export function createMemoryStore(): BlobStore {
  const objects = new Map<string, Entry>();

  function save(key: string, bytes: Buffer): ObjectInfo {
    const info: ObjectInfo = { key, size: bytes.length, etag: `"${createHash('md5').update(bytes).digest('hex')}"`, lastModified: new Date() };
    objects.set(key, { bytes, info });
    return info;
  }

  return {
    driver: 'memory',
    capabilities: { multipart: false, objectLock: false },
    async put(key, body) {
      assertStoreKey(key);
      return save(key, await collect(body));
    },
    async createIfAbsent(key, body) {
      assertStoreKey(key);
      if (objects.has(key)) return false;
      save(key, Buffer.from(body));
      return true;
    },
    async replaceIfMatch(key, body, etag) {
      assertStoreKey(key);
      if (objects.get(key)?.info.etag !== etag) return false;
      save(key, Buffer.from(body));
      return true;
    },
    async get(key: string, range?: ByteRange): Promise<GetResult> {
      assertStoreKey(key);
      const entry = objects.get(key);
      if (!entry) throw new CairnError('NOT_FOUND', `no object ${key}`);
      if (range) assertRangeWithin(range, entry.info.size);
      const bytes = range ? entry.bytes.subarray(range.start, range.end + 1) : entry.bytes;
      return { body: Readable.from([bytes], { objectMode: false }), info: entry.info };
    },
    async head(key) {
      assertStoreKey(key);
      return objects.get(key)?.info;
    },
    async *list(prefix) {
      assertStorePrefix(prefix);
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      for (const key of keys) {
        const entry = objects.get(key);
        if (entry) yield entry.info;
      }
    },
    async delete(key) {
      assertStoreKey(key);
      objects.delete(key);
    },
    async ping() {},
    async close() {},
  };
}

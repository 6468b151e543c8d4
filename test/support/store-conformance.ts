/**
 * The blob store conformance suite: every driver (memory, fs, s3 on a real MinIO) must pass it.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BlobStore } from '../../src/archive/store/blob-store.ts';
import { collectBytes } from './fixtures.ts';

async function keysUnder(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys;
}

function failingStream(bytesBeforeFailure: number): Readable {
  return Readable.from(
    (async function* () {
      const block = randomBytes(1024 * 1024);
      for (let sent = 0; sent < bytesBeforeFailure; sent += block.length) {
        yield block;
        await new Promise((r) => setImmediate(r));
      }
      throw new Error('client went away');
    })(),
  );
}

/** Registers the conformance tests for one driver; `store()` returns the store under test. */
export function describeStoreConformance(name: string, store: () => BlobStore, options: { largeBytes?: number } = {}): void {
  const large = options.largeBytes ?? 3 * 1024 * 1024;

  describe(`blob store conformance: ${name}`, () => {
    it('puts and gets bytes and streams, with metadata', async () => {
      const s = store();
      const small = Uint8Array.from([1, 2, 3]);
      const info = await s.put('conf/a/small', small);
      expect(info).toMatchObject({ key: 'conf/a/small', size: 3 });
      expect(info.etag).not.toBe('');
      const got = await s.get('conf/a/small');
      expect([...(await collectBytes(got.body))]).toEqual([1, 2, 3]);
      expect(got.info.size).toBe(3);

      const big = randomBytes(large);
      const bigInfo = await s.put('conf/a/big', Readable.from([big.subarray(0, 1000), big.subarray(1000)]));
      expect(bigInfo.size).toBe(large);
      expect((await collectBytes((await s.get('conf/a/big')).body)).equals(big)).toBe(true);
      expect(await s.head('conf/a/big')).toMatchObject({ key: 'conf/a/big', size: large });
    });

    it('reads byte ranges and refuses ranges outside the object', async () => {
      const s = store();
      const bytes = randomBytes(10_000);
      await s.put('conf/range', bytes);
      const part = await s.get('conf/range', { start: 100, end: 199 });
      expect((await collectBytes(part.body)).equals(bytes.subarray(100, 200))).toBe(true);
      expect(part.info.size).toBe(10_000);
      const last = await s.get('conf/range', { start: 9_999, end: 9_999 });
      expect((await collectBytes(last.body)).equals(bytes.subarray(9_999))).toBe(true);
      await expect(s.get('conf/range', { start: 10_000, end: 10_001 })).rejects.toMatchObject({ code: 'RANGE_NOT_SATISFIABLE' });
    });

    it('reports missing objects: head undefined, get NOT_FOUND, delete is idempotent', async () => {
      const s = store();
      expect(await s.head('conf/missing')).toBeUndefined();
      await expect(s.get('conf/missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await s.delete('conf/missing');
      await s.put('conf/gone', Uint8Array.of(1));
      await s.delete('conf/gone');
      expect(await s.head('conf/gone')).toBeUndefined();
      expect(await keysUnder(s, 'conf/gone')).toEqual([]);
    });

    it('lists by prefix in ascending key order', async () => {
      const s = store();
      for (const key of ['conf/list/b', 'conf/list/a/2', 'conf/list/a/1', 'conf/list.x', 'conf/listing', 'conf/other']) await s.put(key, Uint8Array.of(0));
      expect(await keysUnder(s, 'conf/list/')).toEqual(['conf/list/a/1', 'conf/list/a/2', 'conf/list/b']);
      expect(await keysUnder(s, 'conf/list')).toEqual(['conf/list.x', 'conf/list/a/1', 'conf/list/a/2', 'conf/list/b', 'conf/listing']);
    });

    it('creates only if absent, and exactly one of concurrent creators wins', async () => {
      const s = store();
      expect(await s.createIfAbsent('conf/once', Uint8Array.of(1))).toBe(true);
      expect(await s.createIfAbsent('conf/once', Uint8Array.of(2))).toBe(false);
      expect([...(await collectBytes((await s.get('conf/once')).body))]).toEqual([1]);
      const results = await Promise.all([1, 2, 3, 4].map((n) => s.createIfAbsent('conf/race', Uint8Array.of(n))));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('replaces only while the etag matches', async () => {
      const s = store();
      const first = await s.put('conf/cas', Uint8Array.of(1));
      expect(await s.replaceIfMatch('conf/cas', Uint8Array.of(2), first.etag)).toBe(true);
      expect(await s.replaceIfMatch('conf/cas', Uint8Array.of(3), first.etag)).toBe(false);
      expect([...(await collectBytes((await s.get('conf/cas')).body))]).toEqual([2]);
      expect(await s.replaceIfMatch('conf/cas-missing', Uint8Array.of(1), first.etag)).toBe(false);
    });

    it('leaves nothing behind when a streamed put fails midway', async () => {
      const s = store();
      await expect(s.put('conf/failed', failingStream(large + 1))).rejects.toThrow();
      expect(await s.head('conf/failed')).toBeUndefined();
      expect(await keysUnder(s, 'conf/failed')).toEqual([]);
      if (s.capabilities.multipart && s.listIncompleteUploads) {
        const pending = [];
        for await (const u of s.listIncompleteUploads('conf/')) pending.push(u);
        expect(pending).toEqual([]);
      }
    });

    it('refuses keys that are not store keys', async () => {
      const s = store();
      for (const key of ['', '/abs', 'a/../b', 'UPPER', 'a//b', 'a/./b', '.hidden', 'sp ace']) {
        await expect(s.put(key, Uint8Array.of(1)), key).rejects.toMatchObject({ code: 'INTERNAL' });
      }
    });

    it('answers ping', async () => {
      await expect(store().ping()).resolves.toBeUndefined();
    });
  });
}

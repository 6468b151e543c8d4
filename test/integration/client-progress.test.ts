/**
 * The client library reports transfer progress for push and pull (what the CLI's progress bar
 * draws), up to the exact byte count.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pullImage, pushImage } from '../../src/client/index.ts';
import { imageBytes } from '../support/archive-fixtures.ts';
import { tempDir } from '../support/fixtures.ts';
import { startTestServer } from '../support/server.ts';

describe('transfer progress', () => {
  it('push and pull report monotonic progress ending at the file size', async () => {
    const dir = await tempDir();
    const server = await startTestServer({ dataDir: dir });
    try {
      const { header, bytes } = imageBytes(randomBytes(5 * 1024 * 1024));
      const file = join(dir, 'image.cimg');
      await writeFile(file, bytes);
      const pushed: Array<[number, number]> = [];
      await pushImage({ base: server.url }, file, { onProgress: (sent, total) => pushed.push([sent, total]) });
      expect(pushed.length).toBeGreaterThan(1);
      expect(pushed.at(-1)).toEqual([bytes.length, bytes.length]);
      expect(pushed.every(([sent], i) => i === 0 || sent > pushed[i - 1]![0])).toBe(true);
      const pulled: Array<[number, number]> = [];
      const result = await pullImage({ conn: { base: server.url }, digest: header.digest, out: join(dir, 'out.cimg'), onProgress: (done, total) => pulled.push([done, total]) });
      expect(pulled.at(-1)).toEqual([result.bytes, result.bytes]);
    } finally {
      await server.close();
    }
  });
});

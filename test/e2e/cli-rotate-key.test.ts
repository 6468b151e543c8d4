/**
 * Master key rotation through the real CLI: `cairn admin rotate-key` rewraps every data key so
 * the old master key can be dropped from the configuration.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/archive/crypto/keyring.ts';
import { pullImage, pushImage } from '../../src/client/index.ts';
import { imageBytes } from '../support/archive-fixtures.ts';
import { runCairn } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';
import { spawnServer } from '../support/server.ts';

describe('cairn admin rotate-key', () => {
  it('rewraps every data key under the new master key; the old key can then be removed', async () => {
    const dir = await tempDir();
    const oldKey = generateMasterKeyEntry('old');
    const newKey = generateMasterKeyEntry('new');
    const content = randomBytes(100_000);
    const { header, bytes } = imageBytes(content, { height: 1000 });
    await writeFile(join(dir, 'img.cimg'), bytes);

    const first = await spawnServer({ dataDir: dir, masterKey: oldKey });
    await pushImage({ base: first.url }, join(dir, 'img.cimg'));
    await first.kill();

    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'rotate.json'), JSON.stringify({ ...config, masterKeys: [newKey, oldKey] }));
    const rotated = await runCairn(['admin', 'rotate-key', '--config', join(dir, 'rotate.json'), '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout)).toEqual({ activeKeyId: 'new', rewrapped: 1, alreadyCurrent: 0 });

    const after = await spawnServer({ dataDir: dir, masterKey: newKey });
    try {
      await pullImage({ conn: { base: after.url }, digest: header.digest, out: join(dir, 'pulled.cimg') });
      expect((await readFile(join(dir, 'pulled.cimg'))).equals(Buffer.from(bytes))).toBe(true);
    } finally {
      await after.kill();
    }
  });
});

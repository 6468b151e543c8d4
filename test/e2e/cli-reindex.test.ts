/**
 * `cairn admin reindex` and the database's first start, as an operator meets them: a bucket from
 * before the metadata database is indexed on the first start by itself; a database lost beside
 * a bucket is refused until `admin reindex` rebuilds it — images, attestations, finality and
 * holds back as they were.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/archive/crypto/keyring.ts';
import { imageBytes } from '../support/archive-fixtures.ts';
import { runCairn } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';
import { spawnServer, TEST_ADMIN_TOKEN } from '../support/server.ts';

const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** Removes the SQLite database with its WAL and shared-memory files. */
async function loseDatabase(dir: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm']) await rm(join(dir, `cairn.sqlite${suffix}`), { force: true });
}

describe('cairn admin reindex', () => {
  it('indexes an older bucket on first start, refuses a lost database, and rebuilds it on demand', async () => {
    const dir = await tempDir();
    const masterKey = generateMasterKeyEntry('k');
    const final = imageBytes(randomBytes(2000), { height: 1000, attesters: ['bob', 'carol'] });
    const held = imageBytes(randomBytes(2000), { height: 1100 });
    const first = await spawnServer({ dataDir: dir, masterKey });
    let before: unknown;
    try {
      for (const { bytes } of [final, held]) expect((await fetch(`${first.url}/v1/images`, { method: 'POST', body: bytes })).status).toBe(201);
      expect((await fetch(`${first.url}/v1/admin/images/${held.header.digest}/hold`, { method: 'PUT', headers: admin })).status).toBe(200);
      before = await (await fetch(`${first.url}/v1/chains/devnet/images`)).json();
    } finally {
      await first.kill();
    }

    // A bucket from before the database (no marker): the first start indexes it.
    await loseDatabase(dir);
    await rm(join(dir, 'objects', 'metadata'), { recursive: true, force: true });
    const upgraded = await spawnServer({ dataDir: dir, masterKey });
    try {
      expect(await (await fetch(`${upgraded.url}/v1/chains/devnet/images`)).json()).toEqual(before);
    } finally {
      await upgraded.kill();
    }

    // The database is lost, the bucket remembers another one: refused, until reindexed.
    await loseDatabase(dir);
    await expect(spawnServer({ dataDir: dir, masterKey })).rejects.toThrow(/indexed by another metadata database/);
    const reindexed = await runCairn(['admin', 'reindex', '--config', join(dir, 'config.json'), '--json']);
    expect(reindexed.code, reindexed.stderr).toBe(0);
    expect(JSON.parse(reindexed.stdout)).toMatchObject({ adopted: 2, attestations: 2 });
    const again = await spawnServer({ dataDir: dir, masterKey });
    try {
      expect(await (await fetch(`${again.url}/v1/chains/devnet/images`)).json()).toEqual(before);
      const plan = (await (await fetch(`${again.url}/v1/admin/retention/plan?chain=devnet`, { headers: admin })).json()) as { decisions: Array<{ digest: string; rule: string }> };
      expect(plan.decisions.find((d) => d.digest === held.header.digest)?.rule).toBe('PINNED');
      expect(((await (await fetch(`${again.url}/v1/chains/devnet/latest?final=true`)).json()) as { digest: string }).digest).toBe(final.header.digest);
    } finally {
      await again.kill();
    }
  });
});

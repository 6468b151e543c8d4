/** The metadata contract on the `postgres` driver, against a real PostgreSQL (postgres/ scripts). */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { openMetadata } from '../../../src/metadata/index.ts';
import { MIGRATIONS } from '../../../src/metadata/migrations.ts';
import { usePostgres } from '../../support/postgres.ts';
import { describeMetadataConformance } from '../../support/metadata-conformance.ts';

const postgres = usePostgres();
let url: string;
beforeAll(async () => {
  url = await postgres().createDatabase();
});

describeMetadataConformance('postgres', () => openMetadata(url));

describe('postgres driver', () => {
  it('migrates once when several processes open a new database at the same moment', async () => {
    const fresh = await postgres().createDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openMetadata(fresh)));
    const client = new pg.Client({ connectionString: fresh });
    await client.connect();
    const versions = (await client.query('SELECT version FROM schema_migrations ORDER BY version')).rows as Array<{ version: number }>;
    await client.end();
    // Each migration exactly once, whoever applied it.
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    await Promise.all(stores.map((s) => s.close()));
  });

  it('answers METADATA_UNAVAILABLE while the server is down, and works again once it is back', async () => {
    const store = await openMetadata(url);
    const digest = `sha3-256:${randomBytes(32).toString('hex')}` as const;
    await postgres().server.stop();
    try {
      await expect(store.image(digest)).rejects.toMatchObject({ code: 'METADATA_UNAVAILABLE' });
    } finally {
      await postgres().server.restart();
    }
    expect(await store.image(digest)).toBeUndefined();
    await store.close();
  });
});

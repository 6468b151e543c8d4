/**
 * One bucket, one metadata database. The bucket records the id of the database that indexes it
 * (`metadata/database.json`); a process whose database is another one refuses to start
 * (`CONFIG_INVALID`), because two databases on one bucket diverge silently: each would list
 * images the other deleted, and clean up as orphans what only the other one knows. Several
 * processes share one database (PostgreSQL, or one SQLite file on one host). Making another
 * database the bucket's index is an explicit act: `cairn admin reindex` claims the bucket and
 * rebuilds that database from it.
 */
import { CairnError } from '../../errors.ts';
import type { MetadataStore } from '../../metadata/index.ts';
import { readObject, type BlobStore } from '../store/blob-store.ts';
import { DATABASE_MARKER_KEY } from './layout.ts';

async function markedId(store: BlobStore): Promise<string | undefined> {
  if (!(await store.head(DATABASE_MARKER_KEY))) return undefined;
  try {
    const value = JSON.parse((await readObject(store, DATABASE_MARKER_KEY)).toString('utf8')) as { databaseId?: unknown };
    return typeof value.databaseId === 'string' ? value.databaseId : '';
  } catch {
    return '';
  }
}

/**
 * Checks (and on first use records) that `metadata` is the bucket's database. With `take`, makes
 * it so whatever the bucket recorded (the caller is about to rebuild the database from it).
 */
export async function claimBucket(store: BlobStore, metadata: MetadataStore, options: { take?: boolean } = {}): Promise<void> {
  const id = await metadata.databaseId();
  const body = (): Uint8Array => Buffer.from(`${JSON.stringify({ databaseId: id, driver: metadata.driver, claimedAt: new Date().toISOString() })}\n`);
  if (options.take) {
    await store.put(DATABASE_MARKER_KEY, body());
    return;
  }
  const recorded = (await markedId(store)) ?? ((await store.createIfAbsent(DATABASE_MARKER_KEY, body())) ? id : await markedId(store));
  if (recorded === id) return;
  throw new CairnError('CONFIG_INVALID', `this bucket is indexed by another metadata database (${recorded || 'unreadable marker'}), not this ${metadata.driver} one (${id}). Every process on a bucket must use the same database (set database / CAIRN_DATABASE_URL to it); to make this database the bucket's index instead, run \`cairn admin reindex\` with this configuration`, {
    details: { bucketDatabase: recorded ?? null, thisDatabase: id },
  });
}

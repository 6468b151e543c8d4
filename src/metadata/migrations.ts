/**
 * The database schema, as versioned migrations per dialect. A driver applies the ones not yet
 * recorded in `schema_migrations`, in order, at open, under a lock (PostgreSQL: an advisory
 * lock; SQLite: an immediate transaction), so processes starting together migrate once.
 * Never edit a released migration: add the next one.
 *
 * Version 1:
 *  - images: one row per archived image; (chain, height, digest) ordered for pages and
 *    latest, with a partial index over the final ones for latest-final and a covering index
 *    for the retention plan's scan (SQLite; PostgreSQL keeps the record out of line anyway); `record` is the bucket's
 *    image record, so the row alone serves manifests and content; `finalized_at` is when
 *    finality was proven, `held_at` an admin hold, `legal_hold_at` an S3 legal hold placed;
 *  - attestations: one row per (image, validator), the standalone attestation's CBOR;
 *  - events: the announcement outbox (global ids);
 *  - leases: named leases (retention runs) with an expiry;
 *  - settings: the database's own facts (its random id, which the bucket it indexes records).
 *
 * Version 2:
 *  - deletions: a tombstone per image being deleted, written with the row's removal in one
 *    transaction and removed once its objects are gone; while it stands, the image cannot be
 *    indexed again (a push or a reconciliation racing the deletion would list an image whose
 *    record and blob are about to go). Reconciliation finishes deletions a crash interrupted.
 */

/** One migration. */
export interface Migration {
  readonly version: number;
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
}

const imagesColumns = (bigint: string, bytes: string): string => `
  digest TEXT PRIMARY KEY,
  chain TEXT NOT NULL,
  height ${bigint} NOT NULL,
  size ${bigint} NOT NULL,
  content_type TEXT NOT NULL,
  created_at ${bigint} NOT NULL,
  stored_at ${bigint} NOT NULL,
  producer TEXT NOT NULL,
  record ${bytes} NOT NULL,
  finalized_at ${bigint},
  held_at ${bigint},
  legal_hold_at ${bigint}`;

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sqlite: [
      `CREATE TABLE images (${imagesColumns('INTEGER', 'BLOB')}) STRICT`,
      'CREATE INDEX images_by_height ON images (chain, height, digest)',
      'CREATE INDEX images_final_by_height ON images (chain, height, digest) WHERE finalized_at IS NOT NULL',
      // Covers the retention plan's scan: the row's record (kilobytes, before these columns) is never read.
      'CREATE INDEX images_plan ON images (chain, height, digest, stored_at, size, finalized_at, held_at)',
      'CREATE TABLE attestations (digest TEXT NOT NULL REFERENCES images (digest) ON DELETE CASCADE, validator TEXT NOT NULL, statement BLOB NOT NULL, PRIMARY KEY (digest, validator)) STRICT',
      'CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, chain TEXT NOT NULL, type TEXT NOT NULL, height INTEGER NOT NULL, digest TEXT NOT NULL, validator TEXT, at INTEGER NOT NULL) STRICT',
      'CREATE INDEX events_by_chain ON events (chain, id)',
      'CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL) STRICT',
      'CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT',
    ],
    postgres: [
      `CREATE TABLE images (${imagesColumns('BIGINT', 'BYTEA')})`,
      'CREATE INDEX images_by_height ON images (chain, height, digest)',
      'CREATE INDEX images_final_by_height ON images (chain, height, digest) WHERE finalized_at IS NOT NULL',
      'CREATE TABLE attestations (digest TEXT NOT NULL REFERENCES images (digest) ON DELETE CASCADE, validator TEXT NOT NULL, statement BYTEA NOT NULL, PRIMARY KEY (digest, validator))',
      'CREATE TABLE events (id BIGSERIAL PRIMARY KEY, chain TEXT NOT NULL, type TEXT NOT NULL, height BIGINT NOT NULL, digest TEXT NOT NULL, validator TEXT, at BIGINT NOT NULL)',
      'CREATE INDEX events_by_chain ON events (chain, id)',
      'CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)',
      'CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)',
    ],
  },
  {
    version: 2,
    sqlite: ['CREATE TABLE deletions (digest TEXT PRIMARY KEY, chain TEXT NOT NULL, height INTEGER NOT NULL, started_at INTEGER NOT NULL) STRICT'],
    postgres: ['CREATE TABLE deletions (digest TEXT PRIMARY KEY, chain TEXT NOT NULL, height BIGINT NOT NULL, started_at BIGINT NOT NULL)'],
  },
];

/** The version a fully migrated database has. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/**
 * The SQL both drivers run, written once with `?` placeholders (the PostgreSQL driver numbers
 * them), and the mapping from result rows to the contract's types. Only SQL both SQLite (3.35+)
 * and PostgreSQL accept: row-value comparisons, `ON CONFLICT`, `RETURNING`, partial indexes.
 */
import type { Digest } from '../archive/digest.ts';
import type { DeletionRow, EventRow, ImageRow, PageQuery, PlanRow } from './metadata-store.ts';

const IMAGE_COLUMNS = 'digest, chain, height, size, content_type, created_at, stored_at, producer, record, finalized_at, held_at, legal_hold_at';

/** The columns of a {@link PlanRow}. */
export const PLAN_COLUMNS = 'digest, height, stored_at, size, finalized_at, held_at';

export const SQL = {
  topHeights: 'SELECT DISTINCT height FROM images WHERE chain = ? ORDER BY height DESC LIMIT ?',
  insertImage: `INSERT INTO images (${IMAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING RETURNING digest`,
  undoInsert: 'DELETE FROM images WHERE digest = ?',
  deletionOf: 'SELECT digest, chain, height, started_at FROM deletions WHERE digest = ?',
  insertDeletion: 'INSERT INTO deletions (digest, chain, height, started_at) VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING',
  finishDeletion: 'DELETE FROM deletions WHERE digest = ?',
  deletionsBefore: 'SELECT digest, chain, height, started_at FROM deletions WHERE started_at <= ? ORDER BY started_at LIMIT ?',
  image: `SELECT ${IMAGE_COLUMNS} FROM images WHERE digest = ?`,
  atHeight: `SELECT ${IMAGE_COLUMNS} FROM images WHERE chain = ? AND height = ? ORDER BY digest`,
  counts: 'SELECT chain, COUNT(*) AS n FROM images GROUP BY chain ORDER BY chain',
  deleteImage: 'DELETE FROM images WHERE digest = ? RETURNING digest, chain, height',
  deleteUnchangedImage: 'DELETE FROM images WHERE digest = ? AND held_at IS NULL AND finalized_at IS NOT DISTINCT FROM ? RETURNING digest, chain, height',
  imageExists: 'SELECT 1 AS found FROM images WHERE digest = ?',
  addAttestation: 'INSERT INTO attestations (digest, validator, statement) VALUES (?, ?, ?) ON CONFLICT (digest, validator) DO NOTHING RETURNING validator',
  attestations: 'SELECT validator, statement FROM attestations WHERE digest = ? ORDER BY validator',
  markFinal: 'UPDATE images SET finalized_at = ? WHERE digest = ? AND finalized_at IS NULL RETURNING digest',
  setHeld: 'UPDATE images SET held_at = ? WHERE digest = ?',
  revokeFinal: 'UPDATE images SET finalized_at = NULL WHERE digest = ? AND finalized_at IS NOT NULL RETURNING digest',
  setLegalHold: 'UPDATE images SET legal_hold_at = ? WHERE digest = ?',
  setRecord: 'UPDATE images SET record = ? WHERE digest = ?',
  appendEvent: 'INSERT INTO events (chain, type, height, digest, validator, at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
  eventsAfter: 'SELECT id, chain, type, height, digest, validator, at FROM events WHERE chain = ? AND id > ? ORDER BY id LIMIT ?',
  allEventsAfter: 'SELECT id, chain, type, height, digest, validator, at FROM events WHERE id > ? ORDER BY id LIMIT ?',
  lastEventId: 'SELECT COALESCE(MAX(id), 0) AS id FROM events',
  acquireLease:
    'INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at WHERE leases.holder = excluded.holder OR leases.expires_at <= ? RETURNING holder',
  releaseLease: 'DELETE FROM leases WHERE name = ? AND holder = ?',
  initSetting: 'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING',
  setting: 'SELECT value FROM settings WHERE name = ?',
  putSetting: 'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
} as const;

/** The page query and its parameters (`columns`: the record-less plan columns instead). */
export function pageSql(chain: string, query: PageQuery, columns = IMAGE_COLUMNS): { sql: string; params: unknown[] } {
  const where = ['chain = ?'];
  const params: unknown[] = [chain];
  if (query.fromHeight !== undefined) {
    where.push('height >= ?');
    params.push(query.fromHeight);
  }
  if (query.toHeight !== undefined) {
    where.push('height <= ?');
    params.push(query.toHeight);
  }
  if (query.finalOnly) where.push('finalized_at IS NOT NULL');
  if (query.after) {
    where.push(query.descending ? '(height, digest) < (?, ?)' : '(height, digest) > (?, ?)');
    params.push(query.after.height, query.after.digest);
  }
  const order = query.descending ? 'DESC' : 'ASC';
  params.push(Math.max(0, Math.floor(query.limit)));
  return { sql: `SELECT ${columns} FROM images WHERE ${where.join(' AND ')} ORDER BY height ${order}, digest ${order} LIMIT ?`, params };
}

/** The attesters of up to 1,000 images at once. */
export function attestersSql(count: number): string {
  return `SELECT digest, validator FROM attestations WHERE digest IN (${Array.from({ length: count }, () => '?').join(', ')}) ORDER BY digest, validator`;
}

/** Groups `attestersSql` rows by image (every asked digest present, possibly with none). */
export function groupAttesters(digests: readonly Digest[], rows: ReadonlyArray<Record<string, unknown>>): Map<Digest, string[]> {
  const out = new Map<Digest, string[]>(digests.map((d) => [d, []]));
  for (const r of rows) out.get(r.digest as Digest)?.push(r.validator as string);
  return out;
}

/** Parameters of {@link SQL.insertImage} for a row. */
export function imageParams(row: ImageRow): unknown[] {
  return [row.digest, row.chain, row.height, row.size, row.contentType, row.createdAt, row.storedAt, row.producer, row.record, row.finalizedAt ?? null, row.heldAt ?? null, row.legalHoldAt ?? null];
}

type Raw = Record<string, unknown>;
const optional = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : Number(value));

/** A result row of `deletions`. */
export function toDeletionRow(raw: Raw): DeletionRow {
  return { digest: raw.digest as Digest, chain: raw.chain as string, height: Number(raw.height), startedAt: Number(raw.started_at) };
}

/** A result row of `images` as an {@link ImageRow}. */
export function toImageRow(raw: Raw): ImageRow {
  const finalizedAt = optional(raw.finalized_at);
  const heldAt = optional(raw.held_at);
  const legalHoldAt = optional(raw.legal_hold_at);
  return {
    digest: raw.digest as Digest,
    chain: raw.chain as string,
    height: Number(raw.height),
    size: Number(raw.size),
    contentType: raw.content_type as string,
    createdAt: Number(raw.created_at),
    storedAt: Number(raw.stored_at),
    producer: raw.producer as string,
    record: new Uint8Array(raw.record as Uint8Array),
    ...(finalizedAt === undefined ? {} : { finalizedAt }),
    ...(heldAt === undefined ? {} : { heldAt }),
    ...(legalHoldAt === undefined ? {} : { legalHoldAt }),
  };
}

/** A result row of {@link PLAN_COLUMNS} as a {@link PlanRow}. */
export function toPlanRow(raw: Raw): PlanRow {
  return { digest: raw.digest as Digest, height: Number(raw.height), storedAt: Number(raw.stored_at), size: Number(raw.size), final: raw.finalized_at !== null && raw.finalized_at !== undefined, held: raw.held_at !== null && raw.held_at !== undefined };
}

/** A result row of `events` as an {@link EventRow}. */
export function toEventRow(raw: Raw): EventRow {
  return {
    id: Number(raw.id),
    chain: raw.chain as string,
    type: raw.type as string,
    height: Number(raw.height),
    digest: raw.digest as string,
    ...(raw.validator === null || raw.validator === undefined ? {} : { validator: raw.validator as string }),
    at: Number(raw.at),
  };
}

/** Parameters of {@link SQL.appendEvent}. */
export function eventParams(event: Omit<EventRow, 'id'>): unknown[] {
  return [event.chain, event.type, event.height, event.digest, event.validator ?? null, event.at];
}

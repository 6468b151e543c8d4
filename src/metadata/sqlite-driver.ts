/**
 * The `sqlite` metadata driver: Node's built-in node:sqlite on one file (WAL, synchronous=NORMAL,
 * foreign keys on, a busy timeout so processes sharing the file wait instead of failing). The
 * API is synchronous and runs on the calling thread, so every statement here is small and
 * indexed. Announcements reach subscribers by polling the outbox (`pollMs`) and right after this
 * process's own appends.
 */
import { randomUUID } from 'node:crypto';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CairnError } from '../errors.ts';
import { EventFollower } from './event-follower.ts';
import type { MetadataStore } from './metadata-store.ts';
import type { Digest } from '../archive/digest.ts';
import { MIGRATIONS } from './migrations.ts';
import { PLAN_COLUMNS, SQL, toPlanRow, attestersSql, eventParams, groupAttesters, imageParams, pageSql, toDeletionRow, toEventRow, toImageRow } from './queries.ts';

/** Options of {@link openSqliteMetadata}. */
export interface SqliteOptions {
  /** A file path, or `:memory:`. */
  readonly path: string;
  /** How often subscribers' outbox is polled (default 250 ms). */
  readonly pollMs?: number;
  readonly onError?: (error: unknown) => void;
}

function applyMigrations(db: DatabaseSync): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
    const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => Number(r.version)));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.sqlite) db.exec(statement);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(migration.version, Date.now());
    }
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

/** Opens (creating and migrating) a SQLite metadata database. */
export function openSqliteMetadata(options: SqliteOptions): MetadataStore {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(options.path, { timeout: 10_000 });
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON');
    applyMigrations(db);
  } catch (error) {
    throw new CairnError('METADATA_UNAVAILABLE', `cannot open the SQLite metadata database ${options.path}: ${(error as Error).message}`, { cause: error });
  }
  const statements = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  const stmt = (sql: string): ReturnType<DatabaseSync['prepare']> => {
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
  const all = (sql: string, params: readonly unknown[]): Array<Record<string, unknown>> => stmt(sql).all(...(params as SQLInputValue[]));
  const get = (sql: string, params: readonly unknown[]): Record<string, unknown> | undefined => stmt(sql).get(...(params as SQLInputValue[]));
  const onError = options.onError ?? (() => undefined);
  const follower = new EventFollower(
    {
      after: (id, limit) => Promise.resolve(all(SQL.allEventsAfter, [id, limit]).map(toEventRow)),
      lastId: () => Promise.resolve(Number(get(SQL.lastEventId, [])?.id ?? 0)),
    },
    onError,
  );
  const poller = setInterval(() => follower.wake(), options.pollMs ?? 250);
  poller.unref();
  /** Runs `fn` in one immediate transaction (synchronous: nothing else runs in between). */
  const inTransaction = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  };
  const run = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error instanceof CairnError ? error : new CairnError('METADATA_UNAVAILABLE', `SQLite: ${(error as Error).message}`, { cause: error }));
    }
  };

  return {
    driver: 'sqlite',
    insertImage: (row) => run(() => get(SQL.deletionOf, [row.digest]) === undefined && get(SQL.insertImage, imageParams(row)) !== undefined),
    image: (digest) => run(() => {
      const raw = get(SQL.image, [digest]);
      return raw ? toImageRow(raw) : undefined;
    }),
    page: (chain, query) => run(() => {
      const { sql, params } = pageSql(chain, query);
      return all(sql, params).map(toImageRow);
    }),
    latest: (chain, options = {}) => run(() => {
      const { sql, params } = pageSql(chain, { limit: 1, descending: true, ...(options.finalOnly ? { finalOnly: true } : {}) });
      const raw = all(sql, params)[0];
      return raw ? toImageRow(raw) : undefined;
    }),
    atHeight: (chain, height) => run(() => all(SQL.atHeight, [chain, height]).map(toImageRow)),
    planRows: (chain, query) => run(() => {
      const { sql, params } = pageSql(chain, query, PLAN_COLUMNS);
      return all(sql, params).map(toPlanRow);
    }),
    topHeights: (chain, limit) => run(() => all(SQL.topHeights, [chain, limit]).map((r) => Number(r.height))),
    counts: () => run(() => new Map(all(SQL.counts, []).map((r) => [r.chain as string, Number(r.n)]))),
    deleteImage: (digest, unchanged) => run(() => inTransaction(() => {
      const deleted = unchanged ? get(SQL.deleteUnchangedImage, [digest, unchanged.finalizedAt ?? null]) : get(SQL.deleteImage, [digest]);
      if (deleted) stmt(SQL.insertDeletion).run(digest, deleted.chain as string, Number(deleted.height), Date.now());
      return deleted !== undefined;
    })),
    deletion: (digest) => run(() => {
      const raw = get(SQL.deletionOf, [digest]);
      return raw ? toDeletionRow(raw) : undefined;
    }),
    finishDeletion: (digest) => run(() => void stmt(SQL.finishDeletion).run(digest)),
    deletionsBefore: (cutoff, limit) => run(() => all(SQL.deletionsBefore, [cutoff, limit]).map(toDeletionRow)),
    attesters: (digests) => run(() => {
      const out = new Map<Digest, string[]>();
      for (let i = 0; i < digests.length; i += 1000) {
        const part = digests.slice(i, i + 1000);
        for (const [d, v] of groupAttesters(part, all(attestersSql(part.length), part))) out.set(d, v);
      }
      return out;
    }),
    addAttestation: (digest, validator, statement) => run(() => {
      if (!get(SQL.imageExists, [digest])) throw new CairnError('NOT_FOUND', `no indexed image ${digest}`);
      return get(SQL.addAttestation, [digest, validator, statement]) !== undefined;
    }),
    attestations: (digest) => run(() => all(SQL.attestations, [digest]).map((r) => ({ validator: r.validator as string, statement: new Uint8Array(r.statement as Uint8Array) }))),
    markFinal: async (digest, at, announce) => {
      const marked = await run(() => inTransaction(() => {
        if (get(SQL.markFinal, [at, digest]) === undefined) return false;
        if (announce) get(SQL.appendEvent, eventParams(announce));
        return true;
      }));
      if (marked && announce) follower.wake();
      return marked;
    },
    revokeFinal: (digest) => run(() => get(SQL.revokeFinal, [digest]) !== undefined),
    setHeld: (digest, at) => run(() => void stmt(SQL.setHeld).run(at ?? null, digest)),
    setLegalHold: (digest, at) => run(() => void stmt(SQL.setLegalHold).run(at ?? null, digest)),
    setRecord: (digest, record) => run(() => void stmt(SQL.setRecord).run(record, digest)),
    appendEvent: async (event) => {
      const row = await run(() => ({ id: Number(get(SQL.appendEvent, eventParams(event))?.id), ...event }));
      follower.wake();
      return row;
    },
    eventsAfter: (chain, afterId, limit) => run(() => all(SQL.eventsAfter, [chain, afterId, limit]).map(toEventRow)),
    subscribe: (listener) => follower.subscribe(listener),
    acquireLease: (name, holder, ttlMs, now) => run(() => get(SQL.acquireLease, [name, holder, now + ttlMs, now]) !== undefined),
    releaseLease: (name, holder) => run(() => void stmt(SQL.releaseLease).run(name, holder)),
    ping: () => run(() => void get('SELECT 1 AS ok', [])),
    now: () => Promise.resolve(Date.now()),
    getSetting: (name) => run(() => {
      const value = get(SQL.setting, [name])?.value;
      return typeof value === 'string' ? value : undefined;
    }),
    putSetting: (name, value) => run(() => void stmt(SQL.putSetting).run(name, value)),
    databaseId: () => run(() => {
      stmt(SQL.initSetting).run('database_id', randomUUID());
      return String(get(SQL.setting, ['database_id'])?.value);
    }),
    async close() {
      clearInterval(poller);
      await follower.settled();
      db.close();
    },
  };
}

/**
 * The `postgres` metadata driver, for several Cairn processes on one bucket: a `pg` pool for
 * statements and one dedicated connection that LISTENs on `cairn_events`. An append takes a
 * transaction-scoped advisory lock, inserts into the outbox and NOTIFYs, so ids commit in
 * order (a reader never skips an id that commits later) and every process is woken at commit.
 * BIGINT columns are read as numbers (Cairn's integers stay below 2^53).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CairnError } from '../errors.ts';
import { EventFollower } from './event-follower.ts';
import type { EventRow, MetadataStore } from './metadata-store.ts';
import type { Digest } from '../archive/digest.ts';
import { MIGRATIONS } from './migrations.ts';
import { PLAN_COLUMNS, SQL, toPlanRow, attestersSql, eventParams, groupAttesters, imageParams, pageSql, toDeletionRow, toEventRow, toImageRow } from './queries.ts';

const CHANNEL = 'cairn_events';
/** Advisory lock keys (any constants private to Cairn). */
const MIGRATION_LOCK = 0x6361_6972;
const OUTBOX_LOCK = 0x6361_6973;
const INT8_OID = 20;

/** Options of {@link openPostgresMetadata}. */
export interface PostgresOptions {
  /** `postgres://user[:password]@host:port/database` */
  readonly url: string;
  /** Pool size (default 10). */
  readonly maxConnections?: number;
  readonly onError?: (error: unknown) => void;
}

/** `?` placeholders as `$1, $2, …`. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const types = {
  getTypeParser: (oid: number, format?: string): ((value: string) => unknown) => (oid === INT8_OID ? (value: string) => Number(value) : (pg.types.getTypeParser(oid, format as 'text') as (value: string) => unknown)),
};

function unavailable(error: unknown): CairnError {
  if (error instanceof CairnError) return error;
  return new CairnError('METADATA_UNAVAILABLE', `PostgreSQL: ${(error as Error).message}`, { cause: error });
}

/** Opens a PostgreSQL metadata database, applying pending migrations under an advisory lock. */
export async function openPostgresMetadata(options: PostgresOptions): Promise<MetadataStore> {
  const onError = options.onError ?? (() => undefined);
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10, types, connectionTimeoutMillis: 10_000 });
  pool.on('error', onError); // an idle client lost: the pool replaces it
  // Every client always has a listener of ours: the pool's covers idle clients only, and the
  // server's FATAL on shutdown (57P01) can reach a checked-out client between statements, where
  // an unhandled 'error' would take the process down (found by the soak's PostgreSQL restarts).
  pool.on('connect', (client) => client.on('error', () => undefined));
  const query = async (sql: string, params: readonly unknown[] = []): Promise<Array<Record<string, unknown>>> => {
    try {
      return (await pool.query(numbered(sql), params as unknown[])).rows as Array<Record<string, unknown>>;
    } catch (error) {
      throw unavailable(error);
    }
  };
  const transaction = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw unavailable(error);
    }
    // A checked-out client has no listener of the pool's: a connection lost between two of its
    // statements would emit an unhandled 'error' and take the process down. Ours reports it, and
    // the broken client is destroyed on release instead of going back to the pool.
    let lost: Error | undefined;
    const onLost = (error: Error): void => {
      lost = error;
      onError(error);
    };
    client.on('error', onLost);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (!lost) await client.query('ROLLBACK').catch(() => undefined);
      throw unavailable(error);
    } finally {
      client.off('error', onLost);
      client.release(lost);
    }
  };

  try {
    await transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r: { version: number }) => Number(r.version)));
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        for (const statement of migration.postgres) await client.query(statement);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [migration.version, Date.now()]);
      }
    });
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }

  const follower = new EventFollower(
    {
      after: async (id, limit) => (await query(SQL.allEventsAfter, [id, limit])).map(toEventRow),
      lastId: async () => Number((await query(SQL.lastEventId))[0]?.id ?? 0),
    },
    onError,
  );

  // The LISTEN connection: kept open, re-opened after a loss (and then a drain catches up).
  let listener: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const listen = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: options.url, types });
    client.on('notification', () => follower.wake());
    client.on('error', (error) => {
      onError(error);
      if (listener === client) listener = undefined;
      void client.end().catch(() => undefined);
      scheduleRetry();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      await client.end().catch(() => undefined);
      return;
    }
    listener = client;
    follower.wake();
  };
  const scheduleRetry = (): void => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      ensureListening();
    }, 1000).unref();
  };
  const ensureListening = (): void => {
    if (listener || connecting || closed) return;
    connecting = listen()
      .catch((error: unknown) => {
        onError(error);
        scheduleRetry();
      })
      .finally(() => (connecting = undefined));
  };

  const first = async (sql: string, params: readonly unknown[]): Promise<Record<string, unknown> | undefined> => (await query(sql, params))[0];
  /** Appends to the outbox inside `client`'s transaction (ids in commit order: the advisory lock) and notifies. */
  const appendIn = async (client: pg.PoolClient, event: Omit<EventRow, 'id'>): Promise<number> => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [OUTBOX_LOCK]);
    const inserted = await client.query(numbered(SQL.appendEvent), eventParams(event));
    const value = Number((inserted.rows[0] as { id: number }).id);
    await client.query('SELECT pg_notify($1, $2)', [CHANNEL, String(value)]);
    return value;
  };

  return {
    driver: 'postgres',
    insertImage: async (row) => {
      if ((await first(SQL.insertImage, imageParams(row))) === undefined) return false;
      // Checked after the insert: a deletion that committed while the insert waited on its row
      // lock is seen here, and the row it would have brought back goes again.
      if ((await first(SQL.deletionOf, [row.digest])) === undefined) return true;
      await query(SQL.undoInsert, [row.digest]);
      return false;
    },
    image: async (digest) => {
      const raw = await first(SQL.image, [digest]);
      return raw ? toImageRow(raw) : undefined;
    },
    page: async (chain, pageQuery) => {
      const { sql, params } = pageSql(chain, pageQuery);
      return (await query(sql, params)).map(toImageRow);
    },
    latest: async (chain, latestOptions = {}) => {
      const { sql, params } = pageSql(chain, { limit: 1, descending: true, ...(latestOptions.finalOnly ? { finalOnly: true } : {}) });
      const raw = (await query(sql, params))[0];
      return raw ? toImageRow(raw) : undefined;
    },
    atHeight: async (chain, height) => (await query(SQL.atHeight, [chain, height])).map(toImageRow),
    planRows: async (chain, pageQuery) => {
      const { sql, params } = pageSql(chain, pageQuery, PLAN_COLUMNS);
      return (await query(sql, params)).map(toPlanRow);
    },
    topHeights: async (chain, limit) => (await query(SQL.topHeights, [chain, limit])).map((r) => Number(r.height)),
    counts: async () => new Map((await query(SQL.counts)).map((r) => [r.chain as string, Number(r.n)])),
    deleteImage: async (digest, unchanged) =>
      transaction(async (client) => {
        const deleted = (await client.query(numbered(unchanged ? SQL.deleteUnchangedImage : SQL.deleteImage), unchanged ? [digest, unchanged.finalizedAt ?? null] : [digest])).rows[0] as { chain: string; height: number } | undefined;
        if (deleted) await client.query(numbered(SQL.insertDeletion), [digest, deleted.chain, deleted.height, Date.now()]);
        return deleted !== undefined;
      }),
    deletion: async (digest) => {
      const raw = await first(SQL.deletionOf, [digest]);
      return raw ? toDeletionRow(raw) : undefined;
    },
    finishDeletion: async (digest) => void (await query(SQL.finishDeletion, [digest])),
    deletionsBefore: async (cutoff, limit) => (await query(SQL.deletionsBefore, [cutoff, limit])).map(toDeletionRow),
    attesters: async (digests) => {
      const out = new Map<Digest, string[]>();
      for (let i = 0; i < digests.length; i += 1000) {
        const part = digests.slice(i, i + 1000);
        for (const [d, v] of groupAttesters(part, await query(attestersSql(part.length), part))) out.set(d, v);
      }
      return out;
    },
    addAttestation: async (digest, validator, statement) => {
      try {
        return (await first(SQL.addAttestation, [digest, validator, statement])) !== undefined;
      } catch (error) {
        // 23503: the image is not (or no longer) indexed.
        if ((error as CairnError).cause && ((error as CairnError).cause as { code?: string }).code === '23503') throw new CairnError('NOT_FOUND', `no indexed image ${digest}`);
        throw error;
      }
    },
    attestations: async (digest) => (await query(SQL.attestations, [digest])).map((r) => ({ validator: r.validator as string, statement: new Uint8Array(r.statement as Uint8Array) })),
    markFinal: async (digest, at, announce) => {
      if (!announce) return (await first(SQL.markFinal, [at, digest])) !== undefined;
      const marked = await transaction(async (client) => {
        if ((await client.query(numbered(SQL.markFinal), [at, digest])).rows.length === 0) return false;
        await appendIn(client, announce);
        return true;
      });
      if (marked) follower.wake();
      return marked;
    },
    revokeFinal: async (digest) => (await first(SQL.revokeFinal, [digest])) !== undefined,
    setHeld: async (digest, at) => void (await query(SQL.setHeld, [at ?? null, digest])),
    setLegalHold: async (digest, at) => void (await query(SQL.setLegalHold, [at ?? null, digest])),
    setRecord: async (digest, record) => void (await query(SQL.setRecord, [record, digest])),
    appendEvent: async (event) => {
      const id = await transaction((client) => appendIn(client, event));
      follower.wake();
      return { id, ...event };
    },
    eventsAfter: async (chain, afterId, limit) => (await query(SQL.eventsAfter, [chain, afterId, limit])).map(toEventRow),
    subscribe: (fn) => {
      ensureListening();
      return follower.subscribe(fn);
    },
    acquireLease: async (name, holder, ttlMs, now) => (await first(SQL.acquireLease, [name, holder, now + ttlMs, now])) !== undefined,
    releaseLease: async (name, holder) => void (await query(SQL.releaseLease, [name, holder])),
    ping: async () => void (await query('SELECT 1 AS ok')),
    now: async () => Number((await query('SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now'))[0]?.now),
    getSetting: async (name) => {
      const value = (await first(SQL.setting, [name]))?.value;
      return typeof value === 'string' ? value : undefined;
    },
    putSetting: async (name, value) => void (await query(SQL.putSetting, [name, value])),
    databaseId: async () => {
      await query(SQL.initSetting, ['database_id', randomUUID()]);
      return String((await first(SQL.setting, ['database_id']))?.value);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await connecting;
      await follower.settled();
      await listener?.end().catch(() => undefined);
      await pool.end();
    },
  };
}

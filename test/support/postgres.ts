/**
 * Test helper: a real PostgreSQL per test file (Debian's binaries, a throwaway cluster on
 * loopback, see postgres/), and fresh databases in it on demand.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createDatabase, startPostgres, type PostgresServer } from '../../postgres/postgres-server.ts';

/** The running server and a way to get an empty database in it. */
export interface TestPostgres {
  readonly server: PostgresServer;
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
}

/** Starts PostgreSQL before the file's tests and removes it after; returns an accessor. */
export function usePostgres(): () => TestPostgres {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  });
  return () => {
    const running = server;
    if (!running) throw new Error('PostgreSQL is not running');
    return {
      server: running,
      createDatabase: () => createDatabase(running, `t_${randomBytes(6).toString('hex')}`),
    };
  };
}

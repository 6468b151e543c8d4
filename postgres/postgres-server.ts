/**
 * Starts a throwaway PostgreSQL on loopback for tests, benchmarks and local development: Debian's
 * server binaries (found or installed by `postgres/install`), a fresh cluster in a temporary
 * directory (`initdb`, trust authentication for the `cairn` role on 127.0.0.1 only), a free port,
 * a `cairn` database. PostgreSQL refuses to run as root, so as root the cluster is owned by and
 * run as the `postgres` system user (`runuser`). Used by `postgres/start` and the test helpers.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../minio/minio-server.ts';

/** A running PostgreSQL cluster. */
export interface PostgresServer {
  /** `postgres://cairn@127.0.0.1:<port>/cairn` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the server (fast shutdown) without removing its data: `restart()` brings it back. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** Creates an empty database `name` in the cluster and returns its URL. */
export async function createDatabase(server: Pick<PostgresServer, 'url'>, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return server.url.replace(/\/cairn$/, `/${name}`);
}

/** The directory of PostgreSQL's server binaries, installing them first if needed. */
export function postgresBinDir(): string {
  return execFileSync('bash', [join(import.meta.dirname, 'install')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

const asRoot = (): boolean => userInfo().uid === 0;

/** Runs a PostgreSQL program as the cluster's owner. */
function runAsOwner(bin: string, program: string, args: readonly string[]): SpawnSyncReturns<string> {
  const [file, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), [...args]];
  return spawnSync(file, argv, { encoding: 'utf8', cwd: tmpdir() });
}

/** The same, throwing with its output on failure. */
function run(bin: string, program: string, args: readonly string[]): string {
  const result = runAsOwner(bin, program, args);
  if (result.status !== 0) throw new Error(`${program} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** Stops the cluster in `dir` (fast shutdown; nothing to do when it is not running). */
export function stopPostgres(dir: string): void {
  const bin = postgresBinDir();
  const data = join(dir, 'data');
  if (runAsOwner(bin, 'pg_ctl', ['-D', data, 'status']).status === 0) run(bin, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
}

/** Starts a cluster. `dir` reuses an existing one (as `postgres/start` records it). */
export async function startPostgres(options: { dir?: string; port?: number } = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'cairn-pg-')));
  const data = join(dir, 'data');
  const port = options.port ?? (await freePort());
  if (!options.dir) {
    if (asRoot()) {
      const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
      const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
      await chown(dir, Number(ids), Number(gid));
    }
    await chmod(dir, 0o700);
    run(bin, 'initdb', ['-D', data, '-A', 'trust', '-U', 'cairn', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  }
  const start = (): void => {
    run(bin, 'pg_ctl', ['-D', data, '-o', `-k ${dir} -c listen_addresses=127.0.0.1 -p ${port} -c fsync=off -c max_connections=200`, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  };
  start();
  const url = `postgres://cairn@127.0.0.1:${port}/cairn`;
  if (!options.dir) run(bin, 'createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'cairn', 'cairn']);
  const stop = (): Promise<void> => Promise.resolve(stopPostgres(dir));
  return {
    url,
    port,
    dir,
    stop,
    restart: async () => start(),
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

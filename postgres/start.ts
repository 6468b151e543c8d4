/**
 * `postgres/start`: starts a throwaway PostgreSQL on loopback in the background and prints
 * `export CAIRN_DATABASE_URL=…` (eval-able). State for `postgres/stop` goes to the state file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { startPostgres } from './postgres-server.ts';
import { stateFile } from './state.ts';

const server = await startPostgres();
await mkdir(dirname(stateFile()), { recursive: true });
await writeFile(stateFile(), JSON.stringify({ dir: server.dir, port: server.port, url: server.url }), { mode: 0o600 });
process.stdout.write(`export CAIRN_DATABASE_URL=${server.url}\n`);
process.stderr.write(`postgres: running at ${server.url} (data ${server.dir}); stop with postgres/stop\n`);

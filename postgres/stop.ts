/** `postgres/stop`: stops the PostgreSQL that `postgres/start` started and removes its directory. */
import { readFile, rm } from 'node:fs/promises';
import { stopPostgres } from './postgres-server.ts';
import { stateFile } from './state.ts';

let state: { dir: string };
try {
  state = JSON.parse(await readFile(stateFile(), 'utf8')) as { dir: string };
} catch {
  process.stderr.write('postgres: nothing to stop\n');
  process.exit(0);
}
stopPostgres(state.dir);
await rm(state.dir, { recursive: true, force: true });
await rm(stateFile(), { force: true });
process.stderr.write(`postgres: stopped the cluster in ${state.dir}\n`);

/** Where `postgres/start` records the cluster it started, for `postgres/stop`. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Path of the state file. */
export function stateFile(): string {
  return process.env.CAIRN_POSTGRES_STATE ?? join(process.env.CAIRN_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'cairn'), 'run', 'postgres.json');
}

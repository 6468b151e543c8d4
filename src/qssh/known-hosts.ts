/**
 * Cairn's known-hosts file for QSSH servers: one line per server,
 * `<host>:<port> <algorithm> <base64 public key>`, `#` comments allowed. The first successful
 * connection to an unknown server pins its identity (trust on first use) unless the caller
 * asks for strict checking; later connections must present the same key.
 */
import { mkdir, readFile, appendFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CairnError } from '../errors.ts';
import type { PublicKey } from '../archive/keys/signing.ts';

/** Default location: `$CAIRN_KNOWN_HOSTS`, else `~/.cairn/known_hosts`. */
export function defaultKnownHostsPath(): string {
  return process.env.CAIRN_KNOWN_HOSTS ?? join(homedir(), '.cairn', 'known_hosts');
}

/** How an identity compared with the file. */
export type HostCheck = 'known' | 'pinned';

function entryOf(key: PublicKey): string {
  return `${key.algorithm} ${Buffer.from(key.raw).toString('base64')}`;
}

/**
 * Checks `key` for `host` against the file: `known` when it matches the pinned key, `pinned`
 * when the host was unknown and has now been added. Throws `HOST_KEY_MISMATCH` when another key
 * is pinned, and `HOST_KEY_MISSING` for an unknown host when `strict`.
 */
export async function checkKnownHost(path: string, host: string, key: PublicKey, options: { strict?: boolean } = {}): Promise<HostCheck> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const pinned = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(/\s+/))
    .filter((parts) => parts[0] === host)
    .map((parts) => parts.slice(1, 3).join(' '));
  if (pinned.length > 0) {
    if (pinned.includes(entryOf(key))) return 'known';
    throw new CairnError('HOST_KEY_MISMATCH', `the server at ${host} proved identity ${key.fingerprint}, but ${path} pins another key for it; if the server's identity really changed, remove its line from that file`, { details: { host, fingerprint: key.fingerprint, knownHosts: path } });
  }
  if (options.strict) throw new CairnError('HOST_KEY_MISSING', `${host} is not in ${path} (strict host key checking); its identity is ${key.fingerprint}`, { details: { host, fingerprint: key.fingerprint } });
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await appendFile(path, `${host} ${entryOf(key)}\n`, { mode: 0o600 });
  return 'pinned';
}

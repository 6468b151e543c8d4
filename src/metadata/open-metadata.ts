/**
 * Opens the metadata database a URL names: `sqlite:<path>` (relative paths from the working
 * directory; `sqlite::memory:` for a private in-memory one) or `postgres://…` /
 * `postgresql://…`. Anything else is a configuration error.
 */
import { CairnError } from '../errors.ts';
import type { MetadataStore } from './metadata-store.ts';
import { openPostgresMetadata } from './postgres-driver.ts';
import { openSqliteMetadata } from './sqlite-driver.ts';

/** Options shared by the drivers. */
export interface OpenMetadataOptions {
  readonly onError?: (error: unknown) => void;
  /** SQLite: how often subscribers poll the outbox (default 250 ms). */
  readonly pollMs?: number;
}

/** Which driver a URL selects, and its target (never the password). */
export function describeDatabaseUrl(url: string): { driver: 'sqlite' | 'postgres'; target: string } {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path.length === 0) throw new CairnError('CONFIG_INVALID', 'database: sqlite: needs a path (sqlite:<file> or sqlite::memory:)');
    return { driver: 'sqlite', target: path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CairnError('CONFIG_INVALID', 'database: not a valid postgres:// URL');
    }
    return { driver: 'postgres', target: `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}` };
  }
  throw new CairnError('CONFIG_INVALID', 'database must be sqlite:<path> or postgres://user@host:port/database');
}

/** Opens (and migrates) the database `url` names. */
export async function openMetadata(url: string, options: OpenMetadataOptions = {}): Promise<MetadataStore> {
  const { driver, target } = describeDatabaseUrl(url);
  const onError = options.onError ? { onError: options.onError } : {};
  if (driver === 'sqlite') return openSqliteMetadata({ path: target, ...onError, ...(options.pollMs ? { pollMs: options.pollMs } : {}) });
  return openPostgresMetadata({ url, ...onError });
}

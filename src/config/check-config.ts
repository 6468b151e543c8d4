/**
 * `cairn config check`: everything `cairn serve` would refuse about a configuration file, listed
 * at once — schema problems, then what only shows when the values are used (master keys, reader
 * keys, the registry file, the S3 settings). Secrets are never echoed.
 */
import { describeDatabaseUrl } from '../metadata/index.ts';
import { isCairnError } from '../errors.ts';
import { parseKeyring } from '../archive/crypto/keyring.ts';
import { readRegistryFile } from '../archive/registry/registry.ts';
import { parseReaderKeys } from '../qssh/authorized-keys.ts';
import type { CairnConfig } from './config-schema.ts';
import { loadConfig } from './load-config.ts';

/** The outcome of a check. */
export interface ConfigCheck {
  readonly file: string;
  readonly problems: readonly string[];
  /** A non-secret summary of the configuration when it is valid. */
  readonly summary?: Record<string, unknown>;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Checks `file` (with `CAIRN_*` overrides from `env` when given; none by default). */
export async function checkConfigFile(file: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigCheck> {
  let config: CairnConfig;
  try {
    config = await loadConfig({ file, env });
  } catch (error) {
    if (isCairnError(error, 'CONFIG_INVALID')) return { file, problems: (error.details?.problems as string[] | undefined) ?? [error.message] };
    throw error;
  }
  const problems: string[] = [];
  if (config.masterKeys.length > 0) {
    try {
      parseKeyring(config.masterKeys);
    } catch (error) {
      problems.push(`masterKeys: ${message(error)}`);
    }
  } else if (config.store === 's3' || !config.devSecrets) {
    problems.push('masterKeys: required (development secrets are only generated for the fs store with devSecrets on)');
  }
  if (config.adminTokens.length === 0 && (config.store === 's3' || !config.devSecrets)) problems.push('adminTokens: at least one is required outside development mode');
  config.qssh.readerKeys.forEach((line, i) => {
    try {
      parseReaderKeys([line]);
    } catch (error) {
      problems.push(`qssh.readerKeys.${i}: ${message(error)}`);
    }
  });
  if (config.registryFile) {
    try {
      await readRegistryFile(config.registryFile);
    } catch (error) {
      problems.push(`registryFile: ${message(error)}`);
    }
  }
  if (config.store === 's3' && !config.s3.accessKeyId !== !config.s3.secretAccessKey) problems.push('s3: accessKeyId and secretAccessKey go together');
  if (config.qssh.enabled && config.qssh.port !== 0 && config.qssh.port === config.port && config.qssh.host === config.host) problems.push('qssh.port: the same address as the HTTP API');
  if (problems.length > 0) return { file, problems };
  return {
    file,
    problems,
    summary: {
      http: `${config.host}:${config.port}`,
      store: config.store === 's3' ? `s3 ${config.s3.endpoint ?? 'AWS'} bucket ${config.s3.bucket}` : `fs ${config.dataDir}`,
      database: config.database ? `${describeDatabaseUrl(config.database).driver} ${describeDatabaseUrl(config.database).target}` : `sqlite ${config.dataDir}/cairn.sqlite`,
      qssh: config.qssh.enabled ? `${config.qssh.host}:${config.qssh.port}` : 'off',
      masterKeys: config.masterKeys.length,
      adminTokens: config.adminTokens.length,
      readToken: config.readToken ? 'set' : 'none',
      readerKeys: config.qssh.readerKeys.length,
      retention: `keep last ${config.retention.keepLast}, max age ${config.retention.maxAgeMs} ms, schedule ${config.retention.schedule}`,
    },
  };
}


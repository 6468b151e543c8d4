/**
 * Development secrets for the embedded default: when Cairn runs on the fs store without a master
 * key or admin token, it generates them (and a one-validator development registry) under
 * `<dataDir>/dev`, reuses them on later starts, and says so loudly.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateMasterKeyEntry } from '../archive/crypto/keyring.ts';
import { writeFileAtomic } from '../archive/fs/atomic-write.ts';
import { formatPublicKey, generateSigningKey, writeKeyPair } from '../archive/index.ts';
import { CairnError } from '../errors.ts';
import type { CairnConfig } from './config-schema.ts';

/** Secrets and registry seed actually used by the server. */
export interface EffectiveSecrets {
  readonly masterKeys: readonly string[];
  readonly adminTokens: readonly string[];
  readonly registryFile?: string;
  /** Files generated or reused for development, when any. */
  readonly dev?: { readonly dir: string; readonly adminTokenFile: string; readonly validatorKeyFile: string; readonly registryFile: string };
}

async function readOrCreate(path: string, create: () => string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const value = create();
    await writeFileAtomic(path, `${value}\n`, { mode: 0o600 });
    return value;
  }
}

/** Resolves the secrets to use; generates development ones when allowed and needed. */
export async function resolveSecrets(config: CairnConfig): Promise<EffectiveSecrets> {
  const needDev = config.masterKeys.length === 0 || config.adminTokens.length === 0;
  if (!needDev) return { masterKeys: config.masterKeys, adminTokens: config.adminTokens, ...(config.registryFile ? { registryFile: config.registryFile } : {}) };
  if (config.store !== 'fs' || !config.devSecrets) {
    const missing = [config.masterKeys.length === 0 ? 'masterKeys (CAIRN_MASTER_KEY)' : '', config.adminTokens.length === 0 ? 'adminTokens (CAIRN_ADMIN_TOKEN)' : ''].filter(Boolean);
    throw new CairnError('CONFIG_INVALID', `invalid configuration:\n  - ${missing.join(' and ')} must be set (development secrets are generated only for the fs store)`);
  }
  const dir = resolve(config.dataDir, 'dev');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const masterKey = await readOrCreate(join(dir, 'master-key'), () => generateMasterKeyEntry('dev'));
  const adminTokenFile = join(dir, 'admin-token');
  const adminToken = await readOrCreate(adminTokenFile, () => randomBytes(32).toString('base64url'));
  const validatorKeyFile = join(dir, 'dev-validator.key');
  const registryFile = join(dir, 'registry.json');
  try {
    await readFile(registryFile);
  } catch {
    const key = generateSigningKey('ml-dsa-65', 'dev-validator');
    await writeKeyPair(validatorKeyFile, key, { comment: 'dev-validator', overwrite: true });
    const registry = { chains: { devnet: { epochLength: 1000, validators: [{ id: 'dev-validator', weight: 1, keys: [formatPublicKey(key.publicKey).trim()] }] } } };
    await writeFileAtomic(registryFile, `${JSON.stringify(registry, null, 2)}\n`, { mode: 0o644 });
  }
  return {
    masterKeys: config.masterKeys.length ? config.masterKeys : [masterKey],
    adminTokens: config.adminTokens.length ? config.adminTokens : [adminToken],
    registryFile: config.registryFile ?? registryFile,
    dev: { dir, adminTokenFile, validatorKeyFile, registryFile },
  };
}

/** The warning printed at start when development secrets are in use. */
export function devSecretsWarning(dev: NonNullable<EffectiveSecrets['dev']>): string {
  const line = '!'.repeat(78);
  return [
    line,
    '!!  CAIRN IS RUNNING WITH GENERATED DEVELOPMENT SECRETS - NOT FOR PRODUCTION',
    `!!  master key, admin token and a dev registry live in ${dev.dir}`,
    `!!  admin token:        ${dev.adminTokenFile}`,
    `!!  dev validator key:  ${dev.validatorKeyFile} (chain "devnet")`,
    '!!  Set CAIRN_MASTER_KEY and CAIRN_ADMIN_TOKEN (or a config file) for real use.',
    line,
    '',
  ].join('\n');
}

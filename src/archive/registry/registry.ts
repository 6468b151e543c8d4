/**
 * The validator registry: per chain, the validators with their weight, image-signing public
 * keys and optional QSSH (Falcon-512) key. It is the trust anchor for verifying images and
 * computing finality. Its JSON document form (a "registry file") is specified in
 * `docs/FORMAT.md` §Registry file; clients keep a copy as their offline trust file.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CairnError } from '../../errors.ts';
import { formatQsshPublicKey, parseQsshPublicKey, type FalconPublicKey } from '../keys/falcon.ts';
import { formatPublicKey, parsePublicKeys } from '../keys/key-files.ts';
import type { PublicKey } from '../keys/signing.ts';
import { isChainId, isValidatorId } from '../image/format.ts';

/** Default number of blocks in an epoch. */
export const DEFAULT_EPOCH_LENGTH = 1000;

/** One registered validator of a chain. */
export interface Validator {
  readonly id: string;
  readonly weight: number;
  readonly keys: readonly PublicKey[];
  readonly qsshKey?: FalconPublicKey;
}

/** One chain's registry entry. */
export interface ChainRegistry {
  readonly chain: string;
  readonly epochLength: number;
  readonly validators: ReadonlyMap<string, Validator>;
  /** Sum of all validators' weights. */
  readonly totalWeight: number;
}

/** The registry of every chain Cairn knows. */
export interface Registry {
  readonly chains: ReadonlyMap<string, ChainRegistry>;
}

/** A `keys` entry is a key file of exactly one key line (FORMAT.md §5, §6): a final LF is allowed. */
const keyLine = z.string().transform((text, ctx) => {
  try {
    const keys = parsePublicKeys(text);
    if (keys.length !== 1) throw new Error(`one key line expected, found ${keys.length}`);
    return keys[0] as PublicKey;
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid key' });
    return z.NEVER;
  }
});

const qsshKeyLine = z.string().transform((line, ctx) => {
  try {
    return parseQsshPublicKey(line);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid QSSH key' });
    return z.NEVER;
  }
});

const validatorSchema = z.strictObject({
  id: z.string().refine(isValidatorId, 'invalid validator id'),
  weight: z.number().int().positive().max(1_000_000_000),
  keys: z.array(keyLine).min(1).max(16),
  qsshKey: qsshKeyLine.optional(),
});

const chainSchema = z.strictObject({
  epochLength: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).default(DEFAULT_EPOCH_LENGTH),
  validators: z
    .array(validatorSchema)
    .min(1)
    .max(1024)
    .refine((vs) => new Set(vs.map((v) => v.id)).size === vs.length, 'validator ids must be unique'),
});

/** The zod schema of a registry document (`{ "chains": { "<chain>": {...} } }`). */
export const registryDocumentSchema = z.strictObject({
  chains: z.record(z.string().refine(isChainId, 'invalid chain id'), chainSchema),
});

/** A registry document as JSON (what {@link registryToDocument} produces). */
export type RegistryDocument = z.input<typeof registryDocumentSchema>;

function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
}

/** Validates a parsed JSON registry document; every problem is listed in the error. */
export function parseRegistry(document: unknown): Registry {
  const parsed = registryDocumentSchema.safeParse(document);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error);
    throw new CairnError('INVALID_ARGUMENT', `invalid registry: ${problems.join('; ')}`, { details: { problems } });
  }
  const chains = new Map<string, ChainRegistry>();
  for (const [chain, entry] of Object.entries(parsed.data.chains)) {
    const validators = new Map<string, Validator>(entry.validators.map((v) => [v.id, Object.freeze({ ...v })]));
    const totalWeight = entry.validators.reduce((sum, v) => sum + v.weight, 0);
    chains.set(chain, Object.freeze({ chain, epochLength: entry.epochLength, validators, totalWeight }));
  }
  return Object.freeze({ chains });
}

/** Reads and validates a registry file (JSON). */
export async function readRegistryFile(path: string): Promise<Registry> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CairnError('INVALID_ARGUMENT', `cannot read registry file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CairnError('INVALID_ARGUMENT', `registry file ${path} is not valid JSON`, { cause: error });
  }
  return parseRegistry(json);
}

/** The JSON document form of a registry (inverse of {@link parseRegistry}). */
export function registryToDocument(registry: Registry): RegistryDocument {
  const chains: RegistryDocument['chains'] = {};
  for (const [chain, entry] of registry.chains) {
    chains[chain] = {
      epochLength: entry.epochLength,
      validators: [...entry.validators.values()].map((v) => ({
        id: v.id,
        weight: v.weight,
        keys: v.keys.map((k) => formatPublicKey(k).trim()),
        ...(v.qsshKey ? { qsshKey: formatQsshPublicKey(v.qsshKey).trim() } : {}),
      })),
    };
  }
  return { chains };
}

/**
 * Request schemas (zod) shared by validation and the OpenAPI document: path parameters, query
 * strings and JSON bodies. Each parses what the API accepts and nothing else; where a parser
 * with its own stable error code already exists (digests, chain and validator ids), the schema
 * calls it, so the error codes stay what they were.
 */
import { z } from 'zod';
import { assertChainId, assertValidatorId, parseDigest, registryDocumentSchema } from '../../archive/index.ts';
import { CairnError } from '../../errors.ts';

const DIGEST_PATTERN = '^sha3-256(-chunks)?:[0-9a-f]{64}$';
const CHAIN_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
const VALIDATOR_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';

/** An image digest path parameter. */
export const digestParam = z.string().meta({ pattern: DIGEST_PATTERN, description: 'Image digest: `sha3-256:` (format v1) or `sha3-256-chunks:` (format v2) + 64 lowercase hex digits.' }).transform((s) => parseDigest(s));
/** A chain id path parameter. */
export const chainParam = z.string().meta({ pattern: CHAIN_PATTERN, description: 'Chain id.' }).transform((s) => {
  assertChainId(s);
  return s;
});
/** A validator id path parameter. */
export const validatorParam = z.string().meta({ pattern: VALIDATOR_PATTERN, description: 'Validator id.' }).transform((s) => {
  assertValidatorId(s);
  return s;
});

/** A non-negative integer in a query string or path (at most `max`). */
export function uintText(name: string, description: string, max = Number.MAX_SAFE_INTEGER): z.ZodPipe<z.ZodString, z.ZodTransform<number, string>> {
  return z
    .string()
    .meta({ pattern: '^[0-9]{1,16}$', description })
    .transform((s) => {
      if (!/^\d{1,16}$/.test(s) || Number(s) > max) throw new CairnError('INVALID_ARGUMENT', `${name} must be an integer between 0 and ${max}`);
      return Number(s);
    });
}

export const digestParams = z.object({ digest: digestParam });
export const chainParams = z.object({ chain: chainParam });
export const heightParams = z.object({ chain: chainParam, height: uintText('height', 'Block height.') });
export const validatorParams = z.object({ chain: chainParam, id: validatorParam });

export const listImagesQuery = z.object({
  from: uintText('from', 'Lowest height (inclusive).').optional(),
  to: uintText('to', 'Highest height (inclusive).').optional(),
  limit: uintText('limit', 'Page size, 1–1000 (default 100).', 1000).optional(),
  cursor: z.string().max(512).optional().describe('`nextCursor` from the previous page.'),
  final: z.enum(['true', 'false']).optional().describe('`true`: only final images.'),
});
export const latestQuery = z.object({ final: z.enum(['true', 'false']).optional().describe('`true`: the highest final image.') });
export const planQuery = z.object({
  chain: chainParam,
  at: z.string().max(40).optional().describe('Plan as of this time: ISO-8601 (`2026-12-31T00:00:00Z`) or an integer of ms since the epoch (default now).'),
  epochLength: uintText('epochLength', 'Preview: plan as if the chain had this epoch length (what a change would release).').optional(),
});
export const runsQuery = z.object({ chain: chainParam });
/** Registry updates: an epoch length may change only when this says so. */
export const registryUpdateQuery = z.object({ confirmEpochChange: z.enum(['true', 'false']).optional().describe('`true`: allow a chain\'s epoch length to change (it decides which boundary images retention keeps).') });

/** POST …/finality/revoke body. */
export const revokeBody = z.strictObject({ reason: z.string().min(3).max(500).describe('Why the proof is revoked.') });

/** POST /v1/admin/retention/run body. */
export const retentionRunBody = z.strictObject({ chain: chainParam, dryRun: z.boolean().optional().describe('Plan and report without marking or deleting.') });

/** PUT /v1/admin/registry body: a whole registry document. */
export const registryBody = registryDocumentSchema;

/**
 * PUT …/validators/{id} body: the validator's fields to set (and optionally the chain's epoch
 * length). A new validator needs `weight` and `keys`; an update changes what is given and keeps
 * the rest (`qsshKey: null` removes the QSSH key).
 */
export const validatorBody = z.strictObject({
  weight: z.number().int().positive().max(1_000_000_000).optional().describe('Voting weight (required for a new validator).'),
  keys: z.array(z.string()).min(1).max(16).optional().describe('Public key lines `<algorithm> <base64> [comment]` (required for a new validator).'),
  qsshKey: z.string().nullable().optional().describe('QSSH Falcon-512 key line `qssh-falcon512 <base64> [comment]`; `null` removes it.'),
  epochLength: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional().describe('Sets the chain\'s epoch length (new chains default to 1000).'),
});

/** The JSON form of a standalone attestation (the CBOR form is FORMAT.md §4.3). */
export const attestationJsonBody = z.strictObject({
  chain: z.string(),
  height: z.number().int().nonnegative(),
  digest: z.string().meta({ pattern: DIGEST_PATTERN }),
  size: z.number().int().nonnegative(),
  contentType: z.string(),
  validator: z.string(),
  signedAt: z.number().int().nonnegative().describe('ms since the epoch'),
  algorithm: z.string(),
  signature: z.string().describe('base64'),
});

/** The error body every failure uses. */
export const errorBody = z.object({
  error: z.object({ code: z.string().describe('Stable error code (docs/API.md).'), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});

/** Dashboard paging: images below this height. */
export const uiQuery = z.object({ before: uintText('before', 'Show images below this height.').optional() });

/** The dashboard sign-in form (when a read token is configured). */
export const signInForm = z.strictObject({ token: z.string().min(1).max(512).describe('The read token or an admin token.') });

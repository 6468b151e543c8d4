/**
 * Admin routes (bearer admin token required):
 *
 *   GET    /v1/admin/registry                                   the registry document
 *   GET    /v1/admin/retention/plan?chain=&at=                  dry-run retention plan: every decision with its rule
 *   POST   /v1/admin/retention/run { chain, dryRun? }            one mark-then-sweep run
 *   GET    /v1/admin/retention/runs?chain=                      recorded runs, newest first
 *   PUT    /v1/admin/images/{digest}/hold                       place an admin hold (PINNED)
 *   DELETE /v1/admin/images/{digest}/hold                       lift it
 *   PUT    /v1/admin/registry                                   replace it (validated)
 *   PUT    /v1/admin/registry/chains/{chain}/validators/{id}    add or update a validator
 *   DELETE /v1/admin/registry/chains/{chain}/validators/{id}    remove a validator (the chain goes with its last one)
 */
import { Hono, type Context } from 'hono';
import { assertChainId, assertValidatorId, parseDigest, registryToDocument, type RegistryDocument } from '../../archive/index.ts';
import type { Archive } from '../../archive/service/archive.ts';
import { updateStoredRegistry } from '../../archive/service/registry-store.ts';
import { CairnError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { respond } from '../respond.ts';
import { RETENTION_RULES, currentPlan, policyOf, type RetentionPolicy, type RetentionScheduler } from '../../retention/index.ts';

const MAX_JSON_BYTES = 1024 * 1024;

async function jsonBody(c: Context): Promise<unknown> {
  const length = Number(c.req.header('content-length') ?? '0');
  if (length > MAX_JSON_BYTES) throw new CairnError('INVALID_ARGUMENT', 'JSON body larger than 1 MiB');
  const text = await c.req.text();
  if (text.length > MAX_JSON_BYTES) throw new CairnError('INVALID_ARGUMENT', 'JSON body larger than 1 MiB');
  try {
    return JSON.parse(text);
  } catch {
    throw new CairnError('INVALID_ARGUMENT', 'the body is not valid JSON');
  }
}

type ValidatorDocument = RegistryDocument['chains'][string]['validators'][number];

/** What the retention routes need. */
export type RetentionSettings = RetentionScheduler;

/** The admin routes. */
export function adminRoutes(archive: Archive, logger: Logger, retention: RetentionSettings): Hono {
  const app = new Hono();
  const apply = async (change: (doc: RegistryDocument) => RegistryDocument): Promise<RegistryDocument> => {
    const registry = await updateStoredRegistry(archive.store, change);
    archive.setRegistry(registry);
    return registryToDocument(registry);
  };

  app.get('/registry', (c) => respond(c, registryToDocument(archive.registry)));

  const policyFor = (chain: string): RetentionPolicy => {
    assertChainId(chain);
    const registered = archive.registry.chains.get(chain);
    if (!registered) throw new CairnError('UNKNOWN_CHAIN', `chain ${chain} is not in the registry`, { details: { chain } });
    return policyOf(retention.config, chain, registered.epochLength);
  };

  app.get('/retention/plan', (c) => {
    const chain = c.req.query('chain') ?? '';
    const policy = policyFor(chain);
    const atText = c.req.query('at');
    const at = atText === undefined ? Date.now() : /^\d{1,16}$/.test(atText) ? Number(atText) : Date.parse(atText);
    if (!Number.isFinite(at)) throw new CairnError('INVALID_ARGUMENT', 'at must be ms since the epoch or an ISO-8601 time');
    const decisions = currentPlan(archive, chain, policy, at);
    const summary = Object.fromEntries(RETENTION_RULES.map((rule) => [rule, decisions.filter((d) => d.rule === rule).length]));
    const bytesFreed = decisions.filter((d) => d.action === 'delete').reduce((sum, d) => sum + d.size, 0);
    return respond(c, { chain, at, policy: { ...policy, graceMs: retention.config.graceMs }, decisions, summary, delete: decisions.filter((d) => d.action === 'delete').length, keep: decisions.filter((d) => d.action === 'keep').length, bytesFreed });
  });

  app.post('/retention/run', async (c) => {
    const body = (await jsonBody(c)) as { chain?: unknown; dryRun?: unknown };
    const chain = typeof body?.chain === 'string' ? body.chain : '';
    policyFor(chain);
    const report = await retention.runOnce(chain, { dryRun: body?.dryRun === true });
    if (!report) throw new CairnError('PRECONDITION_FAILED', `a retention run of chain ${chain} is in progress elsewhere (lease held)`);
    return respond(c, report);
  });

  app.get('/retention/runs', async (c) => {
    const chain = c.req.query('chain') ?? '';
    policyFor(chain);
    return respond(c, { chain, runs: await retention.sweeper.history(chain) });
  });

  app.put('/images/:digest/hold', async (c) => {
    const entry = await archive.hold(parseDigest(c.req.param('digest')));
    logger.info('hold placed', { digest: entry.record.digest });
    return respond(c, { digest: entry.record.digest, held: true });
  });

  app.delete('/images/:digest/hold', async (c) => {
    const entry = await archive.release(parseDigest(c.req.param('digest')));
    logger.info('hold released', { digest: entry.record.digest });
    return respond(c, { digest: entry.record.digest, held: false });
  });

  app.put('/registry', async (c) => {
    const body = await jsonBody(c);
    const doc = await apply(() => body as RegistryDocument);
    logger.info('registry replaced', { chains: Object.keys(doc.chains).length });
    return respond(c, doc);
  });

  app.put('/registry/chains/:chain/validators/:id', async (c) => {
    const chain = c.req.param('chain');
    const id = c.req.param('id');
    assertChainId(chain);
    assertValidatorId(id);
    const body = (await jsonBody(c)) as Partial<ValidatorDocument> & { epochLength?: number };
    if (!body || typeof body !== 'object') throw new CairnError('INVALID_ARGUMENT', 'expected a JSON object { weight, keys, qsshKey?, epochLength? }');
    const { epochLength, ...fields } = body;
    const doc = await apply((current) => {
      const entry = current.chains[chain] ?? { epochLength: epochLength ?? 1000, validators: [] };
      if (epochLength !== undefined) entry.epochLength = epochLength;
      entry.validators = [...entry.validators.filter((v) => v.id !== id), { ...(fields as ValidatorDocument), id }];
      current.chains[chain] = entry;
      return current;
    });
    logger.info('validator registered', { chain, validator: id });
    return respond(c, doc);
  });

  app.delete('/registry/chains/:chain/validators/:id', async (c) => {
    const chain = c.req.param('chain');
    const id = c.req.param('id');
    if (!archive.registry.chains.get(chain)?.validators.has(id)) throw new CairnError('NOT_FOUND', `validator ${id} is not registered for chain ${chain}`);
    const doc = await apply((current) => {
      const entry = current.chains[chain];
      if (entry) {
        entry.validators = entry.validators.filter((v) => v.id !== id);
        if (entry.validators.length === 0) delete current.chains[chain];
      }
      return current;
    });
    logger.info('validator removed', { chain, validator: id });
    return respond(c, doc);
  });

  return app;
}

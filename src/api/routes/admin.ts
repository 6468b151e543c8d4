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
import { Hono } from 'hono';
import { z } from 'zod';
import { registryToDocument, type RegistryDocument } from '../../archive/index.ts';
import type { Archive } from '../../archive/service/archive.ts';
import { CairnError } from '../../errors.ts';
import { parseInstant } from '../../instant.ts';
import type { Logger } from '../../logger.ts';
import { respond, wantsCbor } from '../respond.ts';
import { requestFields } from '../request-info.ts';
import { ROUTES } from '../openapi/route-table.ts';
import { jsonBody, on, pathParams, queryParams } from '../openapi/routing.ts';
import { currentPlan, planChain, planCounter, policyOf, summarisePlan, type RetentionDecision, type RetentionPolicy, type RetentionScheduler } from '../../retention/index.ts';

const MOUNT = '/v1/admin';
/** Decisions per written chunk: small enough that a chunk's string stays out of V8's large-object space. */
const PLAN_CHUNK = 100;

/** What the retention routes need. */
export type RetentionSettings = RetentionScheduler;

/** A plan as one JSON document, written as its decisions are decided (memory flat in the chain's length). */
function streamedPlanJson(head: Record<string, unknown>, decisions: AsyncGenerator<RetentionDecision>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const counter = planCounter();
  let started = false;
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(`${JSON.stringify(head).slice(0, -1)},"decisions":[`));
        return;
      }
      const parts: string[] = [];
      for (let i = 0; i < PLAN_CHUNK; i++) {
        const next = await decisions.next();
        if (next.done) {
          const { byRule: summary, ...counts } = counter.summary();
          controller.enqueue(encoder.encode(`${parts.join('')}],${JSON.stringify({ summary, ...counts }).slice(1)}`));
          controller.close();
          return;
        }
        counter.add(next.value);
        parts.push(`${first ? '' : ','}${JSON.stringify(next.value)}`);
        first = false;
      }
      controller.enqueue(encoder.encode(parts.join('')));
    },
    async cancel() {
      await decisions.return(undefined);
    },
  });
}

/** The admin routes. */
export function adminRoutes(archive: Archive, logger: Logger, retention: RetentionSettings): Hono {
  const app = new Hono();
  const apply = async (change: (doc: RegistryDocument) => RegistryDocument, confirmEpochChange = false): Promise<RegistryDocument> => {
    return registryToDocument(await archive.updateRegistry(change, { confirmEpochChange }));
  };

  on(app, MOUNT, ROUTES.getRegistry, (c) => respond(c, registryToDocument(archive.registry)));

  const policyFor = (chain: string): RetentionPolicy => {
    const registered = archive.registry.chains.get(chain);
    if (!registered) throw new CairnError('UNKNOWN_CHAIN', `chain ${chain} is not in the registry`, { details: { chain } });
    return policyOf(retention.config, chain, registered.epochLength);
  };

  on(app, MOUNT, ROUTES.retentionPlan, async (c) => {
    const { chain, at: atText, epochLength } = queryParams(c, ROUTES.retentionPlan.query);
    if (epochLength === 0) throw new CairnError('INVALID_ARGUMENT', 'epochLength must be at least 1');
    const policy = { ...policyFor(chain), ...(epochLength === undefined ? {} : { epochLength }) };
    const at = atText === undefined ? Date.now() : parseInstant('at', atText);
    const head = { chain, at, policy: { ...policy, graceMs: retention.config.graceMs } };
    if (wantsCbor(c)) {
      const decisions = await currentPlan(archive, chain, policy, at);
      const { byRule: summary, ...counts } = summarisePlan(decisions);
      return respond(c, { ...head, decisions, summary, ...counts });
    }
    // JSON streams: decisions go out as they are decided, the counts follow them.
    return c.body(streamedPlanJson(head, planChain(archive, chain, policy, at)), 200, { 'content-type': 'application/json; charset=utf-8', vary: 'accept' });
  });

  on(app, MOUNT, ROUTES.retentionRun, async (c) => {
    const { chain, dryRun } = await jsonBody(c, ROUTES.retentionRun.body.content['application/json']);
    policyFor(chain);
    const report = await retention.runOnce(chain, { dryRun: dryRun === true });
    if (!report) throw new CairnError('PRECONDITION_FAILED', `a retention run of chain ${chain} is in progress elsewhere (lease held)`);
    return respond(c, report);
  });

  on(app, MOUNT, ROUTES.retentionRuns, async (c) => {
    const { chain } = queryParams(c, ROUTES.retentionRuns.query);
    policyFor(chain);
    return respond(c, { chain, runs: await retention.sweeper.history(chain) });
  });

  on(app, MOUNT, ROUTES.hold, async (c) => {
    const entry = await archive.hold(pathParams(c, ROUTES.hold.params).digest);
    logger.info('hold placed', { ...requestFields(c), digest: entry.record.digest });
    return respond(c, { digest: entry.record.digest, held: true });
  });

  on(app, MOUNT, ROUTES.revokeFinality, async (c) => {
    const { digest } = pathParams(c, ROUTES.revokeFinality.params);
    const { reason } = await jsonBody(c, ROUTES.revokeFinality.body.content['application/json']);
    await archive.revokeFinality(digest, reason);
    logger.warn('finality revoked by an admin', { ...requestFields(c), digest, reason });
    return respond(c, { digest, final: false, reason });
  });

  on(app, MOUNT, ROUTES.release, async (c) => {
    const entry = await archive.release(pathParams(c, ROUTES.release.params).digest);
    logger.info('hold released', { ...requestFields(c), digest: entry.record.digest });
    return respond(c, { digest: entry.record.digest, held: false });
  });

  on(app, MOUNT, ROUTES.putRegistry, async (c) => {
    // Validated again, with every problem listed, when the document is stored.
    const { confirmEpochChange } = queryParams(c, ROUTES.putRegistry.query);
    const body = await jsonBody(c, z.unknown());
    const doc = await apply(() => structuredClone(body) as RegistryDocument, confirmEpochChange === 'true');
    logger.info('registry replaced', { ...requestFields(c), chains: Object.keys(doc.chains).length });
    return respond(c, doc);
  });

  on(app, MOUNT, ROUTES.putValidator, async (c) => {
    const { chain, id } = pathParams(c, ROUTES.putValidator.params);
    const { confirmEpochChange } = queryParams(c, ROUTES.putValidator.query);
    const { epochLength, weight, keys, qsshKey } = await jsonBody(c, ROUTES.putValidator.body.content['application/json']);
    const doc = await apply((current) => {
      // A new chain without epochLength gets its last known one (or the default): see updateRegistry.
      const entry = current.chains[chain] ?? { validators: [] };
      if (epochLength !== undefined) entry.epochLength = epochLength;
      // An update changes what the body gives and keeps the rest.
      const before = entry.validators.find((v) => v.id === id);
      const newWeight = weight ?? before?.weight;
      const newKeys = keys ?? before?.keys;
      if (newWeight === undefined || newKeys === undefined) throw new CairnError('INVALID_ARGUMENT', `validator ${id} is new on chain ${chain}: give its weight and keys`);
      const newQsshKey = qsshKey === null ? undefined : (qsshKey ?? before?.qsshKey);
      entry.validators = [...entry.validators.filter((v) => v.id !== id), { id, weight: newWeight, keys: newKeys, ...(newQsshKey === undefined ? {} : { qsshKey: newQsshKey }) }];
      current.chains[chain] = entry;
      return current;
    }, confirmEpochChange === 'true');
    logger.info('validator registered', { ...requestFields(c), chain, validator: id });
    return respond(c, doc);
  });

  on(app, MOUNT, ROUTES.deleteValidator, async (c) => {
    const { chain, id } = pathParams(c, ROUTES.deleteValidator.params);
    if (!archive.registry.chains.get(chain)?.validators.has(id)) throw new CairnError('NOT_FOUND', `validator ${id} is not registered for chain ${chain}`);
    const doc = await apply((current) => {
      const entry = current.chains[chain];
      if (entry) {
        entry.validators = entry.validators.filter((v) => v.id !== id);
        if (entry.validators.length === 0) delete current.chains[chain];
      }
      return current;
    });
    logger.info('validator removed', { ...requestFields(c), chain, validator: id });
    return respond(c, doc);
  });

  return app;
}

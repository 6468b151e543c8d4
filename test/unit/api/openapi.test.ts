/**
 * The OpenAPI document: every route the app serves is in it (and nothing else), it is generated
 * from the schemas that validate requests, and /docs renders it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import { EventLog } from '../../../src/api/event-log.ts';
import { ROUTES } from '../../../src/api/openapi/route-table.ts';
import { generateSigningKey } from '../../../src/archive/index.ts';
import { createMemoryStore } from '../../../src/archive/store/drivers/memory-driver.ts';
import { silentLogger } from '../../../src/logger.ts';
import { RetentionScheduler, RetentionSweeper } from '../../../src/retention/index.ts';
import { VERSION } from '../../../src/version.ts';
import { testArchive } from '../../support/archive-fixtures.ts';

type Operation = { operationId: string; parameters: Array<{ name: string; in: string; schema: Record<string, unknown> }>; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, unknown> };

async function app(): Promise<ReturnType<typeof createApp>> {
  const archive = await testArchive(createMemoryStore());
  const identity = generateSigningKey('ml-dsa-65', 'cairn-server');
  const retention = new RetentionScheduler(archive, new RetentionSweeper(archive, silentLogger), { keepLast: 10, maxAgeMs: 86_400_000, graceMs: 0, schedule: '0 * * * *', chains: {} }, silentLogger);
  return createApp({ archive, logger: silentLogger, adminTokens: ['admin-token-0123456789'], events: new EventLog(archive, identity), identity: identity.publicKey, retention });
}

describe('OpenAPI document', () => {
  it('has exactly the routes the app serves', async () => {
    const a = await app();
    const served = new Set(a.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`));
    const doc = (await (await a.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, Operation>> };
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`)));
    expect(doc.openapi).toBe('3.1.0');
    expect([...served].sort()).toEqual([...documented].sort());
    expect(served.size).toBe(Object.keys(ROUTES).length);
  });

  it('describes parameters and bodies with the validating schemas', async () => {
    const a = await app();
    const doc = (await (await a.request('/openapi.json')).json()) as { paths: Record<string, Record<string, Operation>>; 'x-error-codes': Record<string, { status: number }> };
    const ids = new Set<string>();
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const op of Object.values(methods)) {
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        for (const name of [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1])) {
          expect(op.parameters.find((p) => p.name === name && p.in === 'path'), `${path} ${name}`).toBeDefined();
        }
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
      }
    }
    const list = doc.paths['/v1/chains/{chain}/images']!.get!;
    expect(list.parameters.find((p) => p.name === 'limit')).toMatchObject({ in: 'query', schema: { type: 'string', pattern: '^[0-9]{1,16}$' } });
    expect(doc.paths['/v1/images/{digest}']!.get!.parameters[0]!.schema).toMatchObject({ pattern: '^sha3-256(-chunks)?:[0-9a-f]{64}$' });
    expect(doc.paths['/v1/admin/registry/chains/{chain}/validators/{id}']!.put!.requestBody!.content['application/json']!.schema).toMatchObject({ type: 'object', properties: { weight: { type: 'integer' }, keys: { type: 'array' } }, additionalProperties: false });
    expect(doc['x-error-codes'].DIGEST_INVALID).toEqual({ status: 400, summary: expect.any(String) as string });

    // What the document says is what validation does.
    expect((await a.request('/v1/chains/devnet/images?limit=5000')).status).toBe(400);
    expect(((await (await a.request('/v1/images/not-a-digest')).json()) as { error: { code: string } }).error.code).toBe('DIGEST_INVALID');
    const bad = await a.request('/v1/admin/registry/chains/devnet/validators/zed', { method: 'PUT', headers: { authorization: 'Bearer admin-token-0123456789', 'content-type': 'application/json' }, body: JSON.stringify({ weight: 1, keys: ['x'], surprise: 1 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/surprise/);
  });

  it('renders /docs with every operation and carries the package version', async () => {
    const a = await app();
    const page = await (await a.request('/docs')).text();
    for (const spec of Object.values(ROUTES)) expect(page, spec.operationId).toContain(`id="${spec.operationId}"`);
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});

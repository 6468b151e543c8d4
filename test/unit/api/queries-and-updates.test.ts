/**
 * What the API takes, exactly: `final=true` filters a listing, a query parameter no route
 * declares is refused, the plan's `at` is ISO-8601 or milliseconds and nothing else, and a
 * validator update changes what it gives and keeps the rest. In-process, on a memory store.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import { EventLog } from '../../../src/api/event-log.ts';
import type { Archive } from '../../../src/archive/service/archive.ts';
import { createMemoryStore } from '../../../src/archive/store/drivers/memory-driver.ts';
import { formatPublicKey, formatQsshPublicKey, generateFalconKey, generateSigningKey } from '../../../src/archive/index.ts';
import { RetentionScheduler, RetentionSweeper } from '../../../src/retention/index.ts';
import { silentLogger } from '../../../src/logger.ts';
import { imageBytes, testArchive, validatorKey } from '../../support/archive-fixtures.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const identity = generateSigningKey('ml-dsa-65', 'cairn-server');
let archive: Archive;
let app: ReturnType<typeof createApp>;

beforeEach(async () => {
  archive = await testArchive(createMemoryStore());
  const retention = new RetentionScheduler(archive, new RetentionSweeper(archive, silentLogger), { keepLast: 10, maxAgeMs: 7 * 86_400_000, graceMs: 0, schedule: '0 * * * *', chains: {} }, silentLogger);
  app = createApp({ archive, logger: silentLogger, adminTokens: [ADMIN], events: new EventLog(archive, identity), identity: identity.publicKey, retention });
});

const admin = { authorization: `Bearer ${ADMIN}` };
const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

async function push(bytes: Uint8Array): Promise<void> {
  expect((await app.request('/v1/images', { method: 'POST', body: bytes })).status).toBe(201);
}

describe('listing', () => {
  it('final=true lists only final images, paging through the others', async () => {
    for (let h = 1; h <= 7; h++) await push(imageBytes(randomBytes(64), { height: h, ...(h % 3 === 0 ? { attesters: ['bob', 'carol'] } : {}) }).bytes);
    const heights = async (query: string): Promise<{ heights: number[]; next?: string }> => {
      const page = await json<{ images: Array<{ height: number; final: boolean }>; nextCursor?: string }>(await app.request(`/v1/chains/devnet/images?${query}`));
      return { heights: page.images.map((i) => i.height), ...(page.nextCursor ? { next: page.nextCursor } : {}) };
    };
    expect((await heights('')).heights).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await heights('final=true')).heights).toEqual([3, 6]);
    const first = await heights('final=true&limit=1');
    expect(first.heights).toEqual([3]);
    expect((await heights(`final=true&limit=1&cursor=${first.next!}`))).toEqual({ heights: [6] });
    expect((await heights('final=false')).heights).toHaveLength(7);
  });

  it('refuses parameters a route does not declare, with or without a query schema', async () => {
    for (const path of ['/v1/chains/devnet/images?finall=true', '/v1/chains/devnet/latest?height=3', '/v1/chains?x=1', '/healthz?verbose=1']) {
      const response = await app.request(path);
      expect(response.status, path).toBe(400);
      expect((await json<{ error: { code: string; message: string } }>(response)).error.code).toBe('INVALID_ARGUMENT');
    }
    expect((await app.request('/v1/chains/devnet/images?final=maybe')).status).toBe(400);
  });
});

describe('retention plan time', () => {
  it('takes ISO-8601 or an integer of milliseconds, and nothing else', async () => {
    const plan = async (at: string): Promise<Response> => app.request(`/v1/admin/retention/plan?chain=devnet&at=${encodeURIComponent(at)}`, { headers: admin });
    expect((await json<{ at: number }>(await plan('2026-12-31T00:00:00Z'))).at).toBe(Date.parse('2026-12-31T00:00:00Z'));
    expect((await json<{ at: number }>(await plan('2026-12-31'))).at).toBe(Date.parse('2026-12-31T00:00:00Z'));
    expect((await json<{ at: number }>(await plan('1798675200000'))).at).toBe(1_798_675_200_000);
    const preview = await json<{ policy: { epochLength: number } }>(await app.request('/v1/admin/retention/plan?chain=devnet&epochLength=250', { headers: admin }));
    expect(preview.policy.epochLength).toBe(250);
    expect((await app.request('/v1/admin/retention/plan?chain=devnet&epochLength=0', { headers: admin })).status).toBe(400);
    for (const bad of ['2100', '-1', '1e12', 'tomorrow', '2026-02-30', '2026-12-31 00:00', 'Dec 31 2026', '2026-12-31T00:00:00']) {
      expect((await plan(bad)).status, bad).toBe(400);
    }
  });
});

describe('validator updates', () => {
  const path = '/v1/admin/registry/chains/devnet/validators/alice';
  const put = async (body: unknown): Promise<Response> => app.request(path, { method: 'PUT', body: JSON.stringify(body), headers: { ...admin, 'content-type': 'application/json' } });
  const alice = async (): Promise<{ weight: number; keys: string[]; qsshKey?: string }> =>
    (await json<{ chains: { devnet: { validators: Array<{ id: string; weight: number; keys: string[]; qsshKey?: string }> } } }>(await app.request('/v1/admin/registry', { headers: admin }))).chains.devnet.validators.find((v) => v.id === 'alice')!;

  it('changes what is given and keeps the rest: --qssh-pub alone, weight alone, and an explicit removal', async () => {
    const qsshKey = formatQsshPublicKey(generateFalconKey('alice').publicKey).trim();
    const keys = [formatPublicKey(validatorKey('alice').publicKey).trim()];
    expect((await put({ qsshKey })).status).toBe(200);
    expect(await alice()).toMatchObject({ weight: 1, keys, qsshKey });
    expect((await put({ weight: 3 })).status).toBe(200);
    expect(await alice()).toMatchObject({ weight: 3, keys, qsshKey });
    expect((await put({ weight: 3, keys })).status).toBe(200);
    expect((await alice()).qsshKey).toBe(qsshKey);
    expect((await put({ qsshKey: null })).status).toBe(200);
    expect((await alice()).qsshKey).toBeUndefined();
  });

  it('needs weight and keys for a new validator', async () => {
    const response = await app.request('/v1/admin/registry/chains/devnet/validators/zoe', { method: 'PUT', body: JSON.stringify({ weight: 1 }), headers: { ...admin, 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
  });
});

/**
 * Two Cairn processes on one MinIO bucket: a registry change made through one reaches the other
 * within registryRefreshMs — new validators are listed, and a removed validator's QSSH key is
 * refused by the other process too.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/index.ts';
import { generateMasterKeyEntry } from '../../src/archive/crypto/keyring.ts';
import { formatPublicKey, formatQsshPublicKey, generateFalconKey, parseRegistry, registryToDocument } from '../../src/archive/index.ts';
import { isCairnError } from '../../src/errors.ts';
import { connectQssh } from '../../src/qssh/client.ts';
import { testRegistry, validatorKey } from '../support/archive-fixtures.ts';
import { useMinio } from '../support/minio.ts';
import { startTestServer, TEST_ADMIN_TOKEN } from '../support/server.ts';

const minio = useMinio();
const falcon = generateFalconKey('alice');
let dir: string;
let a: RunningServer;
let b: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-follow-'));
  const doc = registryToDocument(testRegistry());
  doc.chains.devnet!.validators[0] = { ...doc.chains.devnet!.validators[0]!, qsshKey: formatQsshPublicKey(falcon.publicKey).trim() };
  const masterKey = generateMasterKeyEntry('shared');
  // One database for both (as several processes on one bucket must share one).
  const common = { minio: minio(), masterKey, registry: parseRegistry(doc), registryRefreshMs: 200, extra: { database: `sqlite:${join(dir, 'shared.sqlite')}` } };
  await mkdir(join(dir, 'a'));
  await mkdir(join(dir, 'b'));
  a = await startTestServer({ dataDir: join(dir, 'a'), ...common });
  b = await startTestServer({ dataDir: join(dir, 'b'), ...common });
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await rm(dir, { recursive: true, force: true });
});

async function validators(server: RunningServer): Promise<number> {
  const { chains } = (await (await fetch(`${server.url}/v1/chains`)).json()) as { chains: Array<{ chain: string; validators: number }> };
  return chains.find((c) => c.chain === 'devnet')!.validators;
}

describe('registry changes across processes', () => {
  it('reach the other process: additions, and removals that revoke QSSH access', async () => {
    const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const added = await fetch(`${a.url}/v1/admin/registry/chains/devnet/validators/dave`, { method: 'PUT', headers: admin, body: JSON.stringify({ weight: 1, keys: [formatPublicKey(validatorKey('dave').publicKey).trim()] }) });
    expect(added.status).toBe(200);
    await expect.poll(() => validators(b), { timeout: 5_000 }).toBe(4);

    const identity = { secretKey: falcon.secretKey, publicKey: falcon.publicKey.raw };
    const before = await connectQssh({ target: `127.0.0.1:${b.qsshPort!}`, identity, knownHostsPath: join(dir, 'kh') });
    before.close();
    expect((await fetch(`${a.url}/v1/admin/registry/chains/devnet/validators/alice`, { method: 'DELETE', headers: admin })).status).toBe(200);
    await expect.poll(() => validators(b), { timeout: 5_000 }).toBe(3);
    await expect(connectQssh({ target: `127.0.0.1:${b.qsshPort!}`, identity, knownHostsPath: join(dir, 'kh') })).rejects.toSatisfy((e: unknown) => isCairnError(e, 'QSSH_AUTH_FAILED'));
  });
});

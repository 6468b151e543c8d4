/**
 * One archive, two processes: two `cairn serve` children on one MinIO bucket and one PostgreSQL
 * database. What one process does, the other sees at once — pushes, finality, holds, registry
 * changes (by notification: the poll is set to an hour), QSSH access — and announces;
 * Last-Event-ID resumes across processes; a SIGKILL mid-push leaves the other serving and
 * accepting while its cleanup removes the leftovers, and the killed one restarts without
 * rebuilding anything. A second database on the same bucket is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { generateMasterKeyEntry } from '../../../src/archive/crypto/keyring.ts';
import { formatPublicKey, formatQsshPublicKey, generateFalconKey, registryToDocument, type Digest } from '../../../src/archive/index.ts';
import { fetchIdentity, watchEvents } from '../../../src/client/index.ts';
import type { SignedEvent } from '../../../src/api/event-log.ts';
import { connectQssh } from '../../../src/qssh/client.ts';
import { pullImageQssh } from '../../../src/client/qssh-pull.ts';
import { imageBytes, testRegistry, validatorKey } from '../../support/archive-fixtures.ts';
import { useMinio } from '../../support/minio.ts';
import { usePostgres } from '../../support/postgres.ts';
import { spawnServer, TEST_ADMIN_TOKEN, type ServerProcess } from '../../support/server-process.ts';

const minio = useMinio();
const postgres = usePostgres();
const falcon = generateFalconKey('alice');
const masterKey = generateMasterKeyEntry('shared');
const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' };
let dir: string;
let database: string;
let a: ServerProcess;
let b: ServerProcess;

function start(name: string, extra: Record<string, unknown> = {}): Promise<ServerProcess> {
  return spawnServer({ dataDir: join(dir, name), registryFile: join(dir, 'registry.json'), minio: minio(), masterKey, orphanGraceMs: 2_000, extra: { database, cleanupIntervalMs: 1_000, registryRefreshMs: 3_600_000, ...extra } });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-two-'));
  database = await postgres().createDatabase();
  const doc = registryToDocument(testRegistry());
  doc.chains.devnet!.validators[0] = { ...doc.chains.devnet!.validators[0]!, qsshKey: formatQsshPublicKey(falcon.publicKey).trim() };
  await writeFile(join(dir, 'registry.json'), JSON.stringify(doc));
  a = await start('a');
  b = await start('b');
}, 120_000);

afterAll(async () => {
  await a?.kill();
  await b?.kill();
  await rm(dir, { recursive: true, force: true });
});

async function push(server: ServerProcess, bytes: Uint8Array): Promise<number> {
  return (await fetch(`${server.url}/v1/images`, { method: 'POST', body: bytes })).status;
}

async function json<T>(server: ServerProcess, path: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(`${server.url}${path}`, { headers });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

describe('two processes, one bucket, one PostgreSQL', () => {
  it('see each other at once: pushes, finality, holds, and announce each other', async () => {
    const seen: SignedEvent[] = [];
    const controller = new AbortController();
    const watching = watchEvents({ conn: { base: b.url }, chain: 'devnet', identity: await fetchIdentity({ base: a.url }), signal: controller.signal, onEvent: (e) => void ('id' in e && seen.push(e)) }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const first = imageBytes(randomBytes(2048), { height: 100 });
    expect(await push(a, first.bytes)).toBe(201);
    expect((await json<{ digest: string }>(b, '/v1/chains/devnet/latest')).digest).toBe(first.header.digest);
    const final = imageBytes(randomBytes(2048), { height: 200, attesters: ['bob', 'carol'] });
    expect(await push(a, final.bytes)).toBe(201);
    expect((await json<{ digest: string; finality: { final: boolean } }>(b, '/v1/chains/devnet/latest?final=true'))).toMatchObject({ digest: final.header.digest, finality: { final: true } });
    expect((await json<{ images: unknown[] }>(b, '/v1/chains/devnet/images')).images).toHaveLength(2);

    expect((await fetch(`${a.url}/v1/admin/images/${first.header.digest}/hold`, { method: 'PUT', headers: admin })).status).toBe(200);
    const plan = await json<{ decisions: Array<{ digest: string; rule: string }> }>(b, '/v1/admin/retention/plan?chain=devnet', admin);
    expect(plan.decisions.find((d) => d.digest === first.header.digest)?.rule).toBe('PINNED');

    // B's feed announced A's pushes, in order, signed by the archive's identity.
    await expect.poll(() => seen.filter((e) => e.type === 'image.available').map((e) => e.digest), { timeout: 5_000 }).toEqual([first.header.digest, final.header.digest]);
    expect(seen.some((e) => e.type === 'image.finalized' && e.digest === final.header.digest)).toBe(true);
    // Resuming on A from an id B sent replays what followed it.
    const resumed: SignedEvent[] = [];
    const resume = new AbortController();
    const again = watchEvents({ conn: { base: a.url }, chain: 'devnet', lastEventId: seen[0]!.id, signal: resume.signal, onEvent: (e) => void ('id' in e && resumed.push(e)) }).catch(() => undefined);
    await expect.poll(() => resumed.length, { timeout: 5_000 }).toBe(seen.length - 1);
    expect(resumed.map((e) => e.id)).toEqual(seen.slice(1).map((e) => e.id));
    resume.abort();
    controller.abort();
    await Promise.all([watching, again]);
  });

  it('a registry change made through one is in force at the other at once (notified, not polled)', async () => {
    const dave = { weight: 1, keys: [formatPublicKey(validatorKey('dave').publicKey).trim()] };
    expect((await fetch(`${a.url}/v1/admin/registry/chains/devnet/validators/dave`, { method: 'PUT', headers: admin, body: JSON.stringify(dave) })).status).toBe(200);
    const byDave = imageBytes(randomBytes(512), { height: 300, producer: 'dave' });
    await expect.poll(() => push(b, byDave.bytes), { timeout: 5_000 }).toBe(201);
  });

  it("serves over QSSH from the other process what one archived", async () => {
    const client = await connectQssh({ target: `127.0.0.1:${b.qsshPort!}`, identity: { secretKey: falcon.secretKey, publicKey: falcon.publicKey.raw }, knownHostsPath: join(dir, 'known_hosts') });
    try {
      const out = join(dir, 'final.cimg');
      const pulled = await pullImageQssh({ sftp: client.sftp, path: '/devnet/latest-final', out });
      expect(pulled.header.height).toBe(200);
      expect((await readFile(out)).length).toBe(pulled.bytes);
    } finally {
      client.close();
    }
  });

  it('after a SIGKILL mid-push, the other keeps serving and accepting, cleans up the leftovers, and the killed one restarts without rebuilding', async () => {
    const s3 = new S3Client({ endpoint: minio().endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: minio().accessKeyId, secretAccessKey: minio().secretAccessKey } });
    const uploads = async (): Promise<number> => ((await s3.send(new ListMultipartUploadsCommand({ Bucket: minio().bucket }))).Uploads ?? []).length;
    try {
      const big = imageBytes(randomBytes(40 * 1024 * 1024), { height: 400 });
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (sent >= big.bytes.length) return c.close();
          const chunk = big.bytes.subarray(sent, sent + 512 * 1024);
          sent += chunk.length;
          c.enqueue(chunk);
          await new Promise((r) => setTimeout(r, 10));
        },
      });
      const pushing = fetch(`${a.url}/v1/images`, { method: 'POST', body, duplex: 'half' }).catch(() => undefined);
      await expect.poll(uploads, { timeout: 20_000 }).toBeGreaterThan(0);
      await a.kill('SIGKILL');
      await pushing;

      expect((await fetch(`${b.url}/v1/chains/devnet/latest`)).status).toBe(200);
      const during = imageBytes(randomBytes(1024), { height: 500 });
      expect(await push(b, during.bytes)).toBe(201);
      // B's periodic cleanup aborts the upload the killed push left (past the grace period).
      await expect.poll(uploads, { timeout: 20_000 }).toBe(0);
      expect((await fetch(`${b.url}/v1/images/${big.header.digest}`)).status).toBe(404);

      a = await start('a');
      expect((await json<{ digest: Digest }>(a, '/v1/chains/devnet/latest')).digest).toBe(during.header.digest);
      expect((await json<{ status: string; database: string }>(a, '/readyz'))).toMatchObject({ status: 'ready', database: 'postgres' });
    } finally {
      s3.destroy();
    }
  });

  it('a process started while PostgreSQL is down waits for it and serves once it is back; the others keep answering meanwhile', async () => {
    await postgres().server.stop();
    let down = true;
    try {
      const starting = start('d', { startupWaitMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
      await postgres().server.restart();
      down = false;
      const d = await starting;
      try {
        expect((await json<{ status: string }>(d, '/readyz')).status).toBe('ready');
      } finally {
        await d.kill();
      }
    } finally {
      if (down) await postgres().server.restart();
    }
  });

  it('refuses a process whose database is another one than the bucket is indexed by', async () => {
    const other = await postgres().createDatabase();
    await expect(start('c', { database: other })).rejects.toThrow(/indexed by another metadata database/);
  });
});

/**
 * /metrics on a running server (fs store): what pushes, pulls, errors, events, retention, store
 * calls and QSSH sessions add to the Prometheus exposition.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/index.ts';
import { formatQsshPublicKey, generateFalconKey, parseRegistry, registryToDocument } from '../../src/archive/index.ts';
import { connectQssh } from '../../src/qssh/client.ts';
import { imageBytes, testRegistry } from '../support/archive-fixtures.ts';
import { tcp, closed } from '../support/qssh-raw.ts';
import { startTestServer, TEST_ADMIN_TOKEN } from '../support/server.ts';
import { digestKeyPart } from '../../src/archive/index.ts';

let dir: string;
let server: RunningServer;
const falcon = generateFalconKey('reader');

/** The value of one sample line, e.g. `cairn_pushes_total{result="created"}`. */
async function sample(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inner = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    if (want.every((w) => inner.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-metrics-'));
  const doc = registryToDocument(testRegistry());
  doc.chains.devnet!.validators[0] = { ...doc.chains.devnet!.validators[0]!, qsshKey: formatQsshPublicKey(falcon.publicKey).trim() };
  server = await startTestServer({ dataDir: dir, registry: parseRegistry(doc) });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('/metrics', () => {
  it('counts pushes, pulls, bytes, errors, events, retention decisions, store calls and QSSH sessions', async () => {
    const { header, bytes } = imageBytes(randomBytes(50_000), { attesters: ['bob', 'carol'] });
    expect((await fetch(`${server.url}/v1/images`, { method: 'POST', body: bytes })).status).toBe(201);
    expect((await fetch(`${server.url}/v1/images`, { method: 'POST', body: bytes })).status).toBe(200);
    const file = await fetch(`${server.url}/v1/images/${header.digest}/file`);
    const served = (await file.arrayBuffer()).byteLength;
    expect((await fetch(`${server.url}/v1/images/sha3-256:${'0'.repeat(64)}`)).status).toBe(404);
    const run = await fetch(`${server.url}/v1/admin/retention/run`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ chain: 'devnet' }) });
    expect(run.status).toBe(200);

    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await sample('cairn_pushes_total', { result: 'created' })).toBe(1);
    expect(await sample('cairn_pushes_total', { result: 'deduplicated' })).toBe(1);
    expect(await sample('cairn_bytes_in_total', { transport: 'http' })).toBe(header.size);
    expect(await sample('cairn_pulls_total', { transport: 'http' })).toBe(1);
    expect(await sample('cairn_bytes_out_total', { transport: 'http' })).toBe(served);
    expect(await sample('cairn_errors_total', { code: 'NOT_FOUND' })).toBe(1);
    expect(await sample('cairn_http_requests_total', { method: 'GET', route: '/v1/images/:digest/file', status: '200' })).toBe(1);
    expect(await sample('cairn_http_request_duration_seconds_count', { method: 'POST', route: '/v1/images' })).toBe(2);
    expect(await sample('cairn_archive_events_total', { type: 'image.available' })).toBe(1);
    expect(await sample('cairn_archive_events_total', { type: 'image.finalized' })).toBe(1);
    expect(await sample('cairn_finalizations_total')).toBe(1);
    expect(await sample('cairn_attestations_total')).toBe(await sample('cairn_archive_events_total', { type: 'image.attested' }));
    expect(await sample('cairn_retention_decisions_total', { rule: 'LATEST' })).toBe(1);
    expect(await sample('cairn_store_operation_duration_seconds_count', { operation: 'put', outcome: 'ok' })).toBeGreaterThan(0);
    expect(await sample('cairn_process_resident_memory_bytes')).toBeGreaterThan(0);

    const client = await connectQssh({ target: `127.0.0.1:${server.qsshPort!}`, identity: { secretKey: falcon.secretKey, publicKey: falcon.publicKey.raw }, knownHostsPath: join(dir, 'kh') });
    const handle = await client.sftp.openRead('/devnet/latest');
    const data = await client.sftp.read(handle, 0, 1000);
    client.close();
    expect(await sample('cairn_qssh_sessions_total', { kex: 'MlKem1024' })).toBe(1);
    expect(await sample('cairn_pulls_total', { transport: 'qssh' })).toBe(1);
    expect(await sample('cairn_bytes_out_total', { transport: 'qssh' })).toBe(data!.length);
    const bad = await tcp(server.qsshPort!);
    bad.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await closed(bad);
    await expect.poll(() => sample('cairn_qssh_failures_total', { reason: 'QSSH_PROTOCOL_ERROR' })).toBe(1);

    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).not.toContain(digestKeyPart(header.digest));
    expect(text).not.toContain(TEST_ADMIN_TOKEN);
  });
});

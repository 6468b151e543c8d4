/**
 * Structured logs of a running server: request ids (client-given or generated, echoed in the
 * response), the validator or token name where one applies, and never a token, a key or
 * content. Plus the terminal format.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/api/index.ts';
import { generateMasterKeyEntry } from '../../src/archive/crypto/keyring.ts';
import { registryToDocument } from '../../src/archive/index.ts';
import { parseConfig } from '../../src/config/load-config.ts';
import { createLogger, prettyLine } from '../../src/logger.ts';
import { imageBytes, testRegistry } from '../support/archive-fixtures.ts';
import { serverConfig, TEST_ADMIN_TOKEN } from '../support/server-process.ts';

let dir: string;
let server: RunningServer;
const lines: string[] = [];
const masterKey = generateMasterKeyEntry('k1');
const marker = 'CONTENT-MARKER-6f1c2b0e';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-logs-'));
  const registryFile = join(dir, 'registry.json');
  await writeFile(registryFile, JSON.stringify(registryToDocument(testRegistry())));
  const config = parseConfig({ ...serverConfig({ dataDir: dir, registryFile, masterKey }), logLevel: 'debug' });
  server = await startServer(config, createLogger({ level: 'debug', write: (line) => void lines.push(line) }));
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const parsed = (): Array<Record<string, unknown>> => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('logs', () => {
  it('carry request ids and names, never secrets or content', async () => {
    const { header, bytes } = imageBytes(Buffer.from(marker.repeat(100)));
    const push = await fetch(`${server.url}/v1/images`, { method: 'POST', body: bytes, headers: { 'x-request-id': 'push-0001' } });
    expect(push.status).toBe(201);
    expect(push.headers.get('x-request-id')).toBe('push-0001');
    expect(parsed().find((l) => l.msg === 'image archived')).toMatchObject({ level: 'info', requestId: 'push-0001', validator: 'alice', chain: 'devnet', digest: header.digest });

    const hold = await fetch(`${server.url}/v1/admin/images/${header.digest}/hold`, { method: 'PUT', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(hold.status).toBe(200);
    const generated = hold.headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(parsed().find((l) => l.msg === 'hold placed')).toMatchObject({ requestId: generated, principal: 'admin#1' });

    const forbidden = await fetch(`${server.url}/v1/admin/registry`, { headers: { authorization: 'Bearer not-the-admin-token-xyz', 'x-request-id': 'bad id with spaces' } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('x-request-id')).not.toBe('bad id with spaces');
    expect(parsed().find((l) => l.msg === 'request refused' && l.code === 'FORBIDDEN')).toBeDefined();
    expect(parsed().find((l) => l.msg === 'request' && l.route === '/v1/images')).toMatchObject({ status: 201, requestId: 'push-0001' });

    const all = lines.join('');
    for (const secret of [TEST_ADMIN_TOKEN, 'not-the-admin-token-xyz', masterKey.split(':')[1]!, marker]) expect(all).not.toContain(secret);
  });

  it('prints readable lines for a terminal', () => {
    expect(prettyLine('{"level":"warn","time":"2026-11-24T09:30:01.123Z","msg":"qssh connection closed","conn":3,"reason":"idle for 5 ms"}\n')).toBe('09:30:01.123 WARN  qssh connection closed  conn=3 reason="idle for 5 ms"\n');
    const redacted: string[] = [];
    createLogger({ write: (l) => void redacted.push(l) }).info('x', { token: 'abc', nested: { secretKey: 'def' } });
    expect(redacted[0]).not.toMatch(/abc|def/);
  });
});

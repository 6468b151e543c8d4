/**
 * Interop with the real qssh 0.5 release: keys from `qssh-keygen`, pulls with the unmodified
 * `qscp`, against Cairn on a real MinIO; then Cairn's own client, including a resume after the
 * transfer is cut halfway; and the refusals (unregistered key, removed validator, shell/exec,
 * writes).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRegistry, registryToDocument, type Registry } from '../../../src/archive/index.ts';
import type { RunningServer } from '../../../src/api/index.ts';
import { connectQssh, readQsshIdentity } from '../../../src/qssh/client.ts';
import { pullImageQssh } from '../../../src/client/qssh-pull.ts';
import { isCairnError } from '../../../src/errors.ts';
import { FX } from '../../../src/qssh/sftp/packets.ts';
import { imageBytes, testRegistry } from '../../support/archive-fixtures.ts';
import { runCairn } from '../../support/cli.ts';
import { tempDir } from '../../support/fixtures.ts';
import { useMinio } from '../../support/minio.ts';
import { qscp, qsshHome } from '../../support/qssh.ts';
import { startTestServer, TEST_ADMIN_TOKEN } from '../../support/server.ts';
import { digestKeyPart, type Digest } from '../../../src/archive/index.ts';

const minio = useMinio();

let dir: string;
let server: RunningServer;
let alice: Awaited<ReturnType<typeof qsshHome>>;
let stranger: Awaited<ReturnType<typeof qsshHome>>;
let registryFile: string;
let finalDigest: string;
let httpFile: Buffer;

function withQsshKey(registry: Registry, validator: string, line: string): Registry {
  const doc = registryToDocument(registry);
  for (const chain of Object.values(doc.chains)) chain.validators = chain.validators.map((v) => (v.id === validator ? { ...v, qsshKey: line } : v));
  return parseRegistry(doc);
}

async function httpBytes(path: string): Promise<Buffer> {
  const response = await fetch(`${server.url}${path}`);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-qssh-'));
  await mkdir(join(dir, 'data'));
  alice = await qsshHome(join(dir, 'alice'), 'alice');
  stranger = await qsshHome(join(dir, 'stranger'), 'stranger');
  const registry = withQsshKey(testRegistry(), 'alice', alice.publicLine);
  registryFile = join(dir, 'registry.json');
  await writeFile(registryFile, JSON.stringify(registryToDocument(registry)));
  // A low rekey threshold: every pull below (qscp reads 32 KiB per frame) spans server-initiated
  // ML-KEM rekeys, which the real client must follow for the bytes to arrive intact.
  server = await startTestServer({ dataDir: join(dir, 'data'), minio: minio(), registry, qssh: { rekeyAfterFrames: 64 } });
  // A final image at 1000 and a newer, not yet final one at 1001.
  const final = imageBytes(randomBytes(5 * 1024 * 1024 + 123), { height: 1000, attesters: ['bob', 'carol'] });
  const pending = imageBytes(randomBytes(64 * 1024), { height: 1001 });
  for (const { bytes } of [final, pending]) expect((await fetch(`${server.url}/v1/images`, { method: 'POST', body: bytes })).status).toBe(201);
  finalDigest = final.header.digest;
  httpFile = await httpBytes(`/v1/images/${finalDigest}/file`);
}, 180_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the unmodified qscp', () => {
  it('pulls /<chain>/latest-final with the bytes HTTP serves, and the file verifies', async () => {
    const out = join(await tempDir(), 'final.cimg');
    const result = await qscp(alice.home, server.qsshPort!, '/devnet/latest-final', out);
    expect(result.code, result.stderr).toBe(0);
    expect((await readFile(out)).equals(httpFile)).toBe(true);
    const verify = await runCairn(['image', 'verify', out, '--trust', registryFile, '--require-final']);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('pulls by height and by digest; latest is the newer, non-final image', async () => {
    const work = await tempDir();
    const hex = digestKeyPart(finalDigest as Digest);
    expect((await qscp(alice.home, server.qsshPort!, `/devnet/1000/${hex}.cimg`, join(work, 'a'))).code).toBe(0);
    expect((await qscp(alice.home, server.qsshPort!, `/images/${hex}.cimg`, join(work, 'b'))).code).toBe(0);
    expect((await qscp(alice.home, server.qsshPort!, '/devnet/latest', join(work, 'c'))).code).toBe(0);
    expect((await readFile(join(work, 'a'))).equals(httpFile)).toBe(true);
    expect((await readFile(join(work, 'b'))).equals(httpFile)).toBe(true);
    const latest = (await (await fetch(`${server.url}/v1/chains/devnet/latest`)).json()) as { digest: string };
    expect((await readFile(join(work, 'c'))).equals(await httpBytes(`/v1/images/${latest.digest}/file`))).toBe(true);
  });

  it('is refused with a key that is not registered', async () => {
    const out = join(await tempDir(), 'x');
    const result = await qscp(stranger.home, server.qsshPort!, '/devnet/latest-final', out);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Authentication failed/i);
    await expect(stat(out)).rejects.toThrow();
  });

  it('gets a permission error for paths outside the tree', async () => {
    const out = join(await tempDir(), 'x');
    const result = await qscp(alice.home, server.qsshPort!, '/etc/passwd', out);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/PermissionDenied/);
    await expect(stat(out)).rejects.toThrow();
  });

  it('cannot write: an upload is refused', async () => {
    const local = join(await tempDir(), 'upload.bin');
    await writeFile(local, 'not an image');
    const { run, qsshBin } = await import('../../support/qssh.ts');
    const result = await run(qsshBin('qscp'), ['-P', String(server.qsshPort), local, 'validator@127.0.0.1:/devnet/upload.bin'], { HOME: alice.home });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/PermissionDenied|read-only/);
  });
});

describe("Cairn's QSSH client", () => {
  it('pulls the same bytes, pins the server identity, and verifies the image', async () => {
    const work = await tempDir();
    const knownHostsPath = join(work, 'known_hosts');
    const identity = await readQsshIdentity(alice.keyFile);
    for (const kex of ['MlKem1024', 'HybridX25519MlKem768', 'MlKem768'] as const) {
      const client = await connectQssh({ target: `127.0.0.1:${server.qsshPort!}`, identity, kex, knownHostsPath });
      expect(client.kex).toBe(kex);
      const out = join(work, `${kex}.cimg`);
      const result = await pullImageQssh({ sftp: client.sftp, path: '/devnet/latest-final', out, readBytes: 32 * 1024, trust: { registry: withQsshKey(testRegistry(), 'alice', alice.publicLine), keys: [] } });
      expect(client.connection.rekeys).toBeGreaterThanOrEqual(2);
      client.close();
      expect(result.report?.quorum?.final).toBe(true);
      expect(result.resumedFrom).toBe(0);
      expect(result.header.digest).toBe(finalDigest);
      expect((await readFile(out)).equals(httpFile)).toBe(true);
    }
    expect((await readFile(knownHostsPath, 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('resumes after the transfer is cut halfway', async () => {
    const work = await tempDir();
    const out = join(work, 'resumed.cimg');
    const identity = await readQsshIdentity(alice.keyFile);
    const knownHostsPath = join(work, 'known_hosts');
    const first = await connectQssh({ target: `127.0.0.1:${server.qsshPort!}`, identity, knownHostsPath });
    await expect(
      pullImageQssh({
        sftp: first.sftp,
        path: '/devnet/latest-final',
        out,
        inFlight: 2,
        readBytes: 64 * 1024,
        onProgress: (done, total) => {
          if (done > total / 2) first.connection.socket.destroy(); // the transfer dies here
        },
      }),
    ).rejects.toThrow();
    const partial = (await stat(`${out}.part`)).size;
    expect(partial).toBeGreaterThan(httpFile.length / 2);
    expect(partial).toBeLessThan(httpFile.length);
    await expect(stat(out)).rejects.toThrow();

    const second = await connectQssh({ target: `127.0.0.1:${server.qsshPort!}`, identity, knownHostsPath });
    const result = await pullImageQssh({ sftp: second.sftp, path: '/devnet/latest-final', out });
    second.close();
    expect(result.resumedFrom).toBe(partial);
    expect((await readFile(out)).equals(httpFile)).toBe(true);
  });

  it('`cairn pull --qssh` pulls and verifies; a different pinned identity is refused', async () => {
    const work = await tempDir();
    const knownHosts = join(work, 'known_hosts');
    const args = ['pull', '--qssh', `127.0.0.1:${server.qsshPort!}`, '--chain', 'devnet', '--final', '--identity', alice.keyFile, '--known-hosts', knownHosts, '--trust', registryFile, '--json'];
    const ok = await runCairn([...args, '--out', join(work, 'a.cimg')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ digest: finalDigest, verified: 'signatures, digest and size', quorum: { final: true } });
    expect((await readFile(join(work, 'a.cimg'))).equals(httpFile)).toBe(true);

    const pinned = await readFile(knownHosts, 'utf8');
    const other = (await import('../../../src/archive/index.ts')).generateSigningKey('ml-dsa-65', 'impostor');
    await writeFile(knownHosts, `${pinned.split(' ')[0]} ml-dsa-65 ${Buffer.from(other.publicKey.raw).toString('base64')}\n`);
    const refused = await runCairn([...args, '--out', join(work, 'b.cimg')]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/HOST_KEY_MISMATCH/);
    await expect(stat(join(work, 'b.cimg'))).rejects.toThrow();
  });

  it('lists the tree and gets PERMISSION_DENIED for writes', async () => {
    const identity = await readQsshIdentity(alice.keyFile);
    const client = await connectQssh({ target: `127.0.0.1:${server.qsshPort!}`, identity, knownHostsPath: join(await tempDir(), 'kh') });
    try {
      expect((await client.sftp.list('/')).map((e) => e.filename)).toEqual(expect.arrayContaining(['images', 'devnet', 'testnet']));
      const chain = await client.sftp.list('/devnet');
      expect(chain.map((e) => e.filename)).toEqual(['latest', 'latest-final', '1000', '1001']);
      expect(chain.find((e) => e.filename === 'latest-final')?.attrs.size).toBe(httpFile.length);
      expect((await client.sftp.list('/devnet/1000')).map((e) => e.filename)).toEqual([`${digestKeyPart(finalDigest as Digest)}.cimg`]);
      const open = await client.sftp.request({ type: 'open', path: '/devnet/new.cimg', pflags: 0x1a, attrs: {} });
      expect(open).toMatchObject({ type: 'status', code: FX.PERMISSION_DENIED });
      for (const request of [{ type: 'remove', path: '/devnet/latest' }, { type: 'mkdir', path: '/x', attrs: {} }, { type: 'rename', path: '/devnet/latest', target: '/y' }] as const) {
        expect(await client.sftp.request(request)).toMatchObject({ type: 'status', code: FX.PERMISSION_DENIED });
      }
      await expect(client.sftp.stat('/devnet/999')).rejects.toSatisfy((e: unknown) => isCairnError(e, 'NOT_FOUND'));
      await expect(client.sftp.stat(`/images/${'0'.repeat(64)}.cimg`)).rejects.toSatisfy((e: unknown) => isCairnError(e, 'NOT_FOUND'));
      for (const outside of ['/etc/passwd', '/devnet/latest/x', '/devnet/1000/notes.txt', '/images/readme', '/Devnet']) {
        expect(await client.sftp.request({ type: 'stat', path: outside }), outside).toMatchObject({ type: 'status', code: FX.PERMISSION_DENIED });
      }
    } finally {
      client.close();
    }
  });

  it('refuses shell and exec requests on the channel', async () => {
    const identity = await readQsshIdentity(alice.keyFile);
    const client = await connectQssh({ target: `127.0.0.1:${server.qsshPort!}`, identity, knownHostsPath: join(await tempDir(), 'kh') });
    const { connection } = client;
    // The SFTP channel's pump owns the reader; observe with a fresh connection instead.
    client.close();
    expect(connection.encrypted).toBe(true);
    const { openRawSession } = await import('../../support/qssh-raw.ts');
    for (const request of ['ShellRequest', 'ExecRequest'] as const) {
      const raw = await openRawSession(server.qsshPort!, identity);
      await raw.conn.send({ kind: 'Channel', value: { kind: 'Open', channelId: 7, channelType: { kind: 'Session' }, windowSize: 65536, maxPacketSize: 32768 } });
      expect((await raw.conn.next()).message).toMatchObject({ kind: 'Channel', value: { kind: 'Accept', channelId: 7 } });
      await raw.conn.send({ kind: 'Channel', value: request === 'ExecRequest' ? { kind: 'ExecRequest', channelId: 7, command: 'cat /etc/passwd' } : { kind: 'ShellRequest', channelId: 7 } });
      const replies = [];
      for (let i = 0; i < 4; i++) replies.push((await raw.conn.next()).message);
      expect(replies.map((m) => (m.kind === 'Channel' ? m.value.kind : m.kind))).toEqual(['Data', 'ExitStatus', 'Eof', 'Close']);
      raw.close();
    }
  });

  it('refuses a validator once it is removed from the registry', async () => {
    const identity = await readQsshIdentity(alice.keyFile);
    for (const chain of ['devnet', 'testnet']) {
      const response = await fetch(`${server.url}/v1/admin/registry/chains/${chain}/validators/alice`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
      expect(response.status).toBe(200);
    }
    await expect(connectQssh({ target: `127.0.0.1:${server.qsshPort!}`, identity, knownHostsPath: join(await tempDir(), 'kh') })).rejects.toSatisfy((e: unknown) => isCairnError(e, 'QSSH_AUTH_FAILED'));
    const result = await qscp(alice.home, server.qsshPort!, '/devnet/latest-final', join(await tempDir(), 'x'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Authentication failed/i);
  });
});

/**
 * The seed's "new node" journey against a real server, over HTTP and over QSSH, as a node and as
 * the victim of a lying server: raw content restored byte-identical with nothing else left
 * behind, decisions taken from the signed header only (a listing that lies about the height is
 * refused and nothing is written), a transfer cut short resumed, and the same over QSSH.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/api/index.ts';
import { formatPublicKey, formatQsshPublicKey, generateFalconKey, loadTrust, parseRegistry, registryToDocument, writeQsshKeyPair, type Registry, type Trust } from '../../../src/archive/index.ts';
import { catchUp, pullImage } from '../../../src/client/index.ts';
import { connectQssh, readQsshIdentity } from '../../../src/qssh/client.ts';
import { imageBytes, validatorKey, wholeChunkBytes } from '../../support/archive-fixtures.ts';
import { runCairn } from '../../support/cli.ts';
import { tempDir } from '../../support/fixtures.ts';
import { startHostileProxy } from '../../support/hostile-proxy.ts';
import { startTestServer } from '../../support/server.ts';

const falcon = generateFalconKey('node');

/** alice 1, bob 2, carol 2: bob and carol hold 4/5; the node's QSSH key is alice's. */
function registry(): Registry {
  const v = (id: string, weight: number): { id: string; weight: number; keys: string[]; qsshKey?: string } => ({ id, weight, keys: [formatPublicKey(validatorKey(id).publicKey)], ...(id === 'alice' ? { qsshKey: formatQsshPublicKey(falcon.publicKey).trim() } : {}) });
  const validators = [v('alice', 1), v('bob', 2), v('carol', 2)];
  return parseRegistry({ chains: { devnet: { epochLength: 1000, validators }, testnet: { epochLength: 1000, validators } } });
}

let dir: string;
let server: RunningServer;
let registryFile: string;
let identityFile: string;
let trust: Trust;
const content = randomBytes(3 * 1024 * 1024 + 17);
const final = imageBytes(content, { height: 4000, producer: 'bob', attesters: ['carol'] });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-catch-up-'));
  await mkdir(join(dir, 'data'));
  server = await startTestServer({ dataDir: join(dir, 'data'), registry: registry() });
  expect((await fetch(`${server.url}/v1/images`, { method: 'POST', body: final.bytes })).status).toBe(201);
  // testnet has an image, but no final one (bob alone holds 2/5).
  expect((await fetch(`${server.url}/v1/images`, { method: 'POST', body: imageBytes(randomBytes(100), { chain: 'testnet', height: 50, producer: 'bob' }).bytes })).status).toBe(201);
  registryFile = join(dir, 'node-registry.json');
  await writeFile(registryFile, JSON.stringify(registryToDocument(registry())));
  trust = await loadTrust([registryFile]);
  identityFile = (await writeQsshKeyPair(join(dir, 'id_qssh'), falcon)).privatePath;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('catch-up over HTTP', () => {
  it('restores raw content byte-identical as <chain>-<height>.bin and leaves nothing else (library)', async () => {
    const out = join(await tempDir(), 'node');
    const result = await catchUp({ conn: { base: server.url }, chain: 'devnet', localHeight: 0, trust, outDir: out });
    expect(result).toMatchObject({ action: 'restored', height: 4000, digest: final.header.digest, resumedFrom: 0, quorum: { attestedWeight: 4, totalWeight: 5 } });
    expect((await readdir(out)).sort()).toEqual(['devnet-4000.bin', 'devnet-4000.cimg']);
    expect((await readFile(join(out, 'devnet-4000.bin'))).equals(content)).toBe(true);
  });

  it('does the same from the command line and exits 0', async () => {
    const out = join(await tempDir(), 'node');
    const run = await runCairn(['catch-up', '--server', server.url, '--chain', 'devnet', '--local-height', '10', '--trust', registryFile, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('restored height 4000');
    expect((await readdir(out)).sort()).toEqual(['devnet-4000.bin', 'devnet-4000.cimg']);
    expect((await readFile(join(out, 'devnet-4000.bin'))).equals(content)).toBe(true);
  });

  it('refuses a listing that lies about the height (rollback bait) and writes nothing', async () => {
    const proxy = await startHostileProxy(server.url, { rewriteJson: (path, body) => (path.endsWith('/latest') ? { ...body, height: 9000 } : body) });
    try {
      const out = join(await tempDir(), 'node');
      await expect(catchUp({ conn: { base: proxy.url }, chain: 'devnet', localHeight: 5000, trust, outDir: out })).rejects.toMatchObject({ code: 'CLAIM_MISMATCH' });
      expect(await readdir(out).catch(() => [])).toEqual([]);
      const cli = await runCairn(['catch-up', '--server', proxy.url, '--chain', 'devnet', '--local-height', '5000', '--trust', registryFile, '--out', out]);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain('CLAIM_MISMATCH');
      expect(await readdir(out).catch(() => [])).toEqual([]);
      const pulled = join(await tempDir(), 'pulled.cimg');
      const pull = await runCairn(['pull', '--server', proxy.url, '--chain', 'devnet', '--final', '--out', pulled, '--trust', registryFile]);
      expect(pull.code).toBe(1);
      expect(pull.stderr).toContain('CLAIM_MISMATCH');
      expect(await readdir(join(pulled, '..'))).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('never rolls back: a node above the latest final image is up to date, whatever the threshold', async () => {
    const out = join(await tempDir(), 'node');
    expect(await catchUp({ conn: { base: server.url }, chain: 'devnet', localHeight: 5000, threshold: 0, trust, outDir: out })).toEqual({ action: 'up-to-date', localHeight: 5000, latestFinalHeight: 4000 });
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('resumes a transfer cut short, and verifies the whole', async () => {
    const out = join(await tempDir(), 'node');
    const proxy = await startHostileProxy(server.url, { cutAfterBytes: 1024 * 1024, cutPath: /\/content$/ });
    try {
      await expect(catchUp({ conn: { base: proxy.url }, chain: 'devnet', localHeight: 0, trust, outDir: out })).rejects.toThrow();
    } finally {
      await proxy.close();
    }
    expect(await readdir(out)).toEqual(['.devnet.catchup.cimg.part']);
    const partial = (await stat(join(out, '.devnet.catchup.cimg.part'))).size;
    const prefix = final.bytes.length - content.length;
    expect(partial).toBeGreaterThan(prefix + 512 * 1024);
    const result = await catchUp({ conn: { base: server.url }, chain: 'devnet', localHeight: 0, trust, outDir: out });
    expect(result).toMatchObject({ action: 'restored', height: 4000 });
    // A format-v2 partial is resumed by chunk: every whole chunk it holds is kept.
    expect(result.action === 'restored' && result.resumedFrom).toBe(prefix + wholeChunkBytes(content, partial - prefix));
    expect((await readdir(out)).sort()).toEqual(['devnet-4000.bin', 'devnet-4000.cimg']);
    expect((await readFile(join(out, 'devnet-4000.bin'))).equals(content)).toBe(true);
  });
});

describe('pull while attestations arrive', () => {
  it('reads the header again when it grew between the manifest and the prefix, and says so when it keeps growing', async () => {
    // The proxy answers the manifest with a header length 600 bytes short: what a client sees when
    // an attestation lands between its two requests.
    let stale = 1;
    const proxy = await startHostileProxy(server.url, {
      rewriteJson: (path, body) => {
        const file = body.file as { headerBytes: number } | undefined;
        if (!path.endsWith(final.header.digest) || !file || stale-- <= 0) return body;
        return { ...body, file: { ...file, headerBytes: file.headerBytes - 600 } };
      },
    });
    try {
      const out = join(await tempDir(), 'pulled.cimg');
      const pulled = await pullImage({ conn: { base: proxy.url }, digest: final.header.digest, out, trust });
      expect(pulled.header.digest).toBe(final.header.digest);
      expect((await readFile(out)).subarray(-content.length).equals(content)).toBe(true);
      stale = Infinity;
      const growing = await pullImage({ conn: { base: proxy.url }, digest: final.header.digest, out: `${out}.again`, trust }).catch((error: unknown) => error);
      expect(growing).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect((growing as Error).message).toContain('kept growing');
    } finally {
      await proxy.close();
    }
  });
});

describe('catch-up over QSSH', () => {
  it('restores the same bytes through the SFTP tree with the same checks (library)', async () => {
    const out = join(await tempDir(), 'node');
    const client = await connectQssh({ target: `127.0.0.1:${server.qsshPort!}`, identity: await readQsshIdentity(identityFile), kex: 'MlKem1024', knownHostsPath: join(out, '..', 'known_hosts') });
    try {
      const result = await catchUp({ sftp: client.sftp, chain: 'devnet', localHeight: 100, trust, outDir: out });
      expect(result).toMatchObject({ action: 'restored', height: 4000, digest: final.header.digest });
      expect(await catchUp({ sftp: client.sftp, chain: 'devnet', localHeight: 4000, trust, outDir: out })).toMatchObject({ action: 'up-to-date', latestFinalHeight: 4000 });
    } finally {
      client.close();
    }
    expect((await readdir(out)).sort()).toEqual(['devnet-4000.bin', 'devnet-4000.cimg']);
    expect((await readFile(join(out, 'devnet-4000.bin'))).equals(content)).toBe(true);
  });

  it('works from the command line with --qssh', async () => {
    const work = await tempDir();
    const out = join(work, 'node');
    const run = await runCairn(['catch-up', '--qssh', `127.0.0.1:${server.qsshPort!}`, '--identity', identityFile, '--known-hosts', join(work, 'known_hosts'), '--chain', 'devnet', '--local-height', '0', '--trust', registryFile, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('restored height 4000');
    expect((await readFile(join(out, 'devnet-4000.bin'))).equals(content)).toBe(true);
  });

  it('says up to date for a chain without a final image; refuses an unknown chain and a registry that does not make the image final', async () => {
    const out = join(await tempDir(), 'node');
    const strangers = parseRegistry({ chains: { devnet: { validators: [{ id: 'bob', weight: 1, keys: [formatPublicKey(validatorKey('bob').publicKey)] }, { id: 'zed', weight: 5, keys: [formatPublicKey(validatorKey('zed').publicKey)] }] } } });
    const client = await connectQssh({ target: `127.0.0.1:${server.qsshPort!}`, identity: await readQsshIdentity(identityFile), kex: 'MlKem1024', knownHostsPath: join(out, '..', 'known_hosts') });
    try {
      await expect(catchUp({ sftp: client.sftp, chain: 'devnet', localHeight: 0, trust: { registry: strangers, keys: [] }, outDir: out })).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
      expect(await catchUp({ sftp: client.sftp, chain: 'testnet', localHeight: 0, trust, outDir: out })).toEqual({ action: 'up-to-date', localHeight: 0, latestFinalHeight: null });
      const other = parseRegistry({ chains: { nochain: { validators: [{ id: 'bob', weight: 1, keys: [formatPublicKey(validatorKey('bob').publicKey)] }] } } });
      await expect(catchUp({ sftp: client.sftp, chain: 'nochain', localHeight: 0, trust: { registry: other, keys: [] }, outDir: out })).rejects.toMatchObject({ code: 'SFTP_ERROR' });
    } finally {
      client.close();
    }
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });
});

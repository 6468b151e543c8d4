/**
 * The `cairn` command as users meet it at its edges: output piped into `head`, a registry
 * update that gives one thing, and a listing of final images only.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/index.ts';
import { formatQsshPublicKey, generateFalconKey } from '../../src/archive/index.ts';
import { imageBytes } from '../support/archive-fixtures.ts';
import { CAIRN_BIN, runCairn } from '../support/cli.ts';
import { TEST_ADMIN_TOKEN, startTestServer } from '../support/server.ts';

let server: RunningServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-cli-edges-'));
  server = await startTestServer({ dataDir: dir });
  for (const height of [10, 20, 30]) {
    const body = imageBytes(randomBytes(64), { height, ...(height === 20 ? { attesters: ['bob', 'carol'] } : {}) }).bytes;
    expect((await fetch(`${server.url}/v1/images`, { method: 'POST', body })).status).toBe(201);
  }
}, 60_000);
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ CAIRN_SERVER: server.url, CAIRN_ADMIN_TOKEN: TEST_ADMIN_TOKEN });

describe('cairn at its edges', () => {
  it('exits quietly (141, as a tool killed by SIGPIPE) when the reader of its output goes away', async () => {
    // The reader closes before the command writes: its first write meets EPIPE.
    const child = spawn(process.execPath, [CAIRN_BIN, 'completion', 'bash'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(141);
  });

  it('registry add with --qssh-pub alone adds the QSSH key and keeps weight and keys; an update without it keeps it', async () => {
    const pub = join(dir, 'alice-qssh.pub');
    const line = formatQsshPublicKey(generateFalconKey('alice').publicKey).trim();
    await writeFile(pub, `${line}\n`);
    const registry = async (): Promise<{ weight: number; keys: string[]; qsshKey?: string }> =>
      (JSON.parse((await runCairn(['registry', 'ls', '--json'], { env: env() })).stdout) as { chains: { devnet: { validators: Array<{ id: string; weight: number; keys: string[]; qsshKey?: string }> } } }).chains.devnet.validators.find((v) => v.id === 'alice')!;
    const before = await registry();
    const add = await runCairn(['registry', 'add', '--chain', 'devnet', '--validator', 'alice', '--qssh-pub', pub], { env: env() });
    expect(add.code, add.stderr).toBe(0);
    expect(await registry()).toEqual({ ...before, qsshKey: line });
    expect((await runCairn(['registry', 'add', '--chain', 'devnet', '--validator', 'alice', '--weight', '2'], { env: env() })).code).toBe(0);
    expect(await registry()).toEqual({ ...before, weight: 2, qsshKey: line });
    expect((await runCairn(['registry', 'add', '--chain', 'devnet', '--validator', 'alice', '--no-qssh-pub'], { env: env() })).code).toBe(0);
    expect((await registry()).qsshKey).toBeUndefined();
    const nothing = await runCairn(['registry', 'add', '--chain', 'devnet', '--validator', 'alice'], { env: env() });
    expect(nothing.code).toBe(2); // a usage error
    expect(nothing.stderr).toContain('nothing to change');
  });

  it('ls --final lists the final images only', async () => {
    const all = JSON.parse((await runCairn(['ls', '--chain', 'devnet', '--json'], { env: env() })).stdout) as { images: Array<{ height: number }> };
    const final = JSON.parse((await runCairn(['ls', '--chain', 'devnet', '--final', '--json'], { env: env() })).stdout) as { images: Array<{ height: number }> };
    expect(all.images.map((i) => i.height)).toEqual([10, 20, 30]);
    expect(final.images.map((i) => i.height)).toEqual([20]);
  });

  it('registry set-epoch changes an epoch length only with --confirm, and updates without one keep it', async () => {
    const epochOf = async (): Promise<number | undefined> => (JSON.parse((await runCairn(['registry', 'ls', '--json'], { env: env() })).stdout) as { chains: { devnet: { epochLength?: number } } }).chains.devnet.epochLength;
    const refused = await runCairn(['registry', 'set-epoch', '--chain', 'devnet', '--epoch-length', '500'], { env: env() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('EPOCH_CHANGE_UNCONFIRMED');
    expect(refused.stderr).toContain('would release 0 boundary images');
    expect(await epochOf()).toBe(1000);
    expect((await runCairn(['registry', 'set-epoch', '--chain', 'devnet', '--epoch-length', '500', '--confirm'], { env: env() })).code).toBe(0);
    expect(await epochOf()).toBe(500);
    expect((await runCairn(['registry', 'add', '--chain', 'devnet', '--validator', 'bob', '--weight', '2'], { env: env() })).code).toBe(0);
    expect(await epochOf()).toBe(500);
    const sneaky = await runCairn(['registry', 'add', '--chain', 'devnet', '--validator', 'bob', '--epoch-length', '100'], { env: env() });
    expect(sneaky.code).toBe(1);
    expect(sneaky.stderr).toContain('EPOCH_CHANGE_UNCONFIRMED');
  });
});

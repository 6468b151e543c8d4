/**
 * The README's walkthrough, run as written: every sh block under "Five-minute walkthrough",
 * against a real `cairn serve` (fs store, generated development secrets) started the way
 * `npm start` starts it. `npx cairn` is pointed at this checkout's bin; lines whose comment says
 * "exit 1" must fail, every other line must succeed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CAIRN_BIN } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';
import { spawn } from 'node:child_process';
import { generateMasterKeyEntry } from '../../src/archive/crypto/keyring.ts';
import { useMinio } from '../support/minio.ts';

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
const DEFAULT_URL = 'http://127.0.0.1:8080';
const DEFAULT_QSSH = '127.0.0.1:2222';

/** The sh blocks of the walkthrough section (up to the next "### " or "## " heading). */
function walkthroughBlocks(): string[] {
  const start = readme.indexOf('## Five-minute walkthrough');
  const end = readme.indexOf('\n### ', start);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

const stops: Array<() => void> = [];
afterAll(() => stops.forEach((stop) => stop()));
const minio = useMinio();

async function runWalkthrough(env: NodeJS.ProcessEnv): Promise<void> {
    const dir = await tempDir();
    const server = spawn(process.execPath, [CAIRN_BIN, 'serve', '--port', '0', '--data', join(dir, 'data')], { cwd: dir, env: { ...process.env, CAIRN_QSSH_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    stops.push(() => server.kill());
    const { url, qssh } = await new Promise<{ url: string; qssh: string }>((resolve, reject) => {
      let out = '';
      server.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const match = /serving on (http:\/\/\S+) .*qssh on (\S+):(\d+)/.exec(out);
        if (match?.[1]) resolve({ url: match[1], qssh: `127.0.0.1:${match[3] as string}` });
      });
      server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const script = walkthroughBlocks()
      .join('\n')
      .replaceAll(DEFAULT_URL, url)
      .replaceAll(DEFAULT_QSSH, qssh)
      .split('\n')
      .map((line) => (/#.*\bexit 1\b/.test(line) ? `{ ${line.replace(/#.*$/, '')} && exit 99 || true; }` : line))
      .join('\n');
    const result = spawnSync('bash', ['-c', `set -euo pipefail\nnpx() { shift; "${process.execPath}" "${CAIRN_BIN}" "$@"; }\n${script}`], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, ...env, CAIRN_SERVER: url, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('archived (new image)');
    expect(result.stdout).toContain('identical');
    // Steps 5 and 6: a raw-content catch-up over HTTP and over QSSH, byte-identical.
    expect(result.stdout).toMatch(/^restored$/m);
    expect(result.stdout).toMatch(/^restored over qssh$/m);
    expect(result.stdout).toMatch(/^caught up incrementally$/m);
    expect(result.stdout).toMatch(/reused from walkthrough\/node\/devnet-1000\.cimg/);
    expect(result.stdout).toMatch(/^pulled from two sources$/m);
    expect(result.stdout).toContain('OK: image verified');
    expect(result.stdout).toMatch(/^1024$/m);
    expect(result.stdout).toContain('not final');
    expect(result.stderr).toContain('UNTRUSTED_SIGNER');
}

describe('README walkthrough', () => {
  it('works as written against a freshly started server (fs store, development secrets)', async () => {
    await runWalkthrough({});
  });

  it('works as written against a server on MinIO', async () => {
    const m = minio();
    await runWalkthrough({
      CAIRN_STORE: 's3',
      CAIRN_S3_ENDPOINT: m.endpoint,
      CAIRN_S3_BUCKET: m.bucket,
      CAIRN_S3_REGION: 'us-east-1',
      CAIRN_S3_FORCE_PATH_STYLE: 'true',
      CAIRN_S3_ACCESS_KEY_ID: m.accessKeyId,
      CAIRN_S3_SECRET_ACCESS_KEY: m.secretAccessKey,
      CAIRN_MASTER_KEY: generateMasterKeyEntry('k1'),
      CAIRN_ADMIN_TOKEN: 'walkthrough-admin-token-0123456789',
      CAIRN_REGISTRY_FILE: '',
    });
  });
});

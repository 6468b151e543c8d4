/**
 * `cairn retention plan | run | runs` and `cairn hold add | rm` against a real server.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/index.ts';
import { allImages, imageBytes } from '../support/archive-fixtures.ts';
import { runCairn } from '../support/cli.ts';
import { TEST_ADMIN_TOKEN, startTestServer } from '../support/server.ts';

let server: RunningServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-retention-cli-'));
  server = await startTestServer({ dataDir: dir });
  for (const height of [1000, 1100, 1200]) {
    const file = join(dir, `${height}.cimg`);
    await writeFile(file, imageBytes(randomBytes(64), { height, attesters: height === 1200 ? ['bob', 'carol'] : [] }).bytes);
    expect((await runCairn(['push', file, '--server', server.url])).code).toBe(0);
  }
}, 60_000);
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ CAIRN_SERVER: server.url, CAIRN_ADMIN_TOKEN: TEST_ADMIN_TOKEN });

describe('cairn retention and hold', () => {
  it('prints the plan with a rule for every image, and refuses without the admin token', async () => {
    const plan = await runCairn(['retention', 'plan', '--chain', 'devnet', '--at', new Date(Date.now() + 30 * 86_400_000).toISOString()], { env: env() });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/height\s+digest\s+age\s+final\s+decision\s+rule/);
    expect(plan.stdout).toMatch(/1200 .* yes +keep +LATEST/);
    const json = await runCairn(['retention', 'plan', '--chain', 'devnet', '--json'], { env: env() });
    expect((JSON.parse(json.stdout) as { decisions: unknown[] }).decisions).toHaveLength(3);
    const denied = await runCairn(['retention', 'plan', '--chain', 'devnet'], { env: { CAIRN_SERVER: server.url, CAIRN_ADMIN_TOKEN: '' } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/UNAUTHORIZED/);
  });

  it('holds and releases images, runs retention and lists the runs', async () => {
    const digest = (await allImages(server.archive, 'devnet'))[0]!.record.digest;
    expect((await runCairn(['hold', 'add', digest], { env: env() })).stdout).toContain('held');
    const plan = JSON.parse((await runCairn(['retention', 'plan', '--chain', 'devnet', '--json'], { env: env() })).stdout) as { decisions: Array<{ digest: string; rule: string }> };
    expect(plan.decisions.find((d) => d.digest === digest)?.rule).toBe('PINNED');
    expect((await runCairn(['hold', 'rm', digest], { env: env() })).stdout).toContain('not held');
    expect((await runCairn(['hold', 'add', `sha3-256:${'0'.repeat(64)}`], { env: env() })).stderr).toMatch(/NOT_FOUND/);
    const run = await runCairn(['retention', 'run', '--chain', 'devnet'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^marked \d+ for deletion, deleted 0 \(0 bytes freed\), unmarked \d+$/m);
    const runs = await runCairn(['retention', 'runs', '--chain', 'devnet', '--json'], { env: env() });
    expect(JSON.parse(runs.stdout)).toHaveLength(1);
    expect((await runCairn(['retention', 'plan', '--chain', 'nochain'], { env: env() })).stderr).toMatch(/UNKNOWN_CHAIN/);
  });

  it('says what a dry run would do, and that it changed nothing', async () => {
    const before = JSON.parse((await runCairn(['retention', 'runs', '--chain', 'devnet', '--json'], { env: env() })).stdout) as unknown[];
    const dry = await runCairn(['retention', 'run', '--chain', 'devnet', '--dry-run'], { env: env() });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run, nothing changed: a run now would mark \d+ images? for deletion, delete \d+ whose grace period is over \(\d+ bytes\) and unmark \d+$/m);
    expect(dry.stdout).not.toMatch(/^marked/m);
    expect(JSON.parse((await runCairn(['retention', 'runs', '--chain', 'devnet', '--json'], { env: env() })).stdout)).toHaveLength(before.length);
  });
});

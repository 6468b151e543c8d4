/**
 * `cairn config check`: a valid file summarised without secrets; an invalid one refused with
 * every problem listed (schema and semantic), exit 1, secrets never echoed.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateMasterKeyEntry } from '../../src/archive/crypto/keyring.ts';
import { runCairn } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';

describe('cairn config check', () => {
  it('summarises a valid file without echoing secrets', async () => {
    const dir = await tempDir();
    const masterKey = generateMasterKeyEntry('k1');
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ masterKeys: [masterKey], adminTokens: ['admin-token-0123456789'], qssh: { port: 2022 } }));
    const result = await runCairn(['config', 'check', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('valid');
    expect(result.stdout).toMatch(/qssh\s+127\.0\.0\.1:2022/);
    expect(result.stdout + result.stderr).not.toContain(masterKey.split(':')[1]);
    expect(result.stdout).not.toContain('admin-token-0123456789');
  });

  it('lists every problem and exits 1', async () => {
    const dir = await tempDir();
    const file = join(dir, 'bad.json');
    const secret = 'c2VjcmV0LXRoYXQtaXMtbm90LTMyLWJ5dGVz';
    await writeFile(file, JSON.stringify({ port: 70000, store: 's3', masterKeys: [`k1:${secret}`], adminTokens: ['short'], retention: { schedule: 'sometimes' }, qssh: { readerKeys: ['not a key'] }, registryFile: join(dir, 'missing.json'), surprise: true }));
    const schema = await runCairn(['config', 'check', file, '--json']);
    expect(schema.code).toBe(1);
    const { error } = JSON.parse(schema.stderr) as { error: { code: string; details: { problems: string[] } } };
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.details.problems.join('\n')).toMatch(/port/);
    expect(error.details.problems.join('\n')).toMatch(/retention\.schedule/);
    expect(error.details.problems.join('\n')).toMatch(/adminTokens/);
    expect(error.details.problems.join('\n')).toMatch(/surprise/);
    expect(schema.stdout + schema.stderr).not.toContain(secret);

    // Schema-valid, but the values do not work.
    await writeFile(file, JSON.stringify({ masterKeys: [`k1:${secret}`], adminTokens: ['admin-token-0123456789'], qssh: { readerKeys: ['not a key'] }, registryFile: join(dir, 'missing.json') }));
    const semantic = await runCairn(['config', 'check', file]);
    expect(semantic.code).toBe(1);
    expect(semantic.stderr).toMatch(/3 problems/);
    expect(semantic.stderr).toMatch(/masterKeys: /);
    expect(semantic.stderr).toMatch(/qssh\.readerKeys\.0: /);
    expect(semantic.stderr).toMatch(/registryFile: .*ENOENT/);
    expect(semantic.stderr).not.toContain(secret);
  });
});

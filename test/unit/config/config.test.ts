import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.ts';
import { resolveSecrets } from '../../../src/config/dev-secrets.ts';
import { isCairnError } from '../../../src/errors.ts';
import { tempDir } from '../../support/fixtures.ts';

describe('configuration', () => {
  it('defaults to the fs store on loopback, and is frozen', async () => {
    const config = await loadConfig({ env: {} });
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, store: 'fs', dataDir: './data', maxHeaderBytes: 4 * 1024 * 1024 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.s3)).toBe(true);
  });

  it('applies CAIRN_* environment variables over the file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'cairn.json');
    await writeFile(file, JSON.stringify({ port: 9000, store: 'fs', s3: { bucket: 'from-file' } }));
    const config = await loadConfig({
      file,
      env: {
        CAIRN_PORT: '9100',
        CAIRN_STORE: 's3',
        CAIRN_S3_ENDPOINT: 'http://127.0.0.1:9999',
        CAIRN_S3_FORCE_PATH_STYLE: 'true',
        CAIRN_S3_ACCESS_KEY_ID: 'key',
        CAIRN_S3_SECRET_ACCESS_KEY: 'secret',
        CAIRN_ADMIN_TOKEN: 'a-very-long-admin-token-1,another-long-admin-token-2',
        CAIRN_MASTER_KEY: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      },
    });
    expect(config).toMatchObject({ port: 9100, store: 's3', s3: { bucket: 'from-file', endpoint: 'http://127.0.0.1:9999', forcePathStyle: true }, adminTokens: ['a-very-long-admin-token-1', 'another-long-admin-token-2'] });
  });

  it('lists every problem at once and never echoes secret values', async () => {
    const dir = await tempDir();
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ port: 70000, store: 'ftp', unknownSetting: 1, adminTokens: ['short-secret'] }));
    try {
      await loadConfig({ file, env: { CAIRN_MAX_HEADER_BYTES: 'lots', CAIRN_S3_FORCE_PATH_STYLE: 'maybe' } });
      expect.unreachable();
    } catch (error) {
      expect(isCairnError(error, 'CONFIG_INVALID')).toBe(true);
      const problems = (error as { details: { problems: string[] } }).details.problems;
      expect(problems.length).toBeGreaterThanOrEqual(6);
      const text = problems.join('\n');
      for (const expected of ['CAIRN_MAX_HEADER_BYTES', 'CAIRN_S3_FORCE_PATH_STYLE', 'port', 'store', 'unknownSetting', 'adminTokens']) expect(text).toContain(expected);
      expect(text).not.toContain('short-secret');
    }
  });

  it('reports a missing or broken config file', async () => {
    await expect(loadConfig({ file: '/nonexistent/cairn.json', env: {} })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('generates development secrets once for the fs store and reuses them', async () => {
    const dir = await tempDir();
    const config = await loadConfig({ env: { CAIRN_DATA_DIR: dir } });
    const first = await resolveSecrets(config);
    expect(first.dev).toBeDefined();
    expect(first.masterKeys[0]).toMatch(/^dev:/);
    const again = await resolveSecrets(config);
    expect(again.masterKeys).toEqual(first.masterKeys);
    expect(again.adminTokens).toEqual(first.adminTokens);
  });

  it('refuses to start S3 without a master key and admin token instead of generating them', async () => {
    const config = await loadConfig({ env: { CAIRN_STORE: 's3' } });
    await expect(resolveSecrets(config)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('docs/CONFIG.md', () => {
  it('is generated from the schema and current (npm run docs:config)', async () => {
    const { readFile } = await import('node:fs/promises');
    const { renderConfigDoc } = await import('../../../src/config/config-doc.ts');
    expect(await readFile(join(import.meta.dirname, '../../../docs/CONFIG.md'), 'utf8')).toBe(renderConfigDoc());
  });
});

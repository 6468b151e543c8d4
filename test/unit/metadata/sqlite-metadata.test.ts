/** The metadata contract on the embedded `sqlite` driver (a file in a temporary directory). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeDatabaseUrl, openMetadata, SCHEMA_VERSION } from '../../../src/metadata/index.ts';
import { describeMetadataConformance } from '../../support/metadata-conformance.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
const dir = await mkdtemp(join(tmpdir(), 'cairn-sqlite-'));
dirs.push(dir);

describeMetadataConformance('sqlite', () => openMetadata(`sqlite:${join(dir, 'meta', 'cairn.sqlite')}`, { pollMs: 25 }));

describe('database URLs', () => {
  it('select a driver and never echo a password', () => {
    expect(describeDatabaseUrl('sqlite:data/cairn.sqlite')).toEqual({ driver: 'sqlite', target: 'data/cairn.sqlite' });
    expect(describeDatabaseUrl('postgres://cairn:secret@db.internal:6543/cairn')).toEqual({ driver: 'postgres', target: 'db.internal:6543/cairn' });
    for (const bad of ['', 'sqlite:', 'mysql://x', 'postgres://[bad']) expect(() => describeDatabaseUrl(bad), bad).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(1);
  });
});

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../../../src/archive/store/blob-store.ts';
import { createFsStore } from '../../../../src/archive/store/drivers/fs-driver.ts';
import { createMemoryStore } from '../../../../src/archive/store/drivers/memory-driver.ts';
import { describeStoreConformance } from '../../../support/store-conformance.ts';
import { instrumentStore } from '../../../../src/archive/store/instrumented-store.ts';
import { CairnMetrics } from '../../../../src/metrics.ts';
import { tempDir } from '../../../support/fixtures.ts';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';

describeStoreConformance('memory', () => createMemoryStore());
// The metrics wrapper must not change behaviour: the same contract, through it.
describeStoreConformance('instrumented memory', () => instrumentStore(createMemoryStore(), new CairnMetrics({ defaultMetrics: false })));

let fsStore: BlobStore;
let fsRoot: string;
beforeAll(async () => {
  fsRoot = await mkdtemp(join(tmpdir(), 'cairn-fs-store-'));
  fsStore = await createFsStore({ root: fsRoot });
});
describeStoreConformance('fs', () => fsStore);

describe('fs store specifics', () => {
  it('removes temporary files a crash left behind when it opens', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'blobs'), { recursive: true });
    await writeFile(join(root, 'blobs', '.abc.123456.tmp'), 'partial');
    await writeFile(join(root, 'blobs', 'kept'), 'whole');
    await createFsStore({ root });
    expect(await readdir(join(root, 'blobs'))).toEqual(['kept']);
  });

  it('keeps every object under its root', async () => {
    const root = await tempDir();
    const store = await createFsStore({ root: join(root, 'data') });
    await store.put('a/b', Uint8Array.of(1));
    expect(await readdir(join(root, 'data', 'a'))).toEqual(['b']);
    expect(await readdir(root)).toEqual(['data']);
  });
});

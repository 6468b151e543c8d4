/**
 * FORMAT.md §1.1 step 10 on the pulling side: the archive stores content as opaque bytes, so a
 * signed image whose queue-state content is not a queue state can be archived — and every pull
 * refuses it (QUEUE_STATE_INVALID), leaving neither the file nor a partial behind.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/api/index.ts';
import { CONTENT_TYPE_QUEUE_STATE, createImageBytes, encodeQueueState } from '../../../src/archive/index.ts';
import { generateMasterKeyEntry } from '../../../src/archive/crypto/keyring.ts';
import { pullImage, pushImage } from '../../../src/client/index.ts';
import { validatorKey } from '../../support/archive-fixtures.ts';
import { tempDir } from '../../support/fixtures.ts';
import { startTestServer } from '../../support/server.ts';

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await tempDir();
  await mkdir(join(dir, 'data'));
  server = await startTestServer({ dataDir: join(dir, 'data'), masterKey: generateMasterKeyEntry('t') });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function pushQueueImage(content: Uint8Array, height: number): Promise<string> {
  const { header, bytes } = createImageBytes({ chain: 'devnet', height, validator: 'alice', key: validatorKey('alice'), content, contentType: CONTENT_TYPE_QUEUE_STATE });
  const file = join(dir, `q-${height}.cimg`);
  await writeFile(file, bytes);
  await pushImage({ base: server.url }, file);
  return header.digest;
}

describe('pulling queue-state images', () => {
  it('refuses content that is not a queue state, leaving nothing behind, and takes one that is', async () => {
    const bad = await pushQueueImage(new TextEncoder().encode('not a queue state'), 1);
    const out = join(dir, 'pulls');
    await mkdir(out);
    await expect(pullImage({ conn: { base: server.url }, digest: bad as never, out: join(out, 'bad.cimg') })).rejects.toMatchObject({ code: 'QUEUE_STATE_INVALID' });
    expect(await readdir(out)).toEqual([]);

    const good = await pushQueueImage(encodeQueueState([{ kind: 'Vote', priority: 0, payload: Uint8Array.of(1), provenance: { origin: 'bob', receivedAt: 1, sequence: 1 } }]), 2);
    await pullImage({ conn: { base: server.url }, digest: good as never, out: join(out, 'good.cimg') });
    expect(await readdir(out)).toEqual(['good.cimg']);
  });
});

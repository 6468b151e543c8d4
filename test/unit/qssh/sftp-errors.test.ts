/**
 * SFTP error replies go through the one error table: the status code from its SFTP column, and
 * only what a client may see of the message — a failing store's error (which names server
 * paths) reaches the client as its code and summary alone.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatQsshPublicKey, generateFalconKey, parseRegistry, registryToDocument } from '../../../src/archive/index.ts';
import { generateSigningKey } from '../../../src/archive/keys/signing.ts';
import type { BlobStore } from '../../../src/archive/store/blob-store.ts';
import { createMemoryStore } from '../../../src/archive/store/drivers/memory-driver.ts';
import { silentLogger } from '../../../src/logger.ts';
import { registryAuthorizer } from '../../../src/qssh/authorized-keys.ts';
import { startQsshServer, type QsshServer } from '../../../src/qssh/server.ts';
import { FX } from '../../../src/qssh/sftp/packets.ts';
import { SftpClient } from '../../../src/qssh/sftp/sftp-client.ts';
import { isCairnError } from '../../../src/errors.ts';
import { bodyOf, imageBytes, testArchive, testRegistry } from '../../support/archive-fixtures.ts';
import { openRawSession } from '../../support/qssh-raw.ts';

const SECRET_PATH = '/srv/cairn-private/objects/blobs';
let failReads = false;
let server: QsshServer;
const key = generateFalconKey('reader');
const identity = { secretKey: key.secretKey, publicKey: key.publicKey.raw };

/** A memory store whose blob reads fail the way a broken disk does, naming a server path. */
function failingStore(): BlobStore {
  const store = createMemoryStore();
  return {
    ...store,
    get: (objectKey, range) => {
      if (failReads && objectKey.startsWith('blobs/')) {
        return Promise.reject(Object.assign(new Error(`EIO: i/o error, read '${SECRET_PATH}/${objectKey}'`), { code: 'EIO', syscall: 'read', path: `${SECRET_PATH}/${objectKey}` }));
      }
      return store.get(objectKey, range);
    },
  };
}

beforeAll(async () => {
  const doc = registryToDocument(testRegistry());
  doc.chains.devnet!.validators[0] = { ...doc.chains.devnet!.validators[0]!, qsshKey: formatQsshPublicKey(key.publicKey).trim() };
  const archive = await testArchive(failingStore());
  archive.setRegistry(parseRegistry(doc));
  await archive.push(bodyOf(imageBytes(randomBytes(100_000), { attesters: ['bob', 'carol'] }).bytes));
  server = await startQsshServer({ archive, identity: generateSigningKey('ml-dsa-65', 'server'), authorize: registryAuthorizer(() => archive.registry, []), logger: silentLogger, host: '127.0.0.1', port: 0, handshakeTimeoutMs: 2_000, idleTimeoutMs: 5_000, maxSessions: 4, rekeyAfterFrames: 1 << 24 });
});

afterAll(async () => {
  await server?.close();
});

describe('SFTP error replies', () => {
  it('carry the table status and a safe message, never the server-side text', async () => {
    const raw = await openRawSession(server.port, identity);
    try {
      const sftp = await SftpClient.open(raw.conn);
      const handle = await sftp.openRead('/devnet/latest-final');
      failReads = true;
      let error: unknown;
      try {
        await sftp.read(handle, 20_000, 1024);
      } catch (caught) {
        error = caught;
      }
      failReads = false;
      expect(isCairnError(error, 'SFTP_ERROR')).toBe(true);
      const e = error as { message: string; details?: { sftpStatus?: number } };
      expect(e.details?.sftpStatus).toBe(FX.FAILURE);
      expect(e.message).toContain('IO_ERROR');
      expect(e.message).not.toContain(SECRET_PATH);
      expect(e.message).not.toContain('EIO');
      // A missing image is NO_SUCH_FILE, from the same table.
      await expect(sftp.openRead(`/images/${'0'.repeat(64)}.cimg`)).rejects.toMatchObject({ code: 'NOT_FOUND', details: { sftpStatus: FX.NO_SUCH_FILE } });
    } finally {
      raw.close();
    }
  });
});

/**
 * A QSSH server that resets the connection (a killed process, a proxy giving up) is reported like
 * one that closes it mid-conversation: QSSH_PROTOCOL_ERROR, not a local IO_ERROR.
 */
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateFalconKey } from '../../../src/archive/index.ts';
import { connectQssh } from '../../../src/qssh/client.ts';
import { tempDir } from '../../support/fixtures.ts';

describe('a QSSH connection reset by the server', () => {
  it('is QSSH_PROTOCOL_ERROR, like a close', async () => {
    const dir = await tempDir();
    const falcon = generateFalconKey('node');
    for (const end of ['reset', 'close'] as const) {
      const server = createServer((socket: Socket) => {
        socket.once('data', () => (end === 'reset' ? socket.resetAndDestroy() : socket.end()));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      try {
        await expect(connectQssh({ target: `127.0.0.1:${port}`, identity: { secretKey: falcon.secretKey, publicKey: falcon.publicKey.raw }, knownHostsPath: join(dir, 'known_hosts'), timeoutMs: 5000 })).rejects.toMatchObject({ code: 'QSSH_PROTOCOL_ERROR' });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});

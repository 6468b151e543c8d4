/**
 * The QSSH listener against hostile and broken clients (archive on the in-memory store): every
 * violation closes that connection with a log line naming the reason, other sessions carry on.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFalconKey, formatQsshPublicKey, parseRegistry, registryToDocument } from '../../../src/archive/index.ts';
import { generateSigningKey } from '../../../src/archive/keys/signing.ts';
import type { Archive } from '../../../src/archive/service/archive.ts';
import { createMemoryStore } from '../../../src/archive/store/drivers/memory-driver.ts';
import { createLogger } from '../../../src/logger.ts';
import { registryAuthorizer } from '../../../src/qssh/authorized-keys.ts';
import type { ClientIdentity } from '../../../src/qssh/client-handshake.ts';
import { encodeMessage } from '../../../src/qssh/messages.ts';
import { startQsshServer, type QsshServer } from '../../../src/qssh/server.ts';
import { encodeRequest } from '../../../src/qssh/sftp/packets.ts';
import { SftpClient } from '../../../src/qssh/sftp/sftp-client.ts';
import { imageBytes, testArchive, testRegistry, bodyOf } from '../../support/archive-fixtures.ts';
import { closed, openRawSession, tcp } from '../../support/qssh-raw.ts';

let archive: Archive;
let server: QsshServer;
let identity: ClientIdentity;
const logs: Array<Record<string, unknown>> = [];

function frame(payload: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length);
  return Buffer.concat([head, payload]);
}

/** Waits until a log line with `msg` mentions `reason`. */
async function logged(reason: RegExp): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const hit = logs.find((l) => l.msg === 'qssh connection closed' && reason.test(String(l.reason)));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no log line for ${reason}: ${JSON.stringify(logs.slice(-5))}`);
}

beforeAll(async () => {
  const key = generateFalconKey('reader');
  identity = { secretKey: key.secretKey, publicKey: key.publicKey.raw };
  const doc = registryToDocument(testRegistry());
  doc.chains.devnet!.validators[0] = { ...doc.chains.devnet!.validators[0]!, qsshKey: formatQsshPublicKey(key.publicKey).trim() };
  archive = await testArchive(createMemoryStore());
  archive.setRegistry(parseRegistry(doc));
  await archive.push(bodyOf(imageBytes(randomBytes(300_000), { attesters: ['bob', 'carol'] }).bytes));
  const logger = createLogger({ level: 'debug', write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  server = await startQsshServer({
    archive,
    identity: generateSigningKey('ml-dsa-65', 'server'),
    authorize: registryAuthorizer(() => archive.registry, []),
    logger,
    host: '127.0.0.1',
    port: 0,
    handshakeTimeoutMs: 400,
    idleTimeoutMs: 5_000,
    maxSessions: 16,
    rekeyAfterFrames: 1 << 24,
  });
});

afterAll(async () => {
  await server?.close();
});

async function sftpChannel(raw: Awaited<ReturnType<typeof openRawSession>>): Promise<void> {
  await raw.conn.send({ kind: 'Channel', value: { kind: 'Open', channelId: 3, channelType: { kind: 'Session' }, windowSize: 1 << 20, maxPacketSize: 1 << 15 } });
  expect((await raw.conn.next()).message).toMatchObject({ kind: 'Channel', value: { kind: 'Accept' } });
  await raw.conn.send({ kind: 'Channel', value: { kind: 'SubsystemRequest', channelId: 3, subsystem: 'sftp' } });
  expect((await raw.conn.next()).message).toMatchObject({ kind: 'Channel', value: { kind: 'Data', data: Buffer.of(0) } });
  await raw.conn.sendData(3, encodeRequest({ type: 'init', version: 3 }));
  expect((await raw.conn.next()).message).toMatchObject({ kind: 'Channel', value: { kind: 'Data' } });
}

describe('QSSH server', () => {
  let bystander: SftpClient;
  let bystanderClose: () => void;

  beforeAll(async () => {
    const raw = await openRawSession(server.port, identity);
    bystander = await SftpClient.open(raw.conn);
    bystanderClose = () => raw.close();
  });

  afterAll(async () => {
    // The session opened first is untouched by everything the hostile clients did.
    expect((await bystander.list('/')).map((e) => e.filename)).toEqual(['images', 'devnet', 'testnet']);
    bystanderClose();
  });

  it('completes a handshake with each key exchange and serves SFTP', async () => {
    for (const kex of ['MlKem1024', 'MlKem768', 'HybridX25519MlKem768'] as const) {
      const raw = await openRawSession(server.port, identity, kex);
      const sftp = await SftpClient.open(raw.conn);
      expect((await sftp.list('/devnet')).map((e) => e.filename)).toEqual(['latest', 'latest-final', '1000']);
      raw.close();
    }
  });

  it('closes on a frame length over 1 MiB without buffering it', async () => {
    const socket = await tcp(server.port);
    socket.write(Buffer.from([0x00, 0x20, 0x00, 0x00]));
    socket.write(randomBytes(64 * 1024));
    await closed(socket);
    await logged(/frame length 2097152 exceeds the 1 MiB limit/);
  });

  it('closes on malformed, unknown or out-of-order handshake messages', async () => {
    const cases: Array<[Buffer, RegExp]> = [
      [frame(Buffer.from([1, 0, 0, 0, 0, 2, 7])), /malformed message: Message::ClientHello\.random needs 32 bytes/],
      [frame(Buffer.from([99, 0, 0, 0])), /unknown Message variant 99/],
      [frame(encodeMessage({ kind: 'Ping', value: 1n })), /expected ClientHello, got Ping/],
      [frame(Buffer.concat([encodeMessage({ kind: 'Ping', value: 1n }), Buffer.from([0])])), /1 trailing bytes after Ping/],
    ];
    for (const [bytes, reason] of cases) {
      const socket = await tcp(server.port);
      socket.write(bytes);
      await closed(socket);
      await logged(reason);
    }
  });

  it('closes a truncated handshake and a client that never finishes it (slow loris)', async () => {
    const truncated = await tcp(server.port);
    const hello = frame(encodeMessage({ kind: 'ClientHello', version: [0, 2], random: randomBytes(32), kexAlgorithms: [{ kind: 'MlKem1024' }], sigAlgorithms: [], ciphers: ['aes256-gcm'], qkdCapable: false, extensions: [] }));
    truncated.end(hello.subarray(0, hello.length - 5));
    await closed(truncated);
    await logged(/closed mid-frame/);

    const slow = await tcp(server.port);
    slow.write(hello.subarray(0, 3));
    await closed(slow);
    await logged(/handshake not completed within 400 ms/);
  });

  it('refuses unknown keys, bad signatures and clients without an acceptable key exchange', async () => {
    const stranger = generateFalconKey('stranger');
    await expect(openRawSession(server.port, { secretKey: stranger.secretKey, publicKey: stranger.publicKey.raw })).rejects.toThrow(/refused authentication/);
    await logged(/not in the validator registry/);
    await expect(openRawSession(server.port, { secretKey: stranger.secretKey, publicKey: identity.publicKey })).rejects.toThrow(/refused authentication/);
    await logged(/signature over the session id does not verify/);

    const socket = await tcp(server.port);
    socket.write(frame(encodeMessage({ kind: 'ClientHello', version: [0, 2], random: randomBytes(32), kexAlgorithms: [{ kind: 'FalconSignedShares' }], sigAlgorithms: [], ciphers: ['aes256-gcm'], qkdCapable: false, extensions: [] })));
    await closed(socket);
    await logged(/no acceptable key exchange among FalconSignedShares/);
  });

  it('closes on replayed, skipped and forged frames', async () => {
    const replay = await openRawSession(server.port, identity);
    const ping = await replay.capture(() => replay.conn.send({ kind: 'Ping', value: 1n }));
    expect((await replay.conn.next()).message).toMatchObject({ kind: 'Pong' });
    replay.writeRaw(ping);
    await closed(replay.socket);
    await logged(/sequence number 1 where 2 was expected/);

    const skip = await openRawSession(server.port, identity);
    await skip.capture(() => skip.conn.send({ kind: 'Ping', value: 1n }), { drop: true });
    await skip.conn.send({ kind: 'Ping', value: 2n });
    await closed(skip.socket);
    await logged(/sequence number 2 where 1 was expected/);

    const forged = await openRawSession(server.port, identity);
    const bytes = await forged.capture(() => forged.conn.send({ kind: 'Ping', value: 1n }), { drop: true });
    bytes[bytes.length - 20]! ^= 0x01;
    forged.writeRaw(bytes);
    await closed(forged.socket);
    await logged(/failed authentication/);
  });

  it('closes on SFTP packets with bad lengths, unknown handles and path traversal', async () => {
    const tooLong = await openRawSession(server.port, identity);
    await sftpChannel(tooLong);
    const head = Buffer.alloc(9);
    head.writeUInt32BE(10 * 1024 * 1024, 0);
    await tooLong.conn.sendData(3, head);
    await closed(tooLong.socket);
    await logged(/packet length 10485760 exceeds/);

    const badHandle = await openRawSession(server.port, identity);
    await sftpChannel(badHandle);
    await badHandle.conn.sendData(3, encodeRequest({ type: 'read', id: 5, handle: 'h999', offset: 0, length: 10 }));
    await closed(badHandle.socket);
    await logged(/unknown SFTP handle "h999"/);

    const traversal = await openRawSession(server.port, identity);
    await sftpChannel(traversal);
    await traversal.conn.sendData(3, encodeRequest({ type: 'stat', id: 6, path: '/devnet/../../etc/passwd' }));
    await closed(traversal.socket);
    await logged(/path traversal above the root/);

    const mismatch = await openRawSession(server.port, identity);
    await sftpChannel(mismatch);
    const packet = encodeRequest({ type: 'stat', id: 7, path: '/' });
    packet.writeUInt32BE(packet.length - 4 + 0, 0);
    await mismatch.conn.sendData(3, Buffer.concat([packet.subarray(0, 4), Buffer.from([17, 0, 0, 0, 7, 0, 0, 0, 9]), Buffer.alloc(packet.length - 13)]));
    await closed(mismatch.socket);
    await logged(/malformed SFTP packet/);
  });

  it('rekeys in both directions when the client asks, and keeps serving', async () => {
    const raw = await openRawSession(server.port, identity);
    const sftp = await SftpClient.open(raw.conn);
    raw.conn.initiateRekey();
    const before = await sftp.list('/devnet');
    raw.conn.initiateRekey();
    expect(await sftp.list('/devnet')).toEqual(before);
    expect(raw.conn.rekeys).toBe(2);
    raw.close();
  });
});

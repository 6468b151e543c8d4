/**
 * A low-level QSSH client for protocol tests: a completed handshake on a {@link QsshConnection}
 * with the socket's writes observable, so tests can capture, drop, replay or corrupt frames.
 */
import { connect, type Socket } from 'node:net';
import { clientHandshake, type ClientIdentity } from '../../src/qssh/client-handshake.ts';
import { QsshConnection } from '../../src/qssh/connection.ts';
import type { SupportedKex } from '../../src/qssh/kex.ts';

/** A connected socket. */
export function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the peer has closed the socket. */
export function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) return resolve();
    socket.resume();
    socket.once('close', () => resolve());
  });
}

/** A handshaken session whose outgoing bytes can be captured or dropped. */
export interface RawSession {
  readonly conn: QsshConnection;
  readonly socket: Socket;
  /** Runs `fn` and returns the bytes it wrote; with `drop`, they never reach the server. */
  capture(fn: () => Promise<void> | void, options?: { drop?: boolean }): Promise<Buffer>;
  /** Writes bytes straight to the socket. */
  writeRaw(bytes: Uint8Array): void;
  close(): void;
}

/** Opens a TCP connection and completes the handshake as `identity` (any server identity accepted). */
export async function openRawSession(port: number, identity: ClientIdentity, kex: SupportedKex = 'MlKem1024'): Promise<RawSession> {
  const socket = await tcp(port);
  const write = socket.write.bind(socket);
  const original = (chunk: Uint8Array): boolean => write(chunk);
  let sink: Buffer[] | undefined;
  let drop = false;
  (socket as unknown as { write: (chunk: Uint8Array) => boolean }).write = (chunk) => {
    sink?.push(Buffer.from(chunk));
    return drop ? true : original(chunk);
  };
  const conn = new QsshConnection(socket);
  await clientHandshake(conn, { identity, username: 'test', kex, checkServer: () => Promise.resolve() });
  return {
    conn,
    socket,
    async capture(fn, options = {}) {
      sink = [];
      drop = options.drop ?? false;
      try {
        await fn();
        return Buffer.concat(sink);
      } finally {
        sink = undefined;
        drop = false;
      }
    },
    writeRaw: (bytes) => void original(bytes),
    close: () => socket.destroy(),
  };
}

/**
 * Cairn's QSSH listener: a TCP server speaking qssh 0.5's protocol, so unmodified `qscp` and
 * Cairn's own client can pull images. Each connection: handshake within a deadline, session
 * until Disconnect; any protocol violation closes that connection only, with one log line
 * naming the reason. Connections beyond `maxSessions` are closed at once.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { toCairnError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Archive } from '../archive/service/archive.ts';
import type { SigningKey } from '../archive/keys/signing.ts';
import { principalName, type Authorizer } from './authorized-keys.ts';
import { QsshConnection } from './connection.ts';
import { serverHandshake } from './server-handshake.ts';
import { runSession } from './session.ts';
import type { CairnMetrics } from '../metrics.ts';

/** Settings of the QSSH listener. */
export interface QsshServerOptions {
  readonly archive: Archive;
  readonly identity: SigningKey;
  readonly authorize: Authorizer;
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  /** The whole handshake (hello to authentication) must finish within this. */
  readonly handshakeTimeoutMs: number;
  /** A connection with no traffic in either direction for this long is closed. */
  readonly idleTimeoutMs: number;
  readonly maxSessions: number;
  /** Rekey after this many frames sent under one key. */
  readonly rekeyAfterFrames: number;
  readonly metrics?: CairnMetrics;
}

/** A running QSSH listener. */
export interface QsshServer {
  readonly port: number;
  /** Open connections. */
  readonly connections: number;
  close(): Promise<void>;
}

/** Starts the listener. */
export async function startQsshServer(options: QsshServerOptions): Promise<QsshServer> {
  const sockets = new Set<Socket>();
  let nextId = 1;
  const logger = options.logger.child({ component: 'qssh' });
  const { metrics } = options;

  const handle = async (socket: Socket): Promise<void> => {
    const log = logger.child({ conn: nextId++, remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` });
    if (sockets.size >= options.maxSessions) {
      metrics?.qsshFailures.inc({ reason: 'too_many_sessions' });
      log.warn('qssh connection refused', { reason: `too many sessions (${options.maxSessions})` });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    metrics?.qsshActive.inc();
    socket.once('close', () => {
      sockets.delete(socket);
      metrics?.qsshActive.dec();
    });
    socket.setTimeout(options.idleTimeoutMs, () => {
      metrics?.qsshFailures.inc({ reason: 'idle_timeout' });
      log.warn('qssh connection closed', { reason: `idle for ${options.idleTimeoutMs} ms` });
      socket.destroy();
    });
    const started = Date.now();
    const conn = new QsshConnection(socket, { rekeyAfterFrames: options.rekeyAfterFrames, onRekey: (here) => log.info('qssh rekeyed', { initiatedBy: here ? 'server' : 'client' }) });
    let stage = 'handshake';
    const deadline = setTimeout(() => {
      metrics?.qsshFailures.inc({ reason: 'handshake_timeout' });
      log.warn('qssh connection closed', { reason: `handshake not completed within ${options.handshakeTimeoutMs} ms` });
      socket.destroy();
    }, options.handshakeTimeoutMs);
    try {
      const result = await serverHandshake(conn, { identity: options.identity, authorize: options.authorize });
      clearTimeout(deadline);
      stage = 'session';
      metrics?.qsshSessions.inc({ kex: result.kex });
      log.info('qssh session opened', { principal: principalName(result.principal), user: result.username.slice(0, 64), kex: result.kex, handshakeMs: Date.now() - started });
      const { bytesServed } = await runSession(conn, options.archive, log, metrics);
      log.info('qssh session closed', { reason: 'client disconnected', bytesServed, rekeys: conn.rekeys });
      conn.close();
    } catch (error) {
      clearTimeout(deadline);
      const e = toCairnError(error);
      if (stage === 'session' && conn.closedByPeer) {
        log.info('qssh session closed', { reason: 'client closed the connection', rekeys: conn.rekeys });
      } else if (!socket.destroyed) {
        metrics?.qsshFailures.inc({ reason: e.code });
        log.warn('qssh connection closed', { reason: e.message, code: e.code, stage, ...(e.code === 'INTERNAL' || e.code === 'IO_ERROR' ? { error: e } : {}) });
        conn.disconnectFor(e);
      } else if (stage === 'session') {
        log.info('qssh session closed', { reason: e.message, code: e.code });
      }
    }
  };

  const server: Server = createServer({ pauseOnConnect: false }, (socket) => void handle(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info('qssh listening', { host: options.host, port });
  return {
    port,
    get connections() {
      return sockets.size;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

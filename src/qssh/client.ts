/**
 * Cairn's QSSH client library: connect, prove the server's identity against known-hosts,
 * authenticate with a qssh Falcon-512 key, and open an SFTP session.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CairnError } from '../errors.ts';
import { parseQsshPrivateKey, parseQsshPublicKey } from '../archive/keys/falcon.ts';
import type { PublicKey } from '../archive/keys/signing.ts';
import { checkKnownHost, defaultKnownHostsPath, type HostCheck } from './known-hosts.ts';
import { clientHandshake, type ClientIdentity } from './client-handshake.ts';
import { QsshConnection } from './connection.ts';
import type { SupportedKex } from './kex.ts';
import { DISCONNECT } from './messages.ts';
import { SftpClient } from './sftp/sftp-client.ts';

/** Where and how to connect. */
export interface QsshClientOptions {
  /** `host:port` (port defaults to 2222). */
  readonly target: string;
  readonly identity: ClientIdentity;
  readonly username?: string;
  readonly kex?: SupportedKex;
  readonly knownHostsPath?: string;
  /** Refuse servers not yet in known-hosts instead of pinning them. */
  readonly strictHostKey?: boolean;
  /** Called once the server's identity has been checked. */
  readonly onHostKey?: (key: PublicKey, check: HostCheck) => void;
  readonly timeoutMs?: number;
  /** Start an in-band rekey after sending this many frames under one key. */
  readonly rekeyAfterFrames?: number;
}

/** An open session. */
export interface QsshClient {
  readonly sftp: SftpClient;
  readonly connection: QsshConnection;
  readonly serverKey: PublicKey;
  readonly kex: SupportedKex;
  close(): void;
}

/** Splits `host:port` (IPv6 in brackets). */
export function parseTarget(target: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(target);
  const port = m?.[3] === undefined ? 2222 : Number(m[3]);
  if (!m || port < 1 || port > 65535) throw new CairnError('INVALID_ARGUMENT', `invalid QSSH target ${JSON.stringify(target)} (expected host:port)`);
  return { host: (m[1] ?? m[2])!, port };
}

/** Reads a qssh identity (`id_qssh` and `id_qssh.pub`); default `~/.qssh/id_qssh`. */
export async function readQsshIdentity(path = join(homedir(), '.qssh', 'id_qssh')): Promise<ClientIdentity> {
  const read = async (p: string): Promise<string> => {
    try {
      return await readFile(p, 'utf8');
    } catch (error) {
      throw new CairnError('KEY_INVALID', `cannot read ${p}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
    }
  };
  return { secretKey: parseQsshPrivateKey(await read(path)), publicKey: parseQsshPublicKey(await read(`${path}.pub`)).raw };
}

/** Connects, checks the server, authenticates and opens SFTP. */
export async function connectQssh(options: QsshClientOptions): Promise<QsshClient> {
  const { host, port } = parseTarget(options.target);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = tcpConnect({ host, port });
    s.once('connect', () => resolve(s));
    s.once('error', (error) => reject(new CairnError('STORE_UNAVAILABLE', `cannot connect to ${options.target}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { cause: error })));
  });
  const conn = new QsshConnection(socket, options.rekeyAfterFrames === undefined ? {} : { rekeyAfterFrames: options.rekeyAfterFrames });
  const timer = setTimeout(() => socket.destroy(new Error('handshake timed out')), options.timeoutMs ?? 30_000);
  try {
    const knownHosts = options.knownHostsPath ?? defaultKnownHostsPath();
    const { serverKey, kex } = await clientHandshake(conn, {
      identity: options.identity,
      username: options.username ?? 'cairn',
      ...(options.kex ? { kex: options.kex } : {}),
      checkServer: async (key) => {
        const check = await checkKnownHost(knownHosts, `${host}:${port}`, key, { strict: options.strictHostKey ?? false });
        options.onHostKey?.(key, check);
      },
    });
    const sftp = await SftpClient.open(conn);
    clearTimeout(timer);
    return {
      sftp,
      connection: conn,
      serverKey,
      kex,
      close: () => conn.disconnect(DISCONNECT.BY_APPLICATION, 'Client disconnecting'),
    };
  } catch (error) {
    clearTimeout(timer);
    conn.close();
    socket.destroy();
    throw error;
  }
}

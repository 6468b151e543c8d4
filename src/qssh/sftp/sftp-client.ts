/**
 * An SFTP v3 client over one qssh session channel, with any number of requests in flight:
 * each request gets an id and a promise, and a single pump reads the connection and settles
 * them as responses arrive (rekeys and pings are handled by the connection underneath).
 */
import { CairnError } from '../../errors.ts';
import type { QsshConnection } from '../connection.ts';
import { FX, PFLAG, PacketReader, SFTP_VERSION, decodeResponse, encodeRequest, type Attrs, type NameEntry, type SftpRequest, type SftpResponse } from './packets.ts';

type Pending = { resolve: (r: SftpResponse) => void; reject: (e: Error) => void };
type WithoutId<T> = T extends { id: number } ? Omit<T, 'id'> : never;

const MAX_RESPONSE_PACKET = 2 * 1024 * 1024;

function statusError(r: Extract<SftpResponse, { type: 'status' }>, what: string): CairnError {
  return new CairnError(r.code === FX.NO_SUCH_FILE ? 'NOT_FOUND' : 'SFTP_ERROR', `${what}: ${r.message || `SFTP status ${r.code}`}`, { details: { sftpStatus: r.code } });
}

/** An SFTP session. Create with {@link SftpClient.open}. */
export class SftpClient {
  readonly #conn: QsshConnection;
  readonly #channel: number;
  readonly #pending = new Map<number, Pending>();
  readonly #reader = new PacketReader(MAX_RESPONSE_PACKET);
  #nextId = 1;
  #failure: Error | undefined;
  #version: Pending | undefined;

  private constructor(conn: QsshConnection, channel: number) {
    this.#conn = conn;
    this.#channel = channel;
  }

  /** Opens a session channel, starts the `sftp` subsystem and exchanges INIT/VERSION. */
  static async open(conn: QsshConnection): Promise<SftpClient> {
    const channel = 1 + Math.floor(Math.random() * 65535);
    await conn.send({ kind: 'Channel', value: { kind: 'Open', channelId: channel, channelType: { kind: 'Session' }, windowSize: 16 * 1024 * 1024, maxPacketSize: 1024 * 1024 } });
    for (;;) {
      const { message } = await conn.next();
      if (message.kind === 'Channel' && message.value.channelId === channel) {
        if (message.value.kind === 'Accept') break;
        if (message.value.kind === 'Close') throw new CairnError('SFTP_ERROR', 'the server refused the session channel');
      }
      if (message.kind === 'Disconnect') throw new CairnError('QSSH_PROTOCOL_ERROR', `the server disconnected: ${message.description}`);
    }
    await conn.send({ kind: 'Channel', value: { kind: 'SubsystemRequest', channelId: channel, subsystem: 'sftp' } });
    for (;;) {
      const { message } = await conn.next();
      if (message.kind === 'Channel' && message.value.channelId === channel && message.value.kind === 'Data') {
        if (message.value.data.length === 1 && message.value.data[0] === 0) break;
        throw new CairnError('SFTP_ERROR', `the server refused the sftp subsystem: ${Buffer.from(message.value.data).toString('utf8').trim().slice(0, 200)}`);
      }
      if (message.kind === 'Disconnect') throw new CairnError('QSSH_PROTOCOL_ERROR', `the server disconnected: ${message.description}`);
    }
    const client = new SftpClient(conn, channel);
    const version = new Promise<SftpResponse>((resolve, reject) => (client.#version = { resolve, reject }));
    void client.#pump();
    await conn.sendData(channel, encodeRequest({ type: 'init', version: SFTP_VERSION }));
    const v = await version;
    if (v.type !== 'version' || v.version !== SFTP_VERSION) throw new CairnError('SFTP_ERROR', 'the server does not speak SFTP version 3');
    return client;
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const { message } = await this.#conn.next();
        if (message.kind === 'Disconnect') throw new CairnError('QSSH_PROTOCOL_ERROR', `the server disconnected: ${message.description}`);
        if (message.kind !== 'Channel' || message.value.channelId !== this.#channel) continue;
        const m = message.value;
        if (m.kind === 'Close' || m.kind === 'Eof') throw new CairnError('SFTP_ERROR', 'the server closed the SFTP channel');
        if (m.kind !== 'Data') continue;
        this.#reader.push(m.data);
        for (let packet = this.#reader.next(); packet; packet = this.#reader.next()) {
          const response = decodeResponse(packet);
          if (response.type === 'version') {
            this.#version?.resolve(response);
            this.#version = undefined;
            continue;
          }
          const pending = this.#pending.get(response.id);
          if (!pending) throw new CairnError('QSSH_PROTOCOL_ERROR', `SFTP response to unknown request ${response.id}`);
          this.#pending.delete(response.id);
          pending.resolve(response);
        }
      }
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      this.#version?.reject(this.#failure);
      for (const p of this.#pending.values()) p.reject(this.#failure);
      this.#pending.clear();
    }
  }

  /** Sends a request; resolves with its response. */
  request(request: WithoutId<SftpRequest>): Promise<SftpResponse> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0x7fffffff ? 1 : this.#nextId + 1;
    const promise = new Promise<SftpResponse>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#conn.sendData(this.#channel, encodeRequest({ ...request, id })).catch((error: unknown) => {
      this.#pending.get(id)?.reject(error instanceof Error ? error : new Error(String(error)));
      this.#pending.delete(id);
    });
    return promise;
  }

  async stat(path: string): Promise<Attrs> {
    const r = await this.request({ type: 'stat', path });
    if (r.type === 'attrs') return r.attrs;
    throw r.type === 'status' ? statusError(r, `stat ${path}`) : new CairnError('SFTP_ERROR', `unexpected ${r.type} to STAT`);
  }

  async openRead(path: string): Promise<string> {
    const r = await this.request({ type: 'open', path, pflags: PFLAG.READ, attrs: {} });
    if (r.type === 'handle') return r.handle;
    throw r.type === 'status' ? statusError(r, `open ${path}`) : new CairnError('SFTP_ERROR', `unexpected ${r.type} to OPEN`);
  }

  async fstat(handle: string): Promise<Attrs> {
    const r = await this.request({ type: 'fstat', handle });
    if (r.type === 'attrs') return r.attrs;
    throw r.type === 'status' ? statusError(r, 'fstat') : new CairnError('SFTP_ERROR', `unexpected ${r.type} to FSTAT`);
  }

  /** Reads up to `length` bytes at `offset`; undefined at end of file. */
  async read(handle: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    const r = await this.request({ type: 'read', handle, offset, length });
    if (r.type === 'data') return r.data;
    if (r.type === 'status' && r.code === FX.EOF) return undefined;
    throw r.type === 'status' ? statusError(r, `read at ${offset}`) : new CairnError('SFTP_ERROR', `unexpected ${r.type} to READ`);
  }

  async close(handle: string): Promise<void> {
    await this.request({ type: 'close', handle });
  }

  /** Every entry of a directory. */
  async list(path: string): Promise<NameEntry[]> {
    const r = await this.request({ type: 'opendir', path });
    if (r.type !== 'handle') throw r.type === 'status' ? statusError(r, `opendir ${path}`) : new CairnError('SFTP_ERROR', `unexpected ${r.type} to OPENDIR`);
    const out: NameEntry[] = [];
    for (;;) {
      const page = await this.request({ type: 'readdir', handle: r.handle });
      if (page.type === 'name') out.push(...page.entries);
      else if (page.type === 'status' && page.code === FX.EOF) break;
      else throw page.type === 'status' ? statusError(page, `readdir ${path}`) : new CairnError('SFTP_ERROR', `unexpected ${page.type} to READDIR`);
    }
    await this.close(r.handle);
    return out.filter((e) => e.filename !== '.' && e.filename !== '..');
  }
}

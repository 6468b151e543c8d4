/**
 * The SFTP v3 server for one channel: a read-only view of the archive (see virtual-tree.ts).
 *
 * Requests are handled one at a time in arrival order, so a client with many READs in flight
 * gets them answered back to back while the socket's backpressure bounds what is buffered.
 * A file handle keeps one open stream from the store and serves consecutive READs from it;
 * a READ at another offset reopens the stream there (the store decrypts only the chunks it
 * needs). The file's header is fixed when it is opened, so its size stays consistent.
 *
 * Refusals: any write-type request is answered PERMISSION_DENIED. Hostile input — malformed
 * packets, unknown handles, paths climbing above `/` — throws `QSSH_PROTOCOL_ERROR`, and the
 * session closes the connection with that reason in the log.
 */
import { CairnError, publicError, sftpStatusOf, toCairnError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { Archive } from '../../archive/service/archive.ts';
import { openImageFile, type ImageFile } from '../../archive/service/image-file.ts';
import { forEachLimited } from '../../archive/concurrency.ts';
import type { ArchivedImage } from '../../archive/index.ts';
import type { CairnMetrics } from '../../metrics.ts';
import { FX, PFLAG, SFTP_VERSION, dataPacketHead, decodeRequest, encodeResponse, type Attrs, type NameEntry, type SftpRequest, type SftpResponse } from './packets.ts';
import { listDirectory, normalizePath, resolvePath, type DirEntry } from './virtual-tree.ts';

/** Largest READ answered in one DATA packet (qscp asks for 32 KiB; Cairn's client for 512 KiB). */
export const MAX_READ_BYTES = 512 * 1024;
const MAX_HANDLES = 64;
const NAMES_PER_READDIR = 100;
const FILE_MODE = 0o100444;
const DIR_MODE = 0o040555;

interface FileHandle {
  readonly kind: 'file';
  readonly file: ImageFile;
  position: number;
  iterator: AsyncIterator<Uint8Array> | undefined;
  pending: Buffer | undefined;
}

interface DirHandle {
  readonly kind: 'dir';
  readonly entries: DirEntry[];
  next: number;
}

const WRITE_REQUESTS = new Set<SftpRequest['type']>(['write', 'remove', 'rmdir', 'mkdir', 'setstat', 'fsetstat', 'rename', 'symlink']);

function toUnixSeconds(ms: number): number {
  return Math.min(0xffffffff, Math.max(0, Math.floor(ms / 1000)));
}

function longname(name: string, attrs: Attrs): string {
  const dir = (attrs.permissions ?? 0) & 0o040000;
  const date = new Date((attrs.mtime ?? 0) * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return `${dir ? 'dr-xr-xr-x' : '-r--r--r--'} 1 cairn cairn ${String(attrs.size ?? 0).padStart(12)} ${date} ${name}`;
}

/** One SFTP subsystem instance. */
export class SftpServer {
  readonly #archive: Archive;
  readonly #send: (...parts: Uint8Array[]) => Promise<void>;
  readonly #logger: Logger;
  readonly #metrics: CairnMetrics | undefined;
  readonly #handles = new Map<string, FileHandle | DirHandle>();
  #nextHandle = 1;
  #initialised = false;
  bytesServed = 0;

  constructor(options: { archive: Archive; send: (...parts: Uint8Array[]) => Promise<void>; logger: Logger; metrics?: CairnMetrics }) {
    this.#archive = options.archive;
    this.#metrics = options.metrics;
    this.#send = options.send;
    this.#logger = options.logger;
  }

  async #reply(response: SftpResponse): Promise<void> {
    await this.#send(encodeResponse(response));
  }

  async #status(id: number, code: number, message: string): Promise<void> {
    await this.#reply({ type: 'status', id, code, message });
  }

  /** Handles one request packet (length prefix included). */
  async handle(packet: Buffer): Promise<void> {
    const request = decodeRequest(packet);
    if (request.type === 'init') {
      if (this.#initialised) throw new CairnError('QSSH_PROTOCOL_ERROR', 'SFTP INIT sent twice');
      this.#initialised = true;
      await this.#reply({ type: 'version', version: SFTP_VERSION, extensions: [] });
      return;
    }
    if (!this.#initialised) throw new CairnError('QSSH_PROTOCOL_ERROR', `SFTP request (type ${request.type}) before INIT`);
    if (request.type === 'unknown') {
      if (request.id === undefined) throw new CairnError('QSSH_PROTOCOL_ERROR', `SFTP packet of unknown type ${request.code} without a request id`);
      await this.#status(request.id, FX.OP_UNSUPPORTED, `request type ${request.code} is not supported`);
      return;
    }
    if (WRITE_REQUESTS.has(request.type) || (request.type === 'open' && request.pflags & (PFLAG.WRITE | PFLAG.APPEND | PFLAG.CREAT | PFLAG.TRUNC | PFLAG.EXCL))) {
      this.#logger.info('sftp write refused', { request: request.type });
      await this.#status(request.id, FX.PERMISSION_DENIED, 'the Cairn archive is read-only over SFTP; push images over HTTP');
      return;
    }
    try {
      await this.#dispatch(request);
    } catch (error) {
      const e = toCairnError(error);
      if (e.code === 'QSSH_PROTOCOL_ERROR') throw e;
      this.#logger.warn('sftp request failed', { request: request.type, code: e.code, error: e });
      // Through the one error table: its SFTP status, and only what a client may see of the message.
      const shown = publicError(e);
      await this.#status(request.id, sftpStatusOf(shown), `${shown.code}: ${shown.message}`);
    }
  }

  /** A path that names nothing: missing (no such file) or outside the tree (permission denied). */
  async #absent(id: number, why: 'missing' | 'outside'): Promise<void> {
    if (why === 'missing') return this.#status(id, FX.NO_SUCH_FILE, 'no such file');
    this.#logger.info('sftp path outside the tree refused');
    return this.#status(id, FX.PERMISSION_DENIED, 'outside the Cairn tree (/images, /<chain>/latest, /<chain>/latest-final, /<chain>/<height>/<hex>.cimg)');
  }

  #handle(id: string): FileHandle | DirHandle {
    const h = this.#handles.get(id);
    if (!h) throw new CairnError('QSSH_PROTOCOL_ERROR', `unknown SFTP handle ${JSON.stringify(id.slice(0, 64))}`);
    return h;
  }

  #newHandle(h: FileHandle | DirHandle): string | undefined {
    if (this.#handles.size >= MAX_HANDLES) return undefined;
    const id = `h${this.#nextHandle++}`;
    this.#handles.set(id, h);
    return id;
  }

  /** Attributes of a directory, an image (its file opened to learn its size) or an open file. */
  async #attrsOf(entry: { kind: 'dir' } | { kind: 'file'; image: ArchivedImage } | { kind: 'file'; file: ImageFile }): Promise<Attrs> {
    if (entry.kind === 'dir') return { permissions: DIR_MODE, uid: 0, gid: 0, size: 0, mtime: toUnixSeconds(Date.now()) };
    const file = 'file' in entry ? entry.file : await openImageFile(this.#archive, entry.image);
    return { size: file.size, uid: 0, gid: 0, permissions: FILE_MODE, atime: toUnixSeconds(file.entry.record.storedAt), mtime: toUnixSeconds(file.entry.record.createdAt) };
  }

  async #dispatch(request: Exclude<SftpRequest, { type: 'init' }>): Promise<void> {
    switch (request.type) {
      case 'realpath': {
        const path = normalizePath(request.path || '/');
        return this.#reply({ type: 'name', id: request.id, entries: [{ filename: path, longname: path, attrs: {} }] });
      }
      case 'stat':
      case 'lstat': {
        const node = await resolvePath(this.#archive, normalizePath(request.path));
        if (typeof node === 'string') return this.#absent(request.id, node);
        const attrs = await this.#attrsOf(node);
        return this.#reply({ type: 'attrs', id: request.id, attrs });
      }
      case 'open': {
        const node = await resolvePath(this.#archive, normalizePath(request.path));
        if (typeof node === 'string') return this.#absent(request.id, node);
        if (node.kind === 'dir') return this.#status(request.id, FX.FAILURE, 'is a directory');
        const file = await openImageFile(this.#archive, node.image);
        const handle = this.#newHandle({ kind: 'file', file, position: -1, iterator: undefined, pending: undefined });
        if (!handle) return this.#status(request.id, FX.FAILURE, `too many open handles (${MAX_HANDLES})`);
        this.#logger.info('sftp open', { path: node.path, digest: node.image.record.digest, size: file.size });
        this.#metrics?.pulls.inc({ transport: 'qssh' });
        return this.#reply({ type: 'handle', id: request.id, handle });
      }
      case 'opendir': {
        const path = normalizePath(request.path);
        const node = await resolvePath(this.#archive, path);
        if (typeof node === 'string') return this.#absent(request.id, node);
        if (node.kind !== 'dir') return this.#status(request.id, FX.FAILURE, 'not a directory');
        const entries: DirEntry[] = [{ name: '.', kind: 'dir' }, { name: '..', kind: 'dir' }, ...(await listDirectory(this.#archive, path))];
        const handle = this.#newHandle({ kind: 'dir', entries, next: 0 });
        if (!handle) return this.#status(request.id, FX.FAILURE, `too many open handles (${MAX_HANDLES})`);
        return this.#reply({ type: 'handle', id: request.id, handle });
      }
      case 'readdir': {
        const h = this.#handle(request.handle);
        if (h.kind !== 'dir') throw new CairnError('QSSH_PROTOCOL_ERROR', 'READDIR on a file handle');
        if (h.next >= h.entries.length) return this.#status(request.id, FX.EOF, 'end of directory');
        const page = h.entries.slice(h.next, h.next + NAMES_PER_READDIR);
        h.next += page.length;
        const entries: NameEntry[] = new Array<NameEntry>(page.length);
        await forEachLimited(page.map((e, i) => [e, i] as const), 8, async ([e, i]) => {
          const attrs = await this.#attrsOf(e);
          entries[i] = { filename: e.name, longname: longname(e.name, attrs), attrs };
        });
        return this.#reply({ type: 'name', id: request.id, entries });
      }
      case 'fstat': {
        const h = this.#handle(request.handle);
        const attrs = await this.#attrsOf(h);
        return this.#reply({ type: 'attrs', id: request.id, attrs });
      }
      case 'read': {
        const h = this.#handle(request.handle);
        if (h.kind !== 'file') throw new CairnError('QSSH_PROTOCOL_ERROR', 'READ on a directory handle');
        return this.#read(request.id, h, request.offset, request.length);
      }
      case 'close': {
        const h = this.#handle(request.handle);
        this.#handles.delete(request.handle);
        if (h.kind === 'file') await h.iterator?.return?.();
        return this.#status(request.id, FX.OK, 'closed');
      }
      case 'readlink':
        return this.#status(request.id, FX.NO_SUCH_FILE, 'there are no links');
      case 'extended':
        return this.#status(request.id, FX.OP_UNSUPPORTED, `extension ${request.request} is not supported`);
      case 'write':
      case 'remove':
      case 'rmdir':
      case 'mkdir':
      case 'setstat':
      case 'fsetstat':
      case 'rename':
      case 'symlink':
        // Refused before dispatch; kept here so every request type has an answer.
        return this.#status(request.id, FX.PERMISSION_DENIED, 'read-only');
    }
  }

  async #read(id: number, h: FileHandle, offset: number, length: number): Promise<void> {
    const size = h.file.size;
    if (offset >= size) return this.#status(id, FX.EOF, 'end of file');
    const want = Math.min(length, MAX_READ_BYTES, size - offset);
    if (want === 0) return this.#status(id, FX.EOF, 'end of file');
    if (h.position !== offset || !h.iterator) {
      await h.iterator?.return?.();
      h.iterator = h.file.read(offset, size - 1)[Symbol.asyncIterator]();
      h.pending = undefined;
      h.position = offset;
    }
    const parts: Buffer[] = [];
    let have = 0;
    while (have < want) {
      let chunk = h.pending;
      h.pending = undefined;
      if (!chunk) {
        const next = await h.iterator.next();
        if (next.done) break;
        chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      }
      const take = Math.min(chunk.length, want - have);
      parts.push(chunk.subarray(0, take));
      if (take < chunk.length) h.pending = chunk.subarray(take);
      have += take;
    }
    if (have !== want) throw new CairnError('INTEGRITY_ERROR', `the stored image ended ${want - have} bytes early`);
    h.position = offset + have;
    this.bytesServed += have;
    this.#metrics?.bytesOut.inc({ transport: 'qssh' }, have);
    await this.#send(dataPacketHead(id, have), ...parts);
  }

  /** Releases every handle (channel closed). */
  async close(): Promise<void> {
    for (const h of this.#handles.values()) if (h.kind === 'file') await h.iterator?.return?.().catch(() => undefined);
    this.#handles.clear();
  }
}

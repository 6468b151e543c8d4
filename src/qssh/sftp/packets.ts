/**
 * SFTP version 3 packets (draft-ietf-secsh-filexfer-02), both directions: what clients send
 * and what servers answer. Every packet is `[u32 length][u8 type][body]`, big-endian. The
 * decoders check every length against the bytes present, require UTF-8 for paths and handles
 * (qssh's client insists on UTF-8 handles), and refuse trailing bytes; failures are
 * `QSSH_PROTOCOL_ERROR` with the reason.
 */
import { CairnError } from '../../errors.ts';

export const SFTP_VERSION = 3;

/** Request and response type numbers. */
export const FXP = {
  INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, LSTAT: 7, FSTAT: 8, SETSTAT: 9, FSETSTAT: 10, OPENDIR: 11, READDIR: 12,
  REMOVE: 13, MKDIR: 14, RMDIR: 15, REALPATH: 16, STAT: 17, RENAME: 18, READLINK: 19, SYMLINK: 20,
  STATUS: 101, HANDLE: 102, DATA: 103, NAME: 104, ATTRS: 105, EXTENDED: 200, EXTENDED_REPLY: 201,
} as const;

/** Status codes. */
export const FX = { OK: 0, EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, NO_CONNECTION: 6, CONNECTION_LOST: 7, OP_UNSUPPORTED: 8 } as const;

/** Open flags. */
export const PFLAG = { READ: 0x01, WRITE: 0x02, APPEND: 0x04, CREAT: 0x08, TRUNC: 0x10, EXCL: 0x20 } as const;

/** File attributes (only the fields SFTP v3 defines). */
export interface Attrs {
  size?: number;
  uid?: number;
  gid?: number;
  permissions?: number;
  atime?: number;
  mtime?: number;
  extended?: Array<[string, Uint8Array]>;
}

export type SftpRequest =
  | { type: 'init'; version: number }
  | { type: 'open'; id: number; path: string; pflags: number; attrs: Attrs }
  | { type: 'close' | 'fstat' | 'readdir'; id: number; handle: string }
  | { type: 'read'; id: number; handle: string; offset: number; length: number }
  | { type: 'write'; id: number; handle: string; offset: number; data: Uint8Array }
  | { type: 'lstat' | 'stat' | 'opendir' | 'remove' | 'rmdir' | 'realpath' | 'readlink'; id: number; path: string }
  | { type: 'setstat' | 'mkdir'; id: number; path: string; attrs: Attrs }
  | { type: 'fsetstat'; id: number; handle: string; attrs: Attrs }
  | { type: 'rename' | 'symlink'; id: number; path: string; target: string }
  | { type: 'extended'; id: number; request: string; data: Uint8Array };

export interface NameEntry {
  filename: string;
  longname: string;
  attrs: Attrs;
}

export type SftpResponse =
  | { type: 'version'; version: number; extensions: Array<[string, string]> }
  | { type: 'status'; id: number; code: number; message: string }
  | { type: 'handle'; id: number; handle: string }
  | { type: 'data'; id: number; data: Uint8Array }
  | { type: 'name'; id: number; entries: NameEntry[] }
  | { type: 'attrs'; id: number; attrs: Attrs };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bad(message: string): CairnError {
  return new CairnError('QSSH_PROTOCOL_ERROR', `malformed SFTP packet: ${message}`);
}

class Reader {
  readonly #b: Buffer;
  #at: number;
  constructor(b: Buffer, at: number) {
    this.#b = b;
    this.#at = at;
  }
  #need(n: number, what: string): number {
    if (n > this.#b.length - this.#at) throw bad(`${what} needs ${n} bytes, ${this.#b.length - this.#at} left`);
    const at = this.#at;
    this.#at += n;
    return at;
  }
  u32(what: string): number {
    return this.#b.readUInt32BE(this.#need(4, what));
  }
  u64(what: string): number {
    const v = this.#b.readBigUInt64BE(this.#need(8, what));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${what} ${v} out of range`);
    return Number(v);
  }
  bytes(what: string): Buffer {
    const n = this.u32(`${what} length`);
    const at = this.#need(n, what);
    return this.#b.subarray(at, at + n);
  }
  text(what: string): string {
    try {
      return utf8.decode(this.bytes(what));
    } catch (error) {
      if (error instanceof CairnError) throw error;
      throw bad(`${what} is not UTF-8`);
    }
  }
  attrs(): Attrs {
    const flags = this.u32('attrs flags');
    if (flags & ~0x8000000f) throw bad(`unknown attribute flags 0x${flags.toString(16)}`);
    const a: Attrs = {};
    if (flags & 0x1) a.size = this.u64('size');
    if (flags & 0x2) {
      a.uid = this.u32('uid');
      a.gid = this.u32('gid');
    }
    if (flags & 0x4) a.permissions = this.u32('permissions');
    if (flags & 0x8) {
      a.atime = this.u32('atime');
      a.mtime = this.u32('mtime');
    }
    if (flags & 0x80000000) {
      const count = this.u32('extended count');
      a.extended = [];
      for (let i = 0; i < count; i++) a.extended.push([this.text('extended type'), this.bytes('extended data')]);
    }
    return a;
  }
  end(what: string): void {
    if (this.#at !== this.#b.length) throw bad(`${this.#b.length - this.#at} trailing bytes after ${what}`);
  }
}

class Writer {
  readonly parts: Buffer[] = [];
  #n = 0;
  u8(v: number): this {
    return this.raw(Buffer.of(v));
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0, 0);
    return this.raw(b);
  }
  u64(v: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(v), 0);
    return this.raw(b);
  }
  raw(b: Uint8Array): this {
    this.parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    this.#n += b.length;
    return this;
  }
  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  text(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }
  attrs(a: Attrs): this {
    let flags = 0;
    if (a.size !== undefined) flags |= 0x1;
    if (a.uid !== undefined) flags |= 0x2;
    if (a.permissions !== undefined) flags |= 0x4;
    if (a.atime !== undefined || a.mtime !== undefined) flags |= 0x8;
    if (a.extended?.length) flags |= 0x80000000;
    this.u32(flags);
    if (a.size !== undefined) this.u64(a.size);
    if (a.uid !== undefined) this.u32(a.uid).u32(a.gid ?? 0);
    if (a.permissions !== undefined) this.u32(a.permissions);
    if (flags & 0x8) this.u32(a.atime ?? a.mtime ?? 0).u32(a.mtime ?? a.atime ?? 0);
    if (a.extended?.length) {
      this.u32(a.extended.length);
      for (const [t, d] of a.extended) this.text(t).bytes(d);
    }
    return this;
  }
  /** The packet: length prefix + everything written. */
  packet(): Buffer {
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(this.#n, 0);
    return Buffer.concat([head, ...this.parts], 4 + this.#n);
  }
}

function body(packet: Buffer): { type: number; r: Reader } {
  if (packet.length < 5) throw bad(`${packet.length} bytes is shorter than a packet header`);
  const length = packet.readUInt32BE(0);
  if (length !== packet.length - 4) throw bad(`length field ${length} does not match the ${packet.length - 4} bytes present`);
  return { type: packet[4]!, r: new Reader(packet, 5) };
}

const PATH_REQUESTS = { [FXP.LSTAT]: 'lstat', [FXP.STAT]: 'stat', [FXP.OPENDIR]: 'opendir', [FXP.REMOVE]: 'remove', [FXP.RMDIR]: 'rmdir', [FXP.REALPATH]: 'realpath', [FXP.READLINK]: 'readlink' } as const;
const HANDLE_REQUESTS = { [FXP.CLOSE]: 'close', [FXP.FSTAT]: 'fstat', [FXP.READDIR]: 'readdir' } as const;

/**
 * Decodes a client request packet (length prefix included). Unknown types come back as
 * `{ type: 'unknown' }` with the id when one is present, so the server can answer
 * OP_UNSUPPORTED instead of dropping the session.
 */
export function decodeRequest(packet: Buffer): SftpRequest | { type: 'unknown'; code: number; id: number | undefined } {
  const { type, r } = body(packet);
  let out: SftpRequest | { type: 'unknown'; code: number; id: number | undefined };
  if (type === FXP.INIT) {
    out = { type: 'init', version: r.u32('version') };
    return out; // INIT may carry extension pairs; they are ignored
  }
  const known = type === FXP.OPEN || type === FXP.READ || type === FXP.WRITE || type === FXP.SETSTAT || type === FXP.MKDIR || type === FXP.FSETSTAT || type === FXP.RENAME || type === FXP.SYMLINK || type === FXP.EXTENDED || type in PATH_REQUESTS || type in HANDLE_REQUESTS;
  if (!known) return { type: 'unknown', code: type, id: packet.length >= 9 ? packet.readUInt32BE(5) : undefined };
  const id = r.u32('request id');
  if (type === FXP.OPEN) out = { type: 'open', id, path: r.text('filename'), pflags: r.u32('pflags'), attrs: r.attrs() };
  else if (type === FXP.READ) out = { type: 'read', id, handle: r.text('handle'), offset: r.u64('offset'), length: r.u32('length') };
  else if (type === FXP.WRITE) out = { type: 'write', id, handle: r.text('handle'), offset: r.u64('offset'), data: r.bytes('data') };
  else if (type === FXP.SETSTAT || type === FXP.MKDIR) out = { type: type === FXP.MKDIR ? 'mkdir' : 'setstat', id, path: r.text('path'), attrs: r.attrs() };
  else if (type === FXP.FSETSTAT) out = { type: 'fsetstat', id, handle: r.text('handle'), attrs: r.attrs() };
  else if (type === FXP.RENAME || type === FXP.SYMLINK) out = { type: type === FXP.RENAME ? 'rename' : 'symlink', id, path: r.text('path'), target: r.text('target') };
  else if (type === FXP.EXTENDED) return { type: 'extended', id, request: r.text('extended request'), data: Buffer.alloc(0) };
  else if (type in PATH_REQUESTS) out = { type: PATH_REQUESTS[type as keyof typeof PATH_REQUESTS], id, path: r.text('path') };
  else out = { type: HANDLE_REQUESTS[type as keyof typeof HANDLE_REQUESTS], id, handle: r.text('handle') };
  r.end(out.type);
  return out;
}

/** Encodes a client request. */
export function encodeRequest(req: SftpRequest): Buffer {
  const w = new Writer();
  switch (req.type) {
    case 'init': return w.u8(FXP.INIT).u32(req.version).packet();
    case 'open': return w.u8(FXP.OPEN).u32(req.id).text(req.path).u32(req.pflags).attrs(req.attrs).packet();
    case 'read': return w.u8(FXP.READ).u32(req.id).text(req.handle).u64(req.offset).u32(req.length).packet();
    case 'write': return w.u8(FXP.WRITE).u32(req.id).text(req.handle).u64(req.offset).bytes(req.data).packet();
    case 'close': case 'fstat': case 'readdir':
      return w.u8({ close: FXP.CLOSE, fstat: FXP.FSTAT, readdir: FXP.READDIR }[req.type]).u32(req.id).text(req.handle).packet();
    case 'lstat': case 'stat': case 'opendir': case 'remove': case 'rmdir': case 'realpath': case 'readlink':
      return w.u8({ lstat: FXP.LSTAT, stat: FXP.STAT, opendir: FXP.OPENDIR, remove: FXP.REMOVE, rmdir: FXP.RMDIR, realpath: FXP.REALPATH, readlink: FXP.READLINK }[req.type]).u32(req.id).text(req.path).packet();
    case 'setstat': case 'mkdir':
      return w.u8(req.type === 'mkdir' ? FXP.MKDIR : FXP.SETSTAT).u32(req.id).text(req.path).attrs(req.attrs).packet();
    case 'fsetstat': return w.u8(FXP.FSETSTAT).u32(req.id).text(req.handle).attrs(req.attrs).packet();
    case 'rename': case 'symlink':
      return w.u8(req.type === 'rename' ? FXP.RENAME : FXP.SYMLINK).u32(req.id).text(req.path).text(req.target).packet();
    case 'extended': return w.u8(FXP.EXTENDED).u32(req.id).text(req.request).raw(req.data).packet();
  }
}

/** Encodes a server response. DATA is split so the payload is not copied twice. */
export function encodeResponse(res: SftpResponse): Buffer {
  const w = new Writer();
  switch (res.type) {
    case 'version': {
      w.u8(FXP.VERSION).u32(res.version);
      for (const [k, v] of res.extensions) w.text(k).text(v);
      return w.packet();
    }
    case 'status': return w.u8(FXP.STATUS).u32(res.id).u32(res.code).text(res.message).text('en').packet();
    case 'handle': return w.u8(FXP.HANDLE).u32(res.id).text(res.handle).packet();
    case 'data': return w.u8(FXP.DATA).u32(res.id).bytes(res.data).packet();
    case 'name': {
      w.u8(FXP.NAME).u32(res.id).u32(res.entries.length);
      for (const e of res.entries) w.text(e.filename).text(e.longname).attrs(e.attrs);
      return w.packet();
    }
    case 'attrs': return w.u8(FXP.ATTRS).u32(res.id).attrs(res.attrs).packet();
  }
}

/** The 13-byte head of a DATA packet carrying `length` bytes (the payload follows). */
export function dataPacketHead(id: number, length: number): Buffer {
  const head = Buffer.allocUnsafe(13);
  head.writeUInt32BE(9 + length, 0);
  head[4] = FXP.DATA;
  head.writeUInt32BE(id, 5);
  head.writeUInt32BE(length, 9);
  return head;
}

/** Decodes a server response packet. */
export function decodeResponse(packet: Buffer): SftpResponse {
  const { type, r } = body(packet);
  let out: SftpResponse;
  switch (type) {
    case FXP.VERSION: {
      const version = r.u32('version');
      const extensions: Array<[string, string]> = [];
      while (packet.length - 5 - 4 > 0 && extensions.length < 64) {
        try {
          extensions.push([r.text('extension name'), r.text('extension data')]);
        } catch {
          break;
        }
      }
      return { type: 'version', version, extensions };
    }
    case FXP.STATUS: {
      const id = r.u32('id');
      const code = r.u32('code');
      // Some servers omit message and language.
      let message = '';
      try {
        message = r.text('message');
        r.text('language');
      } catch {
        // tolerated
      }
      return { type: 'status', id, code, message };
    }
    case FXP.HANDLE: out = { type: 'handle', id: r.u32('id'), handle: r.text('handle') }; break;
    case FXP.DATA: out = { type: 'data', id: r.u32('id'), data: r.bytes('data') }; break;
    case FXP.NAME: {
      const id = r.u32('id');
      const count = r.u32('count');
      if (count > packet.length) throw bad(`NAME count ${count} exceeds the packet`);
      const entries: NameEntry[] = [];
      for (let i = 0; i < count; i++) entries.push({ filename: r.text('filename'), longname: r.text('longname'), attrs: r.attrs() });
      out = { type: 'name', id, entries };
      break;
    }
    case FXP.ATTRS: out = { type: 'attrs', id: r.u32('id'), attrs: r.attrs() }; break;
    default: throw bad(`unknown response type ${type}`);
  }
  r.end(out.type);
  return out;
}

/**
 * Reassembles SFTP packets from channel data (a Data message may hold part of a packet or
 * several). A length over `maxPacket` is refused before buffering it.
 */
export class PacketReader {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(maxPacket: number) {
    this.#max = maxPacket;
  }

  push(data: Uint8Array): void {
    this.#chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.#size += data.length;
  }

  get buffered(): number {
    return this.#size;
  }

  /** The next whole packet (length prefix included), if one has arrived. */
  next(): Buffer | undefined {
    if (this.#size < 4) return undefined;
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#size)];
    const all = this.#chunks[0]!;
    const length = all.readUInt32BE(0);
    if (length > this.#max) throw bad(`packet length ${length} exceeds the ${this.#max}-byte limit`);
    if (length < 1) throw bad('packet length 0');
    if (this.#size < 4 + length) return undefined;
    const packet = all.subarray(0, 4 + length);
    const rest = all.subarray(4 + length);
    this.#chunks = rest.length ? [rest] : [];
    this.#size = rest.length;
    return packet;
  }
}

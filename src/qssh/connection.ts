/**
 * One qssh connection's framing and record layer over a TCP socket.
 *
 * Before the handshake completes, frames are `[u32 BE length][bincode message]`. After it, each
 * frame is `[u32 BE length][12-byte random nonce][AES-256-GCM(u64 BE sequence ‖ message) ‖ tag]`
 * (no AAD, compression off), sequence numbers start at 0 per direction and must match exactly:
 * a replayed, skipped or reordered frame is a protocol error. A frame longer than 1 MiB is
 * refused before anything is allocated for it.
 *
 * Frames are parsed lazily, one per {@link QsshConnection.next} call, because the record mode
 * changes between two frames that may arrive in the same TCP segment (the client's KeyExchange
 * and its encrypted Auth). The socket is paused while more than {@link MAX_BUFFERED} bytes wait,
 * so a peer cannot make the server buffer without bound.
 *
 * In-band rekey (protocol 0.2) is handled here for both roles, as qssh does it: `RekeyInit{ek}`,
 * `RekeyReply{ct}` + `NewKeys`, `NewKeys`; each side switches its send key right after writing
 * its own `NewKeys` and its receive key right after reading the peer's, and both reset that
 * direction's sequence number. Pings are answered here too.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { drainedOrClosed } from '../archive/index.ts';
import { CairnError } from '../errors.ts';
import { deriveRekeyKeys } from './key-schedule.ts';
import { rekeyInit, rekeyRespond } from './kex.ts';
import { DISCONNECT, decodeMessage, encodeMessage, type Message } from './messages.ts';

/** Largest frame (length field value) accepted or sent, as in qssh. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Record overhead around a message: nonce, sequence number, tag. */
export const RECORD_OVERHEAD = 12 + 8 + 16;
/** Largest `data` in one Channel Data message (leaves room for the message's own fields). */
export const MAX_CHANNEL_DATA = MAX_FRAME_BYTES - RECORD_OVERHEAD - 64;
/** Bytes read ahead from the socket before it is paused. */
const MAX_BUFFERED = 2 * MAX_FRAME_BYTES + 64 * 1024;
/** Outgoing bytes queued in the socket before senders wait for 'drain'. */
const SEND_HIGH_WATER = 4 * 1024 * 1024;

function protocolError(message: string, cause?: unknown): CairnError {
  return new CairnError('QSSH_PROTOCOL_ERROR', message, cause === undefined ? {} : { cause });
}

interface Direction {
  key: Buffer;
  seq: bigint;
}

/** A received message and, for handshake messages, its exact encoding (for transcripts). */
export interface Received {
  readonly message: Message;
  readonly bytes: Uint8Array;
}

/** Options of a connection. */
export interface ConnectionOptions {
  /** Start a rekey after this many frames sent under one key (undefined: never initiate). */
  readonly rekeyAfterFrames?: number;
  /** Called when a rekey completes in both directions. */
  readonly onRekey?: (initiatedHere: boolean) => void;
}

/** A qssh connection (either role). */
export class QsshConnection {
  readonly socket: Socket;
  readonly #options: ConnectionOptions;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  #failure: CairnError | undefined;
  #send: Direction | undefined;
  #recv: Direction | undefined;
  #epoch: Buffer | undefined;
  #framesSinceKey = 0;
  #rekeyInit: { finish(ct: Uint8Array): Buffer } | undefined;
  #rekeyInitiatedHere = false;
  #pendingRecv: Buffer | undefined;
  #rekeys = 0;

  constructor(socket: Socket, options: ConnectionOptions = {}) {
    this.socket = socket;
    this.#options = options;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered > MAX_BUFFERED) socket.pause();
      this.#notify();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      // A peer that resets the connection ended it, like one that closes it: the same code as a
      // close mid-conversation, so clients retry both alike. Other socket failures are local I/O.
      this.#failure ??= code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' ? protocolError(`connection reset by peer (${code})`, error) : new CairnError('IO_ERROR', `socket error: ${code ?? error.message}`, { cause: error });
      this.#notify();
    });
  }

  /** Completed rekeys. */
  get rekeys(): number {
    return this.#rekeys;
  }

  /** True when the peer closed the connection cleanly between frames. */
  get closedByPeer(): boolean {
    return this.#ended && this.#buffered === 0;
  }

  get encrypted(): boolean {
    return this.#send !== undefined;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Takes `count` bytes off the front of the receive buffer. */
  #take(count: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= count) {
      out = first.subarray(0, count);
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
    } else {
      out = Buffer.allocUnsafe(count);
      let at = 0;
      while (at < count) {
        const chunk = this.#chunks[0]!;
        const n = Math.min(chunk.length, count - at);
        chunk.copy(out, at, 0, n);
        at += n;
        if (n === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(n);
      }
    }
    this.#buffered -= count;
    if (this.#buffered <= MAX_BUFFERED && this.socket.isPaused()) this.socket.resume();
    return out;
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.concat(this.#chunks, 4);
    return head.readUInt32BE(0);
  }

  /** One whole frame's body from the buffer, or undefined if it has not fully arrived. */
  #frame(): Buffer | undefined {
    if (this.#buffered < 4) return undefined;
    const length = this.#peekLength();
    if (length > MAX_FRAME_BYTES) throw protocolError(`frame length ${length} exceeds the 1 MiB limit`);
    if (this.#recv && length < RECORD_OVERHEAD) throw protocolError(`encrypted frame of ${length} bytes is too short`);
    if (this.#buffered < 4 + length) return undefined;
    this.#take(4);
    return this.#take(length);
  }

  #open(frame: Buffer): Buffer {
    const recv = this.#recv!;
    const decipher = createDecipheriv('aes-256-gcm', recv.key, frame.subarray(0, 12));
    decipher.setAuthTag(frame.subarray(frame.length - 16));
    // GCM's final() only checks the tag (it returns no bytes), so update()'s output is the plaintext.
    const plain = decipher.update(frame.subarray(12, frame.length - 16));
    try {
      decipher.final();
    } catch (error) {
      throw protocolError('frame failed authentication (bad tag, wrong key or corrupted bytes)', error);
    }
    const seq = plain.readBigUInt64BE(0);
    if (seq !== recv.seq) throw protocolError(`sequence number ${seq} where ${recv.seq} was expected (replayed, skipped or reordered frame)`);
    recv.seq += 1n;
    return plain.subarray(8);
  }

  /**
   * The next message from the peer. Rekey frames and pings are handled here and never
   * returned. Throws `QSSH_PROTOCOL_ERROR` for anything malformed and when the peer has gone.
   */
  async next(): Promise<Received> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      let frame: Buffer | undefined;
      try {
        frame = this.#frame();
      } catch (error) {
        this.#failure = error as CairnError;
        throw error;
      }
      if (frame) {
        try {
          const bytes = this.#recv ? this.#open(frame) : frame;
          const message = decodeMessage(bytes);
          if (this.#recv && this.#control(message)) continue;
          return { message, bytes };
        } catch (error) {
          this.#failure = error instanceof CairnError ? error : protocolError('failed to process a frame', error);
          throw this.#failure;
        }
      }
      if (this.#ended) throw protocolError(this.#buffered > 0 ? `connection closed mid-frame (${this.#buffered} bytes of a partial frame)` : 'connection closed by peer');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Handles rekey and keepalive messages; true when consumed. */
  #control(message: Message): boolean {
    if (message.kind === 'Ping') {
      this.#write(encodeMessage({ kind: 'Pong', value: message.value }));
      return true;
    }
    if (message.kind === 'RekeyInit') {
      if (this.#rekeyInit || this.#pendingRecv) throw protocolError('RekeyInit while a rekey is in progress');
      const { secret, ciphertext } = rekeyRespond(message.kemEk);
      const keys = deriveRekeyKeys(this.#epoch!, secret);
      this.#epoch = keys.epoch;
      this.#pendingRecv = keys.initiatorWrite;
      this.#rekeyInitiatedHere = false;
      this.#write(encodeMessage({ kind: 'RekeyReply', kemCt: ciphertext }));
      this.#switchSend(keys.responderWrite);
      return true;
    }
    if (message.kind === 'RekeyReply') {
      const init = this.#rekeyInit;
      if (!init) throw protocolError('RekeyReply without a pending rekey');
      this.#rekeyInit = undefined;
      const keys = deriveRekeyKeys(this.#epoch!, init.finish(message.kemCt));
      this.#epoch = keys.epoch;
      this.#pendingRecv = keys.responderWrite;
      this.#switchSend(keys.initiatorWrite);
      return true;
    }
    if (message.kind === 'NewKeys') {
      if (!this.#pendingRecv) throw protocolError('NewKeys without a pending rekey');
      this.#recv = { key: this.#pendingRecv, seq: 0n };
      this.#pendingRecv = undefined;
      this.#rekeys += 1;
      this.#options.onRekey?.(this.#rekeyInitiatedHere);
      return true;
    }
    if (message.kind === 'Rekey') throw protocolError('legacy Rekey (protocol 0.1) is refused');
    return false;
  }

  /** Writes NewKeys under the old key, then switches the send direction to `key`. */
  #switchSend(key: Buffer): void {
    this.#write(encodeMessage({ kind: 'NewKeys' }));
    this.#send = { key, seq: 0n };
    this.#framesSinceKey = 0;
  }

  /** Switches to the record layer with the handshake's keys. */
  startEncryption(sendKey: Buffer, recvKey: Buffer, epoch: Buffer): void {
    this.#send = { key: sendKey, seq: 0n };
    this.#recv = { key: recvKey, seq: 0n };
    this.#epoch = epoch;
  }

  /** Starts an in-band rekey as initiator (no-op while one is in progress). */
  initiateRekey(): void {
    if (!this.#send || this.#rekeyInit || this.#pendingRecv) return;
    const init = rekeyInit();
    this.#rekeyInit = init;
    this.#rekeyInitiatedHere = true;
    this.#write(encodeMessage({ kind: 'RekeyInit', kemEk: init.ek }));
  }

  /** Seals and writes one record (`parts` concatenated are the message encoding). */
  #write(...parts: Uint8Array[]): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (!this.#send) {
      const length = parts.reduce((n, p) => n + p.length, 0);
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32BE(length, 0);
      this.socket.write(Buffer.concat([head, ...parts]));
      return;
    }
    const send = this.#send;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', send.key, nonce);
    const head = Buffer.allocUnsafe(24);
    const length = parts.reduce((n, p) => n + p.length, 0) + RECORD_OVERHEAD;
    if (length > MAX_FRAME_BYTES) throw new RangeError(`frame of ${length} bytes exceeds the 1 MiB limit`);
    head.writeUInt32BE(length, 0);
    nonce.copy(head, 4);
    head.writeBigUInt64BE(send.seq, 16);
    send.seq += 1n;
    const out: Buffer[] = [head.subarray(0, 16), cipher.update(head.subarray(16))];
    for (const part of parts) out.push(cipher.update(part));
    out.push(cipher.final(), cipher.getAuthTag());
    this.socket.cork();
    for (const b of out) if (b.length > 0) this.socket.write(b);
    this.socket.uncork();
    this.#framesSinceKey += 1;
    const limit = this.#options.rekeyAfterFrames;
    if (limit !== undefined && this.#framesSinceKey >= limit) this.initiateRekey();
  }

  async #drained(): Promise<void> {
    if (this.socket.writableLength <= SEND_HIGH_WATER || this.socket.destroyed) return;
    await drainedOrClosed(this.socket);
  }

  /** Sends a message (raw before {@link startEncryption}, encrypted after), with backpressure. */
  async send(message: Message): Promise<void> {
    this.#write(encodeMessage(message));
    await this.#drained();
  }

  /** Sends `Channel(Data)` whose data is `parts` concatenated, without copying them first. */
  async sendData(channelId: number, ...parts: Uint8Array[]): Promise<void> {
    const head = Buffer.allocUnsafe(20);
    head.writeUInt32LE(5, 0); // Message::Channel
    head.writeUInt32LE(2, 4); // ChannelMessage::Data
    head.writeUInt32LE(channelId, 8);
    head.writeBigUInt64LE(BigInt(parts.reduce((n, p) => n + p.length, 0)), 12);
    this.#write(head, ...parts);
    await this.#drained();
  }

  /** Sends a Disconnect (best effort) and closes the socket. */
  disconnect(reasonCode: number, description: string): void {
    if (!this.socket.destroyed && this.socket.writable) {
      try {
        this.#write(encodeMessage({ kind: 'Disconnect', reasonCode, description }));
      } catch {
        // closing anyway
      }
    }
    this.close();
  }

  /** Closes the socket, destroying it if the peer does not finish promptly. */
  close(): void {
    this.#failure ??= protocolError('connection closed');
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2_000).unref();
    this.#notify();
  }

  /** Tells the peer why the connection ends (authentication failures without the reason) and closes it. */
  disconnectFor(error: CairnError): void {
    if (error.code === 'QSSH_AUTH_FAILED') this.disconnect(DISCONNECT.AUTHENTICATION_FAILED, 'Authentication failed');
    else this.disconnect(DISCONNECT.PROTOCOL_ERROR, error.message);
  }
}

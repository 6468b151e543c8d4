/**
 * The subset of bincode 1.x (legacy configuration: little-endian, fixed-width integers) that
 * qssh's messages use: enum variants as u32 indices, `Vec<u8>`/`String` as u64 length + bytes,
 * `Option` as a one-byte tag, fixed arrays raw, `bool` as one byte (0/1 only).
 *
 * The reader is strict: every length is checked against the bytes that remain before anything
 * is allocated, booleans and option tags other than 0/1 are refused, strings must be UTF-8, and
 * {@link BincodeReader.finish} refuses trailing bytes. Every failure is a `QSSH_PROTOCOL_ERROR`.
 */
import { CairnError } from '../errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function malformed(message: string): CairnError {
  return new CairnError('QSSH_PROTOCOL_ERROR', `malformed message: ${message}`);
}

/** Appends bincode values to a growing buffer. */
export class BincodeWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(initialCapacity = 256) {
    this.#buffer = Buffer.allocUnsafe(initialCapacity);
  }

  #reserve(bytes: number): number {
    const at = this.#length;
    if (at + bytes > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, at + bytes));
      this.#buffer.copy(grown, 0, 0, at);
      this.#buffer = grown;
    }
    this.#length += bytes;
    return at;
  }

  u8(value: number): this {
    const at = this.#reserve(1);
    this.#buffer.writeUInt8(value, at);
    return this;
  }

  u16(value: number): this {
    const at = this.#reserve(2);
    this.#buffer.writeUInt16LE(value, at);
    return this;
  }

  u32(value: number): this {
    const at = this.#reserve(4);
    this.#buffer.writeUInt32LE(value, at);
    return this;
  }

  u64(value: bigint | number): this {
    const at = this.#reserve(8);
    this.#buffer.writeBigUInt64LE(BigInt(value), at);
    return this;
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  /** A fixed-size array (`[u8; N]`): raw bytes, no length. */
  raw(bytes: Uint8Array): this {
    const at = this.#reserve(bytes.length); // grows #buffer: read it after
    this.#buffer.set(bytes, at);
    return this;
  }

  /** `Vec<u8>`: u64 length, then the bytes. */
  bytes(bytes: Uint8Array): this {
    return this.u64(bytes.length).raw(bytes);
  }

  string(value: string): this {
    return this.bytes(encoder.encode(value));
  }

  option<T>(value: T | undefined, write: (w: this, v: T) => void): this {
    if (value === undefined) return this.u8(0);
    this.u8(1);
    write(this, value);
    return this;
  }

  /** `Vec<T>`: u64 count, then each element. */
  seq<T>(values: readonly T[], write: (w: this, v: T) => void): this {
    this.u64(values.length);
    for (const v of values) write(this, v);
    return this;
  }

  /** The encoded bytes (a view of the internal buffer). */
  finish(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }
}

/** Reads bincode values from a byte array, refusing anything malformed. */
export class BincodeReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #take(count: number, what: string): number {
    if (count > this.remaining) throw malformed(`${what} needs ${count} bytes, ${this.remaining} left`);
    const at = this.#offset;
    this.#offset += count;
    return at;
  }

  u8(what = 'u8'): number {
    return this.#view.getUint8(this.#take(1, what));
  }

  u16(what = 'u16'): number {
    return this.#view.getUint16(this.#take(2, what), true);
  }

  u32(what = 'u32'): number {
    return this.#view.getUint32(this.#take(4, what), true);
  }

  u64(what = 'u64'): bigint {
    return this.#view.getBigUint64(this.#take(8, what), true);
  }

  bool(what = 'bool'): boolean {
    const v = this.u8(what);
    if (v > 1) throw malformed(`${what} is ${v}, not a boolean`);
    return v === 1;
  }

  raw(count: number, what = 'bytes'): Uint8Array {
    const at = this.#take(count, what);
    return this.#bytes.subarray(at, at + count);
  }

  /** A length prefix, checked against what remains (each element takes at least `minElement` bytes). */
  length(what: string, minElement = 1): number {
    const n = this.u64(`${what} length`);
    if (n > BigInt(Math.floor(this.remaining / Math.max(minElement, 1)))) throw malformed(`${what} length ${n} exceeds the ${this.remaining} bytes left`);
    return Number(n);
  }

  bytes(what = 'bytes'): Uint8Array {
    return this.raw(this.length(what), what);
  }

  string(what = 'string'): string {
    const bytes = this.bytes(what);
    try {
      return utf8.decode(bytes);
    } catch {
      throw malformed(`${what} is not UTF-8`);
    }
  }

  option<T>(read: (r: this) => T, what = 'option'): T | undefined {
    const tag = this.u8(`${what} tag`);
    if (tag === 0) return undefined;
    if (tag !== 1) throw malformed(`${what} tag is ${tag}`);
    return read(this);
  }

  seq<T>(read: (r: this) => T, what: string, minElement = 1): T[] {
    const n = this.length(what, minElement);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }

  /** An enum variant index below `count`. */
  variant(what: string, count: number): number {
    const v = this.u32(`${what} variant`);
    if (v >= count) throw malformed(`unknown ${what} variant ${v}`);
    return v;
  }

  /** Refuses trailing bytes. */
  finish(what: string): void {
    if (this.remaining !== 0) throw malformed(`${this.remaining} trailing bytes after ${what}`);
  }
}

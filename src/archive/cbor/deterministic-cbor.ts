/**
 * Deterministic CBOR (RFC 8949 §4.2.1 "core deterministic encoding") for Cairn's records.
 *
 * Cairn's data model is deliberately small: unsigned and negative integers within
 * ±(2^53 − 1), byte strings, UTF-8 text, arrays, maps with text keys, booleans and null.
 * No floats, tags, undefined or indefinite lengths. Encoding is done by cborg, which always
 * emits shortest-form heads and definite lengths, and sorts map keys length-first then
 * bytewise; for text keys that is exactly RFC 8949's bytewise order of the encoded keys.
 *
 * Decoding is strict and says precisely what is wrong (docs/FORMAT.md §2), in this order:
 *  1. the walk (cbor-budget.ts): not well-formed → `CBOR_MALFORMED`, over the budget →
 *     `CBOR_LIMIT_EXCEEDED`, whichever comes first;
 *  2. not valid (RFC 8949 §5.3.1: a text string that is not UTF-8; §5.6: a repeated map key) →
 *     `CBOR_MALFORMED`;
 *  3. outside Cairn's data model (a tag, a float, `undefined` or another simple value, an
 *     integer beyond ±(2^53 − 1), a map key that is not text) → `CBOR_UNSUPPORTED`;
 *  4. not the deterministic encoding (a head longer than needed, an indefinite length, map keys
 *     out of order) → `CBOR_NOT_CANONICAL`.
 * The decoder records the first fault of each kind in one pass and reports the highest.
 */
import { encode as cborgEncode } from 'cborg';
import { CairnError } from '../../errors.ts';
import { checkCborBudget, defaultCborBudget, type CborBudget } from './cbor-budget.ts';

/** A value in Cairn's CBOR data model. Maps decode to null-prototype plain objects. */
export type CborValue = number | string | boolean | null | Uint8Array | CborValue[] | { [key: string]: CborValue };

/** Maximum nesting depth accepted when encoding or decoding (Cairn's records use at most 4). */
export const MAX_CBOR_DEPTH = 32;

const textEncoder = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** RFC 8949 deterministic order of text keys: bytewise order of their encodings (length first). */
function compareTextKeys(a: string, b: string): number {
  const ea = textEncoder.encode(a);
  const eb = textEncoder.encode(b);
  return ea.length !== eb.length ? ea.length - eb.length : compareBytes(ea, eb);
}

function normalise(value: unknown, depth: number): unknown {
  if (depth > MAX_CBOR_DEPTH) throw new CairnError('CBOR_MALFORMED', `CBOR nesting deeper than ${MAX_CBOR_DEPTH}`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new CairnError('CBOR_UNSUPPORTED', `number ${value} is not an integer within ±(2^53 - 1)`);
    return value;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((v) => normalise(v, depth + 1));
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => compareTextKeys(a, b));
    return new Map(entries.map(([k, v]) => [k, normalise(v, depth + 1)]));
  }
  throw new CairnError('CBOR_UNSUPPORTED', `type ${typeof value} is outside Cairn's CBOR data model`);
}

/**
 * Encodes a value of Cairn's data model as deterministic CBOR. Object properties that are
 * `undefined` are omitted.
 */
export function encodeCbor(value: CborValue | Record<string, unknown>): Uint8Array {
  return cborgEncode(normalise(value, 0));
}

/** The first fault of each kind a strict read met (none: the item is deterministic CBOR of the model). */
interface Faults {
  invalid?: string;
  unsupported?: string;
  noncanonical?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** The least argument each head length (1, 2, 4, 8 extra bytes) is needed for. */
const MIN_FOR_ARGUMENT_BYTES = [24, 256, 65_536, 2 ** 32];

/**
 * Reads one item the walk found well-formed and within budget, building its value and
 * recording faults instead of stopping at the first (a later one may be of a higher kind).
 */
class StrictReader {
  readonly #bytes: Uint8Array;
  readonly #buffer: Buffer;
  readonly #view: DataView;
  #pos = 0;
  readonly faults: Faults = {};

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.#pos;
  }

  #fault(kind: keyof Faults, message: string): void {
    this.faults[kind] ??= message;
  }

  /** The next head: major type, additional information and argument (exact up to 2^53). */
  #head(): { major: number; info: number; argument: number } {
    const initial = this.#view.getUint8(this.#pos++);
    const major = initial >> 5;
    const info = initial & 0x1f;
    let argument = info;
    if (info >= 24 && info <= 27) {
      const size = 1 << (info - 24);
      if (size === 1) argument = this.#view.getUint8(this.#pos);
      else if (size === 2) argument = this.#view.getUint16(this.#pos);
      else if (size === 4) argument = this.#view.getUint32(this.#pos);
      else argument = this.#view.getUint32(this.#pos) * 2 ** 32 + this.#view.getUint32(this.#pos + 4);
      this.#pos += size;
      // Floats (major 7, 25–27) are outside the model whatever their width.
      if (major !== 7 && argument < (MIN_FOR_ARGUMENT_BYTES[info - 24] as number)) this.#fault('noncanonical', 'a head is longer than its value needs');
    }
    return { major, info, argument };
  }

  /** A definite string's bytes, or an indefinite one's chunks joined. */
  #string(info: number, argument: number): Uint8Array {
    if (info !== 31) {
      const out = new Uint8Array(this.#bytes.subarray(this.#pos, this.#pos + argument));
      this.#pos += argument;
      return out;
    }
    this.#fault('noncanonical', 'an indefinite-length string');
    const parts: Uint8Array[] = [];
    while (this.#bytes[this.#pos] !== 0xff) {
      const chunk = this.#head();
      parts.push(this.#string(chunk.info, chunk.argument));
    }
    this.#pos++;
    return new Uint8Array(Buffer.concat(parts));
  }

  /**
   * A definite text string, read in place: ASCII (map keys, enum values: most text in records and
   * queue states) is sliced without a decoder or a copy; anything else goes through the strict
   * UTF-8 decoder.
   */
  #definiteText(length: number): string {
    const start = this.#pos;
    const end = start + length;
    this.#pos = end;
    const bytes = this.#bytes;
    let ascii = true;
    for (let i = start; i < end; i++) {
      if ((bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    return ascii ? this.#buffer.toString('latin1', start, end) : this.#text(bytes.subarray(start, end));
  }

  #text(bytes: Uint8Array): string {
    try {
      return utf8.decode(bytes);
    } catch {
      this.#fault('invalid', 'a text string is not valid UTF-8');
      return '';
    }
  }

  read(): CborValue {
    const { major, info, argument } = this.#head();
    switch (major) {
      case 0:
        if (argument > Number.MAX_SAFE_INTEGER) this.#fault('unsupported', 'an integer beyond 2^53 - 1');
        return argument;
      case 1:
        if (argument > Number.MAX_SAFE_INTEGER - 1) this.#fault('unsupported', 'an integer beyond -(2^53 - 1)');
        return -1 - argument;
      case 2:
        return this.#string(info, argument);
      case 3: {
        if (info !== 31) return this.#definiteText(argument);
        // Each chunk of an indefinite text string must be valid UTF-8 on its own (RFC 8949 §3.2.3).
        this.#fault('noncanonical', 'an indefinite-length string');
        let text = '';
        while (this.#bytes[this.#pos] !== 0xff) {
          const chunk = this.#head();
          text += this.#text(this.#string(chunk.info, chunk.argument));
        }
        this.#pos++;
        return text;
      }
      case 4: {
        const out: CborValue[] = [];
        if (info === 31) {
          this.#fault('noncanonical', 'an indefinite-length array');
          while (this.#bytes[this.#pos] !== 0xff) out.push(this.read());
          this.#pos++;
        } else {
          for (let i = 0; i < argument; i++) out.push(this.read());
        }
        return out;
      }
      case 5:
        return this.#map(info === 31 ? -1 : argument);
      case 6:
        this.#fault('unsupported', `a tag (${argument})`);
        this.read();
        return null;
      default:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        this.#fault('unsupported', info >= 25 && info <= 27 ? 'a floating-point number' : info === 23 ? 'undefined' : `the simple value ${argument}`);
        return null;
    }
  }

  #map(count: number): { [key: string]: CborValue } {
    if (count === -1) this.#fault('noncanonical', 'an indefinite-length map');
    const out: { [key: string]: CborValue } = Object.create(null) as { [key: string]: CborValue };
    let previous: Uint8Array | undefined;
    for (let i = 0; count === -1 ? this.#bytes[this.#pos] !== 0xff : i < count; i++) {
      const start = this.#pos;
      const key = this.read();
      const encoded = this.#bytes.subarray(start, this.#pos);
      const value = this.read();
      if (typeof key !== 'string') {
        this.#fault('unsupported', 'a map key that is not a text string');
        continue;
      }
      if (Object.hasOwn(out, key)) this.#fault('invalid', `the map key "${key.slice(0, 40)}" appears twice`);
      else if (previous && compareBytes(previous, encoded) >= 0) this.#fault('noncanonical', 'map keys out of deterministic order');
      previous = encoded;
      out[key] = value;
    }
    if (count === -1) this.#pos++;
    return out;
  }
}

/**
 * Decodes exactly one deterministic-CBOR item that fills `bytes` completely. Before decoding,
 * the item is walked against `budget` (default: 1,024 items plus one per 64 bytes,
 * {@link MAX_CBOR_DEPTH} levels), so the decoder's work is bounded by the input size.
 * @throws CairnError `CBOR_MALFORMED` (not well-formed, or not valid: UTF-8, repeated keys),
 *   `CBOR_LIMIT_EXCEEDED` (over the budget), `CBOR_UNSUPPORTED` (outside the data model),
 *   `CBOR_NOT_CANONICAL` (not the deterministic encoding) — see the module comment for the order.
 */
export function decodeCbor(bytes: Uint8Array, budget: CborBudget = defaultCborBudget(bytes.length, MAX_CBOR_DEPTH)): CborValue {
  if (bytes.length === 0) throw new CairnError('CBOR_MALFORMED', 'CBOR is not well-formed: empty input');
  checkCborBudget(bytes, budget);
  const reader = new StrictReader(bytes);
  const value = reader.read();
  if (reader.position !== bytes.length) throw new CairnError('INTERNAL', 'CBOR reader and walk disagree on the item length');
  const { invalid, unsupported, noncanonical } = reader.faults;
  if (invalid) throw new CairnError('CBOR_MALFORMED', `CBOR is not valid: ${invalid}`);
  if (unsupported) throw new CairnError('CBOR_UNSUPPORTED', `CBOR holds ${unsupported}, outside Cairn's data model`);
  if (noncanonical) throw new CairnError('CBOR_NOT_CANONICAL', `CBOR is not in deterministic encoding: ${noncanonical}`);
  return value;
}

/** True for a decoded CBOR map (a null-prototype object produced by {@link decodeCbor}). */
export function isCborMap(value: CborValue | undefined): value is { [key: string]: CborValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

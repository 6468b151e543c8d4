/**
 * Deterministic CBOR (RFC 8949 §4.2.1 "core deterministic encoding") for Cairn's records.
 *
 * Cairn's data model is deliberately small: unsigned and negative integers within
 * ±(2^53 − 1), byte strings, UTF-8 text, arrays, maps with text keys, booleans and null.
 * No floats, tags, undefined or indefinite lengths. Encoding is done by cborg, which always
 * emits shortest-form heads and definite lengths, and sorts map keys length-first then
 * bytewise; for text keys that is exactly RFC 8949's bytewise order of the encoded keys.
 *
 * Decoding is strict: the bytes are decoded by cborg (into Maps, so no key can reach an
 * object prototype), converted back to the data model, and re-encoded; unless the re-encoding
 * is byte-for-byte identical to the input, the input was not deterministic (or used something
 * outside the model: duplicate keys, floats, over-long heads, indefinite lengths) and is
 * rejected with `CBOR_NOT_CANONICAL`. Bytes cborg cannot decode at all (truncation, tags,
 * reserved values) are `CBOR_MALFORMED`.
 */
import { decode as cborgDecode, encode as cborgEncode } from 'cborg';
import { CairnError } from '../../errors.ts';
import { checkCborBudget, defaultCborBudget, type CborBudget } from './cbor-budget.ts';

/** A value in Cairn's CBOR data model. Maps decode to null-prototype plain objects. */
export type CborValue = number | string | boolean | null | Uint8Array | CborValue[] | { [key: string]: CborValue };

const DECODE_OPTIONS = { useMaps: true, allowIndefinite: true, allowUndefined: true, allowInfinity: true, allowNaN: true, allowBigInt: true, strict: false, rejectDuplicateMapKeys: false } as const;

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
    if (!Number.isSafeInteger(value)) throw new CairnError('CBOR_NOT_CANONICAL', `number ${value} is not a safe integer`);
    return value;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((v) => normalise(v, depth + 1));
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => compareTextKeys(a, b));
    return new Map(entries.map(([k, v]) => [k, normalise(v, depth + 1)]));
  }
  throw new CairnError('CBOR_NOT_CANONICAL', `type ${typeof value} is outside Cairn's CBOR data model`);
}

/**
 * Encodes a value of Cairn's data model as deterministic CBOR. Object properties that are
 * `undefined` are omitted.
 */
export function encodeCbor(value: CborValue | Record<string, unknown>): Uint8Array {
  return cborgEncode(normalise(value, 0));
}

function toModel(value: unknown, depth: number): CborValue {
  if (depth > MAX_CBOR_DEPTH) throw new CairnError('CBOR_MALFORMED', `CBOR nesting deeper than ${MAX_CBOR_DEPTH}`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new CairnError('CBOR_NOT_CANONICAL', 'floating-point or out-of-range number in CBOR');
    return value;
  }
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(-Number.MAX_SAFE_INTEGER)) {
      throw new CairnError('CBOR_MALFORMED', 'integer outside ±(2^53 - 1) in CBOR');
    }
    return Number(value);
  }
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map((v) => toModel(v, depth + 1));
  if (value instanceof Map) {
    const out: Record<string, CborValue> = Object.create(null) as Record<string, CborValue>;
    for (const [k, v] of value as Map<unknown, unknown>) {
      if (typeof k !== 'string') throw new CairnError('CBOR_MALFORMED', 'CBOR map key is not a text string');
      out[k] = toModel(v, depth + 1);
    }
    return out;
  }
  throw new CairnError('CBOR_NOT_CANONICAL', 'CBOR item outside Cairn\'s data model (tag, float, undefined or simple value)');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/**
 * Decodes exactly one deterministic-CBOR item that fills `bytes` completely. Before decoding,
 * the item count and nesting are checked against `budget` (default: 1,024 items plus one per
 * 64 bytes, {@link MAX_CBOR_DEPTH} levels), so the decoder's work is bounded by the input size.
 * @throws CairnError `CBOR_MALFORMED` for bytes that are not CBOR of the data model,
 *   `CBOR_NOT_CANONICAL` for valid CBOR in a non-deterministic encoding,
 *   `CBOR_LIMIT_EXCEEDED` for input over the budget.
 */
export function decodeCbor(bytes: Uint8Array, budget: CborBudget = defaultCborBudget(bytes.length, MAX_CBOR_DEPTH)): CborValue {
  if (bytes.length === 0) throw new CairnError('CBOR_MALFORMED', 'empty CBOR input');
  checkCborBudget(bytes, budget);
  let decoded: unknown;
  try {
    decoded = cborgDecode(bytes, DECODE_OPTIONS);
  } catch (error) {
    throw new CairnError('CBOR_MALFORMED', `malformed CBOR: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const model = toModel(decoded, 0);
  let reencoded: Uint8Array;
  try {
    reencoded = encodeCbor(model);
  } catch (error) {
    throw new CairnError('CBOR_NOT_CANONICAL', 'CBOR cannot be re-encoded deterministically', { cause: error });
  }
  if (!equalBytes(reencoded, bytes)) {
    throw new CairnError('CBOR_NOT_CANONICAL', 'CBOR is not in deterministic encoding (key order, lengths, duplicates or item types)');
  }
  return model;
}

/** True for a decoded CBOR map (a null-prototype object produced by {@link decodeCbor}). */
export function isCborMap(value: CborValue | undefined): value is { [key: string]: CborValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

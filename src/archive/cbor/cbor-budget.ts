/**
 * A structural pass over CBOR bytes, before any decoder allocates: it walks the item heads
 * (skipping string payloads by their length, allocating nothing) and refuses input that nests
 * deeper than `maxDepth` or holds more than `maxItems` data items, with `CBOR_LIMIT_EXCEEDED`.
 *
 * Why: a decoder's memory and time grow with the number of items, not with the bytes — a 4 MiB
 * header of two million empty maps would otherwise become millions of objects. Cairn's records
 * are mostly large byte strings (signatures), so a budget proportional to their size is far
 * above anything genuine and far below anything that hurts.
 *
 * Anything the pass does not understand (reserved values, truncation, lengths past the end)
 * ends the pass without a verdict: the decoder then reports it with its own, precise error.
 */
import { CairnError } from '../../errors.ts';

/** Limits for {@link checkCborBudget}. */
export interface CborBudget {
  readonly maxItems: number;
  readonly maxDepth: number;
}

/** The default budget for `length` bytes: 1,024 items plus one per 64 bytes. */
export function defaultCborBudget(length: number, maxDepth: number): CborBudget {
  return { maxItems: 1024 + Math.floor(length / 64), maxDepth };
}

/** Throws `CBOR_LIMIT_EXCEEDED` when `bytes` nest deeper or hold more items than `budget`. */
export function checkCborBudget(bytes: Uint8Array, budget: CborBudget): void {
  let pos = 0;
  let items = 0;
  // remaining[d]: items still expected in the container open at depth d (-1: indefinite).
  const remaining: number[] = [1];
  const exceeded = (what: string): CairnError => new CairnError('CBOR_LIMIT_EXCEEDED', `CBOR ${what}`, { details: { ...budget, bytes: bytes.length } });
  while (remaining.length > 0) {
    const top = remaining.length - 1;
    const left = remaining[top] ?? 0;
    if (left === 0) {
      remaining.pop();
      continue;
    }
    if (pos >= bytes.length) return; // truncated: the decoder says so
    const initial = bytes[pos++] ?? 0;
    if (initial === 0xff) {
      if (left !== -1) return; // a stray break: the decoder says so
      remaining.pop();
      continue;
    }
    if (left !== -1) remaining[top] = left - 1;
    if (++items > budget.maxItems) throw exceeded(`holds more than ${budget.maxItems} items`);
    const major = initial >> 5;
    const info = initial & 0x1f;
    let argument = info;
    if (info >= 24 && info <= 27) {
      const size = 1 << (info - 24);
      if (pos + size > bytes.length) return;
      argument = 0;
      for (let i = 0; i < size; i++) argument = argument * 256 + (bytes[pos + i] ?? 0);
      pos += size;
    } else if (info >= 28 && info < 31) {
      return; // reserved
    }
    const indefinite = info === 31;
    switch (major) {
      case 2:
      case 3:
        if (indefinite) {
          if (remaining.length > budget.maxDepth) throw exceeded(`nests deeper than ${budget.maxDepth}`);
          remaining.push(-1);
        } else {
          if (argument > bytes.length - pos) return;
          pos += argument;
        }
        break;
      case 4:
      case 5: {
        const count = indefinite ? -1 : major === 5 ? argument * 2 : argument;
        if (count !== -1 && count > bytes.length - pos) return; // more items than bytes left
        if (remaining.length > budget.maxDepth) throw exceeded(`nests deeper than ${budget.maxDepth}`);
        remaining.push(count);
        break;
      }
      case 6:
        if (left !== -1) remaining[top] = left; // a tag wraps one more item: give back the slot it took
        break;
      default:
        break; // integers and simple values: the head is the whole item
    }
  }
}

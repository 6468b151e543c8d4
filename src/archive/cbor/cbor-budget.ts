/**
 * A structural pass over CBOR bytes, before any decoder allocates: it walks the item heads
 * (skipping string payloads by their length, allocating nothing) and refuses input that nests
 * deeper than `maxDepth` or holds more than `maxItems` data items, with `CBOR_LIMIT_EXCEEDED`.
 * It runs on a stream too ({@link CborBudgetScanner}): the image reader feeds it the header's
 * bytes as they arrive, so a hostile header is refused after its first few kilobytes instead of
 * after megabytes have been received and buffered.
 *
 * Why: a decoder's memory and time grow with the number of items, not with the bytes — a 4 MiB
 * header of four million empty maps would otherwise become millions of objects. Cairn's records
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

/** Checks one CBOR item arriving in pieces against a budget; `push` throws once it is exceeded. */
export class CborBudgetScanner {
  readonly #budget: CborBudget;
  #left: number; // bytes of the item not yet seen
  #items = 0;
  /** Items still expected in each open container, outermost first (-1: indefinite length). */
  readonly #open: number[] = [1];
  #skip = 0; // string payload bytes still to skip
  #head: number[] = []; // a head split across pushes
  #stopped = false;

  /** `totalBytes`: the item's length when known (lets declared counts be checked against it). */
  constructor(budget: CborBudget, totalBytes = Number.MAX_SAFE_INTEGER) {
    this.#budget = budget;
    this.#left = totalBytes;
  }

  /** Scans the next bytes of the item. */
  push(bytes: Uint8Array): void {
    let pos = 0;
    while (pos < bytes.length && !this.#stopped) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, bytes.length - pos);
        this.#skip -= n;
        this.#left -= n;
        pos += n;
        continue;
      }
      while (this.#open.length > 0 && this.#open.at(-1) === 0) this.#open.pop();
      if (this.#open.length === 0) {
        this.#stopped = true; // trailing bytes: the decoder says so
        return;
      }
      this.#head.push(bytes[pos++] ?? 0);
      this.#left--;
      const info = (this.#head[0] ?? 0) & 0x1f;
      if (info >= 24 && info <= 27 && this.#head.length < 1 + (1 << (info - 24))) continue;
      const head = this.#head;
      this.#head = [];
      this.#item(head);
    }
  }

  #exceeded(what: string): CairnError {
    return new CairnError('CBOR_LIMIT_EXCEEDED', `CBOR ${what}`, { details: { ...this.#budget } });
  }

  #item(head: readonly number[]): void {
    const initial = head[0] ?? 0;
    const top = this.#open.length - 1;
    const expected = this.#open[top] ?? 0;
    if (initial === 0xff) {
      if (expected !== -1) this.#stopped = true; // a stray break: the decoder says so
      else this.#open.pop();
      return;
    }
    if (expected !== -1) this.#open[top] = expected - 1;
    if (++this.#items > this.#budget.maxItems) throw this.#exceeded(`holds more than ${this.#budget.maxItems} items`);
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (info >= 28 && info < 31) {
      this.#stopped = true; // reserved
      return;
    }
    let argument = info;
    if (info >= 24 && info <= 27) {
      argument = 0;
      for (let i = 1; i < head.length; i++) argument = argument * 256 + (head[i] ?? 0);
    }
    const indefinite = info === 31;
    switch (major) {
      case 2:
      case 3:
        if (indefinite) this.#enter(-1);
        else if (argument > this.#left) this.#stopped = true; // longer than the input
        else this.#skip = argument;
        break;
      case 4:
      case 5: {
        const count = indefinite ? -1 : major === 5 ? argument * 2 : argument;
        if (count > this.#left) this.#stopped = true; // more items than bytes left
        else this.#enter(count);
        break;
      }
      case 6:
        if (expected !== -1) this.#open[top] = expected; // a tag wraps one more item: give back its slot
        break;
      default:
        break; // integers and simple values: the head is the whole item
    }
  }

  #enter(count: number): void {
    if (this.#open.length > this.#budget.maxDepth) throw this.#exceeded(`nests deeper than ${this.#budget.maxDepth}`);
    this.#open.push(count);
  }
}

/** Throws `CBOR_LIMIT_EXCEEDED` when `bytes` nest deeper or hold more items than `budget`. */
export function checkCborBudget(bytes: Uint8Array, budget: CborBudget): void {
  new CborBudgetScanner(budget, bytes.length).push(bytes);
}

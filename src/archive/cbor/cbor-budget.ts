/**
 * The first pass over CBOR bytes, before any decoder allocates (docs/FORMAT.md §2, "the walk"):
 * it reads the item heads in order (skipping string payloads by their length, allocating
 * nothing) and stops at the first of
 *  - a head that is not well-formed CBOR (RFC 8949 Appendix F): a reserved additional-information
 *    value (28–30), a two-byte simple value below 32, an indefinite length on an integer, tag or
 *    simple value, a break outside an indefinite-length item or inside an indefinite map after a
 *    key, a chunk of an indefinite-length string that is not a definite string of the same type,
 *    a length or count beyond the end of the item, or bytes after the item → `CBOR_MALFORMED`;
 *  - an item beyond the budget: more than `maxItems` data items, or nesting deeper than
 *    `maxDepth` → `CBOR_LIMIT_EXCEEDED`.
 * It runs on a stream too ({@link CborBudgetScanner}): the image reader feeds it the header's
 * bytes as they arrive, so a hostile header is refused after its first few kilobytes instead of
 * after megabytes have been received and buffered; input that ends early gets no verdict here
 * (the reader knows whether the file ended: `IMAGE_TRUNCATED`), and {@link CborBudgetScanner.end}
 * says `CBOR_MALFORMED` when complete input leaves the item unfinished.
 *
 * Why a budget: a decoder's memory and time grow with the number of items, not with the bytes —
 * a 4 MiB header of four million empty maps would otherwise become millions of objects.
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

/** An open container: what it is and how many items it still expects (-1: indefinite). */
interface Open {
  readonly kind: 'root' | 'array' | 'map' | 'bytes' | 'text';
  left: number;
  /** Items seen so far (an indefinite map must end after a value, not after a key). */
  seen: number;
}

function malformed(message: string): CairnError {
  return new CairnError('CBOR_MALFORMED', `CBOR is not well-formed: ${message}`);
}

/** Checks one CBOR item arriving in pieces; `push` throws at the first fault or overrun. */
export class CborBudgetScanner {
  readonly #budget: CborBudget;
  #left: number; // bytes of the item not yet seen
  #items = 0;
  readonly #open: Open[] = [{ kind: 'root', left: 1, seen: 0 }];
  #skip = 0; // string payload bytes still to skip
  #head: number[] = []; // a head split across pushes

  /** `totalBytes`: the item's length when known (lengths beyond it are malformed). */
  constructor(budget: CborBudget, totalBytes = Number.MAX_SAFE_INTEGER) {
    this.#budget = budget;
    this.#left = totalBytes;
  }

  /** True once the item is complete. */
  get complete(): boolean {
    return this.#open.length === 0 && this.#skip === 0;
  }

  /** Scans the next bytes of the item. */
  push(bytes: Uint8Array): void {
    let pos = 0;
    while (pos < bytes.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, bytes.length - pos);
        this.#skip -= n;
        this.#left -= n;
        pos += n;
        this.#closeFinished();
        continue;
      }
      if (this.#open.length === 0) throw malformed('bytes after the end of the item');
      this.#head.push(bytes[pos++] as number);
      this.#left--;
      const info = (this.#head[0] as number) & 0x1f;
      if (info >= 24 && info <= 27 && this.#head.length < 1 + (1 << (info - 24))) continue;
      const head = this.#head;
      this.#head = [];
      this.#item(head);
      this.#closeFinished();
    }
  }

  /** The input is complete: throws `CBOR_MALFORMED` unless the item is. */
  end(): void {
    if (!this.complete || this.#head.length > 0) throw malformed('the input ends inside the item');
  }

  /** Pops containers (and the root) whose items are all there. */
  #closeFinished(): void {
    if (this.#skip > 0) return;
    while (this.#open.length > 0 && (this.#open.at(-1) as Open).left === 0) this.#open.pop();
  }

  #exceeded(what: string): CairnError {
    return new CairnError('CBOR_LIMIT_EXCEEDED', `CBOR ${what}`, { details: { ...this.#budget } });
  }

  #item(head: readonly number[]): void {
    const initial = head[0] as number;
    const parent = this.#open.at(-1) as Open;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (initial === 0xff) {
      if (parent.left !== -1) throw malformed('a break outside an indefinite-length item');
      if (parent.kind === 'map' && parent.seen % 2 === 1) throw malformed('an indefinite-length map ends after a key');
      parent.left = 0;
      return;
    }
    if (info >= 28 && info <= 30) throw malformed(`reserved additional information ${info}`);
    if (info === 31 && (major === 0 || major === 1 || major === 6 || major === 7)) throw malformed(`indefinite length on major type ${major}`);
    if (parent.kind === 'bytes' || parent.kind === 'text') {
      const want = parent.kind === 'bytes' ? 2 : 3;
      if (major !== want || info === 31) throw malformed('a chunk of an indefinite-length string is not a definite string of the same type');
    }
    if (major === 7 && info === 24 && (head[1] as number) < 32) throw malformed('a two-byte simple value below 32');
    if (parent.left !== -1) parent.left--;
    parent.seen++;
    // Chunks of indefinite-length strings count too: each is work for a decoder.
    if (++this.#items > this.#budget.maxItems) throw this.#exceeded(`holds more than ${this.#budget.maxItems} items`);
    let argument = info;
    if (info >= 24 && info <= 27) {
      argument = 0;
      for (let i = 1; i < head.length; i++) argument = argument * 256 + (head[i] as number);
    }
    const indefinite = info === 31;
    switch (major) {
      case 2:
      case 3:
        if (indefinite) this.#enter({ kind: major === 2 ? 'bytes' : 'text', left: -1, seen: 0 });
        else if (argument > this.#left) throw malformed(`a string of ${argument} bytes runs past the end of the item`);
        else this.#skip = argument;
        break;
      case 4:
      case 5: {
        const count = indefinite ? -1 : major === 5 ? argument * 2 : argument;
        if (count > this.#left) throw malformed(`${count} items announced where fewer bytes are left`);
        this.#enter({ kind: major === 4 ? 'array' : 'map', left: count, seen: 0 });
        break;
      }
      case 6:
        // A tag wraps exactly one more item: give back the slot it took.
        if (parent.left !== -1) parent.left++;
        parent.seen--;
        break;
      default:
        break; // integers and simple values: the head is the whole item
    }
  }

  #enter(container: Open): void {
    // Strings' chunks do not nest further; arrays and maps count towards the depth.
    if (container.kind !== 'bytes' && container.kind !== 'text' && this.#open.length > this.#budget.maxDepth) throw this.#exceeded(`nests deeper than ${this.#budget.maxDepth}`);
    this.#open.push(container);
  }
}

/** Walks complete CBOR `bytes`: `CBOR_MALFORMED` or `CBOR_LIMIT_EXCEEDED` at the first fault. */
export function checkCborBudget(bytes: Uint8Array, budget: CborBudget): void {
  const scanner = new CborBudgetScanner(budget, bytes.length);
  scanner.push(bytes);
  scanner.end();
}

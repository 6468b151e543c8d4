/**
 * What the soak knows, independently of the servers: every image it tried to push (when, with
 * what content), which pushes were acknowledged, which images it saw become final (from signed
 * events, at the server's time), which it held, and every deletion the servers logged. From that
 * it judges each deletion against the retention rules — using only facts a server could not have
 * invented: a height the soak never pushed cannot make an image old, a finality nobody announced
 * cannot supersede it — and finds acknowledged pushes that vanished without a justified decision.
 */
import type { ContentSpec } from './content.ts';
import type { LogLine } from './cairn-process.ts';

/** One image as the soak knows it. */
export interface ImageEntry {
  readonly digest: string;
  readonly chain: string;
  readonly height: number;
  readonly content: ContentSpec;
  /** First push attempt (any validator), ms. */
  readonly attemptedAt: number;
  /** First 2xx to a push of it, ms. */
  ackedAt?: number;
  /** Server time of the first `image.finalized` event seen for it. */
  finalizedAt?: number;
  /** The soak placed an admin hold on it (acknowledged). */
  held?: boolean;
  /** Server time of an `image.deleted` event. */
  deletedEventAt?: number;
}

/** A deletion as a server logged it before deleting. */
export interface DeletionLog {
  readonly process: string;
  readonly at: number;
  readonly chain: string;
  readonly height: number;
  readonly digest: string;
  readonly rule: string;
  readonly policy: { keepLast: number; epochLength: number; maxAgeMs: number };
}

/** The retention policy and epoch lengths the soak configured. */
export interface SoakPolicy {
  readonly keepLast: number;
  readonly maxAgeMs: number;
  readonly epochLength: (chain: string) => number;
}

export class Ledger {
  readonly startedAt = Date.now();
  readonly images = new Map<string, ImageEntry>();
  /** Per chain: heights and when they were first attempted. */
  readonly #heights = new Map<string, Map<number, number>>();
  readonly deletions: DeletionLog[] = [];
  /** Digests of every logged deletion (kept current: servers go on deleting during the checks). */
  readonly deleted = new Set<string>();
  /** Acknowledged digests a server answered NOT_FOUND for, and when. */
  readonly missing = new Map<string, number>();
  /** Invariant violations, each a sentence. */
  readonly violations: string[] = [];
  readonly #policy: SoakPolicy;

  constructor(policy: SoakPolicy) {
    this.#policy = policy;
  }

  /** A push of `digest` is about to be attempted. */
  attempt(entry: Omit<ImageEntry, 'attemptedAt'>, at = Date.now()): ImageEntry {
    const known = this.images.get(entry.digest);
    if (known) return known;
    const full: ImageEntry = { ...entry, attemptedAt: at };
    this.images.set(entry.digest, full);
    const heights = this.#heights.get(entry.chain) ?? new Map<number, number>();
    if (!heights.has(entry.height)) heights.set(entry.height, at);
    this.#heights.set(entry.chain, heights);
    return full;
  }

  ack(digest: string, at = Date.now()): void {
    const entry = this.images.get(digest);
    if (entry) entry.ackedAt ??= at;
  }

  finalized(digest: string, at: number): void {
    const entry = this.images.get(digest);
    if (entry) entry.finalizedAt = Math.min(entry.finalizedAt ?? Infinity, at);
  }

  deletedEvent(digest: string, at: number): void {
    const entry = this.images.get(digest);
    if (entry) entry.deletedEventAt ??= at;
  }

  /** Acknowledged images, newest first. */
  acked(): ImageEntry[] {
    return [...this.images.values()].filter((e) => e.ackedAt !== undefined).sort((a, b) => b.height - a.height);
  }

  /** Per digest, the servers' last log messages about it, to explain a violation. */
  readonly #trail = new Map<string, string[]>();

  /** What the servers logged about `digest`. */
  trail(digest: string): string {
    return (this.#trail.get(digest) ?? []).join('; ') || 'nothing logged';
  }

  /** Records a server log line: retention deletions, and every line naming a digest (trail). */
  onLog(process: string, line: LogLine): void {
    if (typeof line.digest === 'string') {
      const trail = this.#trail.get(line.digest) ?? [];
      trail.push(`+${Date.parse(String(line.time)) - this.startedAt} ms ${process} ${String(line.level)} ${String(line.msg)}${typeof line.code === 'string' ? ` ${line.code}` : ''}${line.error ? ` ${JSON.stringify(line.error)}` : ''}`);
      if (trail.length > 12) trail.shift();
      this.#trail.set(line.digest, trail);
    }
    if (line.msg === 'retention deletion called off') {
      const digest = String(line.digest);
      const at = this.deletions.findLastIndex((d) => d.digest === digest);
      if (at >= 0) this.deletions.splice(at, 1);
      if (!this.deletions.some((d) => d.digest === digest)) this.deleted.delete(digest);
      return;
    }
    if (line.msg !== 'retention deletes image') return;
    this.deleted.add(String(line.digest));
    this.deletions.push({ process, at: Date.parse(String(line.time)), chain: String(line.chain), height: Number(line.height), digest: String(line.digest), rule: String(line.rule), policy: line.policy as DeletionLog['policy'] });
  }

  /** Why a deletion was not justified by the soak's own knowledge, or undefined. */
  judge(d: DeletionLog): string | undefined {
    const entry = this.images.get(d.digest);
    if (!entry) return `deleted ${d.digest}, an image the soak never pushed`;
    // A hold acknowledged after the decision is checked where it matters: held images are listed
    // at the end (a decision is logged before the deletion, which a hold or an outage may stop).
    if (d.policy.keepLast !== this.#policy.keepLast || d.policy.maxAgeMs !== this.#policy.maxAgeMs) return `deleted ${d.digest} under a policy the soak did not configure`;
    const finalAt = (e: ImageEntry): boolean => e.finalizedAt !== undefined && e.finalizedAt <= d.at;
    const others = [...this.images.values()].filter((e) => e.chain === d.chain && e.digest !== d.digest);
    if (d.rule === 'ORPHANED') {
      if (finalAt(entry)) return `ORPHANED deletion of final image ${d.digest}`;
      if (!others.some((e) => e.height === d.height && finalAt(e))) return `ORPHANED deletion of ${d.digest} with no final image at height ${d.height}`;
      return undefined;
    }
    // LATEST: the server cannot know more heights above this one than were ever pushed.
    const above = [...(this.#heights.get(d.chain) ?? new Map<number, number>())].filter(([h, at]) => h > d.height && at <= d.at).length;
    if (above < this.#policy.keepLast) return `${d.rule} deletion of ${d.digest} at height ${d.height}: only ${above} higher heights had been pushed (keepLast ${this.#policy.keepLast})`;
    if (d.height % this.#policy.epochLength(d.chain) === 0) return `${d.rule} deletion of ${d.digest} at epoch boundary ${d.height}`;
    const higherFinal = others.some((e) => e.height > d.height && finalAt(e));
    if (d.rule === 'SUPERSEDED') return higherFinal ? undefined : `SUPERSEDED deletion of ${d.digest} with no final image above height ${d.height}`;
    if (d.rule === 'EXPIRED') {
      if (finalAt(entry) && !higherFinal) return `EXPIRED deletion of ${d.digest}, the chain's latest final image`;
      if (d.at - entry.attemptedAt < this.#policy.maxAgeMs) return `EXPIRED deletion of ${d.digest} ${d.at - entry.attemptedAt} ms after its first push (maxAge ${this.#policy.maxAgeMs})`;
      return undefined;
    }
    return `deletion of ${d.digest} under rule ${d.rule}, which keeps`;
  }

  /** Notes a violation. */
  violation(text: string): void {
    if (this.violations.length < 200) this.violations.push(text);
  }
}

/**
 * The soak's figures: latencies per operation and minute, counts (operations, bytes by
 * transport, faults by kind) and errors by code.
 */
import { isCairnError } from '../src/errors.ts';

/** Latency-tracked operations. */
export type TimedOp = 'push' | 'attest' | 'pull-first-byte' | 'latest';

export class SoakStats {
  readonly startedAt = Date.now();
  /** op → minute → samples (ms). */
  readonly latencies = new Map<TimedOp, Map<number, number[]>>();
  readonly counts = new Map<string, number>();
  /** "op CODE" → count. */
  readonly errors = new Map<string, number>();

  time(op: TimedOp, ms: number, at = Date.now()): void {
    const minute = Math.floor((at - this.startedAt) / 60_000);
    const byMinute = this.latencies.get(op) ?? new Map<number, number[]>();
    const samples = byMinute.get(minute) ?? [];
    samples.push(ms);
    byMinute.set(minute, samples);
    this.latencies.set(op, byMinute);
  }

  count(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }

  /** Counts a failed operation under its error's stable code (or its system code). */
  error(op: string, error: unknown): string {
    const code = errorCode(error);
    this.count(`${op} failed`);
    this.errors.set(`${op} ${code}`, (this.errors.get(`${op} ${code}`) ?? 0) + 1);
    return code;
  }
}

/** A stable code for any error a client can see. */
export function errorCode(error: unknown): string {
  if (isCairnError(error)) return error.code;
  const e = error as { code?: unknown; cause?: { code?: unknown }; name?: unknown };
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  if (typeof e?.code === 'string') return e.code;
  if (e?.name === 'AbortError') return 'ABORTED';
  return 'UNKNOWN';
}

/** The p-th percentile (0–100) of samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

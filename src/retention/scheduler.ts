/**
 * Runs retention for every registered chain on its node-cron schedule. A run takes the chain's
 * lease first (skipped if another process holds it), so runs never overlap, in this process or
 * across processes on one bucket.
 */
import { schedule, type ScheduledTask } from 'node-cron';
import type { Logger } from '../logger.ts';
import type { Archive } from '../archive/index.ts';
import { RetentionLease } from './lease.ts';

/** How long a retention lease lasts unless renewed (a crashed holder blocks runs that long). */
const LEASE_TTL_MS = 60_000;
import type { RetentionPolicy } from './planner.ts';
import type { RetentionRunReport, RetentionSweeper } from './sweeper.ts';

/** Retention settings as configured. */
export interface RetentionConfig {
  readonly keepLast: number;
  readonly maxAgeMs: number;
  readonly graceMs: number;
  readonly schedule: string;
  readonly chains: Readonly<Record<string, { keepLast?: number | undefined; maxAgeMs?: number | undefined; schedule?: string | undefined }>>;
}

/** The policy of one chain: configuration overrides, epoch length from the registry. */
export function policyOf(config: RetentionConfig, chain: string, epochLength: number): RetentionPolicy {
  const override = config.chains[chain] ?? {};
  return { keepLast: override.keepLast ?? config.keepLast, maxAgeMs: override.maxAgeMs ?? config.maxAgeMs, epochLength };
}

/** The scheduler. */
export class RetentionScheduler {
  readonly #tasks: ScheduledTask[] = [];
  readonly #listeners: Array<(report: RetentionRunReport) => void> = [];
  readonly #lease: RetentionLease;
  readonly archive: Archive;
  readonly sweeper: RetentionSweeper;
  readonly config: RetentionConfig;
  readonly logger: Logger;
  readonly now: () => number;

  constructor(archive: Archive, sweeper: RetentionSweeper, config: RetentionConfig, logger: Logger, now: () => number = Date.now) {
    this.archive = archive;
    this.sweeper = sweeper;
    this.config = config;
    this.logger = logger;
    this.now = now;
    this.#lease = new RetentionLease(archive.metadata);
  }

  /** One leased run of `chain`; undefined when another process holds the lease. */
  async runOnce(chain: string, options: { dryRun?: boolean } = {}): Promise<RetentionRunReport | undefined> {
    const registered = this.archive.registry.chains.get(chain);
    if (!registered) return undefined;
    const now = this.now();
    if (!(await this.#lease.acquire(chain, now, LEASE_TTL_MS))) {
      this.logger.info('retention run skipped: another process holds the lease', { chain });
      return undefined;
    }
    // Renewed while the run lasts, so a long run never overlaps another process's; a run that
    // loses it (another process took it over) stops marking and deleting at once.
    const lost = new AbortController();
    const renewal = setInterval(() => {
      void this.#lease.acquire(chain, this.now(), LEASE_TTL_MS).then(
        (held) => {
          if (held) return;
          this.logger.error('retention lease lost during a run: stopping it', { chain });
          lost.abort();
        },
        (error: unknown) => this.logger.warn('retention lease renewal failed', { chain, error }),
      );
    }, LEASE_TTL_MS / 3);
    renewal.unref();
    try {
      const report = await this.sweeper.run(chain, { policy: policyOf(this.config, chain, registered.epochLength), graceMs: this.config.graceMs, now, signal: lost.signal, ...(options.dryRun ? { dryRun: true } : {}) });
      for (const listener of this.#listeners) listener(report);
      return report;
    } finally {
      clearInterval(renewal);
      await this.#lease.release(chain);
    }
  }

  /** Calls `listener` with the report of every run this scheduler makes (scheduled or on demand). */
  onReport(listener: (report: RetentionRunReport) => void): void {
    this.#listeners.push(listener);
  }

  /** Schedules every chain of the registry. */
  start(): void {
    for (const chain of this.archive.registry.chains.keys()) {
      const expression = this.config.chains[chain]?.schedule ?? this.config.schedule;
      this.#tasks.push(
        schedule(expression, async () => {
          try {
            await this.runOnce(chain);
          } catch (error) {
            this.logger.error('scheduled retention run failed', { chain, error });
          }
        }, { noOverlap: true, name: `retention-${chain}` }),
      );
    }
  }

  /** Stops every scheduled task. */
  async stop(): Promise<void> {
    for (const task of this.#tasks.splice(0)) await Promise.resolve(task.stop());
  }
}

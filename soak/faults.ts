/**
 * The soak's fault schedule: one fault at a time, every kind in turn (shuffled each cycle), each
 * followed by a healthy spell of the same length. Every fault ends by restoring what it broke,
 * so the next one starts from a working system — except for what the fault itself left behind
 * (killed pushes, aborted uploads), which is the archive's to clean up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MinioServer } from '../minio/minio-server.ts';
import type { PostgresServer } from '../postgres/postgres-server.ts';
import type { CairnProcess } from './cairn-process.ts';
import type { FaultProxy } from './fault-proxy.ts';
import type { SoakStats } from './stats.ts';

/** What faults act on. */
export interface FaultTargets {
  readonly processes: readonly CairnProcess[];
  readonly minio?: MinioServer;
  readonly s3Proxy?: FaultProxy;
  readonly postgres: PostgresServer;
  readonly pgProxy: FaultProxy;
  /** The fs store's small filesystem (filled for `disk-full`), when there is one. */
  readonly fsMount?: string;
  readonly abortPull: () => Promise<boolean>;
  /** Pushes a new image while the volume is full (its answer is counted by code). */
  readonly pushWhileFull?: () => Promise<void>;
  /** Inject only these kinds. */
  readonly only?: readonly string[];
  readonly abortPush: () => Promise<boolean>;
}


/** The fault kinds that apply to these targets (only those in `t.only`, when given). */
export function faultKinds(t: FaultTargets): string[] {
  const all = [
    ...t.processes.map((p) => `kill ${p.name}`),
    ...(t.minio ? ['minio stop', 'minio latency', 'minio bandwidth', 'minio stall', 'minio reset'] : []),
    'postgres restart',
    'postgres reset',
    ...(t.fsMount ? ['disk full'] : []),
    'client abort pull',
    'client abort push',
  ];
  return t.only ? all.filter((kind) => t.only?.includes(kind)) : all;
}

/** Fills `dir`'s filesystem with a ballast file; returns its path. */
async function fill(dir: string): Promise<string> {
  const path = join(dir, 'soak-ballast');
  const handle = await open(path, 'w');
  const block = Buffer.alloc(1024 * 1024, 0x5a);
  try {
    for (;;) await handle.write(block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
  return path;
}

/** Injects one fault of `kind` and restores; `spellMs` is how long a fault lasts. */
export async function inject(kind: string, t: FaultTargets, spellMs: number): Promise<boolean> {
  if (kind.startsWith('kill ')) {
    const process = t.processes.find((p) => p.name === kind.slice(5));
    if (!process) return false;
    await process.kill('SIGKILL');
    await sleep(Math.min(spellMs, 1000));
    await process.start();
    return true;
  }
  switch (kind) {
    case 'minio stop':
      await t.minio?.stop();
      await sleep(spellMs);
      await t.minio?.restart();
      return true;
    case 'minio latency':
      t.s3Proxy?.set({ kind: 'latency', ms: 150 });
      await sleep(spellMs);
      t.s3Proxy?.set(undefined);
      return true;
    case 'minio bandwidth':
      t.s3Proxy?.set({ kind: 'bandwidth', bytesPerSecond: 2 * 1024 * 1024 });
      await sleep(spellMs);
      t.s3Proxy?.set(undefined);
      return true;
    case 'minio stall':
      t.s3Proxy?.set({ kind: 'stall' });
      await sleep(spellMs);
      t.s3Proxy?.set(undefined);
      return true;
    case 'minio reset':
      t.s3Proxy?.resetAll();
      return true;
    case 'postgres restart':
      await t.postgres.stop();
      await sleep(Math.min(spellMs, 1500));
      await t.postgres.restart();
      return true;
    case 'postgres reset':
      t.pgProxy.resetAll();
      return true;
    case 'disk full': {
      if (!t.fsMount) return false;
      const ballast = await fill(t.fsMount);
      await t.pushWhileFull?.();
      await sleep(spellMs);
      await rm(ballast, { force: true });
      return true;
    }
    case 'client abort pull':
      return t.abortPull();
    case 'client abort push':
      return t.abortPush();
    default:
      throw new Error(`unknown fault ${kind}`);
  }
}

/**
 * Runs the schedule until `stopped()`: every kind once per cycle, a fault then a healthy spell.
 * The first cycle always completes (`onCycle` is called after each), so a short run still sees
 * every kind of fault.
 */
export async function runFaults(t: FaultTargets, stats: SoakStats, options: { spellMs: number; stopped: () => boolean; onCycle?: () => void; log?: (line: string) => void }): Promise<void> {
  const kinds = faultKinds(t);
  for (let cycles = 0; cycles === 0 || !options.stopped(); cycles++) {
    const cycle = [...kinds].sort(() => Math.random() - 0.5);
    for (const kind of cycle) {
      if (cycles > 0 && options.stopped()) return;
      try {
        options.log?.(`fault: ${kind}`);
        if (await inject(kind, t, options.spellMs)) stats.count(`fault ${kind}`);
        options.log?.(`fault: ${kind} over`);
      } catch (error) {
        stats.error(`fault ${kind}`, error);
      }
      await sleep(options.spellMs);
    }
    options.onCycle?.();
  }
}

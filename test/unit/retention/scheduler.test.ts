import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../src/archive/store/drivers/memory-driver.ts';
import { RetentionLease, RetentionScheduler, RetentionSweeper, policyOf } from '../../../src/retention/index.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import { silentLogger } from '../../../src/logger.ts';
import { openMetadata } from '../../../src/metadata/index.ts';
import { bodyOf, imageBytes, testArchive } from '../../support/archive-fixtures.ts';

const config = { keepLast: 10, maxAgeMs: 7 * 86_400_000, graceMs: 0, schedule: '0 * * * *', chains: { testnet: { keepLast: 2 } } };

describe('retention lease and scheduler', () => {
  it('lets exactly one of two processes hold a chain lease until it expires or is released', async () => {
    const metadata = await openMetadata('sqlite::memory:');
    const a = new RetentionLease(metadata);
    const b = new RetentionLease(metadata);
    const [x, y] = await Promise.all([a.acquire('devnet', 1000, 60_000), b.acquire('devnet', 1000, 60_000)]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    const holder = x ? a : b;
    const other = x ? b : a;
    expect(await other.acquire('devnet', 2000, 60_000)).toBe(false);
    expect(await other.acquire('devnet', 70_000, 60_000)).toBe(true); // expired
    await other.release('devnet');
    expect(await holder.acquire('devnet', 70_001, 60_000)).toBe(true);
  });

  it('applies per-chain overrides and skips a run while another process holds the lease', async () => {
    const store = createMemoryStore();
    const archive = await testArchive(store);
    await archive.push(bodyOf(imageBytes(randomBytes(10), { height: 5 }).bytes));
    expect(policyOf(config, 'testnet', 100)).toEqual({ keepLast: 2, maxAgeMs: config.maxAgeMs, epochLength: 100 });
    expect(policyOf(config, 'devnet', 1000).keepLast).toBe(10);
    const scheduler = new RetentionScheduler(archive, new RetentionSweeper(archive, silentLogger), config, silentLogger, () => 5_000);
    const blocker = new RetentionLease(archive.metadata);
    expect(await blocker.acquire('devnet', 5_000, 600_000)).toBe(true);
    expect(await scheduler.runOnce('devnet')).toBeUndefined();
    await blocker.release('devnet');
    expect(await scheduler.runOnce('devnet')).toMatchObject({ chain: 'devnet' });
    scheduler.start();
    await scheduler.stop();
  });

  it('refuses a bad policy or cron expression at start-up, listing every problem', async () => {
    await expect(loadConfig({ env: { CAIRN_RETENTION_SCHEDULE: 'every hour', CAIRN_RETENTION_KEEP_LAST: '0' } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      details: { problems: [expect.stringContaining('retention.keepLast'), expect.stringContaining('cron')] },
    });
  });
});

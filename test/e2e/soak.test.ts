/**
 * The short soak (soak/): two `cairn serve` processes on a real MinIO and PostgreSQL behind fault
 * proxies, validators pushing and attesting, nodes pulling over HTTP and QSSH, retention deleting,
 * and every kind of fault at least once — then nothing acknowledged may be lost without a
 * justified retention decision, no invalid byte may have been served, the finality invariants
 * hold, and after one reconcile the bucket is clean. The fs variant adds a disk-full volume.
 * `npm run soak` runs the long one; no figure here is a timing threshold.
 */
import { describe, expect, it } from 'vitest';
import { runSoak, type SoakOptions, type SoakReport } from '../../soak/soak.ts';

const SHORT: SoakOptions = { seconds: 40, processes: 2, validators: 8, pullers: 4, store: 's3', maxImageBytes: 6 * 2 ** 20, roundMs: 2000, spellMs: 2000, rssBoundBytes: 384 * 2 ** 20, fsBytes: 256 * 2 ** 20 };

function expectSound(report: SoakReport): void {
  expect(report.violations).toEqual([]);
  const count = (name: string): number => report.stats.counts.get(name) ?? 0;
  expect(count('pushes acknowledged')).toBeGreaterThan(10);
  expect(count('attestations acknowledged')).toBeGreaterThan(10);
  for (const op of ['http pull', 'qssh pull', 'range read']) expect(count(`${op} ok`), op).toBeGreaterThan(0);
  for (const kind of report.faultKinds) expect(count(`fault ${kind}`), kind).toBeGreaterThan(0);
  expect(report.ledger.deletions.length).toBeGreaterThan(0);
  expect(report.finalCheck.listed).toBeGreaterThan(0);
}

describe('soak', () => {
  it('two processes on MinIO and PostgreSQL through every fault: nothing acknowledged lost, nothing invalid served, a clean bucket', async () => {
    const report = await runSoak(SHORT);
    expectSound(report);
    expect(report.faultKinds).toEqual(expect.arrayContaining(['kill a', 'kill b', 'minio stop', 'minio latency', 'minio bandwidth', 'minio stall', 'minio reset', 'postgres restart', 'postgres reset', 'client abort pull', 'client abort push']));
  }, 600_000);

  it('two processes on one fs store, with its volume filling up: the same, and a full disk answers STORE_FULL', async () => {
    const report = await runSoak({ ...SHORT, store: 'fs', seconds: 25 });
    expectSound(report);
    if (report.faultKinds.includes('disk full')) expect(report.stats.errors.get('push while disk full STORE_FULL')).toBe(report.stats.counts.get('fault disk full'));
  }, 600_000);
});

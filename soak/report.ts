/** Prints a soak report as Markdown tables. */
import { printTable } from '../bench/support.ts';
import type { SoakReport } from './soak.ts';
import { percentile, type TimedOp } from './stats.ts';

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Prints the report's tables to stdout. */
export function printSoakReport(r: SoakReport): void {
  const c = (name: string): number => r.stats.counts.get(name) ?? 0;
  const o = r.options;
  console.log(`\n## Soak: ${o.processes} processes, ${o.store === 's3' ? 'MinIO' : 'fs store'} + PostgreSQL, ${o.validators} validators, ${o.pullers} pullers, ${(r.durationMs / 60_000).toFixed(1)} min in all — ${r.violations.length === 0 ? 'PASSED' : `FAILED (${r.violations.length} violations)`}\n`);
  printTable(
    ['operation', 'ok', 'failed', 'bytes'],
    [
      ['push (acknowledged)', String(c('pushes acknowledged')), String(c('push failed')), ''],
      ['attestation', String(c('attestations acknowledged')), String(c('attest failed')), ''],
      ...['http pull', 'qssh pull', 'http catch-up', 'qssh catch-up', 'range read'].map((op) => [op, String(c(`${op} ok`)), String(c(`${op} failed`)), mib(c(`${op} bytes`))]),
      ['latest', String(c('latest ok')), String(c('latest failed')), ''],
      ['events received (watch)', String(c('events received')), String(c('watch failed')), ''],
      ['forks pushed / holds placed', `${c('forks pushed')} / ${c('holds placed')}`, '', ''],
    ],
  );
  const byRule = new Map<string, number>();
  for (const d of r.ledger.deletions) byRule.set(d.rule, (byRule.get(d.rule) ?? 0) + 1);
  console.log(`\nretention deletions: ${r.ledger.deletions.length} (${[...byRule].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}); final check: ${r.finalCheck.listed} listed and pulled byte-identical (${mib(r.finalCheck.pulledBytes)}), ${r.finalCheck.deletedJustified} deleted by a logged decision\n`);
  printTable(['fault', 'injected'], r.faultKinds.map((k) => [k, String(c(`fault ${k}`))]));
  console.log('');
  const rows: string[][] = [];
  for (const op of ['push', 'attest', 'pull-first-byte', 'latest'] as TimedOp[]) {
    for (const [minute, samples] of [...(r.stats.latencies.get(op) ?? new Map<number, number[]>())].sort((a, b) => a[0] - b[0])) {
      rows.push([op, String(minute + 1), String(samples.length), percentile(samples, 50).toFixed(0), percentile(samples, 99).toFixed(0)]);
    }
  }
  printTable(['latency', 'minute', 'n', 'p50 ms', 'p99 ms'], rows);
  console.log('');
  printTable(['errors by code', 'count'], [...r.stats.errors].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, String(v)]));
  console.log('');
  printTable(['process', 'starts', 'peak RSS'], r.processes.map((p) => [p.name, String(p.starts), mib(p.peakRssBytes)]));
  console.log('');
  printTable(['after one reconcile', 'count'], Object.entries(r.audit).map(([k, v]) => [k, String(v)]));
  if (r.violations.length > 0) {
    console.log('\nviolations:');
    for (const v of r.violations) console.log(`- ${v}`);
  }
}

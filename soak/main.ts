/**
 * `npm run soak -- --minutes N [--processes 2] [--validators 24] [--pullers 16] [--store s3|fs]
 * [--max-image-mib 256] [--faults 'kill a,minio stop,…']`: runs the soak and prints its tables; exits 1 when an invariant broke.
 */
import { parseArgs } from 'node:util';
import { printSoakReport } from './report.ts';
import { runSoak } from './soak.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    processes: { type: 'string', default: '2' },
    validators: { type: 'string', default: '24' },
    pullers: { type: 'string', default: '16' },
    store: { type: 'string', default: 's3' },
    'max-image-mib': { type: 'string', default: '256' },
    'round-ms': { type: 'string', default: '3000' },
    'spell-ms': { type: 'string', default: '5000' },
    'rss-bound-mib': { type: 'string', default: '384' },
    faults: { type: 'string' },
  },
});

const number = (name: keyof typeof values, min: number): number => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name} must be a number ≥ ${min}`);
    process.exit(2);
  }
  return n;
};
if (values.store !== 's3' && values.store !== 'fs') {
  console.error('--store must be s3 or fs');
  process.exit(2);
}

const report = await runSoak({
  seconds: number('minutes', 0.1) * 60,
  processes: number('processes', 1),
  validators: number('validators', 4),
  pullers: number('pullers', 1),
  store: values.store,
  maxImageBytes: number('max-image-mib', 1) * 2 ** 20,
  roundMs: number('round-ms', 200),
  spellMs: number('spell-ms', 500),
  rssBoundBytes: number('rss-bound-mib', 64) * 2 ** 20,
  fsBytes: 512 * 2 ** 20,
  ...(values.faults ? { faults: values.faults.split(',').map((f) => f.trim()) } : {}),
  log: (line) => console.error(line),
});
printSoakReport(report);
process.exit(report.violations.length === 0 ? 0 : 1);

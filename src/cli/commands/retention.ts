/** `cairn retention plan | run | runs` and `cairn hold add | rm` (admin token). */
import type { Command } from 'commander';
import { parseDigest } from '../../archive/index.ts';
import { connection, getJson, request, type ServerOptions } from '../../client/index.ts';
import { parseTime, parseUint } from '../parse.ts';
import { printJson, printTable } from '../output.ts';
import { withServerOptions } from '../server-options.ts';

interface Decision {
  digest: string;
  height: number;
  action: string;
  rule: string;
  ageMs: number;
  final: boolean;
  size: number;
}

function age(ms: number): string {
  const h = ms / 3_600_000;
  return h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`;
}

function printDecisions(decisions: Decision[]): void {
  printTable(
    ['height', 'digest', 'age', 'final', 'decision', 'rule'],
    decisions.map((d) => [String(d.height), `${d.digest.slice(9, 21)}…`, age(d.ageMs), d.final ? 'yes' : 'no', d.action, d.rule]),
  );
}

const admin = (command: Command): Command => withServerOptions(command, 'CAIRN_ADMIN_TOKEN');

/** One line saying what a retention run did — or, for a dry run, what it would do and that nothing changed. */
export function describeRun(report: { marked: number; deleted: number; unmarked: number; bytesFreed: number; errors: readonly string[]; dryRun: boolean }): string {
  const errors = report.errors.length > 0 ? `; ${report.errors.length} error${report.errors.length === 1 ? '' : 's'}` : '';
  if (report.dryRun) {
    return `dry run, nothing changed: a run now would mark ${report.marked} image${report.marked === 1 ? '' : 's'} for deletion, delete ${report.deleted} whose grace period is over (${report.bytesFreed} bytes) and unmark ${report.unmarked}${errors}`;
  }
  return `marked ${report.marked} for deletion, deleted ${report.deleted} (${report.bytesFreed} bytes freed), unmarked ${report.unmarked}${errors}`;
}

/** Registers retention and hold. */
export function registerRetentionCommands(program: Command): void {
  const retention = program.command('retention').description('what retention keeps and deletes, and why (admin token)');
  admin(retention.command('plan').description('dry run: every decision with the rule that made it').requiredOption('--chain <id>', 'chain id').option('--at <time>', 'plan as of this time (ms or ISO-8601)').option('--epoch-length <n>', 'preview: plan as if the chain had this epoch length').option('--json', 'print as JSON')).action(
    async (options: ServerOptions & { chain: string; at?: string; epochLength?: string; json?: boolean }) => {
      const query = new URLSearchParams({ chain: options.chain, ...(options.at ? { at: String(parseTime('at', options.at)) } : {}), ...(options.epochLength ? { epochLength: String(parseUint('epoch-length', options.epochLength)) } : {}) });
      const plan = await getJson<{ decisions: Decision[]; summary: Record<string, number>; delete: number; keep: number; bytesFreed: number }>(await connection(options), `/v1/admin/retention/plan?${query.toString()}`);
      if (options.json) return printJson(plan);
      printDecisions(plan.decisions);
      const rules = Object.entries(plan.summary).filter(([, n]) => n > 0).map(([rule, n]) => `${rule} ${n}`).join(', ');
      process.stdout.write(`\n${plan.keep} kept, ${plan.delete} to delete (${plan.bytesFreed} bytes) — ${rules || 'no images'}\n`);
    },
  );
  admin(retention.command('run').description('mark (and, after the grace period, delete) what the plan deletes').requiredOption('--chain <id>', 'chain id').option('--dry-run', 'compute only').option('--json', 'print as JSON')).action(
    async (options: ServerOptions & { chain: string; dryRun?: boolean; json?: boolean }) => {
      const response = await request(await connection(options), '/v1/admin/retention/run', { method: 'POST', body: JSON.stringify({ chain: options.chain, dryRun: options.dryRun === true }), headers: { 'content-type': 'application/json', accept: 'application/json' } });
      const report = (await response.json()) as { marked: number; deleted: number; unmarked: number; bytesFreed: number; errors: string[]; dryRun: boolean };
      if (options.json) return printJson(report);
      process.stdout.write(`${describeRun(report)}\n`);
    },
  );
  admin(retention.command('runs').description('recorded runs, newest first').requiredOption('--chain <id>', 'chain id').option('--json', 'print as JSON')).action(async (options: ServerOptions & { chain: string; json?: boolean }) => {
    const { runs } = await getJson<{ runs: Array<{ startedAt: number; marked: number; deleted: number; bytesFreed: number; durationMs: number; errors: string[] }> }>(await connection(options), `/v1/admin/retention/runs?chain=${encodeURIComponent(options.chain)}`);
    if (options.json) return printJson(runs);
    printTable(['started', 'marked', 'deleted', 'bytes freed', 'ms', 'errors'], runs.map((r) => [new Date(r.startedAt).toISOString(), String(r.marked), String(r.deleted), String(r.bytesFreed), String(r.durationMs), String(r.errors.length)]));
  });

  const hold = program.command('hold').description('admin holds: retention keeps held images (PINNED)');
  for (const [name, method, verb] of [['add', 'PUT', 'place'], ['rm', 'DELETE', 'lift']] as const) {
    admin(hold.command(name).description(`${verb} a hold`).argument('<digest>', 'image digest').option('--json', 'print as JSON')).action(async (digest: string, options: ServerOptions & { json?: boolean }) => {
      const response = await request(await connection(options), `/v1/admin/images/${parseDigest(digest)}/hold`, { method, headers: { accept: 'application/json' } });
      const result = (await response.json()) as { digest: string; held: boolean };
      if (options.json) return printJson(result);
      process.stdout.write(`${result.digest}: ${result.held ? 'held' : 'not held'}\n`);
    });
  }
}

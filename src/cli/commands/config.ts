/** `cairn config check <file>`: validate a configuration file and print every problem. */
import type { Command } from 'commander';
import { checkConfigFile } from '../../config/check-config.ts';
import { CairnError } from '../../errors.ts';
import { printFields, printJson } from '../output.ts';

/** Registers `config check`. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration files (see docs/CONFIG.md)');
  config
    .command('check')
    .description('validate a configuration file; print every problem (exit 1 if any)')
    .argument('<file>', 'JSON configuration file')
    .option('--with-env', 'apply CAIRN_* environment overrides too, as `cairn serve` would')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, options: { withEnv?: boolean; json?: boolean }) => {
      const result = await checkConfigFile(file, options.withEnv ? process.env : {});
      const n = result.problems.length;
      // Problems are an error (exit 1), listed in full: one per line, or in details.problems with --json.
      if (n > 0) throw new CairnError('CONFIG_INVALID', `${file}: ${n} problem${n === 1 ? '' : 's'}:\n  - ${result.problems.join('\n  - ')}`, { details: { file, problems: result.problems } });
      if (options.json) return printJson({ file, valid: true, summary: result.summary });
      process.stdout.write(`${file}: valid\n`);
      printFields(Object.entries(result.summary ?? {}).map(([k, v]) => [k, String(v)]));
    });
}

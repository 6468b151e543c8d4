/**
 * The `cairn` command: parses arguments, runs one command, maps failures to exit codes.
 */
import { VERSION } from '../version.ts';
import { Command, CommanderError } from 'commander';
import { registerImage } from './commands/image.ts';
import { registerKeygen } from './commands/keygen.ts';
import { registerServe } from './commands/serve.ts';
import { registerClientCommands } from './commands/client.ts';
import { registerRegistryCommands } from './commands/registry.ts';
import { registerAdminCommands } from './commands/admin.ts';
import { registerFinalityCommands } from './commands/finality.ts';
import { registerRetentionCommands } from './commands/retention.ts';
import { registerConfigCommands } from './commands/config.ts';
import { registerCompletion } from './commands/completion.ts';
import { EXIT, reportError } from './output.ts';

/** Builds the command tree (exported for tests and shell completion). */
export function buildProgram(): Command {
  const program = new Command('cairn')
    .description('Cairn: an archive of signed, content-addressed data images for blockchain validators')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServe(program);
  registerKeygen(program);
  registerImage(program);
  registerClientCommands(program);
  registerFinalityCommands(program);
  registerRegistryCommands(program);
  registerAdminCommands(program);
  registerRetentionCommands(program);
  registerConfigCommands(program);
  registerCompletion(program);
  for (const command of program.commands) applyExitOverride(command);
  return program;
}

function applyExitOverride(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) applyExitOverride(sub);
}

/**
 * A reader that went away (`cairn watch … | head`) ends the command quietly with the status a
 * Unix tool killed by SIGPIPE has (141), instead of an EPIPE stack trace.
 */
function exitQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(EXIT.brokenPipe);
      throw error;
    });
  }
}

/** Runs the CLI with `argv` (as in process.argv) and resolves with the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  exitQuietlyWhenOutputCloses();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return reportError(error, argv.includes('--json'));
  }
}

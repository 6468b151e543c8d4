/** The --server / --token / --token-file options shared by the commands that talk to a server. */
import { Option, type Command } from 'commander';

/** Adds the connection options; `tokenEnv` names the environment variable the token comes from. */
export function withServerOptions(command: Command, tokenEnv: 'CAIRN_TOKEN' | 'CAIRN_ADMIN_TOKEN' = 'CAIRN_TOKEN'): Command {
  return command
    .addOption(new Option('--server <url>', 'Cairn server').env('CAIRN_SERVER').default('http://127.0.0.1:8080'))
    .addOption(new Option('--token <token>', tokenEnv === 'CAIRN_ADMIN_TOKEN' ? 'admin bearer token' : 'bearer token').env(tokenEnv))
    .option('--token-file <file>', 'read the bearer token from a file (e.g. data/dev/admin-token)');
}

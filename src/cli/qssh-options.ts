/** The QSSH connection options `pull` and `catch-up` share, and the connection they describe. */
import { Option, type Command } from 'commander';
import { connectQssh, readQsshIdentity, type QsshClient } from '../qssh/client.ts';
import type { SupportedKex } from '../qssh/kex.ts';

const KEX_NAMES: Record<'mlkem1024' | 'mlkem768' | 'hybrid', SupportedKex> = { mlkem1024: 'MlKem1024', mlkem768: 'MlKem768', hybrid: 'HybridX25519MlKem768' };

/** The parsed QSSH options. */
export interface QsshCliOptions {
  qssh?: string;
  identity?: string;
  knownHosts?: string;
  strictHostKey?: boolean;
  kex: keyof typeof KEX_NAMES;
}

/** Adds --qssh and the options of a QSSH connection to `command`. */
export function withQsshOptions(command: Command): Command {
  return command
    .option('--qssh <host:port>', 'over QSSH from this listener instead of HTTP')
    .option('--identity <file>', 'with --qssh: qssh Falcon-512 private key (default ~/.qssh/id_qssh; its .pub beside it)')
    .option('--known-hosts <file>', 'with --qssh: pinned server identities (default ~/.cairn/known_hosts or CAIRN_KNOWN_HOSTS)')
    .option('--strict-host-key', 'with --qssh: refuse a server not yet in known-hosts instead of pinning it')
    .addOption(new Option('--kex <algorithm>', 'with --qssh: preferred key exchange').choices(['mlkem1024', 'mlkem768', 'hybrid']).default('mlkem1024'));
}

/** Connects to `options.qssh`, pinning (or checking) the server's identity in known-hosts. */
export async function connectFromCli(options: QsshCliOptions & { qssh: string }): Promise<QsshClient> {
  return connectQssh({
    target: options.qssh,
    identity: await readQsshIdentity(options.identity),
    kex: KEX_NAMES[options.kex],
    ...(options.knownHosts ? { knownHostsPath: options.knownHosts } : {}),
    strictHostKey: options.strictHostKey ?? false,
    onHostKey: (key, check) => {
      if (check === 'pinned') process.stderr.write(`cairn: pinned the identity of ${options.qssh} (${key.algorithm} ${key.fingerprint}) in known-hosts\n`);
    },
  });
}

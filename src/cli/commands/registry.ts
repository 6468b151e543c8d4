/** `cairn registry add | rm | ls` (admin token). */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { withServerOptions } from '../server-options.ts';
import { parsePublicKeys, parseQsshPublicKey, formatPublicKey, formatQsshPublicKey, type RegistryDocument } from '../../archive/index.ts';
import { connection, request, type ServerOptions } from '../../client/index.ts';
import { parseUint } from '../parse.ts';
import { CairnError } from '../../errors.ts';
import { printJson, printTable } from '../output.ts';


function printRegistry(doc: RegistryDocument): void {
  printTable(
    ['chain', 'epoch', 'validator', 'weight', 'keys', 'qssh key'],
    Object.entries(doc.chains).flatMap(([chain, entry]) =>
      entry.validators.map((v) => [chain, String(entry.epochLength ?? 1000), v.id, String(v.weight), v.keys.map((k) => k.split(' ')[0]).join(', '), v.qsshKey ? 'yes' : '-']),
    ),
  );
}

/** Connection options whose token defaults to CAIRN_ADMIN_TOKEN. */
const serverOptions = (command: Command): Command => withServerOptions(command, 'CAIRN_ADMIN_TOKEN');

/** Registers `registry` and `admin`. */
export function registerRegistryCommands(program: Command): void {
  const registry = program.command('registry').description('manage the validator registry of a server (admin token)');
  serverOptions(
    registry
      .command('add')
      .description('register a validator of a chain, or update one: what is given changes, the rest is kept')
      .requiredOption('--chain <id>', 'chain id')
      .requiredOption('--validator <id>', 'validator id')
      .option('--weight <n>', 'voting weight (required for a new validator)')
      .option('--pub <file>', 'image-signing public key file (.pub, one or more lines; required for a new validator)')
      .option('--qssh-pub <file>', 'QSSH Falcon-512 public key (qssh-falcon512 line)')
      .option('--no-qssh-pub', 'remove the validator\'s QSSH key')
      .option('--epoch-length <n>', 'epoch length, when the chain is new')
      .option('--json', 'print the registry as JSON'),
  ).action(async (options: ServerOptions & { chain: string; validator: string; weight?: string; pub?: string; qsshPub?: string | false; epochLength?: string; json?: boolean }) => {
    const keys = options.pub ? parsePublicKeys(await readFile(options.pub, 'utf8')).map((k) => formatPublicKey(k).trim()) : undefined;
    const qsshKey = options.qsshPub === false ? null : options.qsshPub ? formatQsshPublicKey(parseQsshPublicKey(await readFile(options.qsshPub, 'utf8'))).trim() : undefined;
    const body = {
      ...(options.weight ? { weight: parseUint('weight', options.weight) } : {}),
      ...(keys ? { keys } : {}),
      ...(qsshKey === undefined ? {} : { qsshKey }),
      ...(options.epochLength ? { epochLength: parseUint('epoch-length', options.epochLength) } : {}),
    };
    if (Object.keys(body).length === 0) throw new CairnError('INVALID_ARGUMENT', 'nothing to change: give --weight, --pub, --qssh-pub, --no-qssh-pub or --epoch-length');
    const response = await request(await connection(options), `/v1/admin/registry/chains/${encodeURIComponent(options.chain)}/validators/${encodeURIComponent(options.validator)}`, {
      method: 'PUT',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', accept: 'application/json' },
    });
    const doc = (await response.json()) as RegistryDocument;
    if (options.json) return printJson(doc);
    printRegistry(doc);
  });

  serverOptions(
    registry.command('rm').description('remove a validator from a chain').requiredOption('--chain <id>', 'chain id').requiredOption('--validator <id>', 'validator id').option('--json', 'print the registry as JSON'),
  ).action(async (options: ServerOptions & { chain: string; validator: string; json?: boolean }) => {
    const response = await request(await connection(options), `/v1/admin/registry/chains/${encodeURIComponent(options.chain)}/validators/${encodeURIComponent(options.validator)}`, { method: 'DELETE', headers: { accept: 'application/json' } });
    const doc = (await response.json()) as RegistryDocument;
    if (options.json) return printJson(doc);
    printRegistry(doc);
  });

  serverOptions(registry.command('ls').description('show the registry').option('--json', 'print as JSON')).action(async (options: ServerOptions & { json?: boolean }) => {
    const doc = (await (await request(await connection(options), '/v1/admin/registry', { headers: { accept: 'application/json' } })).json()) as RegistryDocument;
    if (options.json) return printJson(doc);
    printRegistry(doc);
  });

  serverOptions(
    registry
      .command('set-epoch')
      .description("change a chain's epoch length (it decides which boundary images retention keeps): needs --confirm")
      .requiredOption('--chain <id>', 'chain id')
      .requiredOption('--epoch-length <n>', 'the new epoch length')
      .option('--confirm', 'yes, change it (boundary images of the old length may then be deleted by retention)')
      .option('--json', 'print the registry as JSON'),
  ).action(async (options: ServerOptions & { chain: string; epochLength: string; confirm?: boolean; json?: boolean }) => {
    const epochLength = parseUint('epoch-length', options.epochLength);
    if (epochLength < 1) throw new CairnError('INVALID_ARGUMENT', '--epoch-length must be at least 1');
    const conn = await connection(options);
    const doc = (await (await request(conn, '/v1/admin/registry', { headers: { accept: 'application/json' } })).json()) as RegistryDocument;
    const chain = doc.chains[options.chain];
    if (!chain) throw new CairnError('UNKNOWN_CHAIN', `chain ${options.chain} is not in the registry`);
    if (chain.epochLength === epochLength) {
      process.stdout.write(`chain ${options.chain} already has epoch length ${epochLength}\n`);
      return;
    }
    if (!options.confirm) {
      // What the change would release: boundary images kept today that the new length would let go.
      type Plan = { decisions: Array<{ digest: string; height: number; rule: string; action: string }> };
      const plan = async (query: string): Promise<Plan> => (await (await request(conn, `/v1/admin/retention/plan?chain=${encodeURIComponent(options.chain)}${query}`, { headers: { accept: 'application/json' } })).json()) as Plan;
      const [now, then] = await Promise.all([plan(''), plan(`&epochLength=${epochLength}`)]);
      const after = new Map(then.decisions.map((d) => [d.digest, d.action]));
      const released = now.decisions.filter((d) => d.rule === 'EPOCH_BOUNDARY' && after.get(d.digest) === 'delete');
      const heights = released.slice(0, 10).map((d) => d.height).join(', ');
      throw new CairnError('EPOCH_CHANGE_UNCONFIRMED', `chain ${options.chain}: epoch length ${chain.epochLength ?? 1000} → ${epochLength} would release ${released.length} boundary image${released.length === 1 ? '' : 's'} retention keeps today${released.length ? ` (heights ${heights}${released.length > 10 ? ', …' : ''})` : ''}; run again with --confirm`, { details: { released: released.length } });
    }
    chain.epochLength = epochLength;
    const response = await request(conn, '/v1/admin/registry?confirmEpochChange=true', { method: 'PUT', body: JSON.stringify(doc), headers: { 'content-type': 'application/json', accept: 'application/json' } });
    const stored = (await response.json()) as RegistryDocument;
    if (options.json) return printJson(stored);
    printRegistry(stored);
  });
}

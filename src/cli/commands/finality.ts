/** `cairn attest | watch | catch-up`: finality votes, announcements and catching up. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadTrust, parseDigest, parsePublicKeys, readSigningKeyFile } from '../../archive/index.ts';
import { attestImage, catchUp, connection, request, watchEvents, type ServerOptions } from '../../client/index.ts';
import { collect, parseUint } from '../parse.ts';
import { isoTime, printFields, printJson } from '../output.ts';
import { withServerOptions } from '../server-options.ts';
import { connectFromCli, withQsshOptions, type QsshCliOptions } from '../qssh-options.ts';
import { progressBar } from '../progress.ts';
import { validatorIdFor } from '../validator-id.ts';

/** Registers attest, watch and catch-up. */
export function registerFinalityCommands(program: Command): void {
  withServerOptions(
    program
      .command('attest')
      .description('sign and submit an attestation for an archived image (downloads nothing)')
      .requiredOption('--digest <digest>', 'the image')
      .requiredOption('--key <path>', 'your image-signing private key')
      .option('--validator <id>', 'your validator id (default: the comment in <key>.pub)')
      .option('--file <path>', 'your own copy (image file or raw content): refuse to attest if it differs')
      .option('--json', 'print the result as JSON'),
  ).action(async (options: ServerOptions & { digest: string; key: string; validator?: string; file?: string; json?: boolean }) => {
    const key = await readSigningKeyFile(options.key);
    const validator = await validatorIdFor(options.key, options.validator);
    const result = await attestImage({ conn: await connection(options), digest: parseDigest(options.digest), key, validator, ...(options.file ? { file: options.file } : {}) });
    if (options.json) return printJson({ digest: options.digest, validator, added: result.added, finality: result.finality });
    printFields([
      ['digest', options.digest],
      ['validator', validator],
      ['result', result.added ? 'attestation recorded' : 'already attested'],
      ['finality', `${result.finality.attestedWeight}/${result.finality.totalWeight} ${result.finality.final ? `FINAL${result.finality.finalizedAt ? ` since ${isoTime(result.finality.finalizedAt)}` : ''}` : 'not final'}`],
    ]);
  });

  withServerOptions(
    program
      .command('watch')
      .description("print a chain's announcements as they arrive (signatures verified)")
      .requiredOption('--chain <id>', 'chain id')
      .option('--identity <file>', 'pinned server identity key (.pub line); default: trust the one the server publishes')
      .option('--last-event-id <id>', 'resume after this event')
      .option('--count <n>', 'stop after this many events')
      .option('--json', 'one JSON object per line'),
  ).action(async (options: ServerOptions & { chain: string; identity?: string; lastEventId?: string; count?: string; json?: boolean }) => {
    const identity = options.identity ? parsePublicKeys(await readFile(options.identity, 'utf8'))[0] : undefined;
    const limit = options.count ? parseUint('count', options.count) : Infinity;
    const controller = new AbortController();
    let seen = 0;
    process.once('SIGINT', () => controller.abort());
    await watchEvents({
      conn: await connection(options),
      chain: options.chain,
      ...(identity ? { identity } : {}),
      ...(options.lastEventId ? { lastEventId: options.lastEventId } : {}),
      signal: controller.signal,
      onEvent: (event) => {
        if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
        else if (event.type === 'stream.reset') process.stdout.write('stream.reset: re-read the listing, then follow\n');
        else process.stdout.write(`${isoTime(event.at)}  ${event.type.padEnd(16)} height ${event.height}  ${event.digest}${event.validator ? `  by ${event.validator}` : ''}  [${event.id}, signature ok]\n`);
        if (++seen >= limit) controller.abort();
      },
    });
  });

  withServerOptions(
    withQsshOptions(
      program
        .command('catch-up')
        .description('if more than --threshold blocks behind the latest final image: download (resuming), verify (with quorum), restore — over HTTP or QSSH')
        .requiredOption('--chain <id>', 'chain id')
        .requiredOption('--local-height <n>', "this node's current height")
        .option('--threshold <n>', 'act only when more than this many blocks behind', '100')
        .requiredOption('--trust <file>', 'your registry file (and key files), repeatable', collect)
        .requiredOption('--out <dir>', 'where the image and the restored state go'),
    ).option('--json', 'print the result as JSON'),
  ).action(async (options: ServerOptions & QsshCliOptions & { chain: string; localHeight: string; threshold: string; trust: string[]; out: string; json?: boolean }) => {
    const settings = {
      chain: options.chain,
      localHeight: parseUint('local-height', options.localHeight),
      threshold: parseUint('threshold', options.threshold),
      trust: await loadTrust(options.trust),
      outDir: options.out,
    };
    const bar = options.json ? undefined : progressBar('catch-up');
    const onProgress = bar ? { onProgress: (done: number, total: number) => bar.update(done, total) } : {};
    let result;
    if (options.qssh) {
      const client = await connectFromCli({ ...options, qssh: options.qssh });
      try {
        result = await catchUp({ sftp: client.sftp, ...settings, ...onProgress });
      } finally {
        client.close();
      }
    } else {
      result = await catchUp({ conn: await connection(options), ...settings, ...onProgress });
    }
    bar?.finish();
    if (options.json) return printJson(result);
    if (result.action === 'up-to-date') {
      process.stdout.write(`up to date: local height ${result.localHeight}, latest final ${result.latestFinalHeight ?? 'none'}\n`);
      return;
    }
    printFields([
      ['action', `restored height ${result.height} (was ${result.localHeight}, ${result.height - result.localHeight} behind${result.resumedFrom ? `; resumed at byte ${result.resumedFrom}` : ''})`],
      ['digest', result.digest],
      ['verified', `content, signatures and quorum ${result.quorum.attestedWeight}/${result.quorum.totalWeight} against your registry`],
      ['image', result.imageFile],
      ['restored', `${result.restoredFile}${result.messages === undefined ? '' : ` (${result.messages} messages in priority order)`}`],
      ...(result.incremental
        ? ([['transfer', `${result.incremental.bytesDownloaded} bytes downloaded${result.incremental.base ? `, ${result.incremental.bytesFromBase} reused from ${result.incremental.base}` : ' (no earlier image to reuse)'}`]] as Array<[string, string]>)
        : []),
    ]);
  });

  const finality = program.command('finality').description('finality proofs (admin token)');
  withServerOptions(
    finality
      .command('revoke')
      .description("revoke an image's proven finality (recorded with the reason, announced); attestations do not make it final again")
      .argument('<digest>', 'the image')
      .requiredOption('--reason <text>', 'why (recorded and logged)')
      .option('--json', 'print the result as JSON'),
    'CAIRN_ADMIN_TOKEN',
  ).action(async (digest: string, options: ServerOptions & { reason: string; json?: boolean }) => {
    const response = await request(await connection(options), `/v1/admin/images/${parseDigest(digest)}/finality/revoke`, {
      method: 'POST',
      body: JSON.stringify({ reason: options.reason }),
      headers: { 'content-type': 'application/json', accept: 'application/json' },
    });
    const result = (await response.json()) as { digest: string; final: boolean };
    if (options.json) return printJson(result);
    process.stdout.write(`finality of ${result.digest} revoked: it is not final any more\n`);
  });
}

/** `cairn push | pull | ls`: talk to a Cairn server over HTTP (and pull over QSSH). */
import type { Command } from 'commander';
import { withServerOptions } from '../server-options.ts';
import { digestKeyPart, loadTrust, parseDigest, type VerificationReport } from '../../archive/index.ts';
import { pullImageQssh } from '../../client/qssh-pull.ts';
import { connectFromCli, withQsshOptions, type QsshCliOptions } from '../qssh-options.ts';
import { progressBar } from '../progress.ts';
import { connection, getJson, parseSourceSpec, pullImage, pushImage, type PullResult, type ServerOptions } from '../../client/index.ts';
import { CairnError } from '../../errors.ts';
import { collect, parseUint } from '../parse.ts';
import { isoTime, printFields, printJson, printTable } from '../output.ts';


interface Summary {
  digest: string;
  height: number;
  size: number;
  producer: string;
  attesters: string[];
  final: boolean;
  storedAt: number;
}

interface PullCliOptions extends ServerOptions, QsshCliOptions {
  chain?: string;
  final?: boolean;
  digest?: string;
  path?: string;
  out: string;
  trust?: string[];
  source?: string[];
  base?: string;
  json?: boolean;
}

/** Registers push, pull and ls. */
export function registerClientCommands(program: Command): void {
  withServerOptions(program.command('push').description('push an image file to a server').argument('<file>', 'image file (.cimg)').option('--json', 'print the result as JSON')).action(
    async (file: string, options: ServerOptions & { json?: boolean }) => {
      const bar = options.json ? undefined : progressBar('push');
      const result = await pushImage(await connection(options), file, bar ? { onProgress: (sent, total) => bar.update(sent, total) } : {});
      bar?.finish();
      if (options.json) return printJson(result);
      printFields([
        ['digest', result.digest],
        ['chain', `${result.chain} height ${result.height}`],
        ['result', result.created ? 'archived (new image)' : 'already archived (deduplicated)'],
        ['attestations added', result.addedAttestations.join(', ') || '-'],
        ['finality', `${result.finality.attestedWeight}/${result.finality.totalWeight} ${result.finality.final ? 'FINAL' : 'not final'}`],
      ]);
    },
  );

  withServerOptions(
    withQsshOptions(
      program
        .command('pull')
        .description('download an image (resuming a partial one) and verify it, over HTTP or QSSH')
        .option('--chain <id>', 'pull the latest image of this chain')
        .option('--final', 'with --chain: the latest final image')
        .option('--digest <digest>', 'pull this image')
        .option('--path <remote>', 'with --qssh: this path of the SFTP tree (e.g. /devnet/latest-final)')
        .requiredOption('--out <file>', 'where to write the image file')
        .option('--trust <file>', 'verify signatures against this public key or registry file (repeatable)', collect)
        .option('--source <url|dir>', 'format v2: also fetch chunks from another Cairn server (base URL), an image file URL, or a directory holding the file (repeatable)', collect)
        .option('--base <file>', 'format v2: an earlier image file whose chunks are copied instead of downloaded'),
    ).option('--json', 'print the result as JSON'),
  ).action(async (options: PullCliOptions) => {
    const chosen = [options.chain, options.digest, options.path].filter(Boolean).length;
    if (chosen !== 1) throw new CairnError('INVALID_ARGUMENT', 'give exactly one of --chain, --digest and --path');
    if (options.path && !options.qssh) throw new CairnError('INVALID_ARGUMENT', '--path needs --qssh');
    const trust = options.trust ? await loadTrust(options.trust) : undefined;
    const started = Date.now();
    const bar = options.json ? undefined : progressBar('pull');
    const onProgress = bar ? { onProgress: (done: number, total: number) => bar.update(done, total) } : {};
    let digest: string;
    let result: { out: string; bytes: number; resumedFrom: number; report?: VerificationReport; chunked?: PullResult['chunked'] };
    let via: string;
    if (options.qssh) {
      if (options.source?.length || options.base) throw new CairnError('INVALID_ARGUMENT', '--source and --base are for pulls over HTTP');
      const path = options.path ?? (options.digest ? `/images/${digestKeyPart(parseDigest(options.digest))}.cimg` : `/${options.chain as string}/${options.final ? 'latest-final' : 'latest'}`);
      // What the path promises is checked against the signed header.
      const claim = options.digest ? { digest: parseDigest(options.digest) } : options.chain ? { chain: options.chain } : undefined;
      const client = await connectFromCli({ ...options, qssh: options.qssh });
      try {
        const pulled = await pullImageQssh({ sftp: client.sftp, path, out: options.out, ...(claim ? { claim } : {}), ...(trust ? { trust } : {}), ...onProgress });
        digest = pulled.header.digest;
        result = pulled;
        via = `qssh ${options.qssh}${path} (${client.kex}, server ${client.serverKey.fingerprint.slice(0, 25)}…)`;
      } finally {
        client.close();
      }
    } else {
      const conn = await connection(options);
      // The listing is a claim: its chain, height and digest must be what the signed header says.
      const claim = options.digest
        ? { digest: parseDigest(options.digest) }
        : await getJson<{ digest: string; height: number }>(conn, `/v1/chains/${encodeURIComponent(options.chain as string)}/latest${options.final ? '?final=true' : ''}`).then((latest) => ({ chain: options.chain as string, height: latest.height, digest: parseDigest(latest.digest) }));
      digest = claim.digest;
      const sources = (options.source ?? []).map((text) => parseSourceSpec(text, conn.token));
      result = await pullImage({ conn, digest: claim.digest, claim, out: options.out, sources, ...(options.base ? { base: options.base } : {}), ...(trust ? { trust } : {}), ...onProgress });
      via = `http ${options.server}`;
    }
    bar?.finish();
    const seconds = (Date.now() - started) / 1000;
    const verified = trust ? 'signatures, digest and size' : 'digest and size';
    if (options.json) return printJson({ digest, out: result.out, bytes: result.bytes, resumedFrom: result.resumedFrom, via, verified, quorum: result.report?.quorum ?? null, ...(result.chunked ? { chunks: result.chunked.chunks, bytesDownloaded: result.chunked.bytesDownloaded, bytesFromBase: result.chunked.bytesFromBase, sources: result.chunked.sources } : {}) });
    const chunked = result.chunked;
    printFields([
      ['digest', digest],
      ['file', `${result.out} (${result.bytes} bytes${result.resumedFrom ? `, resumed at ${result.resumedFrom}` : ''})`],
      ['via', via],
      ...(chunked
        ? ([
            ['chunks', `${chunked.chunks.total} (${chunked.chunks.downloaded} downloaded, ${chunked.chunks.fromBase} from the base, ${chunked.chunks.resumed} kept from a partial)`],
            ['downloaded', `${chunked.bytesDownloaded} bytes${chunked.bytesFromBase ? ` (${chunked.bytesFromBase} bytes from the base)` : ''}`],
            ...chunked.sources.map((s): [string, string] => ['source', `${s.source}: ${s.chunks} chunks, ${s.bytes} bytes${s.dropped ? ` — DROPPED: ${s.dropped}` : ''}`]),
          ] as Array<[string, string]>)
        : []),
      ['verified', trust ? 'signatures, digest and size' : 'digest and size (no --trust: signatures not checked)'],
      ...(result.report?.quorum ? ([['quorum', `${result.report.quorum.attestedWeight}/${result.report.quorum.totalWeight} ${result.report.quorum.final ? 'FINAL' : 'not final'}`]] as Array<[string, string]>) : []),
      ['time', `${seconds.toFixed(1)} s`],
    ]);
  });

  withServerOptions(
    program
      .command('ls')
      .description("list a chain's images")
      .requiredOption('--chain <id>', 'chain id')
      .option('--from <height>', 'lowest height')
      .option('--to <height>', 'highest height')
      .option('--limit <n>', 'at most this many (default: all)')
      .option('--final', 'only final images')
      .option('--json', 'print as JSON'),
  ).action(async (options: ServerOptions & { chain: string; from?: string; to?: string; limit?: string; final?: boolean; json?: boolean }) => {
    const conn = await connection(options);
    const limit = options.limit ? parseUint('limit', options.limit) : Infinity;
    const images: Summary[] = [];
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(Math.min(1000, limit - images.length)) });
      if (options.from) query.set('from', String(parseUint('from', options.from)));
      if (options.to) query.set('to', String(parseUint('to', options.to)));
      if (options.final) query.set('final', 'true');
      if (cursor) query.set('cursor', cursor);
      const page = await getJson<{ images: Summary[]; nextCursor?: string }>(conn, `/v1/chains/${encodeURIComponent(options.chain)}/images?${query.toString()}`);
      images.push(...page.images);
      cursor = page.nextCursor;
    } while (cursor && images.length < limit);
    if (options.json) return printJson({ chain: options.chain, images });
    printTable(
      ['height', 'digest', 'size', 'producer', 'attesters', 'final', 'stored at'],
      images.map((i) => [String(i.height), `${i.digest.slice(0, 25)}…`, String(i.size), i.producer, String(i.attesters.length), i.final ? 'yes' : 'no', isoTime(i.storedAt)]),
    );
  });
}

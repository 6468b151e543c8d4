/** `cairn push | pull | ls`: talk to a Cairn server over HTTP. */
import type { Command } from 'commander';
import { withServerOptions } from '../server-options.ts';
import { loadTrust, parseDigest, type Digest } from '../../archive/index.ts';
import { connection, getJson, pullImage, pushImage, type ServerOptions } from '../../client/index.ts';
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

/** Registers push, pull and ls. */
export function registerClientCommands(program: Command): void {
  withServerOptions(program.command('push').description('push an image file to a server').argument('<file>', 'image file (.cimg)').option('--json', 'print the result as JSON')).action(
    async (file: string, options: ServerOptions & { json?: boolean }) => {
      const result = await pushImage(await connection(options), file);
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
    program
      .command('pull')
      .description('download an image (resuming a partial one) and verify it')
      .option('--chain <id>', 'pull the latest image of this chain')
      .option('--final', 'with --chain: the latest final image')
      .option('--digest <digest>', 'pull this image')
      .requiredOption('--out <file>', 'where to write the image file')
      .option('--trust <file>', 'verify signatures against this public key or registry file (repeatable)', collect)
      .option('--json', 'print the result as JSON'),
  ).action(async (options: ServerOptions & { chain?: string; final?: boolean; digest?: string; out: string; trust?: string[]; json?: boolean }) => {
    const conn = await connection(options);
    if (Boolean(options.chain) === Boolean(options.digest)) throw new CairnError('INVALID_ARGUMENT', 'give exactly one of --chain and --digest');
    const digest: Digest = options.digest
      ? parseDigest(options.digest)
      : parseDigest((await getJson<{ digest: string }>(conn, `/v1/chains/${encodeURIComponent(options.chain as string)}/latest${options.final ? '?final=true' : ''}`)).digest);
    const trust = options.trust ? await loadTrust(options.trust) : undefined;
    const started = Date.now();
    const result = await pullImage({ conn, digest, out: options.out, ...(trust ? { trust } : {}) });
    const seconds = (Date.now() - started) / 1000;
    if (options.json) return printJson({ digest, out: result.out, bytes: result.bytes, resumedFrom: result.resumedFrom, verified: trust ? 'signatures, digest and size' : 'digest and size', quorum: result.report?.quorum ?? null });
    printFields([
      ['digest', digest],
      ['file', `${result.out} (${result.bytes} bytes${result.resumedFrom ? `, resumed at ${result.resumedFrom}` : ''})`],
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
      .option('--json', 'print as JSON'),
  ).action(async (options: ServerOptions & { chain: string; from?: string; to?: string; limit?: string; json?: boolean }) => {
    const conn = await connection(options);
    const limit = options.limit ? parseUint('limit', options.limit) : Infinity;
    const images: Summary[] = [];
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(Math.min(1000, limit - images.length)) });
      if (options.from) query.set('from', String(parseUint('from', options.from)));
      if (options.to) query.set('to', String(parseUint('to', options.to)));
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

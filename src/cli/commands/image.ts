/**
 * `cairn image create | inspect | verify`: build, look into and verify self-contained image files.
 */
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import {
  CONTENT_TYPE_OCTET_STREAM,
  CONTENT_TYPE_QUEUE_STATE,
  FILE_CHUNK_BYTES,
  checkAttestations,
  createImageFile,
  encodeQueueState,
  loadTrust,
  readImageHeader,
  readQueueState,
  readSigningKeyFile,
  verifyImage,
  type ImageContentSource,
  type AttestationCheck,
  type ImageHeader,
  type VerificationReport,
} from '../../archive/index.ts';
import { CairnError } from '../../errors.ts';
import { collect, parseTime, parseUint } from '../parse.ts';
import { isoTime, printFields, printJson, printTable } from '../output.ts';
import { readQueueJson } from '../queue-json.ts';
import { validatorIdFor } from '../validator-id.ts';

interface CreateOptions {
  chain: string;
  height: string;
  key: string;
  in?: string;
  queue?: string;
  out: string;
  validator?: string;
  contentType?: string;
  createdAt?: string;
  format?: string;
  force?: boolean;
  json?: boolean;
}

function headerSummary(header: ImageHeader): Array<[string, string | number]> {
  return [
    ['chain', header.chain],
    ['height', header.height],
    ['digest', header.digest],
    ['size', `${header.size} bytes`],
    ['content type', header.contentType],
    ['created at', isoTime(header.createdAt)],
    ['producer', `${header.attestations[0]?.validator ?? '?'} (${header.attestations[0]?.algorithm ?? '?'})`],
    ['attestations', header.attestations.length],
  ];
}

function headerJson(header: ImageHeader): Record<string, unknown> {
  return {
    chain: header.chain,
    height: header.height,
    digest: header.digest,
    size: header.size,
    contentType: header.contentType,
    createdAt: isoTime(header.createdAt),
    attestations: header.attestations.map((a) => ({ validator: a.validator, algorithm: a.algorithm, signedAt: isoTime(a.signedAt), signature: a.signature })),
  };
}

/** `--format`: 2 (chunked, the default) or 1. */
function parseFormat(text: string | undefined): 1 | 2 {
  if (text === undefined || text === '2') return 2;
  if (text === '1') return 1;
  throw new CairnError('INVALID_ARGUMENT', `--format must be 1 or 2, not ${text.slice(0, 20)}`);
}

async function create(options: CreateOptions): Promise<void> {
  if (Boolean(options.in) === Boolean(options.queue)) throw new CairnError('INVALID_ARGUMENT', 'give exactly one of --in <file> and --queue <json>');
  const key = await readSigningKeyFile(options.key);
  const validator = await validatorIdFor(options.key, options.validator);
  let content: ImageContentSource;
  let contentType = options.contentType ?? CONTENT_TYPE_OCTET_STREAM;
  if (options.queue) {
    const bytes = encodeQueueState(await readQueueJson(options.queue));
    content = { stream: [bytes], size: bytes.length };
    contentType = CONTENT_TYPE_QUEUE_STATE;
  } else if (contentType === CONTENT_TYPE_QUEUE_STATE) {
    // What the content type promises is checked before anything is signed (docs/FORMAT.md §7).
    const { bytes } = await readQueueState(options.in === '-' ? process.stdin : createReadStream(options.in as string));
    content = { stream: [bytes], size: bytes.length };
  } else {
    content = options.in === '-' ? { stream: process.stdin } : { path: options.in as string };
  }
  const header = await createImageFile({
    chain: options.chain,
    height: parseUint('height', options.height),
    validator,
    key,
    content,
    out: options.out,
    contentType,
    ...(options.createdAt ? { createdAt: parseTime('created-at', options.createdAt) } : {}),
    format: parseFormat(options.format),
    overwrite: options.force ?? false,
  });
  if (options.json) return printJson({ file: options.out, ...headerJson(header) });
  printFields([['file', options.out], ...headerSummary(header)]);
}

async function inspect(file: string, options: { json?: boolean; trust?: string[] }): Promise<void> {
  const opened = await readImageHeader(createReadStream(file, { highWaterMark: 64 * 1024 }));
  const { header } = opened;
  // With --trust, each attestation's status (signatures only: the content is not read).
  const checks = options.trust?.length ? checkAttestations(header, await loadTrust(options.trust)) : undefined;
  const chunks = (opened.contentOffset - 14 - opened.headerBytes.length) / 36;
  if (options.json) return printJson({ file, formatVersion: opened.version, headerBytes: opened.headerBytes.length, ...(opened.version === 2 ? { chunks } : {}), contentOffset: opened.contentOffset, ...headerJson(header), ...(checks ? { checks } : {}) });
  const list = opened.version === 2 ? `, ${chunks} chunks listed` : '';
  printFields([['file', file], ['format', `cairn image v${opened.version}, header ${opened.headerBytes.length} bytes${list}, content at offset ${opened.contentOffset}`], ...headerSummary(header)]);
  process.stdout.write('\n');
  printTable(
    ['#', 'validator', 'algorithm', 'signed at', 'signature', ...(checks ? ['status'] : [])],
    header.attestations.map((a, i) => [i === 0 ? '0 (producer)' : String(i), a.validator, a.algorithm, isoTime(a.signedAt), `${Buffer.from(a.signature.subarray(0, 8)).toString('hex')}… (${a.signature.length} B)`, ...(checks ? [checks[i]?.status ?? '?'] : [])]),
  );
  if (checks) writeUnverified(checks);
  process.stdout.write(`\n(${checks ? 'content' : 'signatures and content'} not verified: use \`cairn image verify\`)\n`);
}

/** Says which attestations the trust could not check: reported, never counted (FORMAT.md §4.4). */
function writeUnverified(checks: readonly AttestationCheck[]): void {
  const unverified = checks.filter((c) => c.status === 'untrusted').map((c) => c.validator);
  if (unverified.length === 0) return;
  process.stdout.write(`\n${unverified.length} attestation(s) could not be checked — no trusted key for ${unverified.join(', ')} — and do not count toward finality\n`);
}

function printReport(file: string, report: VerificationReport): void {
  printFields([['file', file], ...headerSummary(report.header), ['content', 'digest and size verified']]);
  process.stdout.write('\n');
  printTable(
    ['validator', 'algorithm', 'weight', 'status', 'key'],
    report.attestations.map((a) => [a.validator, a.algorithm, a.weight === undefined ? '-' : String(a.weight), a.status, a.keyFingerprint ? `${a.keyFingerprint.slice(0, 25)}…` : '-']),
  );
  writeUnverified(report.attestations);
  if (report.quorum) {
    const { attestedWeight, totalWeight, final } = report.quorum;
    process.stdout.write(`\nquorum: ${attestedWeight}/${totalWeight} of the weight attested: ${final ? 'FINAL (> 2/3)' : 'not final (needs > 2/3)'}\n`);
  }
  process.stdout.write('\nOK: image verified\n');
}

async function verify(file: string, options: { trust: string[]; requireFinal?: boolean; json?: boolean }): Promise<void> {
  const trust = await loadTrust(options.trust);
  const report = await verifyImage(createReadStream(file, { highWaterMark: FILE_CHUNK_BYTES }), trust);
  if (options.requireFinal && !report.quorum?.final) {
    throw new CairnError('UNTRUSTED_SIGNER', report.quorum ? `image is not final: ${report.quorum.attestedWeight}/${report.quorum.totalWeight} of the weight attested` : 'no registry for this chain in the trust files: finality cannot be checked');
  }
  if (options.json) return printJson({ file, valid: true, ...headerJson(report.header), checks: report.attestations, unverified: report.attestations.filter((a) => a.status === 'untrusted').map((a) => a.validator), quorum: report.quorum ?? null });
  printReport(file, report);
}

/** Registers `image create|inspect|verify` on `program`. */
export function registerImage(program: Command): void {
  const image = program.command('image').description('create, inspect and verify image files');
  image
    .command('create')
    .description('create a signed image file from a content file (or stdin) or a queue state')
    .requiredOption('--chain <id>', 'chain id')
    .requiredOption('--height <n>', 'block height of the state')
    .requiredOption('--key <path>', 'producer private key (PKCS#8 PEM)')
    .option('--in <file>', 'content file, or - for stdin')
    .option('--queue <json>', 'build queue-state content from a JSON message list')
    .requiredOption('--out <file>', 'image file to write (.cimg)')
    .option('--validator <id>', 'producer validator id (default: the comment in <key>.pub)')
    .option('--content-type <type>', `content type (default ${CONTENT_TYPE_OCTET_STREAM})`)
    .option('--created-at <time>', 'creation time, ms since epoch or ISO-8601 (default now)')
    .option('--format <1|2>', 'image format: 2 (a signed chunk list: parallel, incremental, multi-source pulls; default) or 1')
    .option('--force', 'overwrite --out if it exists')
    .option('--json', 'print the result as JSON')
    .action(create);
  image
    .command('inspect')
    .description('print an image header without verifying the content (with --trust: each signature\'s status)')
    .argument('<file>', 'image file')
    .option('--trust <file>', 'public key file or registry file (repeatable): show each attestation\'s status', collect)
    .option('--json', 'print as JSON')
    .action(inspect);
  image
    .command('verify')
    .description('verify signatures (against your trust files), digest and size; exit non-zero on failure')
    .argument('<file>', 'image file')
    .requiredOption('--trust <file>', 'public key file or registry file (repeatable)', collect)
    .option('--require-final', 'also require attestations from > 2/3 of the registered weight')
    .option('--json', 'print as JSON')
    .action(verify);
}

/**
 * Benchmark for the archive on MinIO (issue: archive).
 *
 *   npm run bench:archive [-- --sizes 1,4]      (sizes in GiB; default 1,4)
 *
 * For each size, against one local MinIO and in the same run:
 * - raw SDK: lib-storage `Upload` (5 MiB parts, 4 in flight: its default and Cairn's) and `GetObject`
 *   streamed to a file — the baseline;
 * - Cairn: `POST /v1/images` (verify signatures, SHA3-256, seal, multipart upload) and
 *   `GET /v1/images/{digest}/file` (decrypt, stream) to a file, against a `cairn serve` child
 *   process started fresh for each size so its peak RSS (VmHWM) belongs to that size;
 * - `cairn pull` as a user runs it (download + whole-file verification);
 * - plain SHA3-256 over the same file: the ceiling of a hashing push on this machine.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startMinio } from '../minio/minio-server.ts';
import { createImageFile, digestStream, formatPublicKey, generateSigningKey } from '../src/archive/index.ts';
import { generateMasterKeyEntry } from '../src/archive/crypto/keyring.ts';
import { pullImage, pushImage, streamRequest } from '../src/client/index.ts';
import { spawnServer } from '../test/support/server-process.ts';
import { mib, peakRss, printTable, timed, writeContentFile } from './support.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1,4' } } });
const sizesGiB = values.sizes.split(',').map(Number);
const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-archive-'));
const minio = await startMinio();
const s3 = new S3Client({ endpoint: minio.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey } });

const rows: string[][] = [];
try {
  const key = generateSigningKey('ml-dsa-44', 'bench');
  const registryFile = join(dir, 'registry.json');
  await writeFile(registryFile, JSON.stringify({ chains: { bench: { validators: [{ id: 'bench', weight: 1, keys: [formatPublicKey(key.publicKey).trim()] }] } } }));
  const masterKey = generateMasterKeyEntry('bench');

  for (const gib of sizesGiB) {
    const bytes = gib * 1024 ** 3;
    const content = join(dir, 'content.bin');
    const image = join(dir, 'image.cimg');
    await writeContentFile(content, bytes);
    const header = await createImageFile({ chain: 'bench', height: gib, validator: 'bench', key, content: { path: content }, out: image, overwrite: true });
    await rm(content);
    const fileBytes = (await stat(image)).size;
    const mibps = (ms: number): string => (fileBytes / 1024 ** 2 / (ms / 1000)).toFixed(0);

    const sha3 = await timed(() => digestStream(createReadStream(image, { highWaterMark: 4 * 1024 * 1024 })));
    const rawUp = await timed(() => new Upload({ client: s3, params: { Bucket: minio.bucket, Key: `raw/${gib}`, Body: createReadStream(image, { highWaterMark: 1024 * 1024 }) }, partSize: 5 * 1024 * 1024, queueSize: 4 }).done());
    const rawDown = await timed(async () => {
      const out = await s3.send(new GetObjectCommand({ Bucket: minio.bucket, Key: `raw/${gib}` }));
      await pipeline(out.Body as Readable, createWriteStream(join(dir, 'raw-down.bin')));
    });
    await rm(join(dir, 'raw-down.bin'));

    const server = await spawnServer({ dataDir: join(dir, `server-${gib}`), minio, masterKey, registryFile, orphanGraceMs: 600_000 });
    try {
      const push = await timed(() => pushImage({ base: server.url }, image));
      const get = await timed(async () => {
        const response = await streamRequest({ base: server.url }, `/v1/images/${header.digest}/file`);
        await pipeline(response, createWriteStream(join(dir, 'cairn-down.cimg')));
      });
      await rm(join(dir, 'cairn-down.cimg'));
      const pull = await timed(() => pullImage({ conn: { base: server.url }, digest: header.digest, out: join(dir, 'pulled.cimg') }));
      await rm(join(dir, 'pulled.cimg'));
      const rss = await peakRss(server.child.pid as number);
      rows.push(
        [`${gib} GiB`, 'sha3-256 of the file (ceiling)', (sha3.ms / 1000).toFixed(2), mibps(sha3.ms), '', ''],
        [`${gib} GiB`, 'raw SDK Upload (baseline)', (rawUp.ms / 1000).toFixed(2), mibps(rawUp.ms), '1.00', ''],
        [`${gib} GiB`, 'Cairn push', (push.ms / 1000).toFixed(2), mibps(push.ms), (rawUp.ms / push.ms).toFixed(2), mib(rss)],
        [`${gib} GiB`, 'raw SDK GetObject (baseline)', (rawDown.ms / 1000).toFixed(2), mibps(rawDown.ms), '1.00', ''],
        [`${gib} GiB`, 'Cairn GET /file', (get.ms / 1000).toFixed(2), mibps(get.ms), (rawDown.ms / get.ms).toFixed(2), ''],
        [`${gib} GiB`, 'cairn pull (download + verify)', (pull.ms / 1000).toFixed(2), mibps(pull.ms), (rawDown.ms / pull.ms).toFixed(2), ''],
      );
    } finally {
      await server.kill();
      await rm(image, { force: true });
    }
  }
  console.log(`\n### Cairn vs the raw S3 SDK on the same MinIO (server peak RSS = VmHWM of the cairn serve process for that size)\n`);
  printTable(['size', 'operation', 'seconds', 'MiB/s', 'ratio to SDK', 'server peak RSS'], rows);
} finally {
  s3.destroy();
  await minio.destroy();
  await rm(dir, { recursive: true, force: true });
}

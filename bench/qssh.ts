/**
 * Benchmark for QSSH (issue: QSSH).
 *
 *   npm run bench:qssh [-- --size-gib 1 --handshakes 50]
 *
 * Against one `cairn serve` child on one local MinIO, in the same run:
 * - HTTP: `GET /v1/images/{digest}/file` streamed to a file, and `cairn pull` as a user runs
 *   it (download + verification) — the baseline;
 * - QSSH with Cairn's client: SFTP READs of 512 KiB, 8 in flight, written to a file and
 *   verified (the same work as `cairn pull` over HTTP);
 * - the unmodified `qscp` (one 32 KiB READ in flight; it keeps the whole file in memory);
 * - the serving process's peak RSS (VmHWM) at start and after the QSSH pull (run first);
 * - the handshake (TCP connect to authenticated session, Falcon-512 client signature and
 *   Cairn's ML-DSA-65 identity proof included), median and p90 of N, per key exchange.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { startMinio } from '../minio/minio-server.ts';
import { qsshBinDir } from '../qssh/qssh-bin.ts';
import { createImageFile, formatPublicKey, formatQsshPublicKey, generateFalconKey, generateSigningKey, writeQsshKeyPair } from '../src/archive/index.ts';
import { generateMasterKeyEntry } from '../src/archive/crypto/keyring.ts';
import { pullImage, pushImage, streamRequest } from '../src/client/index.ts';
import { pullImageQssh } from '../src/client/qssh-pull.ts';
import { connectQssh } from '../src/qssh/client.ts';
import { clientHandshake } from '../src/qssh/client-handshake.ts';
import { QsshConnection } from '../src/qssh/connection.ts';
import { SUPPORTED_KEX } from '../src/qssh/kex.ts';
import { spawnServer } from '../test/support/server-process.ts';
import { median, mib, peakRss, printTable, timed, writeContentFile } from './support.ts';
import { digestKeyPart } from '../src/archive/index.ts';

const { values } = parseArgs({ options: { 'size-gib': { type: 'string', default: '1' }, handshakes: { type: 'string', default: '50' } } });
const sizeGiB = Number(values['size-gib']);
const handshakes = Number(values.handshakes);
const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-qssh-'));
const minio = await startMinio();
const qscpBin = join(qsshBinDir(), 'qscp');

function run(file: string, args: readonly string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env }, maxBuffer: 1 << 20 }, (error, _stdout, stderr) => (error ? reject(new Error(`${file} failed: ${stderr}`)) : resolve()));
  });
}

try {
  const key = generateSigningKey('ml-dsa-44', 'bench');
  const falcon = generateFalconKey('bench');
  const home = join(dir, 'home');
  await mkdir(join(home, '.qssh'), { recursive: true });
  await writeQsshKeyPair(join(home, '.qssh', 'id_qssh'), falcon);
  const identity = { secretKey: falcon.secretKey, publicKey: falcon.publicKey.raw };
  const registryFile = join(dir, 'registry.json');
  await writeFile(registryFile, JSON.stringify({ chains: { bench: { validators: [{ id: 'bench', weight: 1, keys: [formatPublicKey(key.publicKey).trim()], qsshKey: formatQsshPublicKey(falcon.publicKey).trim() }] } } }));

  const content = join(dir, 'content.bin');
  const image = join(dir, 'image.cimg');
  await writeContentFile(content, Math.round(sizeGiB * 1024 ** 3));
  const header = await createImageFile({ chain: 'bench', height: 1, validator: 'bench', key, content: { path: content }, out: image, overwrite: true });
  await rm(content);
  const fileBytes = (await stat(image)).size;
  const mibps = (ms: number): string => (fileBytes / 1024 ** 2 / (ms / 1000)).toFixed(0);

  const serverOptions = { dataDir: join(dir, 'server'), minio, masterKey: generateMasterKeyEntry('bench'), registryFile, orphanGraceMs: 600_000 };
  const pusher = await spawnServer(serverOptions);
  try {
    await pushImage({ base: pusher.url }, image);
  } finally {
    await pusher.kill();
  }
  await rm(image);
  // A fresh server for the pulls, so its peak RSS is the pulls' own.
  const server = await spawnServer(serverOptions);
  try {
    const port = server.qsshPort!;
    const out = (name: string): string => join(dir, name);

    const qsshOnce = (): Promise<{ ms: number }> =>
      timed(async () => {
        const client = await connectQssh({ target: `127.0.0.1:${port}`, identity, knownHostsPath: join(dir, 'known_hosts') });
        try {
          await pullImageQssh({ sftp: client.sftp, path: `/images/${digestKeyPart(header.digest)}.cimg`, out: out('qssh.cimg') });
        } finally {
          client.close();
        }
        await rm(out('qssh.cimg'));
      });
    const httpOnce = (): Promise<{ ms: number }> =>
      timed(async () => {
        await pullImage({ conn: { base: server.url }, digest: header.digest, out: out('http.cimg') });
        await rm(out('http.cimg'));
      });
    // QSSH first, so the peak RSS read right after it belongs to QSSH (VmHWM only grows); then
    // the two pulls alternate twice and each is reported as the mean of its two runs.
    const rssBefore = await peakRss(server.child.pid!);
    const q1 = await qsshOnce();
    const rssQssh = await peakRss(server.child.pid!);
    const h1 = await httpOnce();
    const q2 = await qsshOnce();
    const h2 = await httpOnce();
    const qsshPull = { ms: (q1.ms + q2.ms) / 2 };
    const httpPull = { ms: (h1.ms + h2.ms) / 2 };
    const get = await timed(async () => pipeline(await streamRequest({ base: server.url }, `/v1/images/${header.digest}/file`), createWriteStream(out('get.cimg'))));
    await rm(out('get.cimg'));
    const qscp = await timed(() => run(qscpBin, ['-P', String(port), `bench@127.0.0.1:/bench/latest`, out('qscp.cimg')], { HOME: home }));
    const qscpOk = (await stat(out('qscp.cimg'))).size === fileBytes;
    await rm(out('qscp.cimg'));

    console.log(`\n### ${sizeGiB} GiB image from one cairn serve on MinIO (file ${fileBytes} bytes); server peak RSS ${mib(rssBefore)} at start, ${mib(rssQssh)} after the QSSH pull\n`);
    printTable(
      ['transfer', 'seconds', 'MiB/s', 'ratio to HTTP pull'],
      [
        ['HTTP GET /file to a file (no verification)', (get.ms / 1000).toFixed(2), mibps(get.ms), (httpPull.ms / get.ms).toFixed(2)],
        ['HTTP cairn pull (download + verify), mean of 2 — baseline', (httpPull.ms / 1000).toFixed(2), mibps(httpPull.ms), '1.00'],
        ['QSSH Cairn client (download + verify), mean of 2', (qsshPull.ms / 1000).toFixed(2), mibps(qsshPull.ms), (httpPull.ms / qsshPull.ms).toFixed(2)],
        [`QSSH unmodified qscp 0.5.0${qscpOk ? '' : ' (WRONG SIZE)'}`, (qscp.ms / 1000).toFixed(2), mibps(qscp.ms), (httpPull.ms / qscp.ms).toFixed(2)],
      ],
    );

    const rows: string[][] = [];
    for (const kex of SUPPORTED_KEX) {
      const samples: number[] = [];
      for (let i = 0; i < handshakes; i++) {
        const started = performance.now();
        const socket = connect({ host: '127.0.0.1', port });
        await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        const conn = new QsshConnection(socket);
        await clientHandshake(conn, { identity, username: 'bench', kex, checkServer: () => Promise.resolve() });
        samples.push(performance.now() - started);
        conn.disconnect(5, 'bench');
      }
      samples.sort((a, b) => a - b);
      rows.push([kex, String(handshakes), median(samples).toFixed(1), samples[Math.floor(samples.length * 0.9)]!.toFixed(1), samples[0]!.toFixed(1)]);
    }
    console.log(`\n### Handshake, TCP connect to authenticated session (ms)\n`);
    printTable(['key exchange', 'n', 'median', 'p90', 'min'], rows);
  } finally {
    await server.kill();
  }
} finally {
  await minio.destroy();
  await rm(dir, { recursive: true, force: true });
}

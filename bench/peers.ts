/**
 * Cairn next to its peers, one MinIO, one random file per size, one run (issue: performance).
 *
 *   npm run bench:peers [-- --sizes 1,4] [--no-compression]     (sizes in GiB; default 1)
 *
 * Rows: the floor measured in this process on the same bytes (SHA3-256; ChaCha20-Poly1305 seal
 * and open in 1 MiB chunks); `mc cp` up and down (MinIO's client, built by peers/install);
 * `restic backup` and `restic restore` into the same MinIO (an encrypted, content-addressed
 * peer); `cairn image create`, `cairn push`, `cairn pull` over HTTP and `cairn pull --qssh` as a
 * user runs them. Each row: wall seconds, client CPU seconds (the command's children's utime +
 * stime, read by a bash wrapper from /proc), Cairn server CPU and MinIO CPU over the same
 * interval (/proc/<pid>/stat), and CPU seconds per GiB of the server next to the floor's.
 *
 * Then compression (zstd at rest and on the wire), on realistic compressible content — a queue
 * state of 1 million messages and a file of database pages (bench/compressible.ts) — and on
 * random bytes: what `zstd -3` makes of the same bytes, what Cairn stores and sends, and push
 * and pull costs, with compression on and (a restarted server, same bucket) off.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startMinio } from '../minio/minio-server.ts';
import { ChunkIdPool, chunkIdsInOrder, chunkStream, formatPublicKey, formatQsshPublicKey, generateFalconKey, generateSigningKey, writeKeyPair, writeQsshKeyPair } from '../src/archive/index.ts';
import { generateMasterKeyEntry } from '../src/archive/crypto/keyring.ts';
import { CAIRN_BIN } from '../test/support/cli.ts';
import { spawnServer } from '../test/support/server-process.ts';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { queueStateContent, writeDatabasePages } from './compressible.ts';
import { printTable, writeContentFile } from './support.ts';
import { digestKeyPart, type Digest } from '../src/archive/index.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1' }, 'queue-messages': { type: 'string', default: '1000000' }, 'pages-mib': { type: 'string', default: '512' }, 'no-compression': { type: 'boolean', default: false } } });
// `--sizes 0` runs the compression rows alone.
const sizesGiB = values.sizes.split(',').map(Number).filter((gib) => gib > 0);
/** The \`cairn\` command as its shebang runs it (bin/cairn.js: a 1 MiB young generation). */
const CAIRN = ['--max-semi-space-size=1', CAIRN_BIN];
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const peers = execFileSync('bash', [join(import.meta.dirname, '../peers/install')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

/** CPU seconds a process has used so far (utime + stime). */
async function cpuOf(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

/** Runs a command through bash, which reports its children's CPU after waiting for them. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ cpu: number; out: string }> {
  const script = '"$@" >"$OUT" 2>&1; rc=$?; read -r -a s < /proc/$$/stat; echo "$((s[15] + s[16]))"; exit $rc';
  return new Promise((resolve, reject) => {
    const outFile = join(tmpdir(), `cairn-bench-peers-${process.pid}-${Date.now()}.log`);
    const child = spawn('bash', ['-c', script, 'bench', file, ...args], { env: { ...process.env, ...env, OUT: outFile }, stdio: ['ignore', 'pipe', 'inherit'] });
    let ticks = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (ticks += d));
    child.on('close', (code) => {
      void readFile(outFile, 'utf8')
        .catch(() => '')
        .then(async (out) => {
          await rm(outFile, { force: true });
          if (code !== 0) return reject(new Error(`${file} ${args.join(' ')} exited with ${code}: ${out.slice(-2000)}`));
          resolve({ cpu: Number(ticks.trim()) / TICK, out });
        });
    });
  });
}

/** The floor: SHA3-256, and ChaCha20-Poly1305 seal and open, of the file's bytes, in this process; and format v2's content-defined chunking of them (FORMAT.md §12.1). */
async function floor(path: string): Promise<{ sha3: number; seal: number; open: number; chunk: number; ids: { cpu: number; wall: number; workers: number } }> {
  const key = randomBytes(32);
  const chunk = Buffer.alloc(1024 * 1024);
  const handle = await open(path, 'r');
  const cpu = { sha3: 0, seal: 0, open: 0, chunk: 0, ids: { cpu: 0, wall: 0, workers: 0 } };
  const hash = createHash('sha3-256');
  try {
    for (let offset = 0, i = 0; ; i++) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      const bytes = chunk.subarray(0, bytesRead);
      const iv = Buffer.alloc(12);
      iv.writeUInt32BE(i, 8);
      let t = process.cpuUsage();
      hash.update(bytes);
      cpu.sha3 += elapsed(t);
      t = process.cpuUsage();
      const cipher = createCipheriv('chacha20-poly1305', key, iv, { authTagLength: 16 });
      const sealed = Buffer.concat([cipher.update(bytes), cipher.final()]);
      const tag = cipher.getAuthTag();
      cpu.seal += elapsed(t);
      t = process.cpuUsage();
      const decipher = createDecipheriv('chacha20-poly1305', key, iv, { authTagLength: 16 });
      decipher.setAuthTag(tag);
      decipher.update(sealed);
      decipher.final();
      cpu.open += elapsed(t);
    }
    hash.digest();
  } finally {
    await handle.close();
  }
  const t = process.cpuUsage();
  for await (const chunk of chunkStream(createReadStream(path, { highWaterMark: 1024 * 1024 }))) void chunk;
  cpu.chunk = elapsed(t);
  // Format v2's whole content hash: chunking here, chunk ids on every core (process CPU includes the workers).
  const pool = new ChunkIdPool();
  try {
    const started = performance.now();
    const t2 = process.cpuUsage();
    for await (const entry of chunkIdsInOrder(chunkStream(createReadStream(path, { highWaterMark: 1024 * 1024 })), pool)) void entry;
    cpu.ids = { cpu: elapsed(t2), wall: (performance.now() - started) / 1000, workers: pool.size };
  } finally {
    await pool.close();
  }
  return cpu;
}

function elapsed(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-peers-'));
const minio = await startMinio();
const rows: string[][] = [];
const zstdRows: string[][] = [];
const incrementalRows: string[][] = [];
const sourceRows: string[][] = [];

/**
 * Writes `from` with 1 % of it changed: eight evenly spread regions of 1/800 of the size
 * overwritten with fresh random bytes, and 64 KiB inserted in the middle. Returns a description.
 */
async function writeChanged(from: string, to: string): Promise<string> {
  const size = (await stat(from)).size;
  const region = Math.floor(size / 800);
  const starts = Array.from({ length: 8 }, (_, i) => Math.floor(((i + 0.5) * size) / 8));
  const middle = Math.floor(size / 2) + 12_345;
  const input = await open(from, 'r');
  const output = await open(to, 'w');
  try {
    const piece = Buffer.allocUnsafe(4 * 1024 * 1024);
    let at = 0;
    let written = 0;
    while (at < size) {
      const { bytesRead } = await input.read(piece, 0, Math.min(piece.length, size - at), at);
      const chunk = piece.subarray(0, bytesRead);
      for (const start of starts) {
        const from2 = Math.max(start, at);
        const to2 = Math.min(start + region, at + bytesRead);
        if (from2 < to2) randomBytes(to2 - from2).copy(chunk, from2 - at);
      }
      if (middle >= at && middle < at + bytesRead) {
        await output.write(chunk, 0, middle - at, written);
        written += middle - at;
        const inserted = randomBytes(64 * 1024);
        await output.write(inserted, 0, inserted.length, written);
        written += inserted.length;
        await output.write(chunk, middle - at, bytesRead - (middle - at), written);
        written += bytesRead - (middle - at);
      } else {
        await output.write(chunk, 0, bytesRead, written);
        written += bytesRead;
      }
      at += bytesRead;
    }
  } finally {
    await input.close();
    await output.close();
  }
  return `8 regions of ${(region / 1024 ** 2).toFixed(2)} MiB + 64 KiB inserted`;
}

/** A plain HTTP mirror of `file` in its own process (bench/workers/range-mirror.ts); `lieFrom`: corrupt what it sends from that offset on. */
async function startMirror(file: string, lieFrom?: number): Promise<{ url: string; kill(): void }> {
  const lie = lieFrom !== undefined;
  const child = spawn(process.execPath, [join(import.meta.dirname, 'workers/range-mirror.ts'), '--file', file, ...(lie ? ['--lie-from', String(lieFrom)] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`range mirror exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/${lie ? 'liar' : 'mirror'}/image.cimg`, kill: () => child.kill() };
}
const node = process.execPath;
try {
  const key = generateSigningKey('ml-dsa-65', 'bench');
  const keyFiles = await writeKeyPair(join(dir, 'bench.key'), key, { comment: 'bench' });
  const falcon = generateFalconKey('bench-node');
  const identity = (await writeQsshKeyPair(join(dir, 'id_qssh'), falcon)).privatePath;
  const registryFile = join(dir, 'registry.json');
  await writeFile(registryFile, JSON.stringify({ chains: { bench: { validators: [{ id: 'bench', weight: 1, keys: [formatPublicKey(key.publicKey).trim()] }] } } }));
  const masterKey = generateMasterKeyEntry('bench');
  const startCairn = (compression: boolean): ReturnType<typeof spawnServer> =>
    spawnServer({ dataDir: join(dir, 'data'), registryFile, minio, masterKey, qssh: { readerKeys: [formatQsshPublicKey(falcon.publicKey).trim()] }, logLevel: 'warn', extra: { orphanGraceMs: 3_600_000, compression: { enabled: compression } } });
  let server = await startCairn(true);
  const s3env = { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey, RESTIC_PASSWORD: 'bench-password' };
  const mcEnv = { MC_HOST_bench: `http://${minio.accessKeyId}:${encodeURIComponent(minio.secretAccessKey)}@127.0.0.1:${minio.port}` };
  const s3 = new S3Client({ endpoint: minio.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey } });
  let height = 0;

  /** Runs a command and reads the CPU the Cairn server and MinIO spent meanwhile. */
  const measured = async (file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ wall: number; cpu: number; serverCpu: number; minioCpu: number; out: string }> => {
    const [serverBefore, minioBefore] = [await cpuOf(server.child.pid), await cpuOf(minio.process.pid)];
    const started = performance.now();
    const { cpu, out } = await run(file, args, env);
    const wall = (performance.now() - started) / 1000;
    return { wall, cpu, serverCpu: (await cpuOf(server.child.pid)) - serverBefore, minioCpu: (await cpuOf(minio.process.pid)) - minioBefore, out };
  };
  /** Image bytes the server has sent (its metrics). */
  const bytesOut = async (): Promise<number> => Number(/^cairn_bytes_out_total\{transport="http"\} (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0);
  /** Bytes of the sealed blob(s) stored for a digest. */
  const storedBytes = async (digest: string): Promise<number> => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: minio.bucket, Prefix: `blobs/${digestKeyPart(digest as Digest)}/` }));
    return (listed.Contents ?? []).reduce((sum, o) => sum + (o.Size ?? 0), 0);
  };
  /** `zstd -3` of the file, as the CLI does it (or libzstd level 3 in one frame when there is no CLI). */
  const zstd3 = async (path: string): Promise<number> => {
    try {
      return Number(execFileSync('bash', ['-c', 'zstd -3 -q -c "$1" | wc -c', 'zstd', path], { encoding: 'utf8' }).trim());
    } catch {
      const { zstdCompressSync } = await import('node:zlib');
      return zstdCompressSync(await readFile(path)).length;
    }
  };

  try {
    for (const gib of sizesGiB) {
      const content = join(dir, 'content.bin');
      await writeContentFile(content, gib * 1024 ** 3);
      const f = await floor(content);
      const perGiB = (s: number): string => (s / gib).toFixed(2);
      rows.push([`${gib} GiB`, 'floor: SHA3-256 / seal / open', '', `${f.sha3.toFixed(2)} / ${f.seal.toFixed(2)} / ${f.open.toFixed(2)}`, '', '', `push floor ${perGiB(f.sha3 + f.seal)}, pull floor ${perGiB(f.open)}`]);
      rows.push([`${gib} GiB`, 'v2 content-defined chunking (draft)', '', f.chunk.toFixed(2), '', '', `${perGiB(f.chunk)} s/GiB, one core`]);
      rows.push([`${gib} GiB`, `v2 chunking + chunk ids on ${f.ids.workers} workers`, f.ids.wall.toFixed(2), f.ids.cpu.toFixed(2), '', '', `wall ${perGiB(f.ids.wall)} s/GiB vs one SHA3 pass ${perGiB(f.sha3)}`]);
      const measure = async (what: string, file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, floorCpu?: number): Promise<string> => {
        const m = await measured(file, args, env);
        const ratio = floorCpu ? `server ${perGiB(m.serverCpu)} s/GiB = ${(m.serverCpu / floorCpu).toFixed(2)}× floor` : '';
        rows.push([`${gib} GiB`, what, m.wall.toFixed(2), m.cpu.toFixed(2), m.serverCpu > 0.05 ? m.serverCpu.toFixed(2) : '', m.minioCpu.toFixed(2), ratio]);
        return m.out;
      };
      const mc = join(peers, 'mc');
      await measure('mc cp up', mc, ['cp', '--quiet', content, `bench/${minio.bucket}/peers/${gib}.bin`], mcEnv);
      await measure('mc cp down', mc, ['cp', '--quiet', `bench/${minio.bucket}/peers/${gib}.bin`, join(dir, 'mc-down.bin')], mcEnv);
      await rm(join(dir, 'mc-down.bin'));
      const restic = join(peers, 'restic');
      const repo = ['-r', `s3:http://127.0.0.1:${minio.port}/${minio.bucket}/restic-${gib}`];
      await run(restic, [...repo, 'init'], s3env);
      await measure('restic backup', restic, [...repo, 'backup', '--no-scan', content], s3env);
      await measure('restic restore', restic, [...repo, 'restore', 'latest', '--target', join(dir, 'restic-out')], s3env);
      await rm(join(dir, 'restic-out'), { recursive: true, force: true });

      const image = join(dir, `image-${gib}.cimg`);
      const imageV1 = join(dir, `image-${gib}-v1.cimg`);
      await measure('cairn image create (v2, chunk ids on workers)', node, [...CAIRN, 'image', 'create', '--chain', 'bench', '--height', String(++height), '--key', keyFiles.privatePath, '--in', content, '--out', image, '--force']);
      await measure('cairn image create --format 1 (one SHA3 pass)', node, [...CAIRN, 'image', 'create', '--format', '1', '--chain', 'bench', '--height', String(++height), '--key', keyFiles.privatePath, '--in', content, '--out', imageV1, '--force']);
      const changed = join(dir, 'changed.bin');
      const edits = await writeChanged(content, changed);
      await rm(content);
      const pushed = JSON.parse(await measure('cairn push (v2)', node, [...CAIRN, 'push', image, '--server', server.url, '--json'], {}, f.sha3 + f.seal)) as { digest: string };
      const pushedV1 = JSON.parse(await measure('cairn push (v1)', node, [...CAIRN, 'push', imageV1, '--server', server.url, '--json'], {}, f.sha3 + f.seal)) as { digest: string };
      await rm(imageV1);
      const pull = async (what: string, digest: string, extra: readonly string[] = []): Promise<{ wall: number; bytesDownloaded?: number; sources?: Array<{ source: string; chunks: number; dropped?: string }> }> => {
        const started = performance.now();
        const out = JSON.parse(await measure(what, node, [...CAIRN, 'pull', '--digest', digest, '--server', server.url, '--trust', registryFile, '--out', join(dir, 'pulled.cimg'), '--json', ...extra], {}, f.open)) as { bytesDownloaded?: number; sources?: Array<{ source: string; chunks: number; dropped?: string }> };
        await rm(join(dir, 'pulled.cimg'));
        return { wall: (performance.now() - started) / 1000, ...out };
      };
      const full = await pull('cairn pull (HTTP, v2: one stream, chunks hashed on workers)', pushed.digest);
      await pull('cairn pull (HTTP, v1: one stream)', pushedV1.digest);

      // Incremental: the same state with 1 % changed (edited regions and an insertion in the middle).
      const image2 = join(dir, `image-${gib}-changed.cimg`);
      await run(node, [...CAIRN, 'image', 'create', '--chain', 'bench', '--height', String(++height), '--key', keyFiles.privatePath, '--in', changed, '--out', image2, '--force']);
      await rm(changed);
      const pushed2 = JSON.parse((await run(node, [...CAIRN, 'push', image2, '--server', server.url, '--json'])).out) as { digest: string };
      await rm(image2);
      const incremental = await pull(`cairn pull --base (${edits})`, pushed2.digest, ['--base', image]);
      const fullSize = (await stat(image)).size;
      // The local floor of any incremental pull: writing a new file of the image's size (a copy of
      // the base, flushed), before hashing anything.
      const copyStarted = performance.now();
      await run('bash', ['-c', 'cp --reflink=never "$1" "$2" && sync "$2"', 'copy', image, join(dir, 'copy.cimg')]);
      const copyWall = (performance.now() - copyStarted) / 1000;
      await rm(join(dir, 'copy.cimg'));
      incrementalRows.push([`${gib} GiB`, edits, `${(((incremental.bytesDownloaded ?? 0) / fullSize) * 100).toFixed(2)} %`, incremental.wall.toFixed(2), full.wall.toFixed(2), `${(incremental.wall / full.wall).toFixed(3)}×`, `${copyWall.toFixed(2)} (${(copyWall / full.wall).toFixed(3)}×)`]);

      // Three sources, one of which corrupts what it sends, against the two honest ones alone.
      const honest = await startMirror(image);
      const liar = await startMirror(image, fullSize - gib * 1024 ** 3);
      try {
        const two = await pull('cairn pull, 2 sources (server + HTTP mirror)', pushed.digest, ['--source', honest.url]);
        const three = await pull('cairn pull, 3 sources (+ a mirror that corrupts)', pushed.digest, ['--source', honest.url, '--source', liar.url]);
        const dropped = three.sources?.find((x) => x.source === liar.url)?.dropped;
        sourceRows.push([`${gib} GiB`, two.wall.toFixed(2), three.wall.toFixed(2), `${(three.wall / two.wall).toFixed(2)}×`, dropped ? `liar dropped: ${dropped.slice(0, 60)}…` : 'liar never asked']);
      } finally {
        honest.kill();
        liar.kill();
      }
      await rm(image);
      await measure('cairn pull --qssh', node, [...CAIRN, 'pull', '--qssh', `127.0.0.1:${server.qsshPort!}`, '--identity', identity, '--known-hosts', join(dir, 'known_hosts'), '--digest', pushed.digest, '--trust', registryFile, '--out', join(dir, 'pulled.cimg'), '--json'], {}, f.open);
      await rm(join(dir, 'pulled.cimg'));
    }

    // Compression: the same kinds of content pushed and pulled with compression on, then off.
    const samples = async (variant: number): Promise<Array<{ name: string; path: string; contentType?: string }>> => {
      const queue = join(dir, `queue-${variant}.cbor`);
      await writeFile(queue, queueStateContent(Number(values['queue-messages']) + variant));
      const pages = join(dir, `pages-${variant}.db`);
      await writeDatabasePages(pages, Number(values['pages-mib']) * 1024 * 1024 + variant * 4096);
      const random = join(dir, `random-${variant}.bin`);
      await writeContentFile(random, 512 * 1024 * 1024);
      return [
        { name: `queue state, ${Number(values['queue-messages']).toLocaleString('en')} messages`, path: queue, contentType: 'application/vnd.cairn.queue-state+cbor' },
        { name: 'database pages', path: pages },
        { name: 'random bytes', path: random },
      ];
    };
    for (const compression of values['no-compression'] ? [] : [true, false]) {
      if (!compression) {
        await server.kill();
        server = await startCairn(false);
      }
      for (const sample of await samples(compression ? 0 : 1)) {
        const size = (await readFile(sample.path)).length;
        const image = join(dir, 'sample.cimg');
        await run(node, [...CAIRN, 'image', 'create', '--chain', 'bench', '--height', String(++height), '--key', keyFiles.privatePath, '--in', sample.path, '--out', image, '--force', ...(sample.contentType ? ['--content-type', sample.contentType] : [])]);
        const push = await measured(node, [...CAIRN, 'push', image, '--server', server.url, '--json']);
        const digest = (JSON.parse(push.out) as { digest: string }).digest;
        const sentBefore = await bytesOut();
        const pull = await measured(node, [...CAIRN, 'pull', '--digest', digest, '--server', server.url, '--trust', registryFile, '--out', join(dir, 'pulled.cimg'), '--json']);
        const wire = (await bytesOut()) - sentBefore;
        const stored = await storedBytes(digest);
        const z = compression ? await zstd3(sample.path) : undefined;
        const pct = (n: number): string => `${((100 * n) / size).toFixed(1)} %`;
        zstdRows.push([
          sample.name,
          compression ? 'on' : 'off',
          `${(size / 1024 ** 2).toFixed(0)} MiB`,
          z === undefined ? '' : pct(z),
          pct(stored),
          pct(wire),
          `${push.wall.toFixed(2)} / ${push.serverCpu.toFixed(2)}`,
          `${pull.wall.toFixed(2)} / ${pull.cpu.toFixed(2)} / ${pull.serverCpu.toFixed(2)}`,
        ]);
        await rm(image);
        await rm(join(dir, 'pulled.cimg'));
        await rm(sample.path);
      }
    }
  } finally {
    s3.destroy();
    await server.kill();
  }
} finally {
  await minio.destroy();
  await rm(dir, { recursive: true, force: true });
}

printTable(['size', 'what', 'wall s', 'client CPU s', 'Cairn server CPU s', 'MinIO CPU s', 'server CPU per GiB vs the floor'], rows);
console.log('');
printTable(['size', 'incremental pull: change', 'downloaded / image', 'wall s', 'full pull wall s', 'ratio', 'floor: cp + sync of the image, s (vs full pull)'], incrementalRows);
console.log('');
printTable(['size', '2 honest sources wall s', '+ 1 liar wall s', 'ratio', 'the liar'], sourceRows);
console.log('');
printTable(['content', 'compression', 'size', 'zstd -3', 'stored (sealed)', 'sent by pull', 'push wall / server CPU s', 'pull wall / client CPU / server CPU s'], zstdRows);

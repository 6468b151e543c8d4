/**
 * Scale benchmark (issue 12): a `cairn serve` process over archives of 1,000 to 1,000,000 images.
 *
 *   npm run bench:scale [-- --images 1000,100000,1000000 --drivers sqlite,postgres]
 *
 * For each driver and size, the metadata database is populated directly (bulk SQL) with
 * realistic rows — a re-encoded image record per image carrying a real SLH-DSA-SHA2-128s
 * producer signature (7,856 bytes), the producer's attestation row, every third image final,
 * every hundredth held — on one chain; the bucket (fs) holds the registry and the database
 * marker. Then, against the served process: start → ready, RSS after start and peak (VmRSS,
 * VmHWM), latency of latest, a listing page, latest-final, the whole retention plan (streamed),
 * the dashboard page, and a push (each a median of several; push latency next to the 1,000-image
 * run of the same driver, measured in the same run). The plan and the dashboard also get their own
 * peak RSS: VmHWM is reset (`clear_refs` 5) before each and read after it. No signing per image.
 * The server runs as `npm start` and the container run it, with a 1 MiB young generation
 * (test/support/server-process.ts; docs/CONFIG.md, "Memory of a served process"); prefix
 * `NODE_OPTIONS=--max-semi-space-size=N` to compare another size.
 */
import { randomBytes } from 'node:crypto';
import { readFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startPostgres } from '../postgres/postgres-server.ts';
import { attestationOf, createImageBytes, encodeAttestation, formatPublicKey, generateSigningKey, type Digest } from '../src/archive/index.ts';
import { generateMasterKeyEntry } from '../src/archive/crypto/keyring.ts';
import { claimBucket } from '../src/archive/service/bucket-claim.ts';
import { encodeImageRecord, type ImageRecord } from '../src/archive/service/image-record.ts';
import { createFsStore } from '../src/archive/store/drivers/fs-driver.ts';
import { openMetadata } from '../src/metadata/index.ts';
import { spawnServer } from '../test/support/server-process.ts';
import { median, printTable } from './support.ts';

const { values } = parseArgs({ options: { images: { type: 'string', default: '1000,100000' }, drivers: { type: 'string', default: 'sqlite,postgres' } } });
const sizes = values.images.split(',').map(Number);
const drivers = values.drivers.split(',') as Array<'sqlite' | 'postgres'>;
const ADMIN = 'bench-admin-token-0123456789';
const key = generateSigningKey('slh-dsa-sha2-128s', 'bench');
const masterKey = generateMasterKeyEntry('bench');
const NOW = Date.now();

/** One real image whose record is re-encoded per row (digest, height, times vary). */
const template = createImageBytes({ chain: 'bench', height: 1, validator: 'bench', key, content: randomBytes(64) });
const producer = template.header.attestations[0]!;
const blob = { key: 'blobs/none', chunkBytes: 65536, noncePrefix: new Uint8Array(7), keyId: 'bench', wrappedKey: new Uint8Array(60) };

function rowFor(i: number): { digest: Digest; height: number; storedAt: number; record: Uint8Array; statement: Uint8Array; final: boolean; held: boolean } {
  const digest: Digest = `sha3-256:${i.toString(16).padStart(64, '0')}`;
  const height = (i + 1) * 10;
  const storedAt = NOW - 30 * 86_400_000 + i;
  const record: ImageRecord = { chain: 'bench', height, digest, size: 1_000_000, contentType: 'application/octet-stream', createdAt: producer.signedAt, storedAt, producer, blob };
  return { digest, height, storedAt, record: encodeImageRecord(record), statement: encodeAttestation(attestationOf(record, producer)), final: i % 3 === 0, held: i % 100 === 0 };
}

async function populateSqlite(path: string, count: number): Promise<void> {
  await (await openMetadata(`sqlite:${path}`)).close(); // schema
  const db = new DatabaseSync(path);
  const image = db.prepare('INSERT INTO images (digest, chain, height, size, content_type, created_at, stored_at, producer, record, finalized_at, held_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const attestation = db.prepare('INSERT INTO attestations (digest, validator, statement) VALUES (?, ?, ?)');
  for (let start = 0; start < count; start += 10_000) {
    db.exec('BEGIN');
    for (let i = start; i < Math.min(count, start + 10_000); i++) {
      const r = rowFor(i);
      image.run(r.digest, 'bench', r.height, 1_000_000, 'application/octet-stream', producer.signedAt, r.storedAt, 'bench', r.record, r.final ? r.storedAt : null, r.held ? r.storedAt : null);
      attestation.run(r.digest, 'bench', r.statement);
    }
    db.exec('COMMIT');
  }
  db.close();
}

async function populatePostgres(url: string, count: number): Promise<void> {
  await (await openMetadata(url)).close(); // schema
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const BATCH = 200;
  for (let start = 0; start < count; start += BATCH) {
    const images: unknown[] = [];
    const attestations: unknown[] = [];
    const end = Math.min(count, start + BATCH);
    for (let i = start; i < end; i++) {
      const r = rowFor(i);
      images.push(r.digest, 'bench', r.height, 1_000_000, 'application/octet-stream', producer.signedAt, r.storedAt, 'bench', r.record, r.final ? r.storedAt : null, r.held ? r.storedAt : null);
      attestations.push(r.digest, 'bench', r.statement);
    }
    const n = end - start;
    const tuples = (width: number): string => Array.from({ length: n }, (_, row) => `(${Array.from({ length: width }, (_, col) => `$${row * width + col + 1}`).join(', ')})`).join(', ');
    await client.query(`INSERT INTO images (digest, chain, height, size, content_type, created_at, stored_at, producer, record, finalized_at, held_at) VALUES ${tuples(11)}`, images);
    await client.query(`INSERT INTO attestations (digest, validator, statement) VALUES ${tuples(3)}`, attestations);
  }
  await client.query('ANALYZE');
  await client.end();
}

async function rss(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}

/** The peak RSS of one step alone: VmHWM is reset (clear_refs 5) before it, read after it. */
async function stepPeak(pid: number, step: () => Promise<number>): Promise<{ ms: number; peak: number }> {
  await writeFile(`/proc/${pid}/clear_refs`, '5').catch(() => undefined);
  const result = await step();
  return { ms: result, peak: (await rss(pid)).peak };
}

async function ms(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return median(times);
}

const get = (base: string, path: string): Promise<string> => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } }).then(async (r) => {
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.text();
});

const rows: string[][] = [];
const pushBaseline = new Map<string, number>();
const postgres = drivers.includes('postgres') ? await startPostgres() : undefined;
try {
  for (const driver of drivers) {
    for (const count of sizes) {
      const dir = await mkdtemp(join(tmpdir(), `cairn-scale-${driver}-`));
      try {
        let url: string;
        if (driver === 'sqlite') {
          url = `sqlite:${join(dir, 'cairn.sqlite')}`;
          await populateSqlite(join(dir, 'cairn.sqlite'), count);
        } else {
          const client = new pg.Client({ connectionString: postgres!.url });
          await client.connect();
          const name = `scale_${count}_${randomBytes(3).toString('hex')}`;
          await client.query(`CREATE DATABASE ${name}`);
          await client.end();
          url = postgres!.url.replace(/\/cairn$/, `/${name}`);
          await populatePostgres(url, count);
        }
        // The bucket: registry and the marker naming this database.
        await mkdir(join(dir, 'objects'), { recursive: true });
        const store = await createFsStore({ root: join(dir, 'objects') });
        const metadata = await openMetadata(url);
        await claimBucket(store, metadata);
        await metadata.close();
        await store.close();
        const registryFile = join(dir, 'registry.json');
        await writeFile(registryFile, JSON.stringify({ chains: { bench: { epochLength: 1000, validators: [{ id: 'bench', weight: 1, keys: [formatPublicKey(key.publicKey).trim()] }] } } }));

        const started = performance.now();
        const server = await spawnServer({ dataDir: dir, registryFile, masterKey, logLevel: 'error', extra: { database: url, adminTokens: [ADMIN], qssh: { enabled: false } } });
        const readyMs = performance.now() - started;
        try {
          await get(server.url, '/readyz');
          const afterStart = await rss(server.child.pid!);
          const latest = await ms(() => get(server.url, '/v1/chains/bench/latest'), 20);
          const list = await ms(() => get(server.url, '/v1/chains/bench/images?limit=100'), 20);
          const latestFinal = await ms(() => get(server.url, '/v1/chains/bench/latest?final=true'), 20);
          const plan = await stepPeak(server.child.pid!, () => ms(() => get(server.url, '/v1/admin/retention/plan?chain=bench'), count >= 1_000_000 ? 1 : 3));
          const ui = await stepPeak(server.child.pid!, () => ms(() => get(server.url, '/ui/chains/bench'), count >= 1_000_000 ? 1 : 3));
          // Signed before the clock starts: the push latency is the server's.
          const pushes = Array.from({ length: 10 }, (_, i) => createImageBytes({ chain: 'bench', height: (count + 10 + i) * 10, validator: 'bench', key, content: randomBytes(1024) }).bytes);
          const push = await ms(async () => {
            const response = await fetch(`${server.url}/v1/images`, { method: 'POST', body: pushes.shift() });
            if (response.status !== 201) throw new Error(`push: ${response.status}`);
          }, 10);
          if (!pushBaseline.has(driver)) pushBaseline.set(driver, push);
          const end = await rss(server.child.pid!);
          const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
          rows.push([driver, count.toLocaleString('en'), (readyMs / 1000).toFixed(2), mib(afterStart.now), mib(afterStart.peak), latest.toFixed(1), list.toFixed(1), latestFinal.toFixed(1), (plan.ms / 1000).toFixed(2), mib(plan.peak), (ui.ms / 1000).toFixed(2), mib(ui.peak), push.toFixed(0), (push / pushBaseline.get(driver)!).toFixed(2), mib(end.now)]);
          console.error(`done: ${driver} ${count}`);
        } finally {
          await server.kill();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
} finally {
  await postgres?.destroy();
}
console.log('\n### cairn serve over N images (one chain; fs bucket; medians; push ratio vs the 1,000-image run)\n');
printTable(['driver', 'images', 'ready s', 'RSS MiB', 'start peak MiB', 'latest ms', 'list ms', 'latest-final ms', 'plan s', 'plan peak MiB', '/ui s', '/ui peak MiB', 'push ms', 'push ratio', 'RSS at end MiB'], rows);

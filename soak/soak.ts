/**
 * The soak: real MinIO and PostgreSQL from the project's scripts, a fault proxy in front of
 * each, several `cairn serve` processes on them, validators pushing and attesting, nodes
 * pulling over HTTP and QSSH, retention deleting on a short schedule, and faults underneath —
 * then the checks: nothing acknowledged lost without a justified retention decision, no invalid
 * bytes served, finality kept, a clean bucket after one reconcile, memory within its bound.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, startMinio, type MinioServer } from '../minio/minio-server.ts';
import { createDatabase, startPostgres, type PostgresServer } from '../postgres/postgres-server.ts';
import { generateMasterKeyEntry } from '../src/archive/crypto/keyring.ts';
import { formatQsshPublicKey, generateFalconKey, parseRegistry, type Trust } from '../src/archive/index.ts';
import { openStore } from '../src/archive/store/create-store.ts';
import { openMetadata } from '../src/metadata/index.ts';
import { pullImage } from '../src/client/index.ts';
import { CAIRN_BIN } from '../test/support/cli.ts';
import { auditBucket, type BucketAudit } from './audit.ts';
import { CairnProcess } from './cairn-process.ts';
import { fileHoldsContent } from './content.ts';
import { FaultProxy } from './fault-proxy.ts';
import { faultKinds, runFaults } from './faults.ts';
import { Ledger } from './ledger.ts';
import { abortPull, abortPush, pushWhileFull } from './client-faults.ts';
import { runPullers, watchChain, INVALID_BYTES, type PullerContext } from './pullers.ts';
import { SoakStats } from './stats.ts';
import { SOAK_CHAINS, driveChain, makeValidators, registryDocument, type SoakChain, type WorkloadContext } from './validators.ts';

/** Settings of a soak run. */
export interface SoakOptions {
  readonly seconds: number;
  readonly processes: number;
  readonly validators: number;
  readonly pullers: number;
  readonly store: 's3' | 'fs';
  /** Largest state file pushed. */
  readonly maxImageBytes: number;
  /** A new height per chain about this often. */
  readonly roundMs: number;
  /** How long each fault lasts (and the healthy spell after it). */
  readonly spellMs: number;
  /** Resident memory no server process may exceed. */
  readonly rssBoundBytes: number;
  /** Size of the fs store's tmpfs (fs variant, as root). */
  readonly fsBytes: number;
  /** Inject only these fault kinds (default: every kind that applies). */
  readonly faults?: readonly string[];
  /** Progress lines go here (default: nowhere). */
  readonly log?: (line: string) => void;
}

/** Everything a run measured and found. */
export interface SoakReport {
  readonly options: SoakOptions;
  readonly durationMs: number;
  readonly stats: SoakStats;
  readonly ledger: Ledger;
  readonly faultKinds: readonly string[];
  readonly audit: BucketAudit;
  readonly reconcile: unknown;
  readonly processes: ReadonlyArray<{ name: string; starts: number; peakRssBytes: number }>;
  readonly finalCheck: { listed: number; deletedJustified: number; pulled: number; pulledBytes: number };
  /** Every violated invariant; empty when the soak passed. */
  readonly violations: readonly string[];
}

export const ADMIN_TOKEN = 'soak-admin-token-0123456789';


/** Mounts a tmpfs of `bytes` at `dir` (root only); false when it cannot. */
function mountTmpfs(dir: string, bytes: number): boolean {
  if (userInfo().uid !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs `cairn admin reconcile --json` with a process's configuration. */
function reconcile(configFile: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAIRN_BIN, 'admin', 'reconcile', '--config', configFile, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as unknown) : reject(new Error(`cairn admin reconcile exited with ${code}: ${err}`))));
  });
}

/** Runs one soak. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const workDir = await mkdtemp(join(tmpdir(), 'cairn-soak-'));
  const stats = new SoakStats();
  const policy = { keepLast: 5, maxAgeMs: Math.max(10_000, Math.round(options.seconds * 1000 * 0.25)), graceMs: 2_000 };
  const ledger = new Ledger({ keepLast: policy.keepLast, maxAgeMs: policy.maxAgeMs, epochLength: (chain) => SOAK_CHAINS[chain as SoakChain].epochLength });
  const processes: CairnProcess[] = [];
  let minio: MinioServer | undefined;
  let postgres: PostgresServer | undefined;
  const proxies: FaultProxy[] = [];
  let fsMount: string | undefined;
  let progress: NodeJS.Timeout | undefined;
  const started = Date.now();
  try {
    postgres = await startPostgres();
    const database = await createDatabase(postgres, 'soak');
    const pgProxy = await FaultProxy.start({ host: '127.0.0.1', port: postgres.port });
    proxies.push(pgProxy);
    const databaseUrl = database.replace(`:${postgres.port}/`, `:${pgProxy.port}/`);
    let s3Proxy: FaultProxy | undefined;
    let storeSettings: Record<string, unknown>;
    const storeDir = join(workDir, 'store');
    await mkdir(storeDir);
    if (options.store === 's3') {
      minio = await startMinio();
      s3Proxy = await FaultProxy.start({ host: '127.0.0.1', port: minio.port });
      proxies.push(s3Proxy);
      storeSettings = { store: 's3', s3: { endpoint: `http://127.0.0.1:${s3Proxy.port}`, bucket: minio.bucket, region: 'us-east-1', accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey, forcePathStyle: true, maxAttempts: 2 } };
    } else {
      if (mountTmpfs(storeDir, options.fsBytes)) fsMount = storeDir;
      else log('disk full: not injected (a small tmpfs needs root)');
      storeSettings = { store: 'fs', dataDir: storeDir };
    }

    const validators = makeValidators(options.validators);
    const registry = registryDocument(validators);
    const registryFile = join(workDir, 'registry.json');
    await writeFile(registryFile, JSON.stringify(registry));
    const trust: Trust = { keys: [], registry: parseRegistry(registry) };
    const reader = generateFalconKey('soak-reader');
    const config = {
      ...storeSettings,
      database: databaseUrl,
      masterKeys: [generateMasterKeyEntry('soak')],
      adminTokens: [ADMIN_TOKEN],
      registryFile,
      // Longer than the longest push, so cleanup never takes an upload still in flight.
      orphanGraceMs: options.maxImageBytes > 32 * 2 ** 20 ? 60_000 : 10_000,
      cleanupIntervalMs: 5_000,
      uploadIdleTimeoutMs: 10_000,
      logLevel: 'info',
      qssh: { readerKeys: [formatQsshPublicKey(reader.publicKey).trim()] },
      retention: { keepLast: policy.keepLast, maxAgeMs: policy.maxAgeMs, graceMs: policy.graceMs, schedule: '*/3 * * * * *' },
    };
    for (let i = 0; i < options.processes; i++) {
      const name = String.fromCharCode(97 + i);
      const dataDir = options.store === 's3' ? join(workDir, `data-${name}`) : storeDir;
      await mkdir(dataDir, { recursive: true });
      const proc = new CairnProcess({ name, port: await freePort(), qsshPort: await freePort(), configFile: join(workDir, `config-${name}.json`), onLog: (p, line) => ledger.onLog(p.name, line) });
      await proc.configure({ ...config, dataDir });
      await proc.start();
      processes.push(proc);
      log(`process ${name}: ${proc.url}, QSSH on ${proc.qsshPort}, pid ${proc.pid ?? '?'}`);
    }
    log(`soak: ${options.processes} processes on ${options.store === 's3' ? 'MinIO' : 'an fs store'} and PostgreSQL, ${options.validators} validators, ${options.pullers} pullers, ${options.seconds} s`);

    let stop = false;
    const stopped = (): boolean => stop;
    const servers = processes.map((p) => p.url);
    const endpoints = processes.map((p) => ({ url: p.url, qsshPort: p.qsshPort }));
    const workload: WorkloadContext = { validators, servers: () => servers, ledger, stats, workDir, maxImageBytes: options.maxImageBytes, adminToken: ADMIN_TOKEN, stopped };
    const pullers: PullerContext = { endpoints, trust, qsshIdentity: { secretKey: reader.secretKey, publicKey: reader.publicKey.raw }, ledger, stats, workDir, stopped };
    const abortedPushes = new Set<string>();
    const firstCycle = Promise.withResolvers<void>();
    const targets = {
      processes,
      ...(minio ? { minio } : {}),
      ...(s3Proxy ? { s3Proxy } : {}),
      postgres,
      pgProxy,
      ...(fsMount ? { fsMount } : {}),
      abortPull: () => abortPull(pullers),
      abortPush: () => abortPush(pullers, validators[0]!, abortedPushes),
      pushWhileFull: () => pushWhileFull(pullers, validators[1]!),
      ...(options.faults ? { only: options.faults } : {}),
    };
    progress = setInterval(() => log(`soak: ${Math.round((Date.now() - started) / 1000)} s, ${stats.counts.get('pushes acknowledged') ?? 0} pushes, ${stats.counts.get('attestations acknowledged') ?? 0} attestations, ${[...stats.counts].filter(([k]) => k.endsWith(' ok')).reduce((s, [, n]) => s + n, 0)} reads, ${ledger.deletions.length} deletions, ${[...stats.counts].filter(([k]) => k.startsWith('fault ')).reduce((s, [, n]) => s + n, 0)} faults, ${ledger.violations.length} violations`), 10_000);
    const running = [
      ...Object.keys(SOAK_CHAINS).map((chain) => driveChain(workload, chain as SoakChain, options.roundMs)),
      runPullers(pullers, options.pullers),
      ...endpoints.flatMap((e) => Object.keys(SOAK_CHAINS).map((chain) => watchChain(pullers, e, chain))),
      sleep(1500).then(() => runFaults(targets, stats, { spellMs: options.spellMs, stopped, onCycle: () => firstCycle.resolve(), log: (line) => log(`${line} at ${Math.round((Date.now() - started) / 1000)} s`) })),
    ];
    await Promise.all([sleep(options.seconds * 1000), firstCycle.promise]);
    stop = true;
    // Every client finishes what it was doing; one still waiting after a minute is a hang.
    const settled = await Promise.race([Promise.all(running).then(() => true), sleep(60_000).then(() => false)]);
    if (!settled) ledger.violation('operations still unanswered a minute after the load stopped (a server hangs requests)');
    clearInterval(progress);
    const loadStoppedAt = Date.now();
    log('soak: load stopped; final checks');

    // Everything healthy again for the final checks.
    for (const proxy of proxies) proxy.set(undefined);
    for (const p of processes) if (!p.running) await p.start();
    await sleep(1000);

    const finalCheck = await checkAcknowledged(ledger, stats, endpoints, trust, workDir, abortedPushes);
    for (const deletion of ledger.deletions) {
      const why = ledger.judge(deletion);
      if (why) ledger.violation(`${why}; servers logged: ${ledger.trail(deletion.digest)}`);
    }

    // One reconcile once the orphan grace has passed, with every process stopped, then the audit.
    for (const p of processes) await p.stop();
    await sleep(Math.max(0, config.orphanGraceMs + 1000 - (Date.now() - loadStoppedAt)));
    const reconciled = await reconcile(processes[0]!.configFile);
    const store = await openStore(options.store === 's3' ? { driver: 's3', endpoint: minio!.endpoint, bucket: minio!.bucket, region: 'us-east-1', accessKeyId: minio!.accessKeyId, secretAccessKey: minio!.secretAccessKey, forcePathStyle: true } : { driver: 'fs', root: join(storeDir, 'objects') });
    const metadata = await openMetadata(database);
    let audit: BucketAudit;
    try {
      audit = await auditBucket(store, metadata, options.store === 'fs' ? storeDir : undefined);
    } finally {
      await metadata.close();
      await store.close();
    }
    for (const [what, n] of Object.entries(audit)) if (what !== 'images' && n > 0) ledger.violation(`after reconcile the bucket holds ${n} ${what}`);
    for (const p of processes) for (const crash of p.crashes) ledger.violation(`server process crashed: ${crash}`);
    for (const p of processes) if (p.peakRssBytes > options.rssBoundBytes) ledger.violation(`process ${p.name} peaked at ${(p.peakRssBytes / 2 ** 20).toFixed(0)} MiB resident, over the ${(options.rssBoundBytes / 2 ** 20).toFixed(0)} MiB bound`);
    for (const kind of faultKinds(targets)) if (!stats.counts.get(`fault ${kind}`)) ledger.violation(`fault "${kind}" was never injected`);

    return {
      options,
      durationMs: Date.now() - started,
      stats,
      ledger,
      faultKinds: faultKinds(targets),
      audit,
      reconcile: reconciled,
      processes: processes.map((p) => ({ name: p.name, starts: p.starts, peakRssBytes: p.peakRssBytes })),
      finalCheck,
      violations: ledger.violations,
    };
  } finally {
    clearInterval(progress);
    for (const p of processes) await p.stop().catch(() => undefined);
    for (const proxy of proxies) await proxy.close().catch(() => undefined);
    await minio?.destroy().catch(() => undefined);
    await postgres?.destroy().catch(() => undefined);
    if (fsMount) execFileSync('umount', ['-l', fsMount], { stdio: 'ignore' });
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Every acknowledged push, once the load stopped: listed (then pulled over HTTP and compared with
 * what was pushed), or deleted by a logged retention decision. Aborted pushes are not listed.
 * The finality invariants: each chain's highest final image, every final image at an epoch
 * boundary and every held image are listed.
 */
async function checkAcknowledged(ledger: Ledger, stats: SoakStats, endpoints: ReadonlyArray<{ url: string }>, trust: Trust, workDir: string, aborted: ReadonlySet<string>): Promise<SoakReport['finalCheck']> {
  const result = { listed: 0, deletedJustified: 0, pulled: 0, pulledBytes: 0 };
  const deleted = ledger.deleted;
  const listed = new Set<string>();
  let i = 0;
  for (const entry of ledger.acked()) {
    const base = endpoints[i++ % endpoints.length]!.url;
    const response = await fetch(`${base}/v1/images/${entry.digest}`, { headers: { accept: 'application/json' } });
    if (response.status === 404) {
      await response.body?.cancel();
      if (deleted.has(entry.digest)) result.deletedJustified++;
      else ledger.violation(`acknowledged push ${entry.digest} (${entry.chain} height ${entry.height}, pushed at +${entry.attemptedAt - ledger.startedAt} ms, acknowledged at +${(entry.ackedAt ?? 0) - ledger.startedAt} ms${entry.deletedEventAt ? `, deletion announced at +${entry.deletedEventAt - ledger.startedAt} ms` : ''}) is gone without a retention decision; servers logged: ${ledger.trail(entry.digest)}`);
      continue;
    }
    if (!response.ok) {
      ledger.violation(`the manifest of ${entry.digest} answered ${response.status} after the run`);
      continue;
    }
    const manifest = (await response.json()) as { finality?: { finalizedAt?: number } };
    if (manifest.finality?.finalizedAt !== undefined) ledger.finalized(entry.digest, manifest.finality.finalizedAt);
    listed.add(entry.digest);
    result.listed++;
    const out = join(workDir, `final-${result.listed}.cimg`);
    try {
      await pullImage({ conn: { base }, digest: entry.digest as `sha3-256:${string}`, out, trust });
      const size = (await stat(out)).size;
      if (!(await fileHoldsContent(out, size - entry.content.size, entry.content))) ledger.violation(`final pull of ${entry.digest} differs from what was pushed`);
      result.pulled++;
      result.pulledBytes += size;
    } catch (error) {
      const code = stats.error('final pull', error);
      if (code === 'NOT_FOUND' && deleted.has(entry.digest)) continue; // deleted by retention meanwhile
      ledger.violation(`final pull of listed image ${entry.digest} (${entry.chain} height ${entry.height}) failed: ${INVALID_BYTES.has(code) ? 'invalid bytes, ' : ''}${code}; servers logged: ${ledger.trail(entry.digest)}`);
    } finally {
      await rm(out, { force: true });
    }
  }
  for (const digest of ledger.missing.keys()) {
    if (deleted.has(digest)) continue;
    if (listed.has(digest)) stats.count('NOT_FOUND answered for an image listed later');
    else ledger.violation(`a read of acknowledged ${digest} answered NOT_FOUND and no retention decision deleted it`);
  }
  for (const digest of aborted) {
    const response = await fetch(`${endpoints[0]!.url}/v1/images/${digest}`);
    await response.body?.cancel();
    if (response.status !== 404) ledger.violation(`an aborted push (${digest}) is archived (${response.status})`);
  }
  for (const chain of Object.keys(SOAK_CHAINS)) {
    const finals = [...ledger.images.values()].filter((e) => e.chain === chain && e.finalizedAt !== undefined);
    const top = finals.reduce<typeof finals[number] | undefined>((best, e) => (!best || e.height > best.height ? e : best), undefined);
    if (top && !listed.has(top.digest)) ledger.violation(`the highest final image of ${chain} (${top.digest}, height ${top.height}) is not listed`);
    for (const e of finals) if (e.height % SOAK_CHAINS[chain as SoakChain].epochLength === 0 && !listed.has(e.digest)) ledger.violation(`final epoch-boundary image ${e.digest} of ${chain} (height ${e.height}) is not listed`);
  }
  for (const e of ledger.images.values()) if (e.held && !listed.has(e.digest)) ledger.violation(`held image ${e.digest} is not listed`);
  return result;
}

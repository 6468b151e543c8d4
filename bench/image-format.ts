/**
 * Benchmark for the image format (issue: foundation).
 *
 *   npm run bench:image [-- --sizes 1,4]      (sizes in GiB; default 1,4)
 *
 * 1. For each size: plain node:crypto SHA3-256 over the content file (the ceiling; run before
 *    and after, mean taken), `createImageFile` (includes one SLH-DSA-SHA2-128s signature and the
 *    final fsync) and `verifyImage` over the same bytes, each in its own process; prints
 *    throughput, the ratio to SHA3 measured in the same run, and each process's peak RSS.
 *    A plain copy of the same bytes with fsync is printed too: creating an image must write the
 *    file, so on a disk slower than SHA3 the disk, not the format, bounds `create`.
 * 2. Per signature algorithm: keygen / sign / verify times (median) and key and signature sizes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SIGNATURE_ALGORITHMS, algorithmSpec, generateSigningKey, signMessage, verifyMessage, writeKeyPair } from '../src/archive/index.ts';
import { measure, median, mib, printTable, throughput, writeContentFile } from './support.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1,4' }, rounds: { type: 'string', default: '5' } } });
const sizesGiB = values.sizes.split(',').map(Number);
const rounds = Number(values.rounds);
const worker = join(import.meta.dirname, 'workers/image-op.ts');
const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-'));

try {
  const key = generateSigningKey('slh-dsa-sha2-128s', 'bench');
  await writeKeyPair(join(dir, 'bench.key'), key, { comment: 'bench' });
  const rows: string[][] = [];
  for (const gib of sizesGiB) {
    const content = join(dir, `content-${gib}g.bin`);
    const image = join(dir, `image-${gib}g.cimg`);
    await writeContentFile(content, gib * 1024 ** 3);
    // The baseline runs before and after the measured operations; its mean is the reference,
    // which evens out some of the noise of a shared machine.
    const sha3Before = await measure(worker, ['sha3', content]);
    const create = await measure(worker, ['create', content, join(dir, 'bench.key'), image]);
    const verify = await measure(worker, ['verify', image, join(dir, 'bench.key.pub')]);
    const sha3After = await measure(worker, ['sha3', content]);
    const copy = await measure(worker, ['copy', content, join(dir, 'copy.bin')]);
    await rm(join(dir, 'copy.bin'));
    const sha3 = { ...sha3Before, ms: (sha3Before.ms + sha3After.ms) / 2, maxRssBytes: Math.max(sha3Before.maxRssBytes, sha3After.maxRssBytes) };
    const names: Record<string, string> = { sha3: 'sha3-256 (baseline)', copy: 'plain copy + fsync (disk)', create: 'image create', verify: 'image verify' };
    for (const m of [sha3, copy, create, verify]) {
      rows.push([`${gib} GiB`, names[m.op] ?? m.op, (m.ms / 1000).toFixed(2), throughput(m).toFixed(0), (throughput(m) / throughput(sha3)).toFixed(2), mib(m.maxRssBytes)]);
    }
    await rm(content);
    await rm(image);
  }
  console.log(`\n### Image create/verify vs plain SHA3-256 (same run, same files, page cache warm)\n`);
  printTable(['size', 'operation', 'seconds', 'MiB/s', 'ratio to sha3', 'peak RSS'], rows);

  const algRows: string[][] = [];
  const message = new Uint8Array(300).fill(7);
  for (const algorithm of SIGNATURE_ALGORITHMS) {
    const keygenMs: number[] = [];
    const signMs: number[] = [];
    const verifyMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t = performance.now();
      const k = generateSigningKey(algorithm);
      keygenMs.push(performance.now() - t);
      t = performance.now();
      const sig = signMessage(k, message);
      signMs.push(performance.now() - t);
      t = performance.now();
      if (!verifyMessage(k.publicKey, message, sig)) throw new Error('verify failed');
      verifyMs.push(performance.now() - t);
    }
    const spec = algorithmSpec(algorithm);
    algRows.push([algorithm, median(keygenMs).toFixed(2), median(signMs).toFixed(2), median(verifyMs).toFixed(3), String(spec.publicKeyBytes), String(spec.signatureBytes)]);
  }
  console.log(`\n### Signature algorithms (node:crypto, OpenSSL ${process.versions.openssl}; median of ${rounds})\n`);
  printTable(['algorithm', 'keygen ms', 'sign ms', 'verify ms', 'public key B', 'signature B'], algRows);
} finally {
  await rm(dir, { recursive: true, force: true });
}

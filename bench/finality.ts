/**
 * Benchmark for attestations and finality (issue: finality).
 *
 *   npm run bench:finality [-- --attestations 200]
 *
 * 1. Attestation throughput: many validators (ML-DSA-65, then SLH-DSA-SHA2-128s) attest one
 *    image each over HTTP to a `cairn serve` child; attestations are signed beforehand, so the
 *    figure is what the server accepts per second (verify + store + announce). Four requests in
 *    flight.
 * 2. Finalization latency: with a subscriber on the chain's event feed, the time from sending
 *    the attestation that completes the quorum to the `image.finalized` event reaching the
 *    subscriber (median of 20).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createImageBytes, encodeAttestation, formatPublicKey, generateSigningKey, signAttestation, type Attestation, type SignatureAlgorithm, type SigningKey } from '../src/archive/index.ts';
import { generateMasterKeyEntry } from '../src/archive/crypto/keyring.ts';
import { pushImage, watchEvents } from '../src/client/index.ts';
import { spawnServer } from '../test/support/server-process.ts';
import { median, printTable } from './support.ts';

const { values } = parseArgs({ options: { attestations: { type: 'string', default: '200' } } });
const count = Number(values.attestations);
const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-finality-'));

async function post(base: string, attestation: Attestation): Promise<void> {
  const response = await fetch(`${base}/v1/images/${attestation.digest}/attestations`, { method: 'POST', body: Buffer.from(encodeAttestation(attestation)), headers: { 'content-type': 'application/cbor' } });
  if (response.status !== 201) throw new Error(`attestation refused: ${response.status} ${await response.text()}`);
}

try {
  const rows: string[][] = [];
  for (const algorithm of ['ml-dsa-65', 'slh-dsa-sha2-128s'] as SignatureAlgorithm[]) {
    const validators: Array<{ id: string; key: SigningKey }> = Array.from({ length: count + 1 }, (_, i) => ({ id: `v${i}`, key: generateSigningKey(algorithm) }));
    const registryFile = join(dir, `registry-${algorithm}.json`);
    await writeFile(registryFile, JSON.stringify({ chains: { bench: { validators: validators.map((v) => ({ id: v.id, weight: 1, keys: [formatPublicKey(v.key.publicKey).trim()] })) } } }));
    const server = await spawnServer({ dataDir: join(dir, `server-${algorithm}`), masterKey: generateMasterKeyEntry('bench'), registryFile });
    try {
      const { header, bytes } = createImageBytes({ chain: 'bench', height: 1, validator: 'v0', key: validators[0]!.key, content: Buffer.from('finality bench') });
      const imageFile = join(dir, `image-${algorithm}.cimg`);
      await writeFile(imageFile, bytes);
      await pushImage({ base: server.url }, imageFile);
      const signed = validators.slice(1).map((v) => signAttestation({ chain: 'bench', height: 1, digest: header.digest, size: header.size, contentType: header.contentType, validator: v.id, signedAt: Date.now() }, v.key));
      const started = performance.now();
      const queue = [...signed];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) await post(server.url, next);
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      rows.push([algorithm, String(count), seconds.toFixed(2), (count / seconds).toFixed(0)]);
    } finally {
      await server.kill();
    }
  }
  console.log('\n### Attestations accepted per second (verify + store + announce; 4 in flight)\n');
  printTable(['algorithm', 'attestations', 'seconds', 'per second'], rows);

  // Finalization latency: three validators of weight 1; producer + one attestation = 2/3 (not final), the third makes it final.
  const trio = ['a', 'b', 'c'].map((id) => ({ id, key: generateSigningKey('ml-dsa-65') }));
  const registryFile = join(dir, 'registry-trio.json');
  await writeFile(registryFile, JSON.stringify({ chains: { bench: { validators: trio.map((v) => ({ id: v.id, weight: 1, keys: [formatPublicKey(v.key.publicKey).trim()] })) } } }));
  const server = await spawnServer({ dataDir: join(dir, 'server-latency'), masterKey: generateMasterKeyEntry('bench'), registryFile });
  const latencies: number[] = [];
  try {
    const controller = new AbortController();
    const waiting = new Map<string, (at: number) => void>();
    const watching = watchEvents({ conn: { base: server.url }, chain: 'bench', signal: controller.signal, onEvent: (e) => void (e.type === 'image.finalized' && waiting.get(e.digest)?.(performance.now())) });
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 20; i++) {
      const { header, bytes } = createImageBytes({ chain: 'bench', height: 100 + i, validator: 'a', key: trio[0]!.key, content: Buffer.from(`latency ${i}`) });
      const file = join(dir, `latency-${i}.cimg`);
      await writeFile(file, bytes);
      await pushImage({ base: server.url }, file);
      const statement = { chain: 'bench', height: 100 + i, digest: header.digest, size: header.size, contentType: header.contentType, signedAt: Date.now() };
      await post(server.url, signAttestation({ ...statement, validator: 'b' }, trio[1]!.key));
      const last = signAttestation({ ...statement, validator: 'c' }, trio[2]!.key);
      const finalized = new Promise<number>((resolve) => waiting.set(header.digest, resolve));
      const sent = performance.now();
      await post(server.url, last);
      latencies.push((await finalized) - sent);
    }
    controller.abort();
    await watching;
  } finally {
    await server.kill();
  }
  console.log('\n### From the last needed attestation to image.finalized at a subscriber (20 images)\n');
  printTable(
    ['median ms', 'min ms', 'max ms'],
    [[median(latencies).toFixed(1), Math.min(...latencies).toFixed(1), Math.max(...latencies).toFixed(1)]],
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

/**
 * A chain of 300 SLH-DSA-SHA2-128f validators (docs/FORMAT.md §5.1): 300 attestations of 17 KiB
 * make a 5.2 MB header, over the 4 MiB every reader accepts by default. The served file carries a
 * quorum-first subset within 4 MiB — still valid and final for a node with the same registry —
 * and the manifest lists all 300.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/api/index.ts';
import { createImageBytes, encodeAttestation, formatPublicKey, generateSigningKey, parseRegistry, signAttestation, verifyImage, type SigningKey } from '../../../src/archive/index.ts';
import { generateMasterKeyEntry } from '../../../src/archive/crypto/keyring.ts';
import { tempDir } from '../../support/fixtures.ts';
import { startTestServer } from '../../support/server.ts';

const VALIDATORS = 300;
let dir: string;
let server: RunningServer;
let keys: SigningKey[];
let registryDoc: { chains: Record<string, { validators: Array<{ id: string; weight: number; keys: string[] }> }> };

beforeAll(async () => {
  dir = await tempDir();
  keys = Array.from({ length: VALIDATORS }, (_, i) => generateSigningKey('slh-dsa-sha2-128f', `v${String(i).padStart(3, '0')}`));
  // Weights 1–5, so a quorum is not simply "any 201".
  registryDoc = { chains: { big: { validators: keys.map((k, i) => ({ id: k.publicKey.comment as string, weight: 1 + ((i * 7) % 5), keys: [formatPublicKey(k.publicKey).trim()] })) } } };
  await mkdir(join(dir, 'data'));
  server = await startTestServer({ dataDir: join(dir, 'data'), masterKey: generateMasterKeyEntry('t'), registry: parseRegistry(registryDoc), extra: { maxHeaderBytes: 16 * 1024 * 1024 } });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a chain of 300 SLH-DSA-SHA2-128f validators', () => {
  it('serves a quorum-first subset within 4 MiB, valid and final for the same registry; the manifest has all 300', async () => {
    const [producer, ...others] = keys as [SigningKey, ...SigningKey[]];
    const { header, bytes } = createImageBytes({ chain: 'big', height: 1, validator: producer.publicKey.comment as string, key: producer, content: new TextEncoder().encode('state of a big chain') });
    expect((await fetch(`${server.url}/v1/images`, { method: 'POST', body: bytes })).status).toBe(201);
    for (const key of others) {
      const attestation = signAttestation({ chain: 'big', height: 1, digest: header.digest, size: header.size, contentType: header.contentType, validator: key.publicKey.comment as string, signedAt: Date.now() }, key);
      const response = await fetch(`${server.url}/v1/images/${header.digest}/attestations`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: encodeAttestation(attestation) });
      expect(response.status).toBe(201);
    }
    const manifest = (await (await fetch(`${server.url}/v1/images/${header.digest}`)).json()) as { attestations: unknown[]; finality: { final: boolean }; file: { headerBytes: number } };
    expect(manifest.attestations).toHaveLength(VALIDATORS);
    expect(manifest.finality.final).toBe(true);
    expect(manifest.file.headerBytes - 14).toBeLessThanOrEqual(4 * 1024 * 1024);

    const file = new Uint8Array(await (await fetch(`${server.url}/v1/images/${header.digest}/file`)).arrayBuffer());
    // headerBytes is the whole prefix: preamble, header and (format v2) the 36-byte chunk list entries.
    expect(14 + new DataView(file.buffer).getUint32(10) + (header.chunkList?.length ?? 0)).toBe(manifest.file.headerBytes);
    // A node with the default 4 MiB limit and its own copy of the registry.
    const report = await verifyImage(Readable.from([file]), { keys: [], registry: parseRegistry(registryDoc) });
    expect(report.attestations.length).toBeGreaterThan(200);
    expect(report.attestations.length).toBeLessThan(VALIDATORS);
    expect(report.attestations.every((a) => a.status === 'valid')).toBe(true);
    expect(report.quorum?.final).toBe(true);
  }, 300_000);
});

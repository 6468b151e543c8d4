/**
 * Attestations, finality, forks, signed announcements and catch-up against a real server, and
 * the seed's partition scenario end to end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/api/index.ts';
import { createSnapshot, encodeAttestation, formatPublicKey, parseRegistry, signAttestation, type Registry } from '../../../src/archive/index.ts';
import { attestImage, catchUp, fetchIdentity, pushImage, watchEvents } from '../../../src/client/index.ts';
import type { SignedEvent } from '../../../src/archive/service/announcement.ts';
import { allImages, imageBytes, validatorKey } from '../../support/archive-fixtures.ts';
import { TEST_ADMIN_TOKEN, startTestServer } from '../../support/server.ts';

/** alice 1, bob 2, carol 2: bob and carol together hold 4/5 > 2/3; alice alone 1/5. */
function weightedRegistry(): Registry {
  const v = (id: string, weight: number): { id: string; weight: number; keys: string[] } => ({ id, weight, keys: [formatPublicKey(validatorKey(id).publicKey)] });
  return parseRegistry({ chains: { devnet: { epochLength: 1000, validators: [v('alice', 1), v('bob', 2), v('carol', 2)] }, other: { validators: [v('dave', 1)] } } });
}

let server: RunningServer;
let dir: string;
const conn = (): { base: string } => ({ base: server.url });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-finality-'));
  server = await startTestServer({ dataDir: dir, registry: weightedRegistry() });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function push(bytes: Uint8Array, name = `${randomBytes(4).toString('hex')}.cimg`): Promise<void> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  await pushImage(conn(), path);
}

async function postAttestation(digest: string, body: string | Buffer, contentType: string): Promise<{ status: number; code?: string; added?: boolean }> {
  const response = await fetch(`${server.url}/v1/images/${digest}/attestations`, { method: 'POST', body, headers: { 'content-type': contentType } });
  const json = (await response.json()) as { error?: { code: string }; added?: boolean };
  return { status: response.status, ...(json.error ? { code: json.error.code } : {}), ...(json.added === undefined ? {} : { added: json.added }) };
}

describe('attestations and finality', () => {
  it('counts distinct validators by weight, is idempotent, and records when finality was reached', async () => {
    const { header, bytes } = imageBytes(randomBytes(1000), { height: 10, producer: 'bob' });
    await push(bytes);
    const fromCarol = await attestImage({ conn: conn(), digest: header.digest, key: validatorKey('carol'), validator: 'carol' });
    expect(fromCarol.added).toBe(true);
    expect(fromCarol.finality).toMatchObject({ final: true, attestedWeight: 4, totalWeight: 5 });
    expect(fromCarol.finality.finalizedAt).toEqual(expect.any(Number));
    const again = await attestImage({ conn: conn(), digest: header.digest, key: validatorKey('carol'), validator: 'carol' });
    expect(again.added).toBe(false);
    // The served file now carries both attestations, so a node can check finality offline.
    const served = (await (await fetch(`${server.url}/v1/images/${header.digest}`)).json()) as { attestations: Array<{ validator: string }>; file: { size: number } };
    expect(served.attestations.map((a) => a.validator)).toEqual(['bob', 'carol']);
    expect((await (await fetch(`${server.url}/v1/images/${header.digest}/file`)).arrayBuffer()).byteLength).toBe(served.file.size);
  });

  it('refuses bad attestations with stable codes and records nothing', async () => {
    const { header, bytes } = imageBytes(randomBytes(500), { height: 20, producer: 'alice' });
    await push(bytes);
    const base = { chain: header.chain, height: header.height, digest: header.digest, size: header.size, contentType: header.contentType, validator: 'bob', signedAt: Date.now() };
    const signed = signAttestation(base, validatorKey('bob'));
    const cbor = (a: typeof signed): Buffer => Buffer.from(encodeAttestation(a));
    const cases: Array<[string, Promise<{ status: number; code?: string }>, number, string]> = [
      ['signature over other fields', postAttestation(header.digest, cbor({ ...signed, signedAt: signed.signedAt + 1 }), 'application/cbor'), 422, 'SIGNATURE_INVALID'],
      ['digest that does not exist', postAttestation(`sha3-256:${'1'.repeat(64)}`, cbor(signAttestation({ ...base, digest: `sha3-256:${'1'.repeat(64)}` }, validatorKey('bob'))), 'application/cbor'), 404, 'NOT_FOUND'],
      ['validator of another chain', postAttestation(header.digest, cbor(signAttestation({ ...base, validator: 'dave' }, validatorKey('dave'))), 'application/cbor'), 403, 'UNKNOWN_VALIDATOR'],
      ['signedAt far in the future', postAttestation(header.digest, cbor(signAttestation({ ...base, signedAt: Date.now() + 3_600_000 }, validatorKey('bob'))), 'application/cbor'), 400, 'SIGNED_AT_IN_FUTURE'],
      ['another height', postAttestation(header.digest, cbor(signAttestation({ ...base, height: 21 }, validatorKey('bob'))), 'application/cbor'), 400, 'INVALID_ARGUMENT'],
      ['malformed CBOR', postAttestation(header.digest, Buffer.from([0xa1, 0x61]), 'application/cbor'), 400, 'CBOR_MALFORMED'],
      ['malformed JSON', postAttestation(header.digest, '{"chain": ', 'application/json'), 400, 'INVALID_ARGUMENT'],
      ['JSON missing fields', postAttestation(header.digest, JSON.stringify({ digest: header.digest, signature: 'AAAA' }), 'application/json'), 400, 'INVALID_ARGUMENT'],
    ];
    for (const [name, pending, status, code] of cases) expect(await pending, name).toMatchObject({ status, code });
    expect((await server.archive.read.attesters([await server.archive.read.image(header.digest)])).get(header.digest)).toEqual(['alice']);
    // The same attestation as JSON is accepted.
    const json = { ...signed, signature: Buffer.from(signed.signature).toString('base64') };
    expect(await postAttestation(header.digest, JSON.stringify(json), 'application/json')).toMatchObject({ status: 201, added: true });
  });

  it('announces available, attested and finalized images with signatures that verify; Last-Event-ID resumes', async () => {
    const identity = await fetchIdentity(conn());
    expect(identity.algorithm).toBe('ml-dsa-65');
    const seen: SignedEvent[] = [];
    const controller = new AbortController();
    const watching = watchEvents({ conn: conn(), chain: 'devnet', identity, signal: controller.signal, onEvent: (e) => void ('id' in e && seen.push(e)) });
    await new Promise((r) => setTimeout(r, 200));
    const { header, bytes } = imageBytes(randomBytes(300), { height: 30, producer: 'bob' });
    await push(bytes);
    await attestImage({ conn: conn(), digest: header.digest, key: validatorKey('carol'), validator: 'carol' });
    for (let i = 0; i < 50 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await watching;
    expect(seen.map((e) => [e.type, e.validator])).toEqual([
      ['image.available', 'bob'],
      ['image.attested', 'carol'],
      ['image.finalized', undefined],
    ]);
    expect(seen.every((e) => e.digest === header.digest && e.height === 30)).toBe(true);

    const resumed: Array<SignedEvent | { type: 'stream.reset' }> = [];
    const again = new AbortController();
    const following = watchEvents({ conn: conn(), chain: 'devnet', identity, lastEventId: seen[0]!.id, signal: again.signal, onEvent: (e) => resumed.push(e) });
    for (let i = 0; i < 50 && resumed.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    again.abort();
    await following;
    expect(resumed.map((e) => e.type)).toEqual(['image.attested', 'image.finalized']);

    // Announcements are refused under any other key.
    const failing = new AbortController();
    const { generateSigningKey } = await import('../../../src/archive/index.ts');
    const pushing = (async () => {
      await new Promise((r) => setTimeout(r, 200));
      await push(imageBytes(randomBytes(300), { height: 31, producer: 'bob' }).bytes);
    })();
    await expect(watchEvents({ conn: conn(), chain: 'devnet', identity: generateSigningKey('ml-dsa-65').publicKey, signal: failing.signal, onEvent: () => undefined })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    await pushing;
  });
});

describe("the seed's partition scenario", () => {
  it('majority images win, forks are marked orphaned, and Alice catches up to 2000', async () => {
    const queue = (height: number, by: string): Uint8Array =>
      createSnapshot([{ kind: 'BlockImport', priority: 0, payload: Buffer.from(`block ${height} by ${by}`), provenance: { origin: by, receivedAt: height, sequence: height } }, { kind: 'Vote', priority: 1, payload: Buffer.from(`vote ${height}`), provenance: { origin: by, receivedAt: height, sequence: height + 1 } }], {
        chain: 'devnet',
        height,
        validator: by,
        key: validatorKey(by),
        createdAt: Date.now() - 60_000,
      }).bytes;
    // Partition: Alice alone pushes 1100-1500; Bob pushes 1100-2000 and Carol attests each.
    for (let h = 1100; h <= 1500; h += 100) await push(queue(h, 'alice'));
    for (let h = 1100; h <= 2000; h += 100) {
      const bytes = queue(h, 'bob');
      await push(bytes);
      const latest = (await (await fetch(`${server.url}/v1/chains/devnet/heights/${h}`)).json()) as { images: Array<{ digest: string; producer: string }> };
      const bobs = latest.images.find((i) => i.producer === 'bob')!;
      await attestImage({ conn: conn(), digest: bobs.digest as `sha3-256:${string}`, key: validatorKey('carol'), validator: 'carol' });
    }
    const latestFinal = (await (await fetch(`${server.url}/v1/chains/devnet/latest?final=true`)).json()) as { height: number; producer: string; finality: { final: boolean } };
    expect(latestFinal).toMatchObject({ height: 2000, producer: 'bob', finality: { final: true } });
    const fork = (await (await fetch(`${server.url}/v1/chains/devnet/heights/1300`)).json()) as { images: Array<{ producer: string; final: boolean; orphaned: boolean }> };
    expect(fork.images.map((i) => [i.producer, i.final, i.orphaned]).sort()).toEqual([
      ['alice', false, true],
      ['bob', true, false],
    ]);

    // The retention plan marks Alice's conflicting images ORPHANED (delete).
    const plan = (await (await fetch(`${server.url}/v1/admin/retention/plan?chain=devnet`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as { decisions: Array<{ digest: string; height: number; rule: string; action: string }> };
    const aliceDigests = new Set<string>((await allImages(server.archive, 'devnet')).filter((e) => e.record.producer.validator === 'alice' && e.record.height >= 1100).map((e) => e.record.digest));
    const aliceDecisions = plan.decisions.filter((d) => aliceDigests.has(d.digest));
    expect(aliceDecisions).toHaveLength(5);
    expect(aliceDecisions.every((d) => ['ORPHANED', 'SUPERSEDED'].includes(d.rule) && d.action === 'delete')).toBe(true);
    expect(plan.decisions.find((d) => d.height === 2000)).toMatchObject({ action: 'keep' });

    // Healing: Alice, at 1500, catches up against her own registry copy.
    const out = join(dir, 'alice-node');
    const registryFile = join(dir, 'alice-registry.json');
    const { registryToDocument } = await import('../../../src/archive/index.ts');
    await writeFile(registryFile, JSON.stringify(registryToDocument(weightedRegistry())));
    const { loadTrust } = await import('../../../src/archive/index.ts');
    const result = await catchUp({ conn: conn(), chain: 'devnet', localHeight: 1500, threshold: 100, trust: await loadTrust([registryFile]), outDir: out });
    expect(result).toMatchObject({ action: 'restored', height: 2000, messages: 2, quorum: { attestedWeight: 4, totalWeight: 5 } });
    const restored = JSON.parse(await readFile(join(out, 'devnet-2000.queue.json'), 'utf8')) as Array<{ kind: string; priority: number; payload: string }>;
    expect(restored.map((m) => [m.kind, m.priority, Buffer.from(m.payload, 'base64').toString()])).toEqual([
      ['BlockImport', 0, 'block 2000 by bob'],
      ['Vote', 1, 'vote 2000'],
    ]);
    expect((await readdir(out)).sort()).toEqual(['devnet-2000.cimg', 'devnet-2000.queue.json']);
    // Up to date once at 2000.
    expect(await catchUp({ conn: conn(), chain: 'devnet', localHeight: 2000, trust: await loadTrust([registryFile]), outDir: out })).toMatchObject({ action: 'up-to-date', latestFinalHeight: 2000 });
  });

  it('a catch-up whose image does not verify against the local registry writes nothing', async () => {
    const out = join(dir, 'mallory-node');
    const registryFile = join(dir, 'wrong-registry.json');
    const wrong = parseRegistry({ chains: { devnet: { validators: ['alice', 'bob', 'carol'].map((id) => ({ id, weight: 1, keys: [formatPublicKey(validatorKey(`${id}-other`).publicKey)] })) } } });
    const { registryToDocument, loadTrust } = await import('../../../src/archive/index.ts');
    await writeFile(registryFile, JSON.stringify(registryToDocument(wrong)));
    await expect(catchUp({ conn: conn(), chain: 'devnet', localHeight: 0, trust: await loadTrust([registryFile]), outDir: out })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });
});

/**
 * The README walkthrough through the real `cairn` command: keygen → create → inspect → verify,
 * and the failures an operator would hit.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCairn } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';

describe('cairn CLI: keys and image files', () => {
  it('runs the walkthrough: keygen, create, inspect, verify', async () => {
    const dir = await tempDir();
    expect((await runCairn(['keygen', '--out', 'alice.key', '--id', 'alice'], { cwd: dir })).code).toBe(0);
    await writeFile(join(dir, 'state.bin'), 'validator state at height 1000\n');
    const created = await runCairn(['image', 'create', '--chain', 'devnet', '--height', '1000', '--key', 'alice.key', '--in', 'state.bin', '--out', 'state-1000.cimg', '--json'], { cwd: dir });
    expect(created.code, created.stderr).toBe(0);
    const header = JSON.parse(created.stdout) as { digest: string; attestations: Array<{ validator: string }> };
    expect(header.digest).toMatch(/^sha3-256-chunks:[0-9a-f]{64}$/);
    expect(header.attestations[0]?.validator).toBe('alice');

    const inspected = await runCairn(['image', 'inspect', 'state-1000.cimg'], { cwd: dir });
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toContain(header.digest);
    expect(inspected.stdout).toContain('slh-dsa-sha2-128s');

    const verified = await runCairn(['image', 'verify', 'state-1000.cimg', '--trust', 'alice.key.pub'], { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('OK: image verified');
  });

  it('builds queue-state content from JSON and verifies against a registry file with quorum', async () => {
    const dir = await tempDir();
    await runCairn(['keygen', '--alg', 'ml-dsa-65', '--out', 'bob.key', '--id', 'bob'], { cwd: dir });
    await writeFile(
      join(dir, 'queue.json'),
      JSON.stringify([
        { kind: 'Vote', priority: 1, payload: Buffer.from('vote').toString('base64'), provenance: { origin: 'carol', receivedAt: 1, sequence: 1 } },
        { kind: 'BlockImport', priority: 0, payload: Buffer.from('block').toString('base64'), provenance: { origin: 'bob', receivedAt: 2, sequence: 2 } },
      ]),
    );
    const created = await runCairn(['image', 'create', '--chain', 'devnet', '--height', '2000', '--key', 'bob.key', '--queue', 'queue.json', '--out', 'q.cimg'], { cwd: dir });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('application/vnd.cairn.queue-state+cbor');
    const bobKey = (await readFile(join(dir, 'bob.key.pub'), 'utf8')).trim();
    await writeFile(join(dir, 'registry.json'), JSON.stringify({ chains: { devnet: { validators: [{ id: 'bob', weight: 1, keys: [bobKey] }] } } }));
    const verified = await runCairn(['image', 'verify', 'q.cimg', '--trust', 'registry.json', '--require-final', '--json'], { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, quorum: { attestedWeight: 1, totalWeight: 1, final: true } });
  });

  it('refuses to sign queue-state content that is not a queue state, and verify checks what the content type promises', async () => {
    const dir = await tempDir();
    await runCairn(['keygen', '--alg', 'ml-dsa-44', '--out', 'bob.key', '--id', 'bob'], { cwd: dir });
    await writeFile(join(dir, 'garbage.bin'), 'not a queue state');
    const refused = await runCairn(['image', 'create', '--chain', 'devnet', '--height', '1', '--key', 'bob.key', '--in', 'garbage.bin', '--content-type', 'application/vnd.cairn.queue-state+cbor', '--out', 'q.cimg'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('QUEUE_STATE_INVALID');
    expect(await readdir(dir)).not.toContain('q.cimg');
    // A file some other producer signed anyway (the format vectors hold one) fails verification.
    const vectors = join(import.meta.dirname, '../vectors/image-v1');
    const trust = JSON.parse(await readFile(join(vectors, 'vectors.json'), 'utf8')) as { trust: string[] };
    await writeFile(join(dir, 'trust.pub'), `${trust.trust.join('\n')}\n`);
    const verified = await runCairn(['image', 'verify', join(vectors, 'invalid/queue-state-garbage.cimg'), '--trust', 'trust.pub'], { cwd: dir });
    expect(verified.code).toBe(1);
    expect(verified.stderr).toContain('QUEUE_STATE_INVALID');
  });

  it('reports attestations the trust cannot check, in verify and in inspect --trust, and does not count them', async () => {
    const dir = await tempDir();
    const vectors = join(import.meta.dirname, '../vectors/image-v1');
    const index = JSON.parse(await readFile(join(vectors, 'vectors.json'), 'utf8')) as { trust: string[]; registries: { registry: unknown } };
    await writeFile(join(dir, 'registry.json'), JSON.stringify(index.registries.registry));
    const file = join(vectors, 'unverifiable-attestation.cimg');
    const verified = await runCairn(['image', 'verify', file, '--trust', 'registry.json'], { cwd: dir });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('1 attestation(s) could not be checked — no trusted key for carok — and do not count toward finality');
    expect(verified.stdout).toContain('not final');
    const json = JSON.parse((await runCairn(['image', 'verify', file, '--trust', 'registry.json', '--json'], { cwd: dir })).stdout) as { unverified: string[] };
    expect(json.unverified).toEqual(['carok']);
    const inspected = await runCairn(['image', 'inspect', file, '--trust', 'registry.json'], { cwd: dir });
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/carok .* untrusted/);
    expect(inspected.stdout).toContain('(content not verified');
  });

  it('reads content from stdin with --in -', async () => {
    const dir = await tempDir();
    await runCairn(['keygen', '--alg', 'ml-dsa-44', '--out', 'k'], { cwd: dir });
    const created = await runCairn(['image', 'create', '--chain', 'devnet', '--height', '1', '--key', 'k', '--in', '-', '--out', 'x.cimg', '--json'], { cwd: dir, input: 'from stdin' });
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ size: 10, attestations: [{ validator: 'k' }] });
  });

  it('fails with a code and a non-zero exit, writing nothing, on bad input', async () => {
    const dir = await tempDir();
    await runCairn(['keygen', '--alg', 'ml-dsa-44', '--out', 'k'], { cwd: dir });
    await runCairn(['keygen', '--alg', 'ml-dsa-44', '--out', 'other'], { cwd: dir });
    const missing = await runCairn(['image', 'create', '--chain', 'devnet', '--height', '1', '--key', 'k', '--in', 'nope.bin', '--out', 'x.cimg'], { cwd: dir });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/INVALID_ARGUMENT/);
    const badHeight = await runCairn(['image', 'create', '--chain', 'devnet', '--height', '1e3', '--key', 'k', '--in', 'k', '--out', 'x.cimg'], { cwd: dir });
    expect(badHeight.code).toBe(2);
    expect(await readdir(dir)).not.toContain('x.cimg');

    await runCairn(['image', 'create', '--chain', 'devnet', '--height', '1', '--key', 'k', '--in', 'k', '--out', 'x.cimg'], { cwd: dir });
    const untrusted = await runCairn(['image', 'verify', 'x.cimg', '--trust', 'other.pub'], { cwd: dir });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^cairn: error UNTRUSTED_SIGNER: /);

    const bytes = await readFile(join(dir, 'x.cimg'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(join(dir, 'corrupt.cimg'), bytes);
    const corrupt = await runCairn(['image', 'verify', 'corrupt.cimg', '--trust', 'k.pub', '--json'], { cwd: dir });
    expect(corrupt.code).toBe(1);
    expect(JSON.parse(corrupt.stderr)).toMatchObject({ error: { code: 'DIGEST_MISMATCH' } });

    const notImage = await runCairn(['image', 'inspect', 'k.pub'], { cwd: dir });
    expect(notImage.code).toBe(1);
    expect(notImage.stderr).toMatch(/IMAGE_BAD_MAGIC/);
  });

  it('prints help for every command and exits 0; unknown commands exit 2', async () => {
    for (const args of [['--help'], ['keygen', '--help'], ['image', '--help'], ['image', 'create', '--help'], ['image', 'inspect', '--help'], ['image', 'verify', '--help']]) {
      const result = await runCairn(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/Usage: cairn/);
    }
    expect((await runCairn(['frobnicate'])).code).toBe(2);
  });

  it('writes Falcon-512 QSSH keys in qssh-keygen format', async () => {
    const dir = await tempDir();
    const result = await runCairn(['keygen', '--alg', 'falcon512', '--out', 'id_qssh', '--id', 'node-1'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(join(dir, 'id_qssh'), 'utf8')).toMatch(/^-----BEGIN QSSH PRIVATE KEY-----\nAlgorithm: Falcon-512/);
    expect(await readFile(join(dir, 'id_qssh.pub'), 'utf8')).toMatch(/^qssh-falcon512 [A-Za-z0-9+/=]+ node-1\n$/);
  });
});

/**
 * The package as a user installs it: packed with `npm pack` from a fresh build, installed from
 * the tarball into a new project, imported by name from JavaScript and type-checked from
 * TypeScript, and the seed's create → verify → restore round trip run through it; its `cairn`
 * command runs too. The build happens in a copy, so the checkout's dist/ is never touched.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const work: string[] = [];
afterAll(async () => {
  await Promise.all(work.map((d) => rm(d, { recursive: true, force: true })));
});

/** npm, run on this Node (the one `npm test` runs on). */
function npm(args: readonly string[], cwd: string): string {
  const cli = process.env.npm_execpath;
  const [file, prefix] = cli?.endsWith('.js') ? [process.execPath, [cli]] : ['npm', []];
  return execFileSync(file, [...prefix, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
}

describe('the installed package', () => {
  it('installs from its tarball, imports by name with types, round-trips a snapshot, and runs its command', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'cairn-pack-src-'));
    const consumer = await mkdtemp(join(tmpdir(), 'cairn-pack-use-'));
    work.push(copy, consumer);
    for (const entry of ['package.json', 'bin', 'scripts', 'src', 'docs', 'README.md', 'tsconfig.json', 'tsconfig.build.json']) await cp(join(ROOT, entry), join(copy, entry), { recursive: true });
    await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    execFileSync(process.execPath, [join(copy, 'scripts', 'build.js')], { cwd: copy, stdio: 'pipe' });
    npm(['pack', '--ignore-scripts', '--pack-destination', consumer], copy);
    const tarball = (await readdir(consumer)).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();

    await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', `./${tarball!}`], consumer);
    // What a user gets: JavaScript and declarations, not the TypeScript sources.
    const installed = await readdir(join(consumer, 'node_modules', 'cairn'));
    expect(installed).toEqual(expect.arrayContaining(['dist', 'bin', 'package.json']));
    expect(installed).not.toContain('src');

    await writeFile(
      join(consumer, 'roundtrip.ts'),
      `import { createSnapshot, verifySnapshot, restoreFromSnapshot, generateSigningKey, type QueueMessage } from 'cairn';
const key = generateSigningKey('ml-dsa-44', 'alice');
const messages: QueueMessage[] = [
  { kind: 'Vote', priority: 1, payload: new TextEncoder().encode('vote'), provenance: { origin: 'carol', receivedAt: 1767225600000, sequence: 1 } },
  { kind: 'BlockImport', priority: 0, payload: new TextEncoder().encode('block'), provenance: { origin: 'bob', receivedAt: 1767225600001, sequence: 2 } },
];
const { bytes } = createSnapshot(messages, { chain: 'devnet', height: 1000, validator: 'alice', key });
const verified = await verifySnapshot(bytes, [key.publicKey]);
const restored = await restoreFromSnapshot(bytes, [key.publicKey]);
console.log(JSON.stringify({ height: verified.header.height, kinds: restored.map((m) => m.kind) }));
`,
    );
    // Types resolve from the package's declarations (the consumer's own compiler settings).
    await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2024', strict: true, noEmit: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] }, files: ['roundtrip.ts'] }));
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], { cwd: consumer, stdio: 'pipe' });
    // And the same file runs (Node strips the types; the import resolves to the shipped JavaScript).
    const output = execFileSync(process.execPath, [join(consumer, 'roundtrip.ts')], { cwd: consumer, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ height: 1000, kinds: ['BlockImport', 'Vote'] });

    const version = execFileSync(process.execPath, [join(consumer, 'node_modules', '.bin', 'cairn'), '--version'], { cwd: consumer, encoding: 'utf8' });
    expect(version.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  }, 300_000);
});

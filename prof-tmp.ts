import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMinio } from './minio/minio-server.ts';
import { generateMasterKeyEntry } from './src/archive/crypto/keyring.ts';
import { createImageFile, formatPublicKey, generateSigningKey } from './src/archive/index.ts';
import { pushImage, pullImage } from './src/client/index.ts';
import { spawnServer } from './test/support/server-process.ts';
import { writeContentFile } from './bench/support.ts';
const dir = await mkdtemp(join(tmpdir(), 'prof-'));
const minio = await startMinio();
const key = generateSigningKey('ml-dsa-44', 'b');
await writeFile(join(dir, 'r.json'), JSON.stringify({ chains: { b: { validators: [{ id: 'b', weight: 1, keys: [formatPublicKey(key.publicKey).trim()] }] } } }));
await writeContentFile(join(dir, 'c.bin'), 1024 ** 3);
const h = await createImageFile({ chain: 'b', height: 1, validator: 'b', key, content: { path: join(dir, 'c.bin') }, out: join(dir, 'i.cimg') });
await rm(join(dir, 'c.bin'));
process.env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=/tmp/cairn-prof --cpu-prof-name=${process.argv[2]}.cpuprofile`;
const server = await spawnServer({ dataDir: join(dir, 'data'), registryFile: join(dir, 'r.json'), minio, masterKey: generateMasterKeyEntry('k'), logLevel: 'warn' });
delete process.env.NODE_OPTIONS;
if (process.argv[2] === 'push') await pushImage({ base: server.url }, join(dir, 'i.cimg'));
else { await pushImage({ base: server.url }, join(dir, 'i.cimg')); }
if (process.argv[2] === 'pull') {
  // restart server to profile only the pull
}
await pullImage({ conn: { base: server.url }, digest: h.digest, out: join(dir, 'o.cimg') });
await server.kill('SIGTERM');
await minio.destroy(); await rm(dir, { recursive: true, force: true });

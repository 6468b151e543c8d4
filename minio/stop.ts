/** `minio/stop`: stops the MinIO that `minio/start` started and removes its data directory. */
import { readFile, rm } from 'node:fs/promises';
import { stateFile } from './state.ts';

let state: { pid: number; dataDir: string };
try {
  state = JSON.parse(await readFile(stateFile(), 'utf8')) as { pid: number; dataDir: string };
} catch {
  process.stderr.write('minio: nothing to stop\n');
  process.exit(0);
}
try {
  process.kill(state.pid, 'SIGTERM');
} catch {
  // already gone
}
for (let i = 0; i < 50; i++) {
  try {
    process.kill(state.pid, 0);
    await new Promise((r) => setTimeout(r, 100));
  } catch {
    break;
  }
}
await rm(state.dataDir, { recursive: true, force: true });
await rm(stateFile(), { force: true });
process.stderr.write(`minio: stopped pid ${state.pid}\n`);

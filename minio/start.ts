/**
 * `minio/start`: starts a local MinIO in the background and prints its settings as
 * `CAIRN_*` environment lines (eval-able). State for `minio/stop` goes to the state file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { startMinio } from './minio-server.ts';
import { stateFile } from './state.ts';

const server = await startMinio({ detached: true, bucket: process.env.CAIRN_S3_BUCKET ?? 'cairn' });
await mkdir(dirname(stateFile()), { recursive: true });
await writeFile(stateFile(), JSON.stringify({ pid: server.process.pid, dataDir: server.dataDir, endpoint: server.endpoint }), { mode: 0o600 });
const lines = [
  `CAIRN_STORE=s3`,
  `CAIRN_S3_ENDPOINT=${server.endpoint}`,
  `CAIRN_S3_BUCKET=${server.bucket}`,
  `CAIRN_S3_REGION=us-east-1`,
  `CAIRN_S3_FORCE_PATH_STYLE=true`,
  `CAIRN_S3_ACCESS_KEY_ID=${server.accessKeyId}`,
  `CAIRN_S3_SECRET_ACCESS_KEY=${server.secretAccessKey}`,
];
process.stdout.write(`${lines.map((l) => `export ${l}`).join('\n')}\n`);
process.stderr.write(`minio: running at ${server.endpoint} (pid ${server.process.pid}, data ${server.dataDir}); stop with minio/stop\n`);
process.exit(0);

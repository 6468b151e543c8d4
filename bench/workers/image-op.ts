/**
 * One measured operation in its own process, so its peak RSS is its own:
 *   node bench/workers/image-op.ts sha3 <content>
 *   node bench/workers/image-op.ts create <content> <key> <out>
 *   node bench/workers/image-op.ts verify <image> <pubkey>
 *   node bench/workers/image-op.ts copy <content> <out>     (stream copy + fsync: the disk's share)
 * Prints one JSON line: { op, ms, bytes, maxRssBytes }.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { FILE_CHUNK_BYTES, createImageFile, digestStream, loadTrust, readSigningKeyFile, verifyImage } from '../../src/archive/index.ts';

const [op, a, b, c] = process.argv.slice(2);
const started = performance.now();
let bytes = 0;
switch (op) {
  case 'sha3': {
    bytes = (await digestStream(createReadStream(a!, { highWaterMark: FILE_CHUNK_BYTES }))).size;
    break;
  }
  case 'create': {
    const key = await readSigningKeyFile(b!);
    const header = await createImageFile({ chain: 'bench', height: 1, validator: 'bench', key, content: { path: a! }, out: c!, overwrite: true });
    bytes = header.size;
    break;
  }
  case 'verify': {
    const report = await verifyImage(createReadStream(a!, { highWaterMark: FILE_CHUNK_BYTES }), await loadTrust([b!]));
    bytes = report.header.size;
    break;
  }
  case 'copy': {
    const out = await open(b!, 'w');
    for await (const chunk of createReadStream(a!, { highWaterMark: FILE_CHUNK_BYTES })) {
      await out.write(chunk as Buffer, 0, (chunk as Buffer).length, bytes);
      bytes += (chunk as Buffer).length;
    }
    await out.sync();
    await out.close();
    break;
  }
  case undefined:
  default:
    throw new Error(`unknown op ${String(op)}`);
}
const ms = performance.now() - started;
if (bytes === 0) bytes = (await stat(a!)).size;
process.stdout.write(`${JSON.stringify({ op, ms, bytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);

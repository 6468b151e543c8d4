/**
 * A plain HTTP mirror for `bench:peers` (what a CDN or `python -m http.server` behind nginx does):
 * serves one image file with byte ranges. With `--lie-from <offset>`, it flips one byte of every
 * response body that starts at or after that offset (the content: a source that serves the
 * image's prefix faithfully and corrupted chunks). Prints its port on stdout, then serves until
 * killed. Run as its own process so its CPU is not the client's.
 *
 *   node bench/workers/range-mirror.ts --file <image.cimg> [--lie-from <offset>]
 */
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { file: { type: 'string' }, 'lie-from': { type: 'string' } } });
const lieFrom = values['lie-from'] === undefined ? Infinity : Number(values['lie-from']);
if (!values.file) throw new Error('--file is required');
const handle = await open(values.file, 'r');
const size = (await handle.stat()).size;

const server = createServer((req, res) => {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
  if (start > end) return res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
  const body = Buffer.allocUnsafe(end - start + 1);
  void handle.read(body, 0, body.length, start).then(() => {
    if (start >= lieFrom) body[body.length >> 1] = (body[body.length >> 1] as number) ^ 0xff;
    res.writeHead(range ? 206 : 200, { 'content-length': body.length, ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}), 'accept-ranges': 'bytes' }).end(body);
  }, () => res.writeHead(500).end());
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));

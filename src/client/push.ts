/** Pushing an image file to a Cairn server, streamed with its length. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { CairnError } from '../errors.ts';
import { streamRequest } from './http-client.ts';

/** The server's answer to a push (the manifest plus what the push changed). */
export interface PushResponse {
  digest: string;
  chain: string;
  height: number;
  size: number;
  created: boolean;
  addedAttestations: string[];
  finality: { final: boolean; attestedWeight: number; totalWeight: number };
}

/** Streams `file` to `POST /v1/images`; `onProgress(sent, total)` follows the bytes read for sending. */
export async function pushImage(conn: { base: string; token?: string }, file: string, options: { onProgress?: (sent: number, total: number) => void } = {}): Promise<PushResponse> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new CairnError('INVALID_ARGUMENT', `cannot read ${file}: ${error.code ?? 'error'}`);
  });
  const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
  let body: Readable = source;
  if (options.onProgress) {
    const report = options.onProgress;
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        report((sent += chunk.length), info.size);
        done(null, chunk);
      },
    });
    source.on('error', (error) => counter.destroy(error));
    body = source.pipe(counter);
  }
  const response = await streamRequest(conn, '/v1/images', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/vnd.cairn.image', 'content-length': String(info.size), accept: 'application/json' },
  });
  const parts: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) parts.push(chunk);
  return JSON.parse(Buffer.concat(parts).toString('utf8')) as PushResponse;
}

/** Pushing an image file to a Cairn server, streamed with its length. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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

/** Streams `file` to `POST /v1/images`. */
export async function pushImage(conn: { base: string; token?: string }, file: string): Promise<PushResponse> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new CairnError('INVALID_ARGUMENT', `cannot read ${file}: ${error.code ?? 'error'}`);
  });
  const response = await streamRequest(conn, '/v1/images', {
    method: 'POST',
    body: createReadStream(file, { highWaterMark: 1024 * 1024 }),
    headers: { 'content-type': 'application/vnd.cairn.image', 'content-length': String(info.size), accept: 'application/json' },
  });
  const parts: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) parts.push(chunk);
  return JSON.parse(Buffer.concat(parts).toString('utf8')) as PushResponse;
}

/**
 * Following a chain's announcements (server-sent events), verifying each one's signature
 * against the server identity before handing it on.
 */
import { CairnError } from '../errors.ts';
import { parsePublicKeyLine, type PublicKey } from '../archive/index.ts';
import { verifyEvent, type SignedEvent } from '../archive/service/announcement.ts';
import { getJson, streamRequest } from './http-client.ts';

/** The server's identity key as published at /v1/identity. */
export async function fetchIdentity(conn: { base: string; token?: string }): Promise<PublicKey> {
  const identity = await getJson<{ line: string }>(conn, '/v1/identity');
  return parsePublicKeyLine(identity.line);
}

/** Options for {@link watchEvents}. */
export interface WatchOptions {
  readonly conn: { base: string; token?: string };
  readonly chain: string;
  /** Key to verify against; by default the one the server publishes (trust on first use). */
  readonly identity?: PublicKey;
  readonly lastEventId?: string;
  readonly signal?: AbortSignal;
  /** Called for each verified event; `stream.reset` arrives with type 'stream.reset'. */
  readonly onEvent: (event: SignedEvent | { type: 'stream.reset' }) => void;
}

/** Streams events until the signal aborts or the server closes; rejects on a bad signature. */
export async function watchEvents(options: WatchOptions): Promise<void> {
  const identity = options.identity ?? (await fetchIdentity(options.conn));
  const response = await streamRequest(options.conn, `/v1/chains/${encodeURIComponent(options.chain)}/events`, {
    headers: { accept: 'text/event-stream', ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}) },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  response.setEncoding('utf8');
  response.on('error', () => undefined); // surfaced through the iterator below; aborts end it quietly
  let buffer = '';
  try {
    for await (const text of response as AsyncIterable<string>) {
      buffer += text;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) type = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length === 0) continue;
        if (type === 'stream.reset') {
          options.onEvent({ type: 'stream.reset' });
          continue;
        }
        const event = JSON.parse(data.join('\n')) as SignedEvent;
        if (!verifyEvent(event, identity)) {
          throw new CairnError('SIGNATURE_INVALID', `announcement ${event.id} is not signed by the server identity ${identity.fingerprint}`);
        }
        options.onEvent(event);
      }
    }
  } catch (error) {
    if (options.signal?.aborted) return;
    throw error;
  }
}

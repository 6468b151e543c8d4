/**
 * Test helper: an HTTP proxy in front of a real Cairn server that lies the way a compromised
 * server or a man in the middle would — rewriting JSON answers, or cutting a response after some
 * bytes — so clients can be shown to believe only what is signed.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the proxy misbehaves. */
export interface ProxyBehaviour {
  /** Rewrites the JSON body of answers whose path matches (the value returned is sent). */
  rewriteJson?: (path: string, body: Record<string, unknown>) => Record<string, unknown>;
  /** Cuts the connection after this many body bytes of answers whose path matches `cutPath`. */
  cutAfterBytes?: number;
  cutPath?: RegExp;
}

/** A running proxy: its URL, and a way to stop it. */
export interface HostileProxy {
  readonly url: string;
  close(): Promise<void>;
}

function forward(target: URL, incoming: IncomingMessage): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const upstream = request(new URL(incoming.url ?? '/', target), { method: incoming.method, headers: { ...incoming.headers, host: target.host } }, resolve);
    upstream.on('error', reject);
    incoming.pipe(upstream);
  });
}

/** Starts a proxy to `targetUrl` on a loopback port. */
export async function startHostileProxy(targetUrl: string, behaviour: ProxyBehaviour): Promise<HostileProxy> {
  const target = new URL(targetUrl);
  const server: Server = createServer((incoming, outgoing) => {
    void (async () => {
      const answer = await forward(target, incoming);
      const path = new URL(incoming.url ?? '/', target).pathname;
      const type = String(answer.headers['content-type'] ?? '');
      if (behaviour.rewriteJson && type.includes('application/json')) {
        const parts: Buffer[] = [];
        for await (const chunk of answer as AsyncIterable<Buffer>) parts.push(chunk);
        const body = JSON.stringify(behaviour.rewriteJson(path, JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>));
        const { 'content-length': _length, ...headers } = answer.headers;
        outgoing.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': Buffer.byteLength(body) });
        outgoing.end(body);
        return;
      }
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      if (behaviour.cutAfterBytes !== undefined && behaviour.cutPath?.test(path)) {
        let sent = 0;
        for await (const chunk of answer as AsyncIterable<Buffer>) {
          const room = behaviour.cutAfterBytes - sent;
          if (chunk.length >= room) {
            outgoing.write(chunk.subarray(0, room));
            answer.destroy();
            outgoing.socket?.destroy();
            return;
          }
          outgoing.write(chunk);
          sent += chunk.length;
        }
        outgoing.end();
        return;
      }
      answer.pipe(outgoing);
    })().catch(() => outgoing.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

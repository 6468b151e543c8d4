/**
 * The smallest TCP fault proxy the soak needs, in process (docs/DECISIONS.md says why not
 * toxiproxy): it forwards one listening port to one target and, on command, delays every chunk
 * by a fixed latency, caps throughput, stalls (connections stay open, no byte moves), refuses
 * new connections, or resets every open connection. A fault applies to connections already open
 * as well as new ones; chunks keep their order in each direction; a slow reader is never
 * buffered past a high-water mark.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { drainedOrClosed } from '../src/archive/index.ts';

/** What the proxy does to traffic now. */
export type ProxyFault = { readonly kind: 'latency'; readonly ms: number } | { readonly kind: 'bandwidth'; readonly bytesPerSecond: number } | { readonly kind: 'stall' } | { readonly kind: 'refuse' };

/** Bytes queued in one direction before the sending side is paused. */
const HIGH_WATER = 1024 * 1024;



/** A running proxy. */
export class FaultProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #fault: ProxyFault | undefined;
  /** Resolved (and replaced) whenever the fault changes: stalled chunks wait on it. */
  #changed = Promise.withResolvers<void>();
  /** Bandwidth cap: when the link is next free, ms. */
  #nextFree = 0;

  private constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
  }

  /** Listens on `listenPort` (0: any) of 127.0.0.1 and forwards to `target`. */
  static async start(target: { host: string; port: number }, listenPort = 0): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, target);
    server.on('connection', (socket) => proxy.#accept(socket));
    server.listen(listenPort, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  /** The port it listens on. */
  get port(): number {
    const address = this.#server.address();
    if (!address || typeof address === 'string') throw new Error('proxy is not listening');
    return address.port;
  }

  /** Sets (or clears, with undefined) the fault. */
  set(fault: ProxyFault | undefined): void {
    this.#fault = fault;
    this.#nextFree = 0;
    const previous = this.#changed;
    this.#changed = Promise.withResolvers<void>();
    previous.resolve();
  }

  /** Resets every open connection (both sides see ECONNRESET); returns how many. */
  resetAll(): number {
    const n = this.#sockets.size;
    for (const socket of this.#sockets) socket.resetAndDestroy();
    return Math.ceil(n / 2);
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    this.set(undefined);
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#fault?.kind === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.#target);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => this.#sockets.delete(socket));
    }
    // One side failing resets the other, as a broken path would.
    const fail = (): void => {
      if (!client.destroyed) client.resetAndDestroy();
      if (!upstream.destroyed) upstream.resetAndDestroy();
    };
    client.on('error', fail);
    upstream.on('error', fail);
    this.#pump(client, upstream);
    this.#pump(upstream, client);
  }

  /** Moves bytes from `from` to `to`, one chunk at a time, through the current fault. */
  #pump(from: Socket, to: Socket): void {
    const queue: Array<{ chunk: Buffer; at: number }> = [];
    let queued = 0;
    let running = false;
    let ended = false;
    const drain = async (): Promise<void> => {
      running = true;
      try {
        while (queue.length > 0) {
          const item = queue[0] as { chunk: Buffer; at: number };
          await this.#gate(item.chunk.length, item.at);
          if (to.destroyed) return;
          queue.shift();
          queued -= item.chunk.length;
          if (queued < HIGH_WATER / 2 && from.isPaused()) from.resume();
          // An error closes `to`; the socket's own handler resets both sides.
          if (!to.write(item.chunk)) await drainedOrClosed(to);
        }
        if (ended && !to.destroyed) to.end();
      } finally {
        running = false;
      }
    };
    from.on('data', (chunk: Buffer) => {
      queue.push({ chunk, at: Date.now() });
      queued += chunk.length;
      if (queued > HIGH_WATER) from.pause();
      if (!running) void drain();
    });
    from.on('end', () => {
      ended = true;
      if (!running) void drain();
    });
  }

  /** Waits until the current fault lets `length` bytes received at `at` through. */
  async #gate(length: number, at: number): Promise<void> {
    for (;;) {
      const fault = this.#fault;
      const changed = this.#changed.promise;
      if (!fault || fault.kind === 'refuse') return;
      if (fault.kind === 'stall') {
        await changed;
        continue;
      }
      if (fault.kind === 'latency') {
        const wait = at + fault.ms - Date.now();
        if (wait <= 0) return;
        await Promise.race([sleep(wait), changed]);
        continue;
      }
      const now = Date.now();
      const start = Math.max(now, this.#nextFree);
      this.#nextFree = start + (length / fault.bytesPerSecond) * 1000;
      if (start > now) await Promise.race([sleep(start - now), changed]);
      return;
    }
  }
}

/**
 * A small client for Cairn's HTTP API, used by the CLI and the client library: JSON requests,
 * typed errors rebuilt from the server's error body, streamed bodies.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CairnError, ERROR_CODES, type ErrorCode } from '../errors.ts';

/** Connection settings shared by the client commands. */
export interface ServerOptions {
  server?: string;
  token?: string;
  tokenFile?: string;
}

/** The base URL and bearer token to use. */
export async function connection(options: ServerOptions): Promise<{ base: string; token?: string }> {
  const base = (options.server ?? process.env.CAIRN_SERVER ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  try {
    new URL(base);
  } catch {
    throw new CairnError('INVALID_ARGUMENT', `--server must be a URL, got "${base.slice(0, 80)}"`);
  }
  let token = options.token ?? process.env.CAIRN_TOKEN;
  if (!token && options.tokenFile) token = (await readFile(options.tokenFile, 'utf8')).trim();
  return { base, ...(token ? { token } : {}) };
}

/** Turns a non-2xx response into the server's CairnError. */
export async function failure(response: Response): Promise<CairnError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
  const code = error?.code && error.code in ERROR_CODES ? (error.code as ErrorCode) : response.status === 404 ? 'NOT_FOUND' : response.status >= 500 ? 'STORE_ERROR' : 'INVALID_ARGUMENT';
  return new CairnError(code, error?.message ?? `HTTP ${response.status}`, error?.details ? { details: error.details } : {});
}

/** Performs a request; rejects with the server's error for non-2xx answers (and network errors as STORE_UNAVAILABLE). */
export async function request(conn: { base: string; token?: string }, path: string, init: RequestInit & { expect?: number[] } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (conn.token) headers.set('authorization', `Bearer ${conn.token}`);
  let response: Response;
  try {
    response = await fetch(`${conn.base}${path}`, { ...init, headers });
  } catch (error) {
    throw new CairnError('STORE_UNAVAILABLE', `cannot reach ${conn.base}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, { cause: error });
  }
  if (!response.ok && !(init.expect ?? []).includes(response.status)) throw await failure(response);
  return response;
}

/** GET JSON. */
export async function getJson<T>(conn: { base: string; token?: string }, path: string): Promise<T> {
  return (await (await request(conn, path, { headers: { accept: 'application/json' } })).json()) as T;
}

/**
 * A streaming request over node:http(s), for bulk bodies in either direction: no web-stream
 * conversions, backpressure through pipe. Resolves with the response once its headers arrive;
 * non-2xx answers (other than those in `expect`) reject with the server's error.
 */
export function streamRequest(conn: { base: string; token?: string }, path: string, options: { method?: string; headers?: Record<string, string>; body?: Readable; expect?: number[]; signal?: AbortSignal } = {}): Promise<IncomingMessage> {
  const url = new URL(`${conn.base}${path}`);
  const headers: Record<string, string> = { ...options.headers, ...(conn.token ? { authorization: `Bearer ${conn.token}` } : {}) };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: options.method ?? 'GET', headers, ...(options.signal ? { signal: options.signal } : {}) }, (response) => {
      const status = response.statusCode ?? 0;
      if ((status >= 200 && status < 300) || (options.expect ?? []).includes(status)) return resolve(response);
      const parts: Buffer[] = [];
      response.on('data', (d: Buffer) => parts.push(d));
      response.on('end', () => {
        const body = Buffer.concat(parts).toString('utf8');
        void failure(new Response(body, { status })).then(reject);
      });
      response.on('error', reject);
    });
    req.on('error', (error) => reject(new CairnError('STORE_UNAVAILABLE', `cannot reach ${conn.base}: ${error.message}`, { cause: error })));
    if (options.body) {
      options.body.on('error', (error) => req.destroy(error));
      options.body.pipe(req);
    } else {
      req.end();
    }
  });
}

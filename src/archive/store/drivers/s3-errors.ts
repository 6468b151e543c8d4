/**
 * The one place where S3 SDK errors become Cairn errors.
 */
import { CairnError } from '../../../errors.ts';

/**
 * Errors of the connection to the store rather than answers from it: the store (or the path to
 * it) is down or went away mid-transfer — a request body cut off (`ERR_STREAM_PREMATURE_CLOSE`),
 * an aborted or closed socket — so the client may retry later.
 */
const UNAVAILABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_SOCKET_CLOSED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const UNAVAILABLE_S3_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeTooSkewed', 'InternalError', 'XMinioServerNotInitialized', 'TimeoutError']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
  cause?: unknown;
}

function networkCode(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== 'object' || depth > 4) return undefined;
  const code = (error as SdkErrorShape).code;
  if (typeof code === 'string' && UNAVAILABLE_NETWORK_CODES.has(code)) return code;
  const nested = (error as { errors?: unknown[] }).errors;
  if (Array.isArray(nested)) for (const e of nested) if (networkCode(e, depth + 1)) return networkCode(e, depth + 1);
  return networkCode((error as SdkErrorShape).cause, depth + 1);
}

/**
 * Translates an error thrown by the AWS SDK (or the socket under it) during `operation` on
 * `key`. Cairn errors pass through unchanged.
 */
export function translateS3Error(error: unknown, operation: string, key: string): CairnError {
  if (error instanceof CairnError) return error;
  const e = (error ?? {}) as SdkErrorShape;
  const name = e.name ?? e.Code ?? '';
  const status = e.$metadata?.httpStatusCode;
  const where = `[s3] ${operation} ${key}`;
  const net = networkCode(error);
  if (net) return new CairnError('STORE_UNAVAILABLE', `${where}: object store unreachable (${net})`, { cause: error });
  if (name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket')) return new CairnError('NOT_FOUND', `${where}: no such object`, { cause: error });
  if (name === 'PreconditionFailed' || status === 412) return new CairnError('PRECONDITION_FAILED', `${where}: precondition failed`, { cause: error });
  if (name === 'InvalidRange' || status === 416) return new CairnError('RANGE_NOT_SATISFIABLE', `${where}: range not satisfiable`, { cause: error });
  if (name === 'XMinioStorageFull' || status === 507) return new CairnError('STORE_FULL', `${where}: ${name || 'HTTP 507'}`, { cause: error });
  if (UNAVAILABLE_S3_CODES.has(name) || (status !== undefined && status >= 500) || name === 'AbortError') {
    return new CairnError('STORE_UNAVAILABLE', `${where}: ${name || `HTTP ${status ?? '?'}`}`, { cause: error });
  }
  return new CairnError('STORE_ERROR', `${where}: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}`, { cause: error });
}

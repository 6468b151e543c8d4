/**
 * The one place where errors become HTTP responses: `{ "error": { code, message, details } }`
 * with the status from the error-code table. Unknown errors are logged and become a generic
 * 500; no stack trace or internal message reaches the client (publicError). A client that went
 * away mid-request is a client abort (CLIENT_ABORTED, info), not a server failure.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CairnError, publicError, toCairnError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { CairnMetrics } from '../metrics.ts';
import { requestFields } from './request-info.ts';

/** Builds the JSON error response for `error`. */
export function errorResponse(c: Context, error: unknown, logger: Logger, metrics?: CairnMetrics): Response {
  const cairnError = toCairnError(error);
  metrics?.errors.inc({ code: cairnError.code });
  const internal = !(error instanceof CairnError) || cairnError.httpStatus >= 500;
  const fields = { ...requestFields(c), method: c.req.method, path: c.req.path.slice(0, 200), code: cairnError.code };
  if (internal) logger.error('request failed', { ...fields, error });
  else logger.info('request refused', fields);
  const body = publicError(cairnError).toJSON();
  const headers: Record<string, string> = {};
  if (cairnError.code === 'RANGE_NOT_SATISFIABLE' && typeof cairnError.details?.size === 'number') headers['content-range'] = `bytes */${cairnError.details.size}`;
  if (cairnError.code === 'UNAUTHORIZED') headers['www-authenticate'] = 'Bearer realm="cairn"';
  if (cairnError.code === 'STORE_UNAVAILABLE') headers['retry-after'] = '5';
  return c.json(body, cairnError.httpStatus as ContentfulStatusCode, headers);
}

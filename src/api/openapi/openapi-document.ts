/**
 * The OpenAPI 3.1 document, generated from the route table: parameters, query strings and
 * request bodies are the JSON Schemas of the zod schemas that validate them (their input
 * side), responses are described by status with the shared error body.
 */
import { z } from 'zod';
import { ERROR_CODES } from '../../errors.ts';
import { ROUTES, type RouteSpec } from './route-table.ts';

type Json = Record<string, unknown>;

function schemaOf(type: z.ZodType | 'binary' | 'text'): Json {
  if (type === 'binary') return { type: 'string', contentMediaType: 'application/octet-stream' };
  if (type === 'text') return { type: 'string' };
  const { $schema: _drop, ...rest } = z.toJSONSchema(type, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

function parameters(spec: RouteSpec): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
    if (!schema) continue;
    const object = schemaOf(schema) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      const { description, ...rest } = property;
      out.push({ name, in: where, required: where === 'path' || (object.required ?? []).includes(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  return out;
}

function operation(spec: RouteSpec): Json {
  const responses: Json = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] = { description: r.description, ...(r.contentType ? { content: { [r.contentType]: r.schema ? { schema: schemaOf(r.schema) } : {} } } : {}) };
  }
  return {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    ...('description' in spec && spec.description ? { description: spec.description } : {}),
    ...(spec.auth === 'admin' ? { security: [{ admin: [] }] } : spec.auth === 'read' ? { security: [{}, { read: [] }] } : { security: [] }),
    parameters: parameters(spec),
    ...(spec.body ? { requestBody: { required: true, description: spec.body.description, ...(spec.maxBodyBytes === undefined ? {} : { 'x-max-body-bytes': spec.maxBodyBytes }), content: Object.fromEntries(Object.entries(spec.body.content).map(([type, schema]) => [type, { schema: schemaOf(schema) }])) } } : {}),
    responses,
  };
}

let cached: Json | undefined;

/** The document (built once). */
export function openApiDocument(version: string): Json {
  if (cached) return cached;
  const paths: Record<string, Json> = {};
  for (const spec of Object.values(ROUTES) as RouteSpec[]) (paths[spec.path] ??= {})[spec.method] = operation(spec);
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Cairn',
      version,
      description: 'The archive validators push signed data images to, and pull verified images from. Errors are `{ error: { code, message, details? } }` with a stable code; the codes and their statuses are listed under `x-error-codes`.',
    },
    tags: [
      { name: 'images', description: 'Push, attest and read images.' },
      { name: 'chains', description: 'Listings, latest images, forks and announcements per chain.' },
      { name: 'admin', description: 'Registry and retention (admin token).' },
      { name: 'server', description: 'Health, identity, metrics and this document.' },
      { name: 'dashboard', description: 'The HTML dashboard.' },
    ],
    components: {
      securitySchemes: {
        admin: { type: 'http', scheme: 'bearer', description: 'An admin token (`adminTokens`).' },
        read: { type: 'http', scheme: 'bearer', description: 'The read token (`readToken`), needed only when one is configured; admin tokens work too.' },
      },
    },
    paths,
    'x-error-codes': Object.fromEntries(Object.entries(ERROR_CODES).map(([code, spec]) => [code, { status: spec.httpStatus, summary: spec.summary }])),
  };
  return cached;
}

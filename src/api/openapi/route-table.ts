/**
 * Every HTTP route Cairn serves, once: method, path, what it takes (the zod schemas that
 * validate it) and what it answers. Routes are registered from this table (`on()`), and the
 * OpenAPI document is generated from it, so the two cannot drift apart.
 */
import type { z } from 'zod';
import * as s from './schemas.ts';

/** One route. Paths use OpenAPI's `{param}` form. */
export interface RouteSpec {
  readonly operationId: string;
  readonly method: 'get' | 'post' | 'put' | 'delete';
  readonly path: string;
  readonly tag: 'images' | 'chains' | 'admin' | 'server' | 'dashboard';
  readonly summary: string;
  readonly description?: string;
  /** Who may call it: anyone, a read token when one is configured, or an admin token. */
  readonly auth: 'none' | 'read' | 'admin';
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: { readonly description: string; readonly content: Readonly<Record<string, z.ZodType | 'binary'>> };
  /** The largest body accepted (BODY_TOO_LARGE beyond, as soon as it is crossed); absent for streamed uploads. */
  readonly maxBodyBytes?: number;
  readonly responses: Readonly<Record<string, { readonly description: string; readonly contentType?: string; readonly schema?: z.ZodType | 'binary' | 'text' }>>;
}

const json = 'application/json';
const KIB = 1024;
const MIB = 1024 * KIB;
const err = (description: string): { description: string; contentType: string; schema: z.ZodType } => ({ description, contentType: json, schema: s.errorBody });
const ok = (description: string, contentType = json): { description: string; contentType: string } => ({ description, contentType });

/** The route table. */
export const ROUTES = {
  healthz: { operationId: 'healthz', method: 'get', path: '/healthz', tag: 'server', auth: 'none', summary: 'Liveness: the process serves requests.', responses: { 200: ok('`{ status: "ok" }`') } },
  readyz: { operationId: 'readyz', method: 'get', path: '/readyz', tag: 'server', auth: 'none', summary: 'Readiness: the object store answers.', responses: { 200: ok('`{ status, store, images }`'), 503: err('STORE_UNAVAILABLE') } },
  identity: { operationId: 'getIdentity', method: 'get', path: '/v1/identity', tag: 'server', auth: 'none', summary: "The server's ML-DSA-65 identity (signs announcements and the QSSH identity proof).", responses: { 200: ok('`{ algorithm, publicKey, fingerprint, line }`') } },
  metrics: { operationId: 'getMetrics', method: 'get', path: '/metrics', tag: 'server', auth: 'none', summary: 'Prometheus metrics (text exposition format).', responses: { 200: { description: 'Metrics', contentType: 'text/plain', schema: 'text' } } },
  openapi: { operationId: 'getOpenApi', method: 'get', path: '/openapi.json', tag: 'server', auth: 'none', summary: 'This API description (OpenAPI 3.1).', responses: { 200: ok('The document') } },
  docs: { operationId: 'getDocs', method: 'get', path: '/docs', tag: 'server', auth: 'none', summary: 'The API reference, rendered from /openapi.json.', responses: { 200: ok('HTML', 'text/html') } },

  pushImage: {
    operationId: 'pushImage', method: 'post', path: '/v1/images', tag: 'images', auth: 'none',
    summary: 'Push a signed image file.',
    description: 'The header, registry membership and every signature are checked before content is read; the content is hashed and sealed as it streams; nothing is committed unless everything verifies. A push of an archived image adds its attestations (deduplication).',
    body: { description: 'The image file (docs/FORMAT.md), streamed.', content: { 'application/vnd.cairn.image': 'binary', 'application/octet-stream': 'binary' } },
    responses: { 201: ok('Archived: the manifest, `created`, `addedAttestations`'), 200: ok('Already archived (deduplicated)'), 400: err('Malformed image (IMAGE_*, CBOR_*, BODY_SIZE_MISMATCH)'), 403: err('UNKNOWN_VALIDATOR / UNTRUSTED_SIGNER'), 409: err('DIGEST_CONFLICT'), 413: err('IMAGE_HEADER_TOO_LARGE'), 422: err('DIGEST_MISMATCH / SIZE_MISMATCH / SIGNATURE_INVALID'), 503: err('STORE_UNAVAILABLE') },
  },
  attest: {
    operationId: 'attestImage', method: 'post', path: '/v1/images/{digest}/attestations', tag: 'images', auth: 'none', params: s.digestParams, maxBodyBytes: 64 * KIB,
    summary: "Add a validator's attestation of an archived image.",
    body: { description: 'Deterministic CBOR (FORMAT.md §4.3) or the same fields as JSON.', content: { 'application/cbor': 'binary', [json]: s.attestationJsonBody } },
    responses: { 201: ok('Added: `{ digest, validator, added, finality }`'), 200: ok('Already present'), 400: err('INVALID_ARGUMENT / SIGNED_AT_IN_FUTURE'), 413: err('BODY_TOO_LARGE (over 64 KiB)'), 403: err('UNKNOWN_VALIDATOR'), 404: err('NOT_FOUND'), 422: err('SIGNATURE_INVALID') },
  },
  getManifest: { operationId: 'getManifest', method: 'get', path: '/v1/images/{digest}', tag: 'images', auth: 'read', params: s.digestParams, summary: 'The manifest: header fields, every attestation, finality, file and content URLs.', description: 'JSON, or deterministic CBOR with `Accept: application/cbor`.', responses: { 200: ok('Manifest'), 404: err('NOT_FOUND') } },
  getContent: { operationId: 'getContent', method: 'get', path: '/v1/images/{digest}/content', tag: 'images', auth: 'read', params: s.digestParams, summary: 'The raw content (decrypted), with Range, ETag (the digest), If-None-Match, If-Range; HEAD too.', responses: { 200: { description: 'Content', contentType: 'application/octet-stream', schema: 'binary' }, 206: ok('A range', 'application/octet-stream'), 304: ok('Not modified'), 404: err('NOT_FOUND'), 416: err('RANGE_NOT_SATISFIABLE'), 500: err('INTEGRITY_ERROR') } },
  getFile: { operationId: 'getFile', method: 'get', path: '/v1/images/{digest}/file', tag: 'images', auth: 'read', params: s.digestParams, summary: 'The self-contained image file with every current attestation; Range, ETag, HEAD.', responses: { 200: { description: 'Image file', contentType: 'application/vnd.cairn.image', schema: 'binary' }, 206: ok('A range', 'application/vnd.cairn.image'), 304: ok('Not modified'), 404: err('NOT_FOUND'), 416: err('RANGE_NOT_SATISFIABLE') } },

  listChains: { operationId: 'listChains', method: 'get', path: '/v1/chains', tag: 'chains', auth: 'read', summary: 'Chains of the registry with their image counts.', responses: { 200: ok('`{ chains: [...] }`') } },
  listImages: { operationId: 'listImages', method: 'get', path: '/v1/chains/{chain}/images', tag: 'chains', auth: 'read', params: s.chainParams, query: s.listImagesQuery, summary: "A page of a chain's images by height.", responses: { 200: ok('`{ chain, images, nextCursor? }`'), 400: err('INVALID_ARGUMENT') } },
  latest: { operationId: 'getLatest', method: 'get', path: '/v1/chains/{chain}/latest', tag: 'chains', auth: 'read', params: s.chainParams, query: s.latestQuery, summary: 'The manifest of the highest image (or the highest final one).', responses: { 200: ok('Manifest'), 404: err('NOT_FOUND') } },
  height: { operationId: 'getHeight', method: 'get', path: '/v1/chains/{chain}/heights/{height}', tag: 'chains', auth: 'read', params: s.heightParams, summary: 'Every image at one height (forks), with orphaned flags.', responses: { 200: ok('`{ chain, height, images }`') } },
  events: { operationId: 'streamEvents', method: 'get', path: '/v1/chains/{chain}/events', tag: 'chains', auth: 'read', params: s.chainParams, summary: 'Server-sent events (image.available, image.attested, image.finalized, image.deleted), signed; resumable with Last-Event-ID.', responses: { 200: { description: 'Event stream', contentType: 'text/event-stream', schema: 'text' }, 404: err('UNKNOWN_CHAIN') } },

  getRegistry: { operationId: 'getRegistry', method: 'get', path: '/v1/admin/registry', tag: 'admin', auth: 'admin', summary: 'The validator registry document.', responses: { 200: ok('Registry document'), 401: err('UNAUTHORIZED'), 403: err('FORBIDDEN') } },
  putRegistry: { operationId: 'putRegistry', method: 'put', path: '/v1/admin/registry', tag: 'admin', auth: 'admin', query: s.registryUpdateQuery, maxBodyBytes: 4 * MIB, body: { description: 'A whole registry document (docs/FORMAT.md §Registry file).', content: { [json]: s.registryBody } }, summary: 'Replace the registry (validated).', responses: { 200: ok('The stored document'), 400: err('INVALID_ARGUMENT'), 409: err('EPOCH_CHANGE_UNCONFIRMED') } },
  putValidator: { operationId: 'putValidator', method: 'put', path: '/v1/admin/registry/chains/{chain}/validators/{id}', tag: 'admin', auth: 'admin', params: s.validatorParams, query: s.registryUpdateQuery, maxBodyBytes: 64 * KIB, body: { description: "The validator's weight and keys.", content: { [json]: s.validatorBody } }, summary: 'Add or update a validator (creates the chain if needed).', responses: { 200: ok('The stored document'), 400: err('INVALID_ARGUMENT'), 409: err('EPOCH_CHANGE_UNCONFIRMED') } },
  deleteValidator: { operationId: 'deleteValidator', method: 'delete', path: '/v1/admin/registry/chains/{chain}/validators/{id}', tag: 'admin', auth: 'admin', params: s.validatorParams, summary: 'Remove a validator (the chain goes with its last one).', responses: { 200: ok('The stored document'), 404: err('NOT_FOUND') } },
  retentionPlan: { operationId: 'retentionPlan', method: 'get', path: '/v1/admin/retention/plan', tag: 'admin', auth: 'admin', query: s.planQuery, summary: 'Dry-run retention plan: every image with its decision and rule.', responses: { 200: ok('`{ chain, at, policy, decisions, summary, delete, keep, bytesFreed }`'), 404: err('UNKNOWN_CHAIN') } },
  retentionRun: { operationId: 'retentionRun', method: 'post', path: '/v1/admin/retention/run', tag: 'admin', auth: 'admin', maxBodyBytes: 4 * KIB, body: { description: 'Which chain; `dryRun` to only report.', content: { [json]: s.retentionRunBody } }, summary: 'One mark-then-sweep retention run.', responses: { 200: ok('Run report'), 412: err('PRECONDITION_FAILED: another process holds the lease') } },
  retentionRuns: { operationId: 'retentionRuns', method: 'get', path: '/v1/admin/retention/runs', tag: 'admin', auth: 'admin', query: s.runsQuery, summary: 'Recorded retention runs, newest first.', responses: { 200: ok('`{ chain, runs }`') } },
  hold: { operationId: 'placeHold', method: 'put', path: '/v1/admin/images/{digest}/hold', tag: 'admin', auth: 'admin', params: s.digestParams, summary: 'Place an admin hold (retention rule PINNED).', responses: { 200: ok('`{ digest, held: true }`'), 404: err('NOT_FOUND') } },
  revokeFinality: { operationId: 'revokeFinality', method: 'post', path: '/v1/admin/images/{digest}/finality/revoke', tag: 'admin', auth: 'admin', params: s.digestParams, maxBodyBytes: 4 * KIB, body: { description: 'Why (recorded and logged).', content: { [json]: s.revokeBody } }, summary: "Revoke an image's proven finality (recorded, announced); attestations do not make it final again.", responses: { 200: ok('The manifest fields `{ digest, final: false }`'), 404: err('NOT_FOUND'), 412: err('PRECONDITION_FAILED: the image is not final') } },
  release: { operationId: 'releaseHold', method: 'delete', path: '/v1/admin/images/{digest}/hold', tag: 'admin', auth: 'admin', params: s.digestParams, summary: 'Lift an admin hold.', responses: { 200: ok('`{ digest, held: false }`'), 404: err('NOT_FOUND') } },

  uiIndex: { operationId: 'uiIndex', method: 'get', path: '/ui', tag: 'dashboard', auth: 'read', summary: 'Dashboard: the chains.', responses: { 200: ok('HTML', 'text/html') } },
  uiChain: { operationId: 'uiChain', method: 'get', path: '/ui/chains/{chain}', tag: 'dashboard', auth: 'read', params: s.chainParams, query: s.uiQuery, summary: 'Dashboard: one chain (timeline, plan, holds, events, validators).', responses: { 200: ok('HTML', 'text/html') } },
  uiSignIn: { operationId: 'uiSignIn', method: 'get', path: '/ui/login', tag: 'dashboard', auth: 'none', summary: 'Dashboard: sign-in form (only needed when a read token is configured).', responses: { 200: ok('HTML', 'text/html') } },
  uiSignInPost: { operationId: 'uiSignInPost', method: 'post', path: '/ui/login', tag: 'dashboard', auth: 'none', maxBodyBytes: 4 * KIB, body: { description: 'The token, as a form field.', content: { 'application/x-www-form-urlencoded': s.signInForm } }, summary: 'Dashboard: sign in; sets an HttpOnly, SameSite=Strict cookie that authorises reads.', responses: { 303: ok('Signed in: to /ui', 'text/html'), 403: ok('Wrong token', 'text/html') } },
  uiCss: { operationId: 'uiCss', method: 'get', path: '/ui/assets/app.css', tag: 'dashboard', auth: 'none', summary: "Dashboard's stylesheet.", responses: { 200: ok('CSS', 'text/css') } },
  uiIcon: { operationId: 'uiIcon', method: 'get', path: '/ui/assets/icon.svg', tag: 'dashboard', auth: 'none', summary: "The dashboard's icon (SVG).", responses: { 200: ok('SVG', 'image/svg+xml') } },
  favicon: { operationId: 'favicon', method: 'get', path: '/favicon.ico', tag: 'server', auth: 'none', summary: 'The same icon, where browsers look for one by default.', responses: { 200: ok('SVG', 'image/svg+xml') } },
  uiJs: { operationId: 'uiJs', method: 'get', path: '/ui/assets/app.js', tag: 'dashboard', auth: 'none', summary: "Dashboard's script.", responses: { 200: ok('JavaScript', 'text/javascript') } },
} as const satisfies Record<string, RouteSpec>;

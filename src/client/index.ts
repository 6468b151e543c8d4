/** Client library for Cairn servers: push, pull (resumable, verified), attest, watch, catch up. */
export { connection, request, streamRequest, getJson, failure, type ServerOptions } from './http-client.ts';
export { pushImage, type PushResponse } from './push.ts';
export { pullImage, type PullOptions, type PullResult } from './pull.ts';
export { parseSourceSpec, type ChunkSourceSpec } from './chunk-sources.ts';
export { attestImage, type AttestOptions } from './attest.ts';
export { watchEvents, fetchIdentity, type WatchOptions } from './watch.ts';
export { catchUp, type CatchUpOptions, type CatchUpResult } from './catch-up.ts';

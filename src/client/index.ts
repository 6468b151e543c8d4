/** Client library for Cairn servers: push, pull (resumable, verified). */
export { connection, request, streamRequest, getJson, failure, type ServerOptions } from './http-client.ts';
export { pushImage, type PushResponse } from './push.ts';
export { pullImage, type PullOptions, type PullResult } from './pull.ts';

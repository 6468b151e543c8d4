/**
 * Client-side faults: a node hanging up mid-download, a validator hanging up mid-push, and a push
 * made while the store's volume is full. The fault schedule (faults.ts) calls them.
 */
import { readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { createImageFile } from '../src/archive/index.ts';
import { pushImage, streamRequest } from '../src/client/index.ts';
import { stateContent, writeContent } from './content.ts';
import type { PullerContext } from './pullers.ts';
import { pick, type SoakValidator } from './validators.ts';


/** A node that hangs up after the first bytes of an image's content; true when it did. */
export async function abortPull(ctx: PullerContext): Promise<boolean> {
  const entry = ctx.ledger.acked().filter((e) => e.deletedEventAt === undefined).sort((a, b) => b.content.size - a.content.size)[0];
  if (!entry) return false;
  try {
    const response = await streamRequest({ base: pick(ctx.endpoints).url }, `/v1/images/${entry.digest}/content`);
    await new Promise<void>((resolve) => {
      response.once('data', () => resolve());
      response.once('end', () => resolve());
      response.once('error', () => resolve());
    });
    response.destroy();
    return true;
  } catch {
    return false;
  }
}

/** A validator pushes a new small image while the store's volume is full; the answer is counted by code. */
export async function pushWhileFull(ctx: PullerContext, validator: SoakValidator): Promise<void> {
  const content = stateContent(64 * 1024);
  const base = join(ctx.workDir, `full-${Date.now()}`);
  try {
    await writeContent(content, `${base}.bin`);
    const header = await createImageFile({ chain: 'state', height: 1, validator: validator.id, key: validator.key, content: { path: `${base}.bin` }, out: `${base}.cimg` });
    ctx.ledger.attempt({ digest: header.digest, chain: 'state', height: 1, content });
    await pushImage({ base: pick(ctx.endpoints).url }, `${base}.cimg`);
    ctx.ledger.ack(header.digest);
    ctx.stats.count('push while disk full acknowledged');
  } catch (error) {
    ctx.stats.error('push while disk full', error);
  } finally {
    await Promise.all([rm(`${base}.bin`, { force: true }), rm(`${base}.cimg`, { force: true })]);
  }
}

/**
 * A validator that hangs up halfway through pushing a new image (4 MiB); its digest is
 * remembered so the end check can see nothing of it was kept. True when it did.
 */
export async function abortPush(ctx: PullerContext, validator: SoakValidator, aborted: Set<string>): Promise<boolean> {
  const content = stateContent(4 * 1024 * 1024);
  const base = join(ctx.workDir, `abort-${Date.now()}`);
  try {
    await writeContent(content, `${base}.bin`);
    const header = await createImageFile({ chain: 'state', height: 1, validator: validator.id, key: validator.key, content: { path: `${base}.bin` }, out: `${base}.cimg` });
    aborted.add(header.digest);
    const bytes = await readFile(`${base}.cimg`);
    const url = new URL(`${pick(ctx.endpoints).url}/v1/images`);
    return await new Promise<boolean>((resolve) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/vnd.cairn.image', 'content-length': String(bytes.length) } });
      req.on('error', () => resolve(true));
      req.on('response', (response) => {
        response.resume();
        resolve(false);
      });
      req.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => (req.destroy(), resolve(true)), 50));
    });
  } catch {
    return false;
  } finally {
    await Promise.all([rm(`${base}.bin`, { force: true }), rm(`${base}.cimg`, { force: true })]);
  }
}

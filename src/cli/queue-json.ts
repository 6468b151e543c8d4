/**
 * The JSON form of a queue state accepted by `cairn image create --queue`: an array of
 * `{ "kind", "priority", "payload": "<base64>", "provenance": { "origin", "receivedAt", "sequence" } }`.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CairnError } from '../errors.ts';
import { QUEUE_MESSAGE_KINDS, type QueueMessage } from '../archive/index.ts';

const base64 = z.string().regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'payload must be base64');
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const queueJsonSchema = z.array(
  z.strictObject({
    kind: z.enum(QUEUE_MESSAGE_KINDS),
    priority: uint,
    payload: base64,
    provenance: z.strictObject({ origin: z.string(), receivedAt: uint, sequence: uint }),
  }),
);

/** Reads a queue JSON file into messages (validated here and again by the encoder). */
export async function readQueueJson(path: string): Promise<QueueMessage[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CairnError('QUEUE_STATE_INVALID', `cannot read queue JSON ${path}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = queueJsonSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new CairnError('QUEUE_STATE_INVALID', `invalid queue JSON: ${problems.slice(0, 5).join('; ')}`, { details: { problems } });
  }
  return parsed.data.map((m) => ({ ...m, payload: new Uint8Array(Buffer.from(m.payload, 'base64')) }));
}

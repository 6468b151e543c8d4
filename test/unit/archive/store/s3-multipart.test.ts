/**
 * The pooled multipart uploader's control flow against a scripted S3 client (the real MinIO
 * runs are in test/integration): parts in order, at most `queueSize` in flight, buffers reused,
 * a single PutObject for small bodies, and on a failing part or body: the error surfaces once,
 * the upload is aborted, and no rejection is left unhandled.
 */
import { describe, expect, it } from 'vitest';
import { uploadStream, type MultipartContext } from '../../../../src/archive/store/drivers/s3-multipart.ts';

class Command {
  readonly input: Record<string, unknown>;
  constructor(input: Record<string, unknown>) {
    this.input = input;
  }
}
const commands = ['CreateMultipartUploadCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand', 'AbortMultipartUploadCommand', 'PutObjectCommand'] as const;
const s3 = Object.fromEntries(commands.map((name) => [name, class extends Command {}])) as unknown as MultipartContext['s3'];
const classes = s3 as unknown as Record<string, new (input: Record<string, unknown>) => Command>;
const nameOf = (c: Command): string => commands.find((n) => c instanceof classes[n]!) ?? '?';

function fakeClient(options: { failPart?: number } = {}): { ctx: MultipartContext; log: string[]; maxInFlight: () => number; bodies: Buffer[] } {
  const log: string[] = [];
  const bodies: Buffer[] = [];
  let inFlight = 0;
  let max = 0;
  const client = {
    async send(command: Command) {
      const name = nameOf(command);
      log.push(name === 'UploadPartCommand' ? `part ${String(command.input.PartNumber)}` : name);
      if (name === 'CreateMultipartUploadCommand') return { UploadId: 'u1' };
      if (name === 'UploadPartCommand') {
        inFlight++;
        max = Math.max(max, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        bodies.push(Buffer.from(command.input.Body as Buffer));
        if (command.input.PartNumber === options.failPart) throw new Error(`part ${options.failPart} failed`);
        return { ETag: `"e${String(command.input.PartNumber)}"` };
      }
      if (name === 'PutObjectCommand') bodies.push(Buffer.from(command.input.Body as Buffer));
      return {};
    },
  };
  const ctx: MultipartContext = { s3, client: client as unknown as MultipartContext['client'], bucket: 'b', plan: { partBytes: 10, queueSize: 2, maxParts: 10_000 }, call: (_op, _key, fn) => fn() };
  return { ctx, log, maxInFlight: () => max, bodies };
}

function* chunks(total: number, size: number): Generator<Uint8Array> {
  for (let i = 0; i < total; i += size) yield Uint8Array.from({ length: Math.min(size, total - i) }, (_, j) => (i + j) % 251);
}

describe('pooled multipart upload', () => {
  it('uploads parts in order with at most queueSize in flight and completes', async () => {
    const { ctx, log, maxInFlight, bodies } = fakeClient();
    await uploadStream(ctx, 'k', chunks(95, 7));
    expect(log[0]).toBe('CreateMultipartUploadCommand');
    expect(log.filter((l) => l.startsWith('part'))).toHaveLength(10);
    expect(log.at(-1)).toBe('CompleteMultipartUploadCommand');
    expect(maxInFlight()).toBeLessThanOrEqual(2);
    expect(Buffer.concat(bodies.sort((a, b) => a[0]! - b[0]!)).length).toBe(95);
  });

  it('sends a body smaller than a part as one PutObject', async () => {
    const { ctx, log, bodies } = fakeClient();
    await uploadStream(ctx, 'k', chunks(9, 4));
    expect(log).toEqual(['PutObjectCommand']);
    expect(bodies[0]).toHaveLength(9);
  });

  it('aborts on a failing part, surfacing its error, with nothing left unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { ctx, log } = fakeClient({ failPart: 2 });
      await expect(uploadStream(ctx, 'k', chunks(200, 10))).rejects.toThrow('part 2 failed');
      expect(log.at(-1)).toBe('AbortMultipartUploadCommand');
      expect(log).not.toContain('CompleteMultipartUploadCommand');
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('aborts when the body stream fails', async () => {
    const { ctx, log } = fakeClient();
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(25);
      throw new Error('client went away');
    }
    await expect(uploadStream(ctx, 'k', failing())).rejects.toThrow('client went away');
    expect(log.at(-1)).toBe('AbortMultipartUploadCommand');
  });

  it('refuses a body that needs more parts than the plan allows, and aborts', async () => {
    const { ctx, log } = fakeClient();
    await expect(uploadStream({ ...ctx, plan: { ...ctx.plan, maxParts: 3 } }, 'k', chunks(45, 10))).rejects.toMatchObject({ code: 'STORE_ERROR' });
    expect(log.filter((l) => l.startsWith('part'))).toHaveLength(3);
    expect(log.at(-1)).toBe('AbortMultipartUploadCommand');
  });
});

/**
 * Pulling an image over QSSH with Cairn's client: SFTP READs pipelined (many in flight), the
 * file assembled in `<out>.part`, resumable, and verified before it is renamed to `<out>`.
 *
 * The served file is the image with its current attestations, so its header can grow between
 * attempts while the content (addressed by its digest) never changes. A resume therefore keeps
 * the header already in the partial file and fetches the remaining content from the served
 * file at the offset after the server's current header — provided the server's file is the
 * same image (same digest); otherwise the pull starts over.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { CairnError } from '../errors.ts';
import { FILE_CHUNK_BYTES, readImageHeader, verifyAttestations, type ImageHeader, type Trust, type VerificationReport } from '../archive/index.ts';
import { PREAMBLE_BYTES } from '../archive/image/format.ts';
import type { SftpClient } from '../qssh/sftp/sftp-client.ts';
import { contentHasher, partialImage } from './pull.ts';

/** What to pull over an open SFTP session. */
export interface QsshPullOptions {
  readonly sftp: SftpClient;
  /** Remote path, e.g. `/devnet/latest-final` or `/images/<hex>.cimg`. */
  readonly path: string;
  readonly out: string;
  readonly trust?: Trust;
  /** READ size (default 256 KiB, the server's maximum). */
  readonly readBytes?: number;
  /** READs in flight (default 16). */
  readonly inFlight?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The outcome. */
export interface QsshPullResult {
  readonly out: string;
  readonly header: ImageHeader;
  readonly bytes: number;
  readonly resumedFrom: number;
  readonly report?: VerificationReport;
}

async function readExact(sftp: SftpClient, handle: string, offset: number, length: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let have = 0;
  while (have < length) {
    const data = await sftp.read(handle, offset + have, Math.min(length - have, 256 * 1024));
    if (!data || data.length === 0) throw new CairnError('IMAGE_TRUNCATED', 'the served file ended inside its header');
    parts.push(data);
    have += data.length;
  }
  return Buffer.concat(parts);
}

/**
 * Streams bytes [from, to) of a remote file to `onData` in order, keeping `inFlight` READs
 * outstanding. A short read (a server with a smaller limit) restarts the window at the byte
 * it stopped at, with that smaller size.
 */
async function pipelinedRead(sftp: SftpClient, handle: string, from: number, to: number, options: { readBytes: number; inFlight: number }, onData: (data: Uint8Array) => Promise<void>): Promise<void> {
  let size = options.readBytes;
  let next = from;
  let done = from;
  const queue: Array<{ offset: number; length: number; response: Promise<Uint8Array | undefined> }> = [];
  const issue = (): void => {
    while (queue.length < options.inFlight && next < to) {
      const length = Math.min(size, to - next);
      const response = sftp.read(handle, next, length);
      response.catch(() => undefined); // settled in order below
      queue.push({ offset: next, length, response });
      next += length;
    }
  };
  issue();
  while (queue.length > 0) {
    const head = queue.shift()!;
    const data = await head.response;
    if (!data || data.length === 0) throw new CairnError('IMAGE_TRUNCATED', `the served file ended at ${head.offset} of ${to}`);
    await onData(data);
    done += data.length;
    if (data.length < head.length) {
      // Discard the window and continue from where this read stopped, with its size.
      await Promise.allSettled(queue.map((q) => q.response));
      queue.length = 0;
      size = data.length;
      next = done;
    }
    issue();
  }
}

/** Pulls (or resumes) `path` into `out` and verifies it. */
export async function pullImageQssh(options: QsshPullOptions): Promise<QsshPullResult> {
  const { sftp, out } = options;
  const part = `${out}.part`;
  const readBytes = options.readBytes ?? 256 * 1024;
  const inFlight = options.inFlight ?? 16;
  const handle = await sftp.openRead(options.path);
  try {
    const remoteSize = (await sftp.fstat(handle)).size;
    if (remoteSize === undefined || remoteSize < PREAMBLE_BYTES) throw new CairnError('IMAGE_TRUNCATED', 'the served file is shorter than an image preamble');
    const preamble = await readExact(sftp, handle, 0, PREAMBLE_BYTES);
    const remotePrefix = PREAMBLE_BYTES + preamble.readUInt32BE(10);
    if (remotePrefix > remoteSize) throw new CairnError('IMAGE_TRUNCATED', 'the served file is shorter than its header');
    const prefixBytes = Buffer.concat([preamble, await readExact(sftp, handle, PREAMBLE_BYTES, remotePrefix - PREAMBLE_BYTES)]);
    const { header: remoteHeader } = await readImageHeader((async function* () {
      yield prefixBytes;
    })());
    if (remotePrefix + remoteHeader.size !== remoteSize) throw new CairnError('SIZE_MISMATCH', `the served file is ${remoteSize} bytes, its header declares ${remotePrefix + remoteHeader.size}`);

    let partial = await partialImage(part, remoteHeader.digest);
    const resumedFrom = partial?.size ?? 0;
    if (!partial) {
      const fh = await open(part, 'w');
      try {
        await fh.write(prefixBytes, 0, prefixBytes.length, 0);
      } finally {
        await fh.close();
      }
      partial = { size: prefixBytes.length, prefix: prefixBytes.length, header: remoteHeader };
    }
    const { header } = partial;
    const report = options.trust ? verifyAttestations(header, options.trust) : undefined;
    const total = partial.prefix + header.size;
    const hasher = contentHasher(header.size);
    try {
      let done = partial.prefix;
      if (partial.size > partial.prefix) {
        for await (const chunk of createReadStream(part, { start: partial.prefix, end: partial.size - 1, highWaterMark: FILE_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
          await hasher.update(chunk);
          done += chunk.length;
        }
      }
      options.onProgress?.(done, total);
      const fh = await open(part, 'r+');
      try {
        const contentDone = done - partial.prefix;
        await pipelinedRead(sftp, handle, remotePrefix + contentDone, remoteSize, { readBytes, inFlight }, async (data) => {
          await fh.write(data, 0, data.length, done);
          await hasher.update(data);
          done += data.length;
          options.onProgress?.(done, total);
        });
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (done !== total) throw new CairnError('STORE_UNAVAILABLE', 'the download ended early; run the pull again to resume');
      const actual = await hasher.finish();
      if (actual !== header.digest) {
        await rm(part, { force: true });
        throw new CairnError('DIGEST_MISMATCH', 'the downloaded content does not match its digest', { details: { expected: header.digest, actual } });
      }
    } finally {
      await hasher.close();
    }
    await rename(part, out);
    return { out, header, bytes: total, resumedFrom, ...(report ? { report } : {}) };
  } finally {
    await sftp.close(handle).catch(() => undefined);
  }
}

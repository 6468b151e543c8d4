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
import { CairnError } from '../errors.ts';
import { MAX_HEADER_BYTES_LIMIT, PREAMBLE_BYTES, prefixLengthOf, type Trust } from '../archive/index.ts';
import type { SftpClient } from '../qssh/sftp/sftp-client.ts';
import { headerOfPrefix } from './partial-image.ts';
import { checkClaim, pullRemote, type ImageClaim, type RemoteImage, type RemotePullResult } from './remote-image.ts';

/** What to pull over an open SFTP session. */
export interface QsshPullOptions {
  readonly sftp: SftpClient;
  /** Remote path, e.g. `/devnet/latest-final` or `/images/<hex>.cimg`. */
  readonly path: string;
  readonly out: string;
  readonly trust?: Trust;
  /** What the path promised (e.g. the chain of `/<chain>/latest`): refused unless the signed header agrees. */
  readonly claim?: ImageClaim;
  /** READ size (default 512 KiB, Cairn's server's maximum; a server answering less is followed). */
  readonly readBytes?: number;
  /** READs in flight (default 8). */
  readonly inFlight?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The outcome. */
export type QsshPullResult = RemotePullResult;

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

/** Opens a served image file over SFTP: reads and parses its prefix; content on demand. */
export async function openQsshImage(sftp: SftpClient, path: string, options: { readBytes?: number; inFlight?: number } = {}): Promise<RemoteImage> {
  const readBytes = options.readBytes ?? 512 * 1024;
  const inFlight = options.inFlight ?? 8;
  const handle = await sftp.openRead(path);
  try {
    const remoteSize = (await sftp.fstat(handle)).size;
    if (remoteSize === undefined || remoteSize < PREAMBLE_BYTES) throw new CairnError('IMAGE_TRUNCATED', 'the served file is shorter than an image preamble');
    const preamble = await readExact(sftp, handle, 0, PREAMBLE_BYTES);
    const headerLength = preamble.readUInt32BE(10);
    if (headerLength > MAX_HEADER_BYTES_LIMIT) throw new CairnError('IMAGE_HEADER_TOO_LARGE', `the served image declares a ${headerLength}-byte header`);
    if (PREAMBLE_BYTES + headerLength > remoteSize) throw new CairnError('IMAGE_TRUNCATED', 'the served file is shorter than its header');
    const headerBytes = await readExact(sftp, handle, PREAMBLE_BYTES, headerLength);
    // Format v2: the chunk list follows the header; the prefix ends where the content starts.
    const remotePrefix = prefixLengthOf(preamble, headerBytes);
    if (remotePrefix > remoteSize) throw new CairnError('IMAGE_TRUNCATED', 'the served file is shorter than its chunk list');
    const list = remotePrefix > PREAMBLE_BYTES + headerLength ? [await readExact(sftp, handle, PREAMBLE_BYTES + headerLength, remotePrefix - PREAMBLE_BYTES - headerLength)] : [];
    const prefix = Buffer.concat([preamble, headerBytes, ...list]);
    const header = await headerOfPrefix(prefix);
    if (remotePrefix + header.size !== remoteSize) throw new CairnError('SIZE_MISMATCH', `the served file is ${remoteSize} bytes, its header declares ${remotePrefix + header.size}`);
    return {
      prefix,
      header,
      fetchContent: (contentOffset, sink) => pipelinedRead(sftp, handle, remotePrefix + contentOffset, remoteSize, { readBytes, inFlight }, sink),
      close: () => sftp.close(handle).catch(() => undefined),
    };
  } catch (error) {
    await sftp.close(handle).catch(() => undefined);
    throw error;
  }
}

/** Pulls (or resumes) `path` into `out` and verifies it. */
export async function pullImageQssh(options: QsshPullOptions): Promise<QsshPullResult> {
  const remote = await openQsshImage(options.sftp, options.path, options);
  try {
    if (options.claim) checkClaim(remote.header, options.claim);
    return await pullRemote(remote, options.out, { ...(options.trust ? { trust: options.trust } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  } finally {
    await remote.close();
  }
}

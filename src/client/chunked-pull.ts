/**
 * Pulls a format-v2 image chunk by chunk (FORMAT.md §12): the signed prefix (header and chunk
 * list) comes first and is checked; then every chunk is taken from the base image when it has
 * it (`--base`: a node's previous image), else fetched with several requests in flight from the
 * sources (the server, and `--source` mirrors), each verified against its entry — on worker
 * threads — before it is written at its offset in `<out>.part`.
 *
 * A source that sends a chunk that fails verification is dropped, named in the result, and the
 * chunk is fetched again from another; a source that fails three times in a row is dropped too.
 * A pull that runs out of sources leaves `<out>.part`: the next attempt keeps every chunk in it
 * that verifies (resumption by chunk). The file is renamed to `<out>` only once every chunk
 * verified (and, for a queue state, once its content decodes).
 */
import { createReadStream } from 'node:fs';
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import { CairnError } from '../errors.ts';
import { CONTENT_TYPE_QUEUE_STATE, sharedChunkIdPool, type ChunkIdPool, FILE_CHUNK_BYTES, forEachLimited, buildChunkList, chunkSpans, verifyAttestations, type ImageHeader, type Trust, type VerificationReport } from '../archive/index.ts';
import { openChunkSource, type ChunkSource, type ChunkSourceSpec } from './chunk-sources.ts';
import { checkQueueStateContent, prefixOfStream } from './partial-image.ts';

/** Options of {@link pullChunked}. */
export interface ChunkedPullOptions {
  /** The image's prefix as the primary source served it, and its parsed header (with its chunk list). */
  readonly prefix: Uint8Array;
  readonly header: ImageHeader;
  /** Where chunks come from, the primary first. */
  readonly sources: readonly ChunkSourceSpec[];
  readonly out: string;
  /** An earlier image file whose chunks are reused (any format: a v1 file is cut as §12.1 says). */
  readonly base?: string;
  readonly trust?: Trust;
  /** Requests in flight (default 6). */
  readonly inFlight?: number;
  /** How long one request to a source may take (default 60 s). */
  readonly requestTimeoutMs?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Per source: what it delivered, or why it was dropped. */
export interface SourceReport {
  readonly source: string;
  readonly chunks: number;
  readonly bytes: number;
  readonly dropped?: string;
}

/** The outcome of a chunked pull. */
export interface ChunkedPullResult {
  readonly out: string;
  readonly header: ImageHeader;
  /** File size. */
  readonly bytes: number;
  readonly chunks: { readonly total: number; readonly resumed: number; readonly fromBase: number; readonly downloaded: number };
  /** Content bytes downloaded (chunks only, not the prefix). */
  readonly bytesDownloaded: number;
  /** Content bytes copied from the base image. */
  readonly bytesFromBase: number;
  readonly sources: readonly SourceReport[];
  /** Bytes already in `<out>.part` that verified. */
  readonly resumedFrom: number;
  readonly report?: VerificationReport;
}

const DEFAULT_IN_FLIGHT = 6;
const MAX_CONSECUTIVE_FAILURES = 3;

interface Span {
  readonly index: number;
  readonly offset: number;
  readonly length: number;
  readonly id: Uint8Array;
}

interface LiveSource {
  readonly name: string;
  source?: ChunkSource;
  chunks: number;
  bytes: number;
  failures: number;
  busy: number;
  dropped?: string;
}

/** Pulls (or resumes) a v2 image into `out`. */
export async function pullChunked(options: ChunkedPullOptions): Promise<ChunkedPullResult> {
  const { header, prefix } = options;
  const list = header.chunkList;
  if (!list) throw new CairnError('INVALID_ARGUMENT', 'a chunked pull needs a format-v2 image');
  // Signatures first, before any content moves.
  const report = options.trust ? verifyAttestations(header, options.trust) : undefined;
  const spans: Span[] = chunkSpans(list).map((s, index) => ({ index, ...s }));
  const total = prefix.length + header.size;
  const part = `${options.out}.part`;
  const pool = sharedChunkIdPool();
  const sources: LiveSource[] = options.sources.map((spec) => ({ name: spec.kind === 'cairn' ? spec.base : spec.kind === 'file-url' ? spec.url : spec.path, chunks: 0, bytes: 0, failures: 0, busy: 0 }));
  let file: FileHandle | undefined;
  let done = prefix.length;
  const progress = (bytes: number): void => {
    done += bytes;
    options.onProgress?.(done, total);
  };
  try {
    const resumed = await openPart(part, prefix, header, total);
    file = resumed.file;
    const have = await verifiedChunksIn(file, prefix.length, resumed.existing ? spans.filter((s) => prefix.length + s.offset + s.length <= resumed.size) : [], pool);
    const resumedBytes = spans.filter((s) => have.has(s.index)).reduce((sum, s) => sum + s.length, 0);
    progress(resumedBytes);
    let missing = spans.filter((s) => !have.has(s.index));

    // The base image: every chunk it has is copied (and verified) instead of downloaded.
    let fromBase = 0;
    let bytesFromBase = 0;
    if (options.base && missing.length > 0) {
      const copied = await copyFromBase(options.base, missing, file, prefix.length, pool);
      fromBase = copied.size;
      bytesFromBase = missing.filter((s) => copied.has(s.index)).reduce((sum, s) => sum + s.length, 0);
      progress(bytesFromBase);
      missing = missing.filter((s) => !copied.has(s.index));
    }

    const downloaded = missing.length;
    await fetchAll(missing, sources, options, file, prefix.length, pool, progress);
    await file.sync();
    await file.close();
    file = undefined;
    if (header.contentType === CONTENT_TYPE_QUEUE_STATE) await checkQueueStateContent(part, prefix.length, header.size);
    await rename(part, options.out);
    return {
      out: options.out,
      header,
      bytes: total,
      chunks: { total: spans.length, resumed: have.size, fromBase, downloaded },
      bytesDownloaded: sources.reduce((sum, s) => sum + s.bytes, 0),
      bytesFromBase,
      sources: sources.map((s) => ({ source: s.name, chunks: s.chunks, bytes: s.bytes, ...(s.dropped ? { dropped: s.dropped } : {}) })),
      resumedFrom: resumed.existing ? prefix.length + resumedBytes : 0,
      ...(report ? { report } : {}),
    };
  } finally {
    await file?.close().catch(() => undefined);
    await Promise.all(sources.map((s) => (s.source ? s.source.close().catch(() => undefined) : Promise.resolve())));
  }
}

/**
 * Opens `<out>.part`: kept when it holds this image's prefix (a resumption, of a chunked pull or
 * of a streamed one cut short: extended to the full size), else started afresh with the prefix.
 */
async function openPart(part: string, prefix: Uint8Array, header: ImageHeader, total: number): Promise<{ file: FileHandle; existing: boolean; size: number }> {
  try {
    const size = (await stat(part)).size;
    const parsed = await prefixOfStream(createReadStream(part));
    if (parsed.header.digest === header.digest && parsed.prefix === prefix.length && size <= total) {
      const file = await open(part, 'r+');
      if (size < total) await file.truncate(total);
      return { file, existing: true, size };
    }
  } catch {
    // no usable partial
  }
  const file = await open(part, 'w+');
  try {
    await file.write(prefix, 0, prefix.length, 0);
    await file.truncate(total);
    return { file, existing: false, size: prefix.length };
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** Which of `spans` (the chunks a resumed partial may hold) verify in it. */
async function verifiedChunksIn(file: FileHandle, contentOffset: number, spans: readonly Span[], pool: ChunkIdPool): Promise<Set<number>> {
  const have = new Set<number>();
  const runs = runsAt(spans, (span) => ({ offset: contentOffset + span.offset, length: span.length }));
  await verifyRuns(file, runs, pool, (span) => {
    have.add(span.index);
    return Promise.resolve();
  });
  return have;
}

/** Copies the chunks `base` holds into `file`; returns the indexes copied. */
async function copyFromBase(base: string, missing: readonly Span[], file: FileHandle, contentOffset: number, pool: ChunkIdPool): Promise<Set<number>> {
  const parsed = await prefixOfStream(createReadStream(base));
  // A v1 base is cut as §12.1 says: the same content gives the same chunks whatever its format.
  const list = parsed.header.chunkList ?? (parsed.header.size > 0 ? (await buildChunkList(createReadStream(base, { start: parsed.prefix, highWaterMark: FILE_CHUNK_BYTES }), parsed.header.size)).list : new Uint8Array(0));
  const where = new Map<string, { offset: number; length: number }>();
  for (const s of chunkSpans(list)) where.set(Buffer.from(s.id).toString('hex'), { offset: parsed.prefix + s.offset, length: s.length });
  const runs = runsAt(missing, (span) => where.get(Buffer.from(span.id).toString('hex')));
  const handle = await open(base, 'r');
  const copied = new Set<number>();
  try {
    // The base is only a hint: its bytes are verified like any source's; the chunks that do
    // not verify are downloaded.
    await verifyRuns(handle, runs, pool, async (span, bytes, at) => {
      await file.write(bytes, at, span.length, contentOffset + span.offset);
      copied.add(span.index);
    });
  } finally {
    await handle.close();
  }
  return copied;
}

/** Spans (in content order) that lie next to each other in a file, read as one. */
interface FileRun {
  readonly at: number;
  readonly spans: Span[];
  bytes: number;
}

/**
 * Groups `spans` by where `locate` finds them in a file (spans it does not find are left out):
 * neighbours in both the image and the file form one run of at most {@link RUN_BYTES}.
 */
function runsAt(spans: readonly Span[], locate: (span: Span) => { offset: number; length: number } | undefined): FileRun[] {
  const runs: FileRun[] = [];
  for (const span of spans) {
    const at = locate(span);
    if (!at || at.length !== span.length) continue;
    const run = runs.at(-1);
    const last = run?.spans.at(-1);
    if (run && last && last.index + 1 === span.index && run.at + run.bytes === at.offset && run.bytes + span.length <= RUN_BYTES) {
      run.spans.push(span);
      run.bytes += span.length;
    } else {
      runs.push({ at: at.offset, spans: [span], bytes: span.length });
    }
  }
  return runs;
}

/**
 * Reads each run from `handle`, hashes its chunks on the pool (the buffer goes to a worker and
 * comes back, and a few buffers are reused rather than one allocated per run) and calls
 * `verified` for each chunk that matches its id, with the buffer and the chunk's offset in it.
 */
async function verifyRuns(handle: FileHandle, runs: readonly FileRun[], pool: ChunkIdPool, verified: (span: Span, bytes: Uint8Array, at: number) => Promise<void>): Promise<void> {
  const free: Uint8Array[] = [];
  await forEachLimited(runs, 2 * pool.size + 1, async (run) => {
    const read = free.pop() ?? new Uint8Array(RUN_BYTES);
    const { bytesRead } = await handle.read(read, 0, run.bytes, run.at);
    if (bytesRead !== run.bytes) {
      free.push(read);
      return;
    }
    const first = run.spans[0] as Span;
    const { ids, bytes } = await pool.ids(read, run.spans.map((span) => ({ offset: span.offset - first.offset, length: span.length })));
    for (const [i, span] of run.spans.entries()) {
      if (Buffer.from(ids[i] as Uint8Array).equals(span.id)) await verified(span, bytes, span.offset - first.offset);
    }
    free.push(bytes);
  });
}

/**
 * Consecutive chunks fetched by one request, up to this many bytes: fewer requests, and a server
 * that stores content compressed in 4 MiB blocks decompresses at most a block more per request.
 */
const RUN_BYTES = 8 * 1024 * 1024;

/** Groups spans (in content order) into runs of consecutive chunks of at most RUN_BYTES. */
function runsOf(spans: readonly Span[]): Span[][] {
  const runs: Span[][] = [];
  let run: Span[] = [];
  let bytes = 0;
  for (const span of spans) {
    const last = run.at(-1);
    if (last && (last.index + 1 !== span.index || bytes + span.length > RUN_BYTES)) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(span);
    bytes += span.length;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Fetches every span from the live sources, runs of consecutive chunks at a time, `inFlight`
 * requests at once; each chunk of a run is verified and written on its own, and the chunks of a
 * run that fail go back to the queue for another source. Throws when no source is left.
 */
async function fetchAll(missing: readonly Span[], sources: LiveSource[], options: ChunkedPullOptions, file: FileHandle, contentOffset: number, pool: ChunkIdPool, progress: (bytes: number) => void): Promise<void> {
  const queue = runsOf(missing);
  if (queue.length === 0) return;
  const inFlight = Math.max(1, options.inFlight ?? DEFAULT_IN_FLIGHT);
  await Promise.all(
    sources.map(async (s, i) => {
      try {
        s.source = await openChunkSource(options.sources[i] as ChunkSourceSpec, options.header.digest, options.requestTimeoutMs);
      } catch (error) {
        s.dropped = `cannot serve this image: ${(error as Error).message}`;
      }
    }),
  );
  const pick = (): LiveSource | undefined => sources.filter((s) => s.source && !s.dropped).sort((a, b) => a.busy - b.busy)[0];
  const worker = async (): Promise<void> => {
    for (let run = queue.shift(); run; run = queue.shift()) {
      const first = run[0] as Span;
      const last = run.at(-1) as Span;
      const s = pick();
      if (!s) {
        const named = sources.map((x) => `${x.name}: ${x.dropped ?? 'unused'}`).join('; ');
        throw new CairnError('STORE_UNAVAILABLE', `no source left for chunk ${first.index} (${named}); run the pull again to resume`, { details: { sources: sources.map((x) => ({ source: x.name, dropped: x.dropped })) } });
      }
      s.busy += 1;
      let bytes: Uint8Array;
      try {
        bytes = await (s.source as ChunkSource).read(first.offset, last.offset + last.length - 1);
      } catch (error) {
        s.failures += 1;
        if (s.failures >= MAX_CONSECUTIVE_FAILURES) s.dropped ??= `failed ${s.failures} times in a row: ${(error as Error).message}`;
        queue.unshift(run);
        continue;
      } finally {
        s.busy -= 1;
      }
      // The run is hashed on a worker, chunk by chunk, and handed back (no copy).
      const hashed = await pool.ids(bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes), run.map((span) => ({ offset: span.offset - first.offset, length: span.length })));
      bytes = hashed.bytes;
      const bad = run.filter((span, i) => !Buffer.from(hashed.ids[i] as Uint8Array).equals(span.id));
      for (const span of run) {
        if (bad.includes(span)) continue;
        await file.write(bytes, span.offset - first.offset, span.length, contentOffset + span.offset);
        s.chunks += 1;
        s.bytes += span.length;
        progress(span.length);
      }
      if (bad.length > 0) {
        const b = bad[0] as Span;
        s.dropped ??= `sent chunk ${b.index} (content bytes ${b.offset}…${b.offset + b.length - 1}), which does not match the signed chunk list`;
        queue.push(...bad.map((span) => [span]));
      } else {
        s.failures = 0;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, queue.length) }, () => worker()));
}

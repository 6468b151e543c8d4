/**
 * An image on a server, opened for pulling over either transport: its prefix (preamble and
 * header) is fetched and parsed first, so the caller can check the *signed* header (chain,
 * height, digest, signatures, quorum) before any content moves or anything is written; then
 * {@link pullRemote} assembles the file in `<out>.part` (resuming a partial of the same digest)
 * and renames it to `<out>` only once digest and size check out.
 *
 * The server's listings are claims; the signed header is the fact. {@link checkClaim} refuses
 * an image whose header says something else than what the server claimed about it.
 */
import { CairnError } from '../errors.ts';
import type { ImageHeader, Trust, VerificationReport } from '../archive/index.ts';
import { completePartial, partialImage, startPartial, type FetchContent } from './partial-image.ts';

/** An image opened on a server: its prefix and header, and its content on demand. */
export interface RemoteImage {
  /** Preamble and header bytes as served. */
  readonly prefix: Uint8Array;
  /** The parsed header (its signatures are not checked yet). */
  readonly header: ImageHeader;
  /** Streams the content from an offset. */
  readonly fetchContent: FetchContent;
  /** Releases what the transport holds for this image (an SFTP handle). */
  close(): Promise<void>;
}

/** What the server said an image is, to be checked against its signed header. */
export interface ImageClaim {
  readonly chain?: string;
  readonly height?: number;
  readonly digest?: string;
}

/**
 * Throws `CLAIM_MISMATCH` unless `header` (the signed fact) agrees with every field of `claim`
 * (what a listing or a path said).
 */
export function checkClaim(header: ImageHeader, claim: ImageClaim): void {
  const differs = (['chain', 'height', 'digest'] as const).filter((field) => claim[field] !== undefined && claim[field] !== header[field]);
  if (differs.length === 0) return;
  throw new CairnError('CLAIM_MISMATCH', `the server claimed ${differs.map((f) => `${f} ${String(claim[f])}`).join(', ')} for an image whose signed header says ${differs.map((f) => `${f} ${String(header[f])}`).join(', ')}: not using it`, {
    details: Object.fromEntries(differs.map((f) => [f, { claimed: claim[f], signed: header[f] }])),
  });
}

/** The outcome of {@link pullRemote}. */
export interface RemotePullResult {
  readonly out: string;
  readonly header: ImageHeader;
  readonly bytes: number;
  /** Bytes already present from an earlier attempt. */
  readonly resumedFrom: number;
  readonly report?: VerificationReport;
}

/**
 * Downloads (or resumes) `remote` into `out`. A partial left in `<out>.part` by an earlier
 * attempt is kept when it holds the same digest (its header is the one used); otherwise the
 * pull starts over from the prefix just fetched.
 */
export async function pullRemote(remote: RemoteImage, out: string, options: { trust?: Trust; onProgress?: (done: number, total: number) => void } = {}): Promise<RemotePullResult> {
  const part = `${out}.part`;
  const existing = await partialImage(part, remote.header.digest);
  const partial = existing ?? (await startPartial(part, remote.prefix));
  const result = await completePartial(part, out, partial, remote.fetchContent, options);
  return { out, header: partial.header, bytes: result.bytes, resumedFrom: existing?.size ?? 0, ...(result.report ? { report: result.report } : {}) };
}

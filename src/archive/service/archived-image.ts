/**
 * An archived image as the metadata database knows it (a snapshot: read it again for fresh
 * state), and the opaque page cursors of listings.
 */
import { CairnError } from '../../errors.ts';
import { DIGEST_KEY_PART, digestFromKeyPart, digestKeyPart, type Digest } from '../digest.ts';
import type { ImageRow } from '../../metadata/index.ts';
import { decodeImageRecord, type ImageRecord } from './image-record.ts';

/** One archived image. */
export interface ArchivedImage {
  readonly record: ImageRecord;
  /** When its finality was proven (ms), once it was: from then on it is final. */
  readonly finalizedAt?: number;
  /** An admin hold keeps it whatever the retention rules say. */
  readonly held: boolean;
  /** An S3 legal hold is on its blob (Object Lock buckets). */
  readonly legalHold: boolean;
}

/** The archived image a database row describes. */
export function archivedImage(row: ImageRow): ArchivedImage {
  return {
    record: decodeImageRecord(row.record),
    ...(row.finalizedAt === undefined ? {} : { finalizedAt: row.finalizedAt }),
    held: row.heldAt !== undefined,
    legalHold: row.legalHoldAt !== undefined,
  };
}

/** The cursor after `record` in a listing. */
export function encodeCursor(record: { height: number; digest: Digest }): string {
  return Buffer.from(`${record.height}:${digestKeyPart(record.digest)}`).toString('base64url');
}

/** The position a cursor names; INVALID_ARGUMENT when it is not one of ours. */
export function decodeCursor(cursor: string): { height: number; digest: Digest } {
  const match = new RegExp(`^(\\d{1,16}):(${DIGEST_KEY_PART})$`).exec(Buffer.from(cursor, 'base64url').toString());
  const digest = match ? digestFromKeyPart(match[2] as string) : undefined;
  if (!match || !digest) throw new CairnError('INVALID_ARGUMENT', 'invalid cursor');
  return { height: Number(match[1]), digest };
}

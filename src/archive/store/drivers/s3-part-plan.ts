/**
 * How a multipart upload cuts an object into parts, within S3's limits: at most 10,000 parts,
 * each at least 5 MiB (but the last) and at most 5 GiB, so at most 5 TiB per object (AWS's own
 * object limit too). With the default 5 MiB parts an upload would fail at part 10,001 (~48.8 GiB);
 * when the length is known, parts grow (in whole MiB) so the object fits in `maxParts`. Bigger
 * parts mean bigger buffers: the number in flight shrinks so that the buffers stay within
 * `bufferBudgetBytes` (at least one part uploading while the next one fills).
 */
import { CairnError } from '../../../errors.ts';

/** S3's limits. */
export const S3_LIMITS = { maxParts: 10_000, minPartBytes: 5 * 1024 * 1024, maxPartBytes: 5 * 1024 * 1024 * 1024, maxObjectBytes: 5 * 1024 ** 4 } as const;

const MIB = 1024 * 1024;

/** The parts of one upload. */
export interface PartPlan {
  readonly partBytes: number;
  /** Parts uploading at once; part buffers are `queueSize + 1`. */
  readonly queueSize: number;
  /** At most this many parts. */
  readonly maxParts: number;
}

/** Settings the plan starts from. */
export interface PartPlanOptions {
  /** Preferred part size (default and minimum 5 MiB). */
  readonly partBytes?: number;
  /** Preferred parts in flight (default 2: as fast as 4 on MinIO, 10 MiB less memory per push). */
  readonly queueSize?: number;
  /** Part limit (S3's 10,000; lower only to test large-object behaviour on small objects). */
  readonly maxParts?: number;
  /** Memory for part buffers the plan tries to stay within (default 64 MiB). */
  readonly bufferBudgetBytes?: number;
}

/** Plans the parts of an upload of `totalBytes` (undefined when the length is not known). */
export function planParts(totalBytes: number | undefined, options: PartPlanOptions = {}): PartPlan {
  const maxParts = options.maxParts ?? S3_LIMITS.maxParts;
  const preferred = Math.max(options.partBytes ?? S3_LIMITS.minPartBytes, S3_LIMITS.minPartBytes);
  const queue = options.queueSize ?? 2;
  if (totalBytes !== undefined && totalBytes > S3_LIMITS.maxObjectBytes) {
    throw new CairnError('STORE_ERROR', `an object of ${totalBytes} bytes exceeds S3's ${S3_LIMITS.maxObjectBytes}-byte object limit`, { details: { size: totalBytes } });
  }
  const needed = totalBytes === undefined ? preferred : Math.ceil(Math.ceil(totalBytes / maxParts) / MIB) * MIB;
  const partBytes = Math.min(Math.max(preferred, needed), S3_LIMITS.maxPartBytes);
  if (totalBytes !== undefined && Math.ceil(totalBytes / partBytes) > maxParts) {
    throw new CairnError('STORE_ERROR', `an object of ${totalBytes} bytes does not fit in ${maxParts} parts of at most ${S3_LIMITS.maxPartBytes} bytes`, { details: { size: totalBytes } });
  }
  const budget = options.bufferBudgetBytes ?? 64 * MIB;
  const queueSize = partBytes === preferred ? queue : Math.max(1, Math.min(queue, Math.floor(budget / partBytes) - 1));
  return { partBytes, queueSize, maxParts };
}

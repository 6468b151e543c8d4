/**
 * Single-range `Range: bytes=…` parsing (RFC 9110 §14). Multiple ranges are not supported and
 * answered with the whole representation, as the RFC allows.
 */
import { CairnError } from '../errors.ts';

/** An inclusive byte range. */
export interface HttpRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Parses `header` against a representation of `size` bytes. Returns undefined when the whole
 * representation should be sent. Throws `RANGE_INVALID` (malformed) or `RANGE_NOT_SATISFIABLE`.
 */
export function parseRange(header: string | undefined, size: number): HttpRange | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=([^,]*)$/.exec(header.trim());
  if (!match) {
    if (/^bytes=.+,.+$/.test(header.trim())) return undefined;
    throw new CairnError('RANGE_INVALID', 'Range must be "bytes=<start>-<end>", "bytes=<start>-" or "bytes=-<suffix>"');
  }
  const spec = (match[1] as string).trim();
  const parts = /^(\d{0,16})-(\d{0,16})$/.exec(spec);
  if (!parts || (parts[1] === '' && parts[2] === '')) throw new CairnError('RANGE_INVALID', `malformed range "${spec.slice(0, 40)}"`);
  const unsatisfiable = (): CairnError => new CairnError('RANGE_NOT_SATISFIABLE', `range ${spec.slice(0, 40)} is outside ${size} bytes`, { details: { size } });
  if (parts[1] === '') {
    const suffix = Number(parts[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(parts[1]);
  const end = parts[2] === '' ? size - 1 : Math.min(Number(parts[2]), size - 1);
  if (parts[2] !== '' && Number(parts[2]) < start) throw new CairnError('RANGE_INVALID', `range end before start in "${spec.slice(0, 40)}"`);
  if (start >= size) throw unsatisfiable();
  return { start, end };
}

/**
 * Points in time as users write them (the retention plan's `at`, on the command line and in the
 * API): an ISO-8601 date or date-time (`2026-12-31`, `2026-12-31T00:00:00Z`,
 * `2026-12-31T00:00:00.000+01:00`), or an integer of milliseconds since the epoch — nothing
 * else (no `Date.parse` leniency: `-1` is not a date in 2001). An integer below 10^11 (before
 * March 1973) is refused as a likely mistake: seconds instead of milliseconds, or a year.
 */
import { CairnError } from './errors.ts';

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2}))?$/;
const MIN_MS = 1e11;

/** Milliseconds since the epoch for `text`, or INVALID_ARGUMENT naming `name`. */
export function parseInstant(name: string, text: string): number {
  const refuse = (why: string): CairnError => new CairnError('INVALID_ARGUMENT', `${name} ${why}, got "${text.slice(0, 40)}"`);
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    if (!Number.isSafeInteger(ms)) throw refuse('is out of range');
    if (ms < MIN_MS) throw refuse(`is ${ms} ms after 1970-01-01: give ISO-8601 (e.g. 2026-12-31T00:00:00Z) or milliseconds since the epoch (13 digits today)`);
    return ms;
  }
  const match = ISO_8601.exec(text);
  if (!match) throw refuse('must be ISO-8601 (e.g. 2026-12-31T00:00:00Z) or an integer of milliseconds since the epoch');
  const field = (i: number): number => Number(match[i] ?? 0);
  const [year, month, day, hour, minute, second] = [field(1), field(2), field(3), field(4), field(5), field(6)];
  const date = new Date(Date.UTC(year, month - 1, day));
  // Reject calendar overflow (2026-02-31) and out-of-range fields that Date would roll over.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) throw refuse('is not a valid calendar date and time');
  const ms = Date.parse(match[4] === undefined ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(ms) || ms < 0) throw refuse('is not a valid time');
  return ms;
}

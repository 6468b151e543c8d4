/**
 * Strict parsers for command-line option values; each failure is an `INVALID_ARGUMENT`.
 */
import { CairnError } from '../errors.ts';

/** Parses a non-negative decimal integer below 2^53 (no signs, no exponents, no hex). */
export function parseUint(name: string, text: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new CairnError('INVALID_ARGUMENT', `--${name} must be a non-negative integer, got "${text.slice(0, 40)}"`);
  }
  return Number(text);
}

/** Parses a time given as ms since the epoch or as an ISO-8601 date-time. */
export function parseTime(name: string, text: string): number {
  if (/^[0-9]+$/.test(text)) return parseUint(name, text);
  const ms = Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0) throw new CairnError('INVALID_ARGUMENT', `--${name} must be ms since the epoch or an ISO-8601 time, got "${text.slice(0, 40)}"`);
  return ms;
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

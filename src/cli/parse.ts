/**
 * Strict parsers for command-line option values; each failure is an `INVALID_ARGUMENT`.
 */
import { CairnError } from '../errors.ts';
import { parseInstant } from '../instant.ts';

/** Parses a non-negative decimal integer below 2^53 (no signs, no exponents, no hex). */
export function parseUint(name: string, text: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new CairnError('INVALID_ARGUMENT', `--${name} must be a non-negative integer, got "${text.slice(0, 40)}"`);
  }
  return Number(text);
}

/** Parses a time given as an ISO-8601 date-time or an integer of ms since the epoch. */
export function parseTime(name: string, text: string): number {
  return parseInstant(`--${name}`, text);
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

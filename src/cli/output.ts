/**
 * CLI output helpers: JSON on stdout for `--json`, aligned text otherwise, and one place that
 * turns errors into a message and an exit code.
 */
import { CairnError, toCairnError } from '../errors.ts';

/** Exit codes of the `cairn` command. */
export const EXIT = { ok: 0, failure: 1, usage: 2, brokenPipe: 141 } as const;

/** Writes a value as pretty JSON to stdout (Uint8Array as base64). */
export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2)}\n`,
  );
}

/** Prints rows of label/value pairs with aligned labels. */
export function printFields(fields: ReadonlyArray<readonly [string, string | number]>): void {
  const width = Math.max(...fields.map(([label]) => label.length));
  for (const [label, value] of fields) process.stdout.write(`${label.padEnd(width)}  ${value}\n`);
}

/** Prints a table with a header row; columns sized to their widest cell. */
export function printTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write(`${line(head)}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

/** ISO-8601 UTC text of a ms timestamp. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Reports an error on stderr (JSON when asked) and returns the exit code to use. */
export function reportError(error: unknown, json: boolean): number {
  const cairnError = toCairnError(error);
  if (json) {
    process.stderr.write(`${JSON.stringify(cairnError.toJSON())}\n`);
  } else {
    process.stderr.write(`cairn: error ${cairnError.code}: ${cairnError.message}\n`);
    if (cairnError.code === 'INTERNAL' && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  }
  return cairnError instanceof CairnError && cairnError.code === 'INVALID_ARGUMENT' ? EXIT.usage : EXIT.failure;
}

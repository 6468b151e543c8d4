/**
 * Structured logging on pino: one JSON object per line (`time`, `level`, `msg`, then fields),
 * human-readable lines instead when stderr is a terminal. Callers pass fields, never secrets or
 * content; as a second line of defence, fields named like secrets are redacted.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** Log levels, most severe last. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The logging interface every component takes. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

/** Field names whose values never reach a log line. */
export const REDACTED_FIELDS = ['token', 'authorization', 'password', 'secret', 'database', 'secretAccessKey', 'masterKey', 'masterKeys', 'adminTokens', 'readToken', 'privateKey', 'secretKey', 'content'];

function serialiseError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }), ...(value.cause instanceof Error ? { cause: serialiseError(value.cause) } : {}) };
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Turns JSON lines into `HH:MM:SS.mmm LEVEL msg key=value …` for a terminal. */
export function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, ...rest } = entry;
  const when = typeof time === 'string' ? time.slice(11, 23) : '';
  const label = typeof level === 'string' ? level.toUpperCase() : (LEVEL_NAMES[Number(level)] ?? String(level));
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`);
  return `${when} ${label.padEnd(5)} ${String(msg)}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
}

function wrap(p: PinoLogger): Logger {
  const fieldsOf = (fields: Record<string, unknown> = {}): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) out[k] = serialiseError(v);
    return out;
  };
  return {
    debug: (m, f) => p.debug(fieldsOf(f), m),
    info: (m, f) => p.info(fieldsOf(f), m),
    warn: (m, f) => p.warn(fieldsOf(f), m),
    error: (m, f) => p.error(fieldsOf(f), m),
    child: (fields) => wrap(p.child(fieldsOf(fields))),
  };
}

/**
 * Creates a logger. `write` receives each JSON line (tests); otherwise lines go to stderr, as
 * JSON or — when `pretty` (default: stderr is a terminal) — as readable text.
 */
export function createLogger(options: { level?: LogLevel; base?: Record<string, unknown>; write?: (line: string) => void; pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? (options.write === undefined && process.stderr.isTTY === true);
  const write = options.write ?? ((line: string) => process.stderr.write(pretty ? prettyLine(line) : line));
  const destination: DestinationStream = { write };
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? {},
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`]), censor: '[redacted]' },
    },
    destination,
  );
  return wrap(logger);
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger({ level: 'silent' });

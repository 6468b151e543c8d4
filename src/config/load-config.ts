/**
 * Loads the configuration once: JSON file, then `CAIRN_*` overrides, validated into one frozen
 * object; every problem is reported at once. Secrets never appear in error messages.
 */
import { readFile } from 'node:fs/promises';
import { CairnError } from '../errors.ts';
import { ENVIRONMENT, configSchema, type CairnConfig } from './config-schema.ts';

function convert(name: string, kind: string, raw: string, problems: string[]): unknown {
  switch (kind) {
    case 'int': {
      if (!/^\d+$/.test(raw.trim())) problems.push(`${name}: expected a non-negative integer`);
      return Number(raw);
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (!['true', 'false', '1', '0', 'yes', 'no'].includes(v)) problems.push(`${name}: expected true or false`);
      return ['true', '1', 'yes'].includes(v);
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = next && typeof next === 'object' ? next : {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Validates a raw object (file contents merged with environment) into a config. */
export function parseConfig(raw: unknown, extraProblems: string[] = []): CairnConfig {
  const parsed = configSchema.safeParse(raw);
  const problems = [...extraProblems, ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`))];
  if (problems.length > 0 || !parsed.success) {
    throw new CairnError('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
  return deepFreeze(parsed.data);
}

/**
 * Reads the config file (if any), applies environment overrides and command-line `overrides`
 * (already typed), and validates everything.
 */
export async function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {}): Promise<CairnConfig> {
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};
  if (options.file) {
    try {
      const parsed: unknown = JSON.parse(await readFile(options.file, 'utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) problems.push(`${options.file}: must be a JSON object`);
      else raw = parsed as Record<string, unknown>;
    } catch (error) {
      problems.push(`${options.file}: ${error instanceof SyntaxError ? 'not valid JSON' : ((error as NodeJS.ErrnoException).code ?? 'unreadable')}`);
    }
  }
  const env = options.env ?? process.env;
  for (const { name, path, kind } of ENVIRONMENT) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, convert(name, kind, value, problems));
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) if (value !== undefined) setPath(raw, key.split('.'), value);
  return parseConfig(raw, problems);
}

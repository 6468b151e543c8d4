/**
 * Renders docs/CONFIG.md from the configuration schema, so the reference cannot drift from the
 * code (a test compares the file with this output; `npm run docs:config` rewrites it).
 */
import { z } from 'zod';
import { ENVIRONMENT, configSchema } from './config-schema.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  format?: string;
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (schema.type === 'array') return `list of ${typeOf(schema.items ?? {})}`;
  const bounds = schema.minimum !== undefined || schema.maximum !== undefined ? ` (${schema.minimum ?? ''}…${schema.maximum ?? ''})` : '';
  return `${Array.isArray(schema.type) ? schema.type.join('/') : (schema.type ?? 'any')}${schema.format ? ` (${schema.format})` : ''}${bounds}`;
}

function rows(properties: Record<string, JsonSchema>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [name, schema] of Object.entries(properties)) {
    const path = `${prefix}${name}`;
    if (schema.type === 'object' && schema.properties) {
      out.push(...rows(schema.properties, `${path}.`));
      continue;
    }
    const env = ENVIRONMENT.find((e) => e.path.join('.') === path)?.name;
    const def = schema.default === undefined ? '—' : `\`${JSON.stringify(schema.default)}\``;
    out.push(`| \`${path}\` | ${typeOf(schema)} | ${def} | ${env ? `\`${env}\`` : '—'} | ${schema.description ?? ''} |`);
  }
  return out;
}

/** The Markdown text of docs/CONFIG.md. */
export function renderConfigDoc(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchema;
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/config-schema.ts by `npm run docs:config`; a test keeps it current. -->',
    '',
    'Cairn reads one JSON file (`cairn serve --config <file>`), then applies `CAIRN_*` environment',
    'variables over it, then command-line flags (`--port`, `--host`, `--data`). Everything is',
    'validated once at start; every problem is reported at once and the server does not start',
    'half-configured. Unknown keys are errors. List variables take comma-separated values.',
    '',
    '| setting | type | default | environment | meaning |',
    '|---|---|---|---|---|',
    ...rows(schema.properties ?? {}),
    '',
    '## Development secrets',
    '',
    'With the `fs` store and no `masterKeys` or `adminTokens`, Cairn generates a master key, an admin',
    'token and a one-validator registry (chain `devnet`) under `<dataDir>/dev`, reuses them on later',
    'starts, and prints a warning at every start. With `s3`, both must be configured.',
    '',
    '## Example: MinIO',
    '',
    '```json',
    JSON.stringify(
      {
        store: 's3',
        s3: { endpoint: 'http://127.0.0.1:9000', bucket: 'cairn', region: 'us-east-1', forcePathStyle: true, accessKeyId: '…', secretAccessKey: '…' },
        masterKeys: ['k2026:<base64 of 32 random bytes>'],
        adminTokens: ['<at least 16 characters>'],
        registryFile: './registry.json',
      },
      null,
      2,
    ),
    '```',
    '',
  ].join('\n');
}

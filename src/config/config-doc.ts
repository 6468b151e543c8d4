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
    '## Memory of a served process',
    '',
    'A served archive holds nothing per image: RSS after start is about 100 MiB at 1,000 or 1,000,000',
    'images. What moves it is a request that walks a whole chain — the retention plan',
    '(`GET /v1/admin/retention/plan`) and the dashboard page, which stream the plan a page of rows at a',
    'time. Their live set is small and flat, but V8 grows its young generation and heap to keep up with',
    'the garbage such a pass makes, and keeps what it grew. Node\'s `--max-semi-space-size=4` (MiB) caps',
    'the young generation; measured with `npm run bench:scale -- --images 1000000 --drivers sqlite` on two',
    'shared cores (peak RSS of each request alone, VmHWM reset before it, plan first then dashboard):',
    '',
    '| node flags | plan s | plan peak MiB | dashboard s | dashboard peak MiB |',
    '|---|---|---|---|---|',
    '| (none) | 3.32 | 217 | 1.77 | 291 |',
    '| `--max-semi-space-size=4` | 3.55 | 151 | 1.86 | 183 |',
    '',
    'On PostgreSQL with the flag, same bench: plan 4.23 s peaking at 130 MiB, dashboard 2.39 s at 138 MiB.',
    '',
    '`npm start` and the container image (`Dockerfile`) start `cairn serve` with it; elsewhere pass',
    '`node --max-semi-space-size=4 …/bin/cairn.js serve`, or `NODE_OPTIONS=--max-semi-space-size=4`',
    '(Node accepts it there). It cost ~7 % on the full-chain plan there; push latency stayed at 6–7',
    'ms. Pulls and large pushes stream through fixed-size buffers and were not measured with it.',
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

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
    'images (about 60 MiB of it is the Node binary\'s own pages). Cairn runs with a 1 MiB young',
    'generation (`--max-semi-space-size=1`): `npm start`, the container image and the `cairn` command',
    '(its `#!/usr/bin/env -S node --max-semi-space-size=1` line) all pass it; elsewhere run',
    '`node --max-semi-space-size=1 …/bin/cairn.js serve`, or set `NODE_OPTIONS=--max-semi-space-size=1`.',
    '',
    'Why: transfers allocate a buffer per 64 KiB piece (socket reads, cipher output). With a larger',
    'young generation those buffers are collected late, in bulk, by full collections under V8\'s',
    'external-memory pressure, and they leave the caches before they are reused. Measured with',
    '`npm run bench:peers -- --sizes 1` (1 GiB, MinIO, two shared cores; server CPU per GiB) and the',
    'server\'s peak RSS over a 1 GiB push, GET of the file, and pull:',
    '',
    '| young generation | push CPU s | HTTP pull CPU s | QSSH pull CPU s | `cairn pull` wall s | push / GET / pull peak RSS MiB |',
    '|---|---|---|---|---|---|',
    '| `--max-semi-space-size=4` | 4.05 | 3.41 | 4.34 | 6.40 | 181 / 213 / 225 |',
    '| `--max-semi-space-size=1` | 4.41 | 1.38 | 2.16 | 4.34 | 157 / 168 / 173 |',
    '',
    'A threshold, not a slope: with 2 MiB the same pull took 3.89 s of server CPU (1 MiB, same run: 1.55).',
    '',
    'What it costs: requests that walk a whole chain — the retention plan (`GET /v1/admin/retention/plan`)',
    'and the dashboard, which stream the plan a page of rows at a time — make short-lived objects by the',
    'million, and with a small young generation more of them are promoted before they die.',
    '`npm run bench:scale -- --images N --drivers sqlite`, same runs, 4 MiB → 1 MiB:',
    '',
    '| images | plan s | plan peak MiB | dashboard s | dashboard peak MiB |',
    '|---|---|---|---|---|',
    '| 100,000 | 0.38 → 0.49 | 201 → 166 | 0.22 → 0.33 | 220 → 174 |',
    '| 1,000,000 | 3.14 → 3.92 | 156 → 215 | 1.87 → 1.82 | 201 → 223 |',
    '',
    'latest / list / latest-final stay at 1–3 ms and push at 6–8 ms. An archive of a million images',
    'whose operators run the plan often and move few bytes can start with `--max-semi-space-size=4`',
    'instead. Without any flag (V8\'s default young generation) the plan of 1,000,000 images peaked at',
    '217 MiB and the dashboard at 291.',
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

// Compiles src/ to dist/ (plain JavaScript; `npm ci` runs it through `prepare`) and records the
// newest source modification time, so bin/cairn.js only runs dist/ while it matches the sources.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestSourceMtime } from './source-mtime.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
writeFileSync(join(root, 'dist', 'build-stamp.json'), `${JSON.stringify({ sourceMtimeMs: newestSourceMtime(join(root, 'src')) })}\n`);

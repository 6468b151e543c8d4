#!/usr/bin/env -S node --max-semi-space-size=1
// Entry point of the `cairn` command, on the pinned Node 24 (`npm install` puts it first on the
// PATH of npm scripts and npx). It runs the JavaScript that `npm ci` compiled into dist/ while
// that build matches the sources (about 35 MiB less memory and a faster start than type
// stripping), and the TypeScript sources directly otherwise — for instance right after an edit.
// An installed package ships dist/ without the sources: there dist/ is always the one to run.
import { existsSync, readFileSync } from 'node:fs';
import { newestSourceMtime } from '../scripts/source-mtime.js';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`cairn: needs Node.js 24 (this is ${process.version}); run it as \`npx cairn …\` or through npm scripts, which use the Node 24 the project installs\n`);
  process.exit(2);
}

const root = new URL('..', import.meta.url);
function distIsCurrent() {
  try {
    if (!existsSync(new URL('dist/src/cli/main.js', root))) return false;
    if (!existsSync(new URL('src', root))) return true;
    const stamp = JSON.parse(readFileSync(new URL('dist/build-stamp.json', root), 'utf8'));
    return stamp.sourceMtimeMs >= newestSourceMtime(new URL('src', root).pathname);
  } catch {
    return false;
  }
}
const entry = distIsCurrent() ? '../dist/src/cli/main.js' : '../src/cli/main.ts';
const { runCli } = await import(entry);
process.exitCode = await runCli(process.argv);

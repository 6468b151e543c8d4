#!/usr/bin/env node
// Entry point of the `cairn` command. Runs the TypeScript sources directly on the pinned
// Node 24 (type stripping); `npm install` puts that Node first on the PATH of npm scripts and npx.
import { runCli } from '../src/cli/main.ts';

process.exitCode = await runCli(process.argv);

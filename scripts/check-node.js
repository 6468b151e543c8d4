#!/usr/bin/env node
// Fails fast when an npm script runs on a Node other than the one the project pins.
// `npm install` puts the pinned Node (the `node` package) first on every npm script's PATH.
const [major] = process.versions.node.split('.').map(Number);
if (major !== 24) {
  console.error(`cairn: Node 24 LTS is required, found ${process.version}. Run "npm install" first; npm scripts then use the pinned Node.`);
  process.exit(1);
}

#!/usr/bin/env node
// Entry point: runs the compiled CLI; `npm install` builds it through the `prepare` script.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(compiled)) {
  process.stderr.write('edgefit: the compiled CLI is missing (dist/cli/main.js).\nHint: run `npm install` (or `npm run build`) in ' + root + '\n');
  process.exit(2);
}
const { main } = await import(pathToFileURL(compiled).href);
process.exitCode = await main(process.argv.slice(2));

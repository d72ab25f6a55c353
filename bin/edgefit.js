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
const { main, relaunchServe } = await import(pathToFileURL(compiled).href);
// `serve` starts again as a child with glibc's malloc tuned for steady latency (src/cli/serve-relaunch.ts)
const relaunched = await relaunchServe(process.argv.slice(2), fileURLToPath(import.meta.url));
process.exitCode = relaunched ?? (await main(process.argv.slice(2)));

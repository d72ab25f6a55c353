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
// `serve` starts again as a child with glibc's malloc tuned for steady latency (src/cli/serve-relaunch.ts);
// that module is loaded alone, so the parent, which only waits and forwards signals, stays small
const { runEntry } = await import(pathToFileURL(join(root, 'dist', 'cli', 'serve-relaunch.js')).href);
process.exitCode = await runEntry(process.argv.slice(2), fileURLToPath(import.meta.url), () => import(pathToFileURL(compiled).href));

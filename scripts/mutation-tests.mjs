#!/usr/bin/env node
// Runs the given node:test files in ONE process (Node 20's `--test` spawns one per file, which costs
// more than the tests themselves under Stryker). Exit code 1 when any test fails.
// A listed file that does not exist yet is skipped with a warning (so a target can be tried before its
// boundary tests are written); `npm run mutation` refuses to start unless every listed file exists.
// Usage: node --import tsx scripts/mutation-tests.mjs <file.test.ts> ...
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

for (const f of process.argv.slice(2)) {
  if (!existsSync(f)) console.error(`mutation-tests: ${f} does not exist; skipped`);
  else await import(pathToFileURL(resolve(f)).href);
}

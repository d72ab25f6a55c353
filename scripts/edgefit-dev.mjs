#!/usr/bin/env node
// Runs the CLI from the TypeScript sources, without a build: node --import tsx scripts/edgefit-dev.mjs <command> …
import { fileURLToPath } from 'node:url';
// as bin/edgefit.js: `serve` starts again as a child with glibc's malloc tuned (src/cli/serve-relaunch.ts)
const { runEntry } = await import('../src/cli/serve-relaunch.ts');
process.exitCode = await runEntry(process.argv.slice(2), fileURLToPath(import.meta.url), () => import('../src/cli/main.ts'));

#!/usr/bin/env node
// Runs the CLI from the TypeScript sources, without a build: node --import tsx scripts/edgefit-dev.mjs <command> …
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// Runs every *.test.ts beside the code (src/) and the end-to-end tests (test/) with node's test runner.
// Usage: npm test [-- <path filter> ...]   e.g. `npm test -- src/onnx` runs only tests whose path contains it.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const files = [...walk(join(root, 'src'), []), ...walk(join(root, 'test'), [])]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The whole suite starts with the formatter and linter (Biome), so a clean clone checks style as CI does.
if (filters.length === 0) {
  const lint = spawnSync(process.execPath, [join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome'), 'ci', '--colors=off', '.'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (lint.status !== 0) {
    console.error('npm test: Biome found formatting or lint errors (above). Fix them, or run `npm run format` for the formatting ones.');
    process.exit(lint.status ?? 1);
  }
  // Then the type checker over src and bench: tests run through tsx, which strips types without checking
  // them, and nothing else compiles the benchmarks.
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.bench.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) {
    console.error('npm test: TypeScript found type errors (above) in src or bench.');
    process.exit(tsc.status ?? 1);
  }
}
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, EDGEFIT_TEST: '1' } });
process.exit(r.status ?? 1);

#!/usr/bin/env node
// Runs the benchmarks in bench/: every bench/*.ts, or the ones named (`npm run bench -- paddleocr`).
// Each script prints a table and writes bench/results/<name>.json with the machine, ORT version and
// threads beside its figures. Benchmarks are never part of `npm test`.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const dir = join(root, 'bench');
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2).map((a) => a.replace(/^bench\//, '').replace(/\.ts$/, ''));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`npm run bench: no benchmark named ${unknown.map((u) => `'${u}'`).join(', ')}; the benchmarks are: ${all.join(', ')}`);
  process.exit(2);
}
const names = wanted.length ? wanted : all;
let failed = 0;
for (const name of names) {
  console.log(`\n== bench/${name}.ts`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, `${name}.ts`)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${name}.ts failed (${r.signal ?? `exit ${r.status}`})`);
  }
}
process.exit(failed ? 1 : 0);

#!/usr/bin/env node
// `npm run mutation [-- <path fragment> ...] [--force] [--report-only]`: StrykerJS over the deciding code
// (scripts/mutation-targets.mjs), one target file at a time, niced, then one table of scores and the
// surviving mutants (also written to reports/mutation/summary.md). Not part of `npm test`.
// Results are kept per target in reports/mutation/<slug>.incremental.json. The command runner reports no
// per-test coverage, so Stryker would reuse every old result; before each run the mutants that were not
// killed are dropped from that file, so they are tried again against the current tests. --force starts over.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TARGETS, slugOf } from './mutation-targets.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const reportOnly = args.includes('--report-only');
const filters = args.filter((a) => !a.startsWith('--'));
// In the order given; `file.ts:120-200` mutates only those lines of a target (the other lines keep their
// stored results: Stryker's incremental mode keeps what lies outside the mutated range).
const chosen =
  filters.length === 0
    ? TARGETS.map((t) => ({ ...t, range: t.mutate }))
    : filters.flatMap((f) => {
        const [path, lines] = f.split(':');
        return TARGETS.filter((t) => t.mutate.includes(path)).map((t) => ({ ...t, range: lines ? `${t.mutate}:${lines}` : t.mutate }));
      });
if (chosen.length === 0) {
  console.error(`no target matched ${filters.join(' ')}; targets: ${TARGETS.map((t) => t.mutate).join(', ')}`);
  process.exit(1);
}
const dir = join(root, 'reports', 'mutation');
mkdirSync(dir, { recursive: true });
const incFile = (t) => join(dir, `${slugOf(t.mutate)}.incremental.json`);
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** Drops the stored mutants that were not killed (within `lines` "from-to" when given), so they run again. */
function keepOnlyDetected(path, lines) {
  const [from, to] = lines ? lines.split('-').map(Number) : [-Infinity, Infinity];
  const report = JSON.parse(readFileSync(path, 'utf8'));
  for (const f of Object.values(report.files ?? {}))
    f.mutants = f.mutants.filter((m) => DETECTED.has(m.status) || m.location.start.line < from || m.location.start.line > to);
  writeFileSync(path, JSON.stringify(report));
}

if (!reportOnly) {
  const missing = chosen.flatMap((t) => t.tests).filter((f) => !existsSync(join(root, f)));
  if (missing.length) {
    console.error(`test files listed in scripts/mutation-targets.mjs are missing: ${missing.join(', ')}`);
    process.exit(1);
  }
  for (const t of chosen) {
    const inc = incFile(t);
    if (force) rmSync(inc, { force: true });
    else if (existsSync(inc)) keepOnlyDetected(inc, t.range.split(':')[1]);
    console.log(`\n=== mutating ${t.range} (tests: ${t.tests.join(', ')})`);
    const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
    const r = spawnSync('nice', ['-n', '15', process.execPath, stryker, 'run', 'stryker.config.mjs'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, EDGEFIT_MUTATE: t.range, EDGEFIT_TEST: '1' },
    });
    if (r.status !== 0) {
      console.error(`stryker failed on ${t.mutate} (exit ${r.status})`);
      process.exit(r.status ?? 1);
    }
  }
}

// The summary over every target that has results, not only the ones run now.
const rows = [];
const survivors = [];
for (const t of TARGETS) {
  const inc = incFile(t);
  if (!existsSync(inc)) {
    rows.push({ file: t.mutate, missing: true });
    continue;
  }
  const report = JSON.parse(readFileSync(inc, 'utf8'));
  const entry = Object.entries(report.files ?? {}).find(([k]) => k.replace(/\\/g, '/').endsWith(t.mutate));
  const mutants = entry ? entry[1].mutants : [];
  const count = (set) => mutants.filter((m) => set.has(m.status)).length;
  const detected = count(DETECTED);
  const undetected = count(UNDETECTED);
  rows.push({ file: t.mutate, detected, undetected, invalid: mutants.length - detected - undetected });
  for (const m of mutants.filter((x) => UNDETECTED.has(x.status)).sort((a, b) => a.location.start.line - b.location.start.line))
    survivors.push(`${t.mutate}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${m.status}: ${JSON.stringify(m.replacement ?? '')}`);
}
const pct = (d, u) => (d + u ? ((100 * d) / (d + u)).toFixed(1) : 'n/a');
const lines = ['| file | killed | survived | invalid | score % |', '|---|---:|---:|---:|---:|'];
let td = 0;
let tu = 0;
for (const r of rows) {
  if (r.missing) {
    lines.push(`| ${r.file} | – | – | – | not run |`);
    continue;
  }
  td += r.detected;
  tu += r.undetected;
  lines.push(`| ${r.file} | ${r.detected} | ${r.undetected} | ${r.invalid} | ${pct(r.detected, r.undetected)} |`);
}
lines.push(`| **all** | ${td} | ${tu} | | **${pct(td, tu)}** |`);
const text = `${lines.join('\n')}\n\nSurviving mutants (${survivors.length}):\n${survivors.map((s) => `- ${s}`).join('\n')}\n`;
writeFileSync(join(dir, 'summary.md'), text);
console.log(`\n${text}`);
if (rows.every((r) => !r.missing) && td + tu > 0 && (100 * td) / (td + tu) < 80) {
  console.error('mutation score below 80%');
  process.exit(1);
}

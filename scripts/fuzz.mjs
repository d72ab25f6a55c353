#!/usr/bin/env node
// Runs many seeded mutants (test/fuzz/mutants.ts: bytes, external data, shape rules) in child processes,
// with a watchdog that kills a child stuck on one case, and prints the count of each outcome: typed error,
// accepted, untyped exception, hang, crash. Exits 1 unless the last three are 0.
// Usage: npm run fuzz -- [--n 20000] [--jobs 2] [--timeout-ms 10000] [--seed 1000] [--case k]
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const worker = join(root, 'test', 'fuzz', 'worker.ts');

function parseArgs(argv) {
  const o = { n: 20000, jobs: Math.min(2, availableParallelism()), timeoutMs: 10000, seed: 1000, case: undefined };
  const keys = { '--n': 'n', '--jobs': 'jobs', '--timeout-ms': 'timeoutMs', '--seed': 'seed', '--case': 'case' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = keys[argv[i]];
    const v = Number(argv[i + 1]);
    if (!key || !Number.isInteger(v) || v < 0) {
      console.error(`npm run fuzz: unknown flag or bad value '${argv[i]} ${argv[i + 1] ?? ''}'; flags: ${Object.keys(keys).join(', ')} (whole numbers)`);
      process.exit(2);
    }
    o[key] = v;
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.case !== undefined) {
  // one case, in a process of its own, with the full error: for reproducing what a run reported
  const code = `const { runCase } = await import(${JSON.stringify(new URL('../test/fuzz/mutants.ts', import.meta.url).href)});
    const dir = (await import('node:fs')).mkdtempSync((await import('node:path')).join((await import('node:os')).tmpdir(), 'edgefit-fuzz-'));
    console.log(JSON.stringify(runCase(${opts.case}, dir, ${opts.seed}), null, 1)); (await import('node:fs')).rmSync(dir, { recursive: true, force: true });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const counts = { typed: 0, accepted: 0, untyped: 0, hang: 0, crash: 0 };
const byClass = {};
const bad = [];
const t0 = Date.now();
let finished = 0;

function record(k, outcome, cls, detail) {
  counts[outcome]++;
  byClass[cls] ??= { typed: 0, accepted: 0, untyped: 0, hang: 0, crash: 0 };
  byClass[cls][outcome]++;
  if (outcome !== 'typed' && outcome !== 'accepted') bad.push({ k, outcome, cls, detail });
  if (++finished % 1000 === 0) console.log(`  ${finished}/${opts.n} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify(counts)}`);
}

/** Runs cases [from, to) in one child after another: a hang or crash costs that child, not the range. */
function runRange(from, to) {
  return new Promise((resolve) => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefit-fuzz-'));
    let next = from;
    const step = () => {
      if (next >= to) {
        rmSync(dir, { recursive: true, force: true });
        resolve();
        return;
      }
      let current;
      let timer;
      let killedForHang = false;
      const child = fork(worker, [], { cwd: root, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          killedForHang = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs);
      };
      child.on('message', (m) => {
        if (m.start !== undefined) {
          current = m.start;
          arm();
        } else if (m.done !== undefined) {
          clearTimeout(timer);
          record(m.done, m.outcome, m.cls, m.detail);
          current = undefined;
          next = m.done + 1;
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (current !== undefined) {
          // the case that was running when the child ended is a hang (watchdog) or a crash
          const cls = ['bytes', 'external', 'shape'][current % 3];
          record(
            current,
            killedForHang ? 'hang' : 'crash',
            cls,
            killedForHang ? `no answer in ${opts.timeoutMs} ms` : `exit ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
          );
          next = current + 1;
        } else if (next < to && (code !== 0 || signal)) {
          console.error(`fuzz worker died between cases (exit ${signal ?? code}): ${stderr.trim()}`);
          process.exit(1);
        }
        step();
      });
      child.send({ from: next, to, base: opts.seed, dir });
    };
    step();
  });
}

console.log(
  `npm run fuzz: ${opts.n} cases (seed ${opts.seed}), ${opts.jobs} jobs, watchdog ${opts.timeoutMs} ms; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const per = Math.ceil(opts.n / opts.jobs);
await Promise.all(Array.from({ length: opts.jobs }, (_, j) => runRange(j * per, Math.min(opts.n, (j + 1) * per))));
const secs = (Date.now() - t0) / 1000;
console.log(
  `\n${opts.n} cases in ${secs.toFixed(0)} s (load average now ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})`,
);
console.log(`  typed error:         ${counts.typed}`);
console.log(`  accepted:            ${counts.accepted}`);
console.log(`  untyped exception:   ${counts.untyped}`);
console.log(`  hang:                ${counts.hang}`);
console.log(`  crash:               ${counts.crash}`);
console.log(
  `  by class: ${Object.entries(byClass)
    .map(([c, v]) => `${c} ${JSON.stringify(v)}`)
    .join('; ')}`,
);
for (const b of bad.slice(0, 10))
  console.log(
    `\n${b.outcome} in case ${b.k} (${b.cls}); rerun: npm run fuzz -- --case ${b.k} --seed ${opts.seed}\n  ${String(b.detail).split('\n').slice(0, 6).join('\n  ')}`,
  );
process.exit(counts.untyped + counts.hang + counts.crash === 0 ? 0 : 1);

// End to end: `edgefit optimize` on a tiny zoo MLP with real passes, real isolated measurements and
// agreement-with-the-source quality. The first run is killed after a few candidates; the rerun must
// reuse them; a third run with an impossible budget reuses everything and exits non-zero with the
// closest candidates.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { captureOutput } from '../src/cli/test-cli.js';
import { writeModel } from '../src/onnx/write-model.js';
import { mlp } from '../src/zoo/index.js';
import { lowerIsBetter } from '../src/search/constraints.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-optimize-'));
const model = join(dir, 'mlp.onnx');
const out = join(dir, 'run');
writeModel(mlp({ sizes: [64, 256, 256, 10], seed: 4 }), model);
const args = [
  'optimize',
  model,
  '--out',
  out,
  '--budget',
  'p99<=1000ms',
  '--quality',
  'agreement>=0.5',
  '--passes',
  'quantize-dynamic,fp16',
  '--max-variants',
  '1',
  '--screen-items',
  '8',
  '--eval-items',
  '16',
  '--screen-seconds',
  '0.3',
  '--full-seconds',
  '0.6',
  '--time-limit',
  '5m',
  // no --data: quality is agreement on random inputs, which recommends nothing without this flag
  '--allow-random',
];

function screened(): string[] {
  const c = join(out, 'candidates');
  if (!existsSync(c)) return [];
  return readdirSync(c).filter((id) => {
    const p = join(c, id, 'result.json');
    return existsSync(p) && !!JSON.parse(readFileSync(p, 'utf8')).screen;
  });
}

test('optimize: killed mid-run, rerun reuses what was measured, then chooses', { timeout: 240_000 }, async () => {
  // 1. A child process runs the CLI; kill it once two candidates have results on disk.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { main } from ${JSON.stringify(new URL('../src/cli/main.ts', import.meta.url).pathname)}; process.exitCode = await main(${JSON.stringify(args)});`,
    ],
    { stdio: 'ignore' },
  );
  const killedAfter = await new Promise<string[]>((resolve, reject) => {
    const timer = setInterval(() => {
      const s = screened();
      if (s.length >= 2) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve(s);
      }
    }, 100);
    child.on('exit', () => {
      clearInterval(timer);
      const s = screened();
      if (s.length >= 2) resolve(s);
      else reject(new Error('the child exited before measuring two candidates'));
    });
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
  const before = new Map(killedAfter.map((id) => [id, JSON.parse(readFileSync(join(out, 'candidates', id, 'result.json'), 'utf8')).screen.measuredAt]));

  // 2. Rerun the same command in-process: the killed run's candidates are reused, the rest measured.
  const so = captureOutput();
  const se = captureOutput();
  const code = await main(args.concat(['--json']), { stdout: so, stderr: se });
  const outcome = JSON.parse(so.text);
  assert.equal(outcome.schema, 'edgefit.optimize.outcome/1');
  // On a loaded machine the pick can be within the noise of the source: then nothing is recommended
  // (exit 3) and the outcome says why; the reuse checks below hold either way.
  const recommended = code === 0;
  if (!recommended) assert.match(String(outcome.notRecommended), /beyond the noise|nothing beats the source/, se.text);
  assert.equal(code, recommended ? 0 : 3, se.text);
  assert.equal(outcome.feasible, recommended);
  if (recommended) assert.ok(outcome.chosen.id);
  for (const [id, at] of before) {
    const r = JSON.parse(readFileSync(join(out, 'candidates', id, 'result.json'), 'utf8'));
    assert.equal(r.screen.measuredAt, at, `candidate ${id} was measured again`);
  }
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.schema, 'edgefit.optimize.summary/1');
  assert.ok(
    summary.notes.some((n: string) => /reused/.test(n)),
    summary.notes.join('; '),
  );
  assert.ok(summary.candidates.length >= 4);
  // The choice meets every constraint and is the fastest such candidate among the fully measured —
  // or, when a faster one is statistically tied with it on p99, it has the better quality (the tie rule).
  if (!recommended) return;
  const chosen = summary.candidates.find((c: { id: string }) => c.id === summary.chosen);
  assert.ok(chosen.checks.every((c: { ok: boolean }) => c.ok));
  const score = (c: { full: { quality: { primary: { name: string; value: number } } } }) => {
    const p = c.full.quality.primary;
    return lowerIsBetter(p.name) ? -p.value : p.value;
  };
  for (const c of summary.candidates) {
    if (c.id === chosen.id || !c.full || !c.checks?.every((x: { ok: boolean }) => x.ok)) continue;
    if (chosen.full.latency.p99 > c.full.latency.p99)
      assert.ok(score(chosen) >= score(c), `${chosen.id} was chosen over the faster ${c.id} without better quality`);
  }
  // The artifacts.
  for (const f of ['run.json', 'summary.json', 'best.onnx', 'best.manifest.json', 'report.html']) assert.ok(existsSync(join(out, f)), f);
  const manifest = JSON.parse(readFileSync(join(out, 'best.manifest.json'), 'utf8'));
  assert.equal(manifest.sha256, chosen.modelSha256);
  assert.equal(manifest.source.sha256, summary.source.sha256);
  assert.deepEqual(manifest.passes, chosen.config.passes);
  assert.ok(manifest.machine.cpu && manifest.machine.ort && manifest.machine.threads === 1);
  assert.ok(!readdirSync(out).some((f) => f.includes('.tmp-')), 'no temp files left');
});

test('optimize: no candidate meets the constraints → says so, shows the closest, exits 3', { timeout: 120_000 }, async () => {
  const so = captureOutput();
  const se = captureOutput();
  const t0 = Date.now();
  const code = await main(
    args.map((a) => (a === 'p99<=1000ms' ? 'p99<=0.001ms' : a)),
    { stdout: so, stderr: se },
  );
  assert.equal(code, 3, so.text + se.text);
  assert.match(so.text, /No candidate meets every constraint/);
  assert.match(so.text, /misses p99<=0\.001ms/);
  // the lineage in the terminal: the source, then each pass under it with its figures
  assert.match(so.text, /^Lineage .*\n {2}\S.*p99 +\d+\.\d\d ms \(full\)/m);
  assert.match(so.text, /^ {2}[├└]─ \+ .*quantize-dynamic +p99 +\d+\.\d\d ms/m);
  assert.ok(Date.now() - t0 < 30_000, 'everything was reused from the earlier run');
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.feasible, false);
  assert.ok(summary.closest.length >= 1);
});

test('optimize: malformed constraints are usage errors before anything is measured', async () => {
  const se = captureOutput();
  const code = await main(['optimize', model, '--budget', 'p99<12', '--out', join(dir, 'never')], { stdout: captureOutput(), stderr: se });
  assert.equal(code, 2);
  assert.match(se.text, /edgefit: error: cannot read the time '12'/);
  assert.match(se.text, /hint:/);
  assert.ok(!existsSync(join(dir, 'never')));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('optimize: SIGTERM (or Ctrl-C) says where the measured candidates are and how to resume', { timeout: 120_000 }, async () => {
  const out2 = join(dir, 'run-term');
  const argv = args.map((a) => (a === out ? out2 : a));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { main } from ${JSON.stringify(new URL('../src/cli/main.ts', import.meta.url).pathname)}; process.exitCode = await main(${JSON.stringify(argv)});`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setInterval(() => {
      if (existsSync(join(out2, 'run.json'))) {
        clearInterval(timer);
        child.kill('SIGTERM');
      }
    }, 50);
    child.on('exit', (c) => {
      clearInterval(timer);
      resolve(c);
    });
  });
  assert.equal(code, 143, stderr);
  assert.match(stderr, /interrupted \(SIGTERM\)/);
  assert.match(stderr, /rerun the same command to resume/);
  assert.doesNotMatch(stderr, /\n\s+at /);
});

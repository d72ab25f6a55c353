// The search end to end on a fake measurer, an in-memory run directory and a fake clock, so every figure,
// log line, status line and verdict is known: sure misses dropped at screening (latency, quality floors
// and CER ceilings the right way round, size), candidates dominated at screening, ties broken by quality,
// the comparison of a CER choice made lower-is-better, and the time plan's messages.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { parseConstraints } from './constraints.js';
import type { Progress } from './progress.js';
import type { RunDir } from './run-dir.js';
import { configId } from './space.js';
import { latencyFigures } from './stats.js';
import { SCREEN_MARGIN, search, type Measurer } from './strategy.js';
import type { CandidateConfig, CandidateResult, Measurement, Sensitivity } from './types.js';

function memDir() {
  const results = new Map<string, CandidateResult>();
  const sens = new Map<string, Sensitivity>();
  const writes: string[] = [];
  const dir = {
    modelPath: (id: string) => `/mem/${id}/model.onnx`,
    readResult: (id: string) => (results.has(id) ? structuredClone(results.get(id)) : undefined),
    writeResult: (r: CandidateResult) => {
      writes.push(r.id);
      results.set(r.id, structuredClone(r));
    },
    readSensitivity: (id: string) => sens.get(id),
    writeSensitivity: (id: string, s: Sensitivity) => sens.set(id, structuredClone(s)),
  };
  return { results, sens, writes, dir: dir as unknown as RunDir };
}

function recorder() {
  const logs: string[] = [];
  const statuses: string[] = [];
  let done = 0;
  const progress = {
    status: (s: { phase: string; done: number; total: number; msLeft: number; current?: string }) =>
      statuses.push(`${s.phase} ${s.done}/${s.total} ${s.msLeft} ${s.current}`),
    log: (l: string) => logs.push(l),
    done: () => done++,
  };
  return { logs, statuses, progress: progress as unknown as Progress, doneCount: () => done };
}

const cfg = (label: string): CandidateConfig => ({
  label,
  passes: label === 'baseline' ? [] : [{ name: 'fake', params: { label } }],
  session: { graphOptimizationLevel: 'all', disabledOptimizers: [] },
});

/** 40 samples ms·(1.00 … 1.04): p99 = 1.04·ms; quality the mean of the per-item scores, interval ±0.03. */
function meas(ms: number, perItem: number[], name: string, stage: 'screen' | 'full'): Measurement {
  const samples = Array.from({ length: 40 }, (_, i) => ms * (1 + 0.01 * (i % 5)));
  const v = perItem.reduce((a, b) => a + b, 0) / perItem.length;
  return {
    stage,
    latency: latencyFigures(samples),
    quality: { primary: { name, value: v, ci: [v - 0.03, v + 0.03] }, metrics: {}, n: perItem.length, perItem, source: 'task' },
    measuredAt: '2026-01-01T00:00:00Z',
    wallMs: 5,
  };
}
const items = (n: number, ones: number, extra: number[] = []) => Array.from({ length: n }, (_, i) => (i < ones ? 1 : (extra[i - ones] ?? 0)));

type Truth = Record<string, { ms: number; items: number[]; size?: number }>;
function measurer(truth: Truth, name: string, calls: string[], onMeasure?: () => void): Measurer {
  return {
    async build(c) {
      return { records: [], sizeBytes: truth[c.label]!.size ?? 250_000, sha256: c.label };
    },
    async measure(_p, c, stage) {
      calls.push(`${stage}:${c.label}`);
      onMeasure?.();
      return meas(truth[c.label]!.ms, truth[c.label]!.items, name, stage);
    },
  };
}

test('a search, line by line: sure misses, a dominated candidate, the choice and every verdict', async () => {
  const truth: Truth = {
    baseline: { ms: 10, items: items(100, 90) },
    fast: { ms: 4, items: items(100, 90) },
    'too-inexact': { ms: 3, items: items(100, 50) },
    slow: { ms: 20, items: items(100, 90) },
    mid: { ms: 5, items: items(100, 91) },
    sluggish: { ms: 6, items: items(100, 89) },
    huge: { ms: 2, items: items(100, 90), size: 5e9 },
  };
  const calls: string[] = [];
  const rec = recorder();
  const mem = memDir();
  let t = 0;
  const out = await search({
    configs: Object.keys(truth).map(cfg),
    measurer: measurer(truth, 'exact', calls),
    runDir: mem.dir,
    constraints: parseConstraints('p99<=8ms,exact>=-1pt,size<=1MB'),
    objective: 'p99',
    timeLimitMs: 600_000,
    progress: rec.progress,
    now: () => (t += 1000),
  });
  assert.deepEqual(rec.logs, [
    '  screened baseline: p99 10.40 ms, exact 0.9000, 0.25 MB',
    '  measured baseline: p99 10.40 ms, exact 0.9000, 0.25 MB',
    '  screened fast: p99 4.16 ms, exact 0.9000, 0.25 MB',
    '  screened too-inexact: p99 3.12 ms, exact 0.5000, 0.25 MB',
    '  screened slow: p99 20.80 ms, exact 0.9000, 0.25 MB',
    '  screened mid: p99 5.20 ms, exact 0.9100, 0.25 MB',
    '  screened sluggish: p99 6.24 ms, exact 0.8900, 0.25 MB',
    '  screened huge: p99 2.08 ms, exact 0.9000, 5000.00 MB',
    '  measured fast: p99 4.16 ms, exact 0.9000, 0.25 MB',
    '  measured mid: p99 5.20 ms, exact 0.9100, 0.25 MB',
  ]);
  assert.equal(rec.doneCount(), 1);
  // the clock advances 1 s per reading: msLeft counts down exactly
  assert.deepEqual(rec.statuses, [
    'baseline 0/2 598000 screening baseline',
    'baseline 1/2 595000 measuring baseline',
    'screening 0/6 591000 screening fast',
    'screening 1/6 587000 screening too-inexact',
    'screening 2/6 583000 screening slow',
    'screening 3/6 579000 screening mid',
    'screening 4/6 575000 screening sluggish',
    'screening 5/6 571000 screening huge',
    'full 0/2 567000 measuring fast',
    'full 1/2 564000 measuring mid',
  ]);
  const verdict = (l: string) => out.results.find((r) => r.config.label === l)!.verdict;
  assert.deepEqual(verdict('fast'), { kind: 'chosen' });
  assert.deepEqual(verdict('baseline'), { kind: 'rejected', why: 'p99<=8ms: 10.40 ms misses 8.00 ms' });
  assert.deepEqual(verdict('mid'), { kind: 'feasible', why: 'meets every constraint but p99 5.20 ms > chosen 4.16 ms' });
  assert.deepEqual(verdict('too-inexact'), {
    kind: 'dropped',
    why: 'misses exact>=-1pt at screening: exact>=-1pt: 0.5000 misses 0.8900 (interval 0.470–0.530)',
  });
  assert.deepEqual(verdict('slow'), {
    kind: 'dropped',
    why: 'misses p99<=8ms at screening: p99 20.80 ms, 95% interval from 20.80 ms, more than 1.3× the bound 8.00 ms',
  });
  assert.deepEqual(verdict('sluggish'), {
    kind: 'dropped',
    why: 'dominated at screening by fast (more than 1.3× faster with intervals apart, quality and size no worse)',
  });
  assert.deepEqual(verdict('huge'), { kind: 'dropped', why: 'misses size<=1MB: 5.00 GB misses 1.00 MB' });
  assert.deepEqual(calls, [
    'screen:baseline',
    'full:baseline',
    'screen:fast',
    'screen:too-inexact',
    'screen:slow',
    'screen:mid',
    'screen:sluggish',
    'screen:huge',
    'full:fast',
    'full:mid',
  ]);
  assert.equal(out.choice.chosen?.config.label, 'fast');
  assert.equal(out.choice.runnerUp?.config.label, 'mid');
  assert.equal(out.baseline.config.label, 'baseline');
  assert.equal(out.stoppedEarly, undefined);
  assert.equal(out.measuredNow, 10);
  assert.equal(out.reused, 0);
  assert.equal(out.elapsedMs, t - 1000);
  assert.equal(out.sensitivity, undefined);
  assert.deepEqual(
    out.results.map((r) => r.config.label),
    Object.keys(truth),
  );
  // checks stored with each measured result, the final state written for every candidate
  assert.deepEqual(
    out.results.find((r) => r.config.label === 'fast')!.checks!.map((c) => c.ok),
    [true, true, true],
  );
  for (const r of out.results) assert.deepEqual(mem.results.get(r.id)!.verdict, r.verdict);
  assert.deepEqual(
    mem.writes.slice(-7),
    out.results.map((r) => r.id),
  );
  // the comparison is with the runner-up: 1.04 ms faster at p99, the same quality
  assert.equal(out.comparison?.against, configId(cfg('mid')));
  assert.equal(out.comparison?.latency.stat, 'p99');
  assert.ok(Math.abs(out.comparison!.latency.diffMs + 1.04) < 1e-9);
  assert.equal(out.comparison?.latency.pFaster, 1);
  assert.ok(Math.abs(out.comparison!.quality!.diff + 0.01) < 1e-9);
  assert.equal(SCREEN_MARGIN, 1.3);
});

test('CER: a ceiling dropped at screening only when the interval is wholly above it, ties go to the lower CER, the comparison is lower-is-better', async () => {
  const truth: Truth = {
    baseline: { ms: 10, items: items(100, 5) },
    a: { ms: 4, items: items(100, 4) },
    b: { ms: 4, items: items(100, 5, [0.5]) },
    c: { ms: 3, items: items(100, 20) },
    // 0.08 with interval 0.05–0.11: not surely above the 0.06 ceiling, so not dropped at screening
    d: { ms: 3.5, items: items(100, 8) },
  };
  const rec = recorder();
  const out = await search({
    configs: Object.keys(truth).map(cfg),
    measurer: measurer(truth, 'cer', []),
    runDir: memDir().dir,
    constraints: parseConstraints('p99<=8ms,cer<=+1pt'),
    objective: 'p99',
    timeLimitMs: 600_000,
    progress: rec.progress,
    now: () => 0,
  });
  const verdict = (l: string) => out.results.find((r) => r.config.label === l)!.verdict;
  assert.deepEqual(verdict('a'), { kind: 'chosen' });
  assert.deepEqual(verdict('b'), {
    kind: 'feasible',
    why: 'meets every constraint; p99 4.16 ms is statistically tied with the chosen 4.16 ms, which has the better cer or size',
  });
  assert.deepEqual(verdict('c'), {
    kind: 'dropped',
    why: 'misses cer<=+1pt at screening: cer<=+1pt: 0.2000 misses 0.0600 (interval 0.170–0.230)',
  });
  assert.deepEqual(verdict('d'), { kind: 'rejected', why: 'cer<=+1pt: 0.0800 misses 0.0600' });
  assert.ok(out.results.find((r) => r.config.label === 'd')!.full, 'd was measured in full');
  // a minus b per item: −1 on item 4, −0.5 on item 5; lower is better, so a is better whenever either is drawn
  const q = out.comparison!.quality!;
  assert.ok(Math.abs(q.diff + 0.015) < 1e-12);
  assert.ok(q.pBetter > 0.8, `P(a better) ${q.pBetter}`);
  assert.ok(q.ci[1] <= 0);
  assert.equal(out.comparison?.against, configId(cfg('b')));
});

test('the time plan: screening stops when the reserve for full measurements is reached, full runs stop when they no longer fit', async () => {
  const truth: Truth = {
    baseline: { ms: 10, items: items(100, 90) },
    a: { ms: 4, items: items(100, 90) },
    b: { ms: 4.5, items: items(100, 90) },
    // the fastest, but a little less exact: it dominates nobody at screening
    c: { ms: 3, items: items(100, 89) },
    d: { ms: 5, items: items(100, 90) },
    // dominated by a: 5.5 ms > 1.3 × 4.16
    e: { ms: 5.5, items: items(100, 90) },
  };
  // every measurement takes 30 s of the fake clock
  let t = 0;
  const rec = recorder();
  const calls: string[] = [];
  const out = await search({
    configs: Object.keys(truth).map(cfg),
    measurer: measurer(truth, 'exact', calls, () => (t += 30_000)),
    runDir: memDir().dir,
    constraints: parseConstraints('p99<=8ms'),
    objective: 'p99',
    timeLimitMs: 300_000,
    progress: rec.progress,
    now: () => t,
  });
  // 7 measurements (210 s) leave 90 s: at 30 s each, 3 fit, less one kept in hand: 2 of the 4 promising
  assert.equal(out.stoppedEarly, 'time limit: 2 promising candidate(s) not fully measured');
  assert.ok(rec.logs.includes('  time limit: 2 promising candidate(s) not fully measured'));
  assert.deepEqual(calls.slice(7), ['full:c', 'full:a']);
  const verdict = (l: string) => out.results.find((r) => r.config.label === l)!.verdict;
  assert.deepEqual(verdict('c'), { kind: 'chosen' });
  assert.deepEqual(verdict('a'), { kind: 'feasible', why: 'meets every constraint but p99 4.16 ms > chosen 3.12 ms' });
  assert.deepEqual(verdict('b'), {
    kind: 'dropped',
    why: 'screened only: it met the constraints at screening (p99 4.68 ms), but full measurements stopped once 2 feasible candidates were known',
  });
  assert.equal(out.elapsedMs, 270_000);
  assert.equal(out.measuredNow, 9);

  // A shorter limit stops screening itself: after the baseline (60 s), each screen must leave 30 s + a reserve of 3 full runs.
  let t2 = 0;
  const rec2 = recorder();
  const short = await search({
    configs: Object.keys(truth).map(cfg),
    measurer: measurer(truth, 'exact', [], () => (t2 += 30_000)),
    runDir: memDir().dir,
    constraints: parseConstraints('p99<=8ms'),
    objective: 'p99',
    timeLimitMs: 200_000,
    progress: rec2.progress,
    now: () => t2,
  });
  // baseline 60 s; a at 90 s leaves 110 s < 30 s + a reserve of 3 full runs (two candidates and the baseline
  // they are interleaved with): 4 of 5 not screened; then 110 s fit a's full run with the baseline, and one in hand
  assert.equal(short.stoppedEarly, 'time limit: 4 of 5 candidates not screened');
  assert.deepEqual(
    rec2.logs.filter((l) => l.includes('time limit')),
    ['  time limit: 4 of 5 candidates not screened'],
  );
  assert.deepEqual(
    short.results.map((r) => r.config.label),
    ['baseline', 'a'],
  );
  assert.ok(short.results[1]!.full, 'the one screened candidate is measured in full, not left at screening');
  assert.deepEqual(short.results[1]!.verdict, { kind: 'chosen' });
});

test('nothing feasible: no choice, no comparison, the closest misses; a failed build is reported as failed', async () => {
  const truth: Truth = {
    baseline: { ms: 10, items: items(100, 90) },
    a: { ms: 9, items: items(100, 90) },
  };
  const m = measurer(truth, 'exact', []);
  const broken: Measurer = {
    build: async (c, out) => {
      if (c.label === 'broken') throw new Error('pass fake failed: unsupported op Frobnicate\nat line 2');
      return m.build(c, out);
    },
    measure: m.measure,
  };
  const rec = recorder();
  const out = await search({
    configs: ['baseline', 'a', 'broken'].map(cfg),
    measurer: broken,
    runDir: memDir().dir,
    constraints: parseConstraints('p99<=8ms'),
    objective: 'p99',
    timeLimitMs: 600_000,
    progress: rec.progress,
    now: () => 0,
  });
  assert.equal(out.choice.chosen, undefined);
  assert.equal(out.comparison, undefined);
  const b = out.results.find((r) => r.config.label === 'broken')!;
  assert.equal(b.status, 'failed');
  assert.deepEqual(b.verdict, { kind: 'failed', why: 'pass fake failed: unsupported op Frobnicate' });
  assert.ok(rec.logs.includes('  broken: failed: pass fake failed: unsupported op Frobnicate'));
  assert.deepEqual(
    out.choice.closest.map((c) => c.id),
    [configId(cfg('a')), configId(cfg('baseline'))],
  );
});

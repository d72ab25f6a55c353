import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { parseConstraints } from './constraints.js';
import { RunDir, type RunSpec } from './run-dir.js';
import { configId } from './space.js';
import { latencyFigures } from './stats.js';
import { search, type Measurer } from './strategy.js';
import type { CandidateConfig, Measurement } from './types.js';

const TRUTH: Record<string, { ms: number; q: number }> = {
  baseline: { ms: 10, q: 0.9 },
  'fp32 opt=extended': { ms: 9.8, q: 0.9 },
  'int8 dynamic': { ms: 4, q: 0.896 },
  'int8 static': { ms: 3, q: 0.6 },
  'int8 static keep 3': { ms: 4.2, q: 0.91 },
  int4: { ms: 5, q: 0.893 },
  broken: { ms: 1, q: 1 },
  'slow and worse': { ms: 9, q: 0.88 },
};

const cfg = (label: string): CandidateConfig => ({
  label,
  passes: label === 'baseline' ? [] : [{ name: 'fake', params: { label } }],
  session: { graphOptimizationLevel: 'all', disabledOptimizers: [] },
});

function fakeMeasurer(calls: string[]): Measurer {
  return {
    async build(c, out) {
      if (c.label === 'broken') throw new Error('pass fake failed: unsupported op Frobnicate');
      writeFileSync(out, c.label);
      return { records: [], sizeBytes: 100 + c.label.length, sha256: createHash('sha256').update(c.label).digest('hex') };
    },
    async measure(_p, c, stage): Promise<Measurement> {
      calls.push(`${stage}:${c.label}`);
      const t = TRUTH[c.label]!;
      const samples = Array.from({ length: 60 }, (_, i) => t.ms * (1 + 0.02 * ((i * 13) % 7)));
      const n = stage === 'screen' ? 100 : 200;
      const k = Math.round(t.q * n);
      const perItem = Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));
      return {
        stage,
        latency: latencyFigures(samples),
        quality: { primary: { name: 'exact', value: k / n, ci: [k / n - 0.03, k / n + 0.03] }, metrics: {}, n, perItem, source: 'task' },
        measuredAt: new Date().toISOString(),
        wallMs: 1,
      };
    },
  };
}

const spec = (): RunSpec => ({
  schema: 'edgefit.optimize.run/1',
  command: ['optimize'],
  source: { path: 'm.onnx', sha256: 'abc' },
  task: { ref: 'fake', dataSha256: 'def', limit: 200 },
  budget: ['p99<=6ms'],
  quality: ['exact>=-1pt'],
  objective: 'p99',
  threads: 1,
  timeLimitSec: 600,
  measurement: { warmup: 1 },
});

test('search: screens all, drops sure misses, fully measures the promising, picks the fastest feasible', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-search-'));
  try {
    const calls: string[] = [];
    const configs = Object.keys(TRUTH).map(cfg);
    const out = await search({
      configs,
      measurer: fakeMeasurer(calls),
      runDir: new RunDir(dir, spec()).open(),
      constraints: parseConstraints('p99<=6ms,exact>=-1pt'),
      objective: 'p99',
      timeLimitMs: 600_000,
    });
    assert.equal(out.choice.chosen?.config.label, 'int8 dynamic');
    assert.equal(out.choice.runnerUp?.config.label, 'int8 static keep 3');
    const v = (l: string) => out.results.find((r) => r.config.label === l)!.verdict!;
    assert.equal(v('int8 dynamic').kind, 'chosen');
    assert.equal(v('broken').kind, 'failed');
    assert.match((v('broken') as { why: string }).why, /Frobnicate/);
    assert.equal(v('int8 static').kind, 'dropped'); // exact 0.6 is far below the 0.89 floor at screening
    assert.equal(v('fp32 opt=extended').kind, 'dropped'); // p99 interval wholly above 6 ms
    assert.ok(!calls.includes('full:int8 static') && !calls.includes('full:fp32 opt=extended'));
    assert.ok(calls.includes('full:int8 dynamic'));
    // Comparison against the runner-up: faster with an interval below zero.
    assert.ok(out.comparison && out.comparison.latency.diffMs < 0 && out.comparison.latency.pFaster > 0.95);
    assert.ok(out.comparison.quality && out.comparison.quality.diff < 0.02);
    // Everything on disk.
    const stored = JSON.parse(readFileSync(join(dir, 'candidates', configId(cfg('int8 dynamic')), 'result.json'), 'utf8'));
    assert.equal(stored.verdict.kind, 'chosen');
    assert.ok(existsSync(join(dir, 'run.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume: a stopped run picks up where it stopped and measures nothing twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-resume-'));
  try {
    const configs = Object.keys(TRUTH).map(cfg);
    const constraints = parseConstraints('p99<=6ms,exact>=-1pt');
    const first: string[] = [];
    const a = await search({
      configs,
      measurer: fakeMeasurer(first),
      runDir: new RunDir(dir, spec()).open(),
      constraints,
      objective: 'p99',
      timeLimitMs: 600_000,
      maxNewMeasurements: 4,
    });
    assert.match(a.stoppedEarly ?? '', /stopped after/);
    assert.equal(first.length, 4);
    const second: string[] = [];
    const b = await search({
      configs,
      measurer: fakeMeasurer(second),
      runDir: new RunDir(dir, spec()).open(),
      constraints,
      objective: 'p99',
      timeLimitMs: 600_000,
    });
    for (const c of first) assert.ok(!second.includes(c), `measured again: ${c}`);
    assert.ok(b.reused >= 3, `reused ${b.reused}`);
    assert.equal(b.choice.chosen?.config.label, 'int8 dynamic');
    // A different run key (other data) does not reuse anything.
    const third: string[] = [];
    await search({
      configs,
      measurer: fakeMeasurer(third),
      runDir: new RunDir(dir, { ...spec(), task: { ref: 'fake', dataSha256: 'other', limit: 200 } }).open(),
      constraints,
      objective: 'p99',
      timeLimitMs: 600_000,
    });
    assert.ok(third.includes('screen:baseline'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume: the time plan uses what the stored measurements cost, not a default guess', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-resume-cost-'));
  try {
    const configs = Object.keys(TRUTH).map(cfg);
    const constraints = parseConstraints('p99<=6ms,exact>=-1pt');
    const first: string[] = [];
    // stopped right after screening (baseline screen + full, then every other candidate screened)
    await search({
      configs,
      measurer: fakeMeasurer(first),
      runDir: new RunDir(dir, spec()).open(),
      constraints,
      objective: 'p99',
      timeLimitMs: 600_000,
      maxNewMeasurements: configs.length + 1,
    });
    assert.ok(
      first.every((c) => c.startsWith('screen:') || c === 'full:baseline'),
      first.join(' '),
    );
    // each stored measurement took 1 ms (wallMs); 100 s is plenty to measure the promising ones in full
    const b = await search({
      configs,
      measurer: fakeMeasurer([]),
      runDir: new RunDir(dir, spec()).open(),
      constraints,
      objective: 'p99',
      timeLimitMs: 100_000,
      now: () => 0,
    });
    assert.doesNotMatch(b.stoppedEarly ?? '', /not fully measured/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A search on a fake clock where every measurement takes `perMeasureMs`. */
async function slowSearch(timeLimitMs: number, perMeasureMs: number, afterFull?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'ef-time-'));
  try {
    let t = 0;
    const m = fakeMeasurer([]);
    const slow: Measurer = {
      build: m.build,
      measure: async (p, c, s) => {
        t += perMeasureMs;
        return m.measure(p, c, s);
      },
    };
    return await search({
      configs: Object.keys(TRUTH).map(cfg),
      measurer: slow,
      runDir: new RunDir(dir, spec()).open(),
      constraints: parseConstraints('p99<=6ms'),
      objective: 'p99',
      timeLimitMs,
      ...(afterFull !== undefined ? { afterFull } : {}),
      now: () => t,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('search: time limit stops screening and says so', async () => {
  const out = await slowSearch(100_000, 20_000);
  assert.match(out.stoppedEarly ?? '', /time limit/);
  assert.ok(out.elapsedMs <= 120_000, `elapsed ${out.elapsedMs}`);
});

test('search: the time of the measurements the caller takes afterwards (afterFull) is kept from the start', async () => {
  // every measurement takes 19 s of the fake clock (not a divisor of the limit: no ties at a boundary)
  const [none, two] = [(await slowSearch(200_000, 19_000, 0)).elapsedMs, (await slowSearch(200_000, 19_000, 2)).elapsedMs];
  // two full measurements of 19 s each after the search still end within the limit
  assert.ok(two + 2 * 19_000 <= 200_000, `search ${two} ms + 38 s of confirming rounds`);
  assert.ok(none > two, `without the reserve the search itself runs longer (${none} against ${two} ms)`);
});

test('search: a source model that cannot be measured is a user error with a hint, not a bug', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-base-'));
  try {
    const m = fakeMeasurer([]);
    const rejecting: Measurer = {
      build: m.build,
      measure: async () => Promise.reject(new EdgefitError('ONNX Runtime rejected m.onnx: No Op registered for NoSuchOp', 'E_ORT_REJECTED')),
    };
    await assert.rejects(
      search({
        configs: Object.keys(TRUTH).map(cfg),
        measurer: rejecting,
        runDir: new RunDir(dir, spec()).open(),
        constraints: parseConstraints('p99<=6ms'),
        objective: 'p99',
        timeLimitMs: 100_000,
      }),
      (e: unknown) => e instanceof EdgefitError && /source model could not be measured: .*NoSuchOp/.test(e.message) && !!e.hint,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('search: a fast candidate below the quality floor gets per-node sensitivity and exclusion variants', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-refine-'));
  try {
    const truth: Record<string, { ms: number; q: number }> = {
      baseline: { ms: 10, q: 0.9 },
      'int8 static': { ms: 3, q: 0.6 },
      'int8 static keep 1 sensitive fp32': { ms: 3.3, q: 0.8 },
      'int8 static keep 2 sensitive fp32': { ms: 3.6, q: 0.9 },
    };
    const calls: string[] = [];
    const base = fakeMeasurer(calls);
    let asked = 0;
    const m: Measurer = {
      build: base.build,
      async measure(p, c, stage) {
        const t = truth[c.label]!;
        const r = await base.measure(p, { ...c, label: 'baseline' }, stage);
        const n = r.quality.n;
        const k = Math.round(t.q * n);
        return {
          ...r,
          latency: latencyFigures(r.latency.samplesMs.map((x) => (x / 10) * t.ms)),
          quality: {
            ...r.quality,
            primary: { name: 'exact', value: k / n, ci: [k / n - 0.03, k / n + 0.03] },
            perItem: Array.from({ length: n }, (_, i) => (i < k ? 1 : 0)),
          },
        };
      },
      async sensitivity(c, pass) {
        asked++;
        assert.equal(pass, 'fake');
        assert.equal(c.label, 'int8 static');
        return {
          metric: 'cosine',
          rows: [
            { node: 'conv_0', opType: 'Conv', delta: 0.3 },
            { node: 'gemm_9', opType: 'Gemm', delta: 0.1 },
            { node: 'relu', opType: 'Relu', delta: 0 },
          ],
        };
      },
    };
    const pass = {
      name: 'fake',
      description: '',
      params: { label: { type: 'string' as const, description: '' }, exclude: { type: 'string[]' as const, description: '', default: [] } },
      tolerance: { metric: 'cosine' as const, value: 0.9 },
      needsCalibration: true,
      run: async () => {
        throw new Error('unused');
      },
    };
    const out = await search({
      configs: [cfg('baseline'), cfg('int8 static')],
      measurer: m,
      runDir: new RunDir(dir, spec()).open(),
      constraints: parseConstraints('p99<=6ms,exact>=-1pt'),
      objective: 'p99',
      timeLimitMs: 600_000,
      passes: [pass],
      exclusionCounts: [1, 2, 5],
    });
    assert.equal(asked, 1);
    assert.equal(out.choice.chosen?.config.label, 'int8 static keep 2 sensitive fp32');
    assert.deepEqual(out.choice.chosen?.config.passes[0]?.params.exclude, ['conv_0', 'gemm_9']);
    assert.equal(out.sensitivity?.rows.length, 3);
    // The sensitivity table is stored and reused by a resumed run.
    const again = await search({
      configs: [cfg('baseline'), cfg('int8 static')],
      measurer: m,
      runDir: new RunDir(dir, spec()).open(),
      constraints: parseConstraints('p99<=6ms,exact>=-1pt'),
      objective: 'p99',
      timeLimitMs: 600_000,
      passes: [pass],
      exclusionCounts: [1, 2, 5],
    });
    assert.equal(asked, 1);
    assert.equal(again.choice.chosen?.id, out.choice.chosen?.id);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('search: screening alongside the baseline sees through load that drifts between candidates', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-load-'));
  try {
    // True latencies; every measurement is multiplied by the machine's load at that moment, which
    // jumps 5x while the second candidate is screened.
    const truth: Record<string, number> = { baseline: 10, a: 9, b: 4, c: 4.5, d: 20 };
    let call = 0;
    const base = fakeMeasurer([]);
    const one = async (p: string, c: CandidateConfig, stage: 'screen' | 'full', load: number) => {
      const r = await base.measure(p, { ...c, label: 'baseline' }, stage);
      return { ...r, latency: latencyFigures(r.latency.samplesMs.map((x) => (x / 10) * truth[c.label]! * load)) };
    };
    const m: Measurer = {
      build: base.build,
      measure: async (p, c, stage) => one(p, c, stage, 1),
      async measureGroup(items, stage) {
        const load = ++call === 2 ? 5 : 1;
        return Promise.all(items.map(async (it) => ({ ...(await one(it.modelPath, it.cfg, stage, load)), ...(it.quality ? { quality: it.quality } : {}) })));
      },
    };
    const out = await search({
      configs: ['baseline', 'a', 'b', 'c', 'd'].map(cfg),
      measurer: m,
      runDir: new RunDir(dir, spec()).open(),
      constraints: parseConstraints('p99<=6ms'),
      objective: 'p99',
      timeLimitMs: 600_000,
    });
    const r = (l: string) => out.results.find((x) => x.config.label === l)!;
    // 'b' was screened under 5x load (about 22 ms), but next to the baseline it is 0.4x: kept and chosen.
    assert.ok(r('b').screen!.latency.p99 > 15);
    assert.equal(out.choice.chosen?.config.label, 'b');
    assert.equal(r('d').verdict?.kind, 'dropped');
    assert.ok(r('b').full?.anchor, 'full measurements carry the baseline measured alongside');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

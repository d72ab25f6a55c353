// Exact cases for dominance, the front and the choice: ties on latency broken by quality and then by
// size (whatever order the candidates come in), the closest misses ranked by how many constraints they
// miss and then by how far, and the baseline figures a relative budget is held to.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { parseConstraints } from './constraints.js';
import { baselineFor, bestMeasurement, choose, dominates, figuresOf, paretoFront, qualityScore, toPoint } from './pareto.js';
import type { CandidateResult, Measurement } from './types.js';
import { mulberry32 } from '../util/rng.js';

const STATS = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'] as const;

/** A measurement whose every latency statistic is `ms` (samples all equal to it unless given). */
function meas(
  ms: number,
  q: number,
  opts: { name?: string; samples?: number[]; metrics?: Measurement['quality']['metrics']; peak?: number; anchor?: number } = {},
): Measurement {
  const latency = Object.fromEntries(STATS.map((s) => [s, ms])) as Record<(typeof STATS)[number], number>;
  return {
    stage: 'full',
    latency: { ...latency, count: 40, stdev: 0, ci: {}, samplesMs: opts.samples ?? Array.from({ length: 40 }, () => ms) },
    quality: { primary: { name: opts.name ?? 'exact', value: q, ci: [q, q] }, metrics: opts.metrics ?? {}, n: 10, perItem: [], source: 'task' },
    ...(opts.peak !== undefined ? { peakRssBytes: opts.peak } : {}),
    ...(opts.anchor !== undefined ? { anchor: Object.fromEntries(STATS.map((s) => [s, opts.anchor])) as Measurement['anchor'] } : {}),
    measuredAt: '2026-01-01T00:00:00Z',
    wallMs: 1,
  };
}

function cand(id: string, m: Measurement | undefined, opts: { size?: number; screenOnly?: boolean; status?: 'ok' | 'failed' } = {}): CandidateResult {
  return {
    id,
    config: { label: id, passes: [], session: { graphOptimizationLevel: 'all', disabledOptimizers: [] } },
    status: opts.status ?? 'ok',
    sizeBytes: opts.size ?? 1000,
    passRecords: [],
    ...(m ? { screen: m } : {}),
    ...(m && !opts.screenOnly ? { full: m } : {}),
  };
}

const perms = <T>(xs: T[]): T[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));

test('dominance needs no worse on both axes and better on one', () => {
  const p = (latency: number, quality: number) => ({ id: `${latency}/${quality}`, latency, quality });
  assert.equal(dominates(p(1, 0.9), p(1, 0.8)), true, 'same latency, better quality');
  assert.equal(dominates(p(1, 0.9), p(2, 0.9)), true, 'same quality, faster');
  assert.equal(dominates(p(1, 0.9), p(2, 0.8)), true, 'better on both');
  assert.equal(dominates(p(1, 0.9), p(1, 0.9)), false, 'equal');
  assert.equal(dominates(p(1, 0.8), p(2, 0.9)), false, 'faster but worse');
  assert.equal(dominates(p(2, 0.9), p(1, 0.8)), false, 'better but slower');
  assert.equal(dominates(p(2, 0.9), p(1, 0.9)), false, 'slower, same quality');
  assert.equal(dominates(p(1, 0.8), p(1, 0.9)), false, 'same latency, worse');
});

test('the front: sorted by latency whatever the input order; equal points both stay; a point is not compared with itself', () => {
  const pts = [
    { id: 'slow-good', latency: 4, quality: 0.9 },
    { id: 'dominated', latency: 3, quality: 0.7 },
    { id: 'fast-bad', latency: 1, quality: 0.5 },
    { id: 'mid', latency: 2, quality: 0.8 },
    { id: 'mid-twin', latency: 2, quality: 0.8 },
    { id: 'same-latency-worse', latency: 2, quality: 0.75 },
  ];
  assert.deepEqual(paretoFront(pts), ['fast-bad', 'mid', 'mid-twin', 'slow-good']);
  assert.deepEqual(paretoFront([]), []);
  // Two points under one id are compared with each other only through other ids.
  assert.deepEqual(
    paretoFront([
      { id: 'a', latency: 2, quality: 0.4 },
      { id: 'a', latency: 1, quality: 0.5 },
    ]),
    ['a', 'a'],
  );
});

test('quality on one axis: CER and other lower-is-better metrics are negated', () => {
  assert.equal(qualityScore(meas(1, 0.05, { name: 'cer' })), -0.05);
  assert.equal(qualityScore(meas(1, 0.9, { name: 'accuracy' })), 0.9);
  assert.deepEqual(toPoint(cand('c', meas(3, 0.1, { name: 'cer' })), 'p99'), { id: 'c', latency: 3, quality: -0.1 });
  assert.equal(toPoint(cand('f', meas(3, 0.9), { status: 'failed' }), 'p99'), undefined);
  assert.equal(toPoint(cand('n', undefined), 'p99'), undefined);
  // The objective picks the statistic.
  const m = meas(3, 0.9);
  m.latency.p50 = 1.5;
  assert.equal(toPoint(cand('x', m), 'p50')!.latency, 1.5);
  assert.equal(toPoint(cand('x', m), 'max')!.latency, 3);
});

test('the figures a candidate is checked with, and the baseline it is held to', () => {
  const full = meas(2, 0.8, { metrics: { cer: { value: 0.1, ci: [0, 0.2] } }, peak: 5e6 });
  full.latency.p50 = 1;
  const r = { ...cand('r', full, { size: 1234 }), screen: meas(9, 0.1) };
  assert.equal(bestMeasurement(r), full);
  assert.equal(bestMeasurement(cand('s', meas(9, 0.1), { screenOnly: true }))!.latency.p99, 9);
  assert.deepEqual(figuresOf(r), {
    latency: { p50: 1, p90: 2, p95: 2, p99: 2, max: 2, mean: 2 },
    quality: { exact: 0.8, cer: 0.1 },
    sizeBytes: 1234,
    peakRssBytes: 5e6,
  });
  assert.deepEqual(figuresOf(cand('n', undefined, { size: 7 })), { sizeBytes: 7 });
  const baseFig = { latency: { p99: 10 }, quality: { exact: 0.9 } };
  const anchored = cand('a', meas(4, 0.9, { anchor: 20 }));
  assert.deepEqual(baselineFor(anchored, baseFig), { latency: { p50: 20, p90: 20, p95: 20, p99: 20, max: 20, mean: 20 }, quality: { exact: 0.9 } });
  assert.equal(baselineFor(cand('plain', meas(4, 0.9)), baseFig), baseFig);
  assert.equal(baselineFor(anchored, undefined), undefined);
  assert.equal(baselineFor(cand('unmeasured', undefined), baseFig), baseFig);
});

test('a relative budget is held to the baseline measured alongside (the anchor), not the one measured alone', () => {
  const base = cand('base', meas(10, 0.9));
  // Measured while the machine was twice as loaded: the baseline alongside took 20 ms; 9 ms is 0.45× that.
  const c = choose([base, cand('x', meas(9, 0.9, { anchor: 20 }))], parseConstraints('p99<=0.5x'), base, 'p99');
  assert.equal(c.chosen?.id, 'x');
  const alone = choose([base, cand('x', meas(9, 0.9))], parseConstraints('p99<=0.5x'), base, 'p99');
  assert.equal(alone.chosen, undefined);
});

test('equal latency: the better quality is chosen, then the smaller model, in any input order', () => {
  const base = cand('base', meas(10, 0.9));
  const cs = parseConstraints('p99<=8ms');
  const three = [cand('q8', meas(4, 0.8, { name: 'exact' })), cand('q9-big', meas(4, 0.9), { size: 2000 }), cand('q9-small', meas(4, 0.9), { size: 1000 })];
  for (const order of perms(three)) {
    const c = choose([base, ...order], cs, base, 'p99');
    assert.equal(c.chosen?.id, 'q9-small', order.map((r) => r.id).join(','));
    assert.equal(c.runnerUp?.id, 'q9-big', order.map((r) => r.id).join(','));
    assert.deepEqual(
      c.feasible.map((r) => r.id),
      ['q9-small', 'q9-big', 'q8'],
    );
  }
  // A lower-is-better primary metric: the lower CER wins the tie.
  const cer = [cand('cer5', meas(4, 0.05, { name: 'cer' })), cand('cer3', meas(4, 0.03, { name: 'cer' }))];
  for (const order of perms(cer)) assert.equal(choose([base, ...order], cs, base, 'p99').chosen?.id, 'cer3');
});

test('a statistical tie on the objective goes to quality then size; a clear speed difference does not', () => {
  const base = cand('base', meas(10, 0.9));
  const cs = parseConstraints('p99<=8ms');
  // Samples spread ±25% at random: 4.00 vs 4.01 ms is noise.
  const noisy = (ms: number, seed: number) => {
    const r = mulberry32(seed);
    return Array.from({ length: 60 }, () => ms * (0.75 + 0.5 * r()));
  };
  const fast = cand('fast-worse', meas(4, 0.85, { samples: noisy(4, 1) }));
  const better = cand('tied-better', meas(4.01, 0.9, { samples: noisy(4.01, 2) }));
  const smaller = cand('tied-better-smaller', meas(4.02, 0.9, { samples: noisy(4.02, 3) }), { size: 500 });
  for (const order of perms([fast, better, smaller])) {
    const c = choose([base, ...order], cs, base, 'p99');
    assert.equal(c.chosen?.id, 'tied-better-smaller', order.map((r) => r.id).join(','));
    assert.equal(c.feasible.length, 3);
  }
  for (const order of perms([fast, better])) {
    const c = choose([base, ...order], cs, base, 'p99');
    assert.equal(c.chosen?.id, 'tied-better');
    assert.equal(c.runnerUp?.id, 'fast-worse');
  }
  // 2 ms vs 4 ms with the same spread is a real difference: the faster one wins despite lower quality.
  const clear = cand('clear-fast', meas(2, 0.85, { samples: noisy(2, 4) }));
  for (const order of perms([clear, better])) assert.equal(choose([base, ...order], cs, base, 'p99').chosen?.id, 'clear-fast');
});

test('only feasible candidates are chosen; screened-only ones only without requireFull; failed ones never', () => {
  const base = cand('base', meas(10, 0.9));
  const rs = [
    base,
    cand('screen-fast', meas(2, 0.9), { screenOnly: true }),
    cand('failed-fast', meas(1, 0.9), { status: 'failed' }),
    cand('full', meas(5, 0.9)),
  ];
  const cs = parseConstraints('p99<=8ms');
  assert.equal(choose(rs, cs, base, 'p99').chosen?.id, 'screen-fast');
  const c = choose(rs, cs, base, 'p99', { requireFull: true });
  assert.equal(c.chosen?.id, 'full');
  assert.deepEqual(
    c.feasible.map((r) => r.id),
    ['full'],
  );
  assert.deepEqual([...c.checks.keys()].sort(), ['base', 'full', 'screen-fast']);
  assert.deepEqual(c.closest, []);
  // No baseline: a relative floor cannot be met.
  const nb = choose(rs, parseConstraints('exact>=-1pt'), undefined, 'p99');
  assert.equal(nb.chosen, undefined);
});

test('nothing feasible: the closest by number of misses, then by how far, the unmeasurable last', () => {
  const base = cand('base', meas(10, 0.9, { metrics: { f1: { value: 0.9, ci: [0.9, 0.9] } } }));
  const cs = parseConstraints('p99<=5ms,f1>=0.5');
  const f1 = (v: number) => ({ f1: { value: v, ci: [v, v] as [number, number] } });
  const rs = [
    // two misses, one of them not measurable (no f1): score 1e6 + 0.2
    cand('x-unmeasured', meas(6, 0.9)),
    // two misses, 1e6 + 0.1
    cand('w-unmeasured', meas(5.5, 0.9)),
    // two misses, both measured: 19 + 0.8 (no overflow of a finite score)
    cand('y-far', meas(100, 0.9, { metrics: f1(0.1) })),
    // (the baseline: one miss, 10 ms against 5: 1)
    // one miss, far: 3
    cand('z-one-far', meas(20, 0.9, { metrics: f1(0.6) })),
    // one miss, near: 0.2
    cand('v-one-near', meas(6, 0.9, { metrics: f1(0.6) })),
  ];
  const c = choose([base, ...rs], cs, base, 'p99');
  assert.equal(c.chosen, undefined);
  assert.equal(c.runnerUp, undefined);
  assert.deepEqual(
    c.closest.map((x) => x.id),
    ['v-one-near', 'base', 'z-one-far'],
  );
  const all = choose([base, ...rs], cs, base, 'p99', { closestN: 10 });
  assert.deepEqual(
    all.closest.map((x) => x.id),
    ['v-one-near', 'base', 'z-one-far', 'y-far', 'w-unmeasured', 'x-unmeasured'],
  );
  assert.deepEqual(all.closest[0]!.misses, ['p99<=5ms: 6.00 ms misses 5.00 ms']);
  assert.deepEqual(all.closest[4]!.misses, ['p99<=5ms: 5.50 ms misses 5.00 ms', "f1>=0.5: metric 'f1' not among exact"]);
  assert.equal(choose([base, ...rs], cs, base, 'p99', { closestN: 1 }).closest.length, 1);
});

test('the whole feasible list is ordered: objective, then quality, then size, not only its head', () => {
  const base = cand('base', meas(10, 0.9));
  const cs = parseConstraints('p99<=8ms');
  const bySize = [cand('s1', meas(4, 0.9), { size: 1000 }), cand('s2', meas(4, 0.9), { size: 2000 }), cand('s3', meas(4, 0.9), { size: 3000 })];
  const byQuality = [cand('q7', meas(4, 0.7)), cand('q8', meas(4, 0.8)), cand('q9', meas(4, 0.9))];
  for (const order of perms(bySize))
    assert.deepEqual(
      choose([base, ...order], cs, base, 'p99').feasible.map((r) => r.id),
      ['s1', 's2', 's3'],
    );
  for (const order of perms(byQuality))
    assert.deepEqual(
      choose([base, ...order], cs, base, 'p99').feasible.map((r) => r.id),
      ['q9', 'q8', 'q7'],
    );
  // the objective first: a slower but better candidate comes after a faster one when they are not tied
  const spread = [cand('fast', meas(2, 0.7)), cand('slow', meas(6, 0.9))];
  for (const order of perms(spread))
    assert.deepEqual(
      choose([base, ...order], cs, base, 'p99').feasible.map((r) => r.id),
      ['fast', 'slow'],
    );
});

test('an interval of the difference that touches 0 at either end is a tie', () => {
  const base = cand('base', meas(10, 0.9));
  const cs = parseConstraints('p99<=8ms');
  // Same samples, so every bootstrap difference is 0 (interval [0, 0]), though the reported p99 differs.
  const four = Array.from({ length: 40 }, () => 4);
  const a = cand('a-faster', meas(4, 0.8, { samples: four }));
  const b = cand('b-better', meas(4.01, 0.9, { samples: four }));
  for (const order of perms([a, b])) assert.equal(choose([base, ...order], cs, base, 'p99').chosen?.id, 'b-better');
  // An interval wholly below 0 (the later one's samples are faster) is not a tie either: the first stays first.
  const five = Array.from({ length: 40 }, () => 5);
  const three = Array.from({ length: 40 }, () => 3);
  const first = cand('first', meas(4, 0.8, { samples: five }));
  const later = cand('later-better', meas(4.01, 0.9, { samples: three }));
  for (const order of perms([first, later])) assert.equal(choose([base, ...order], cs, base, 'p99').chosen?.id, 'first');
});

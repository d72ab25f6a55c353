import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { compareLatency, latencyFigures, quantileSorted, wilson } from './stats.js';
import { mulberry32 } from '../util/rng.js';

test('quantiles interpolate like numpy linear', () => {
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantileSorted([1, 2, 3, 4, 5], 0.99), 4.96);
  assert.equal(quantileSorted([7], 0.9), 7);
});

test('latency figures carry intervals that contain the estimate', () => {
  const r = mulberry32(3);
  const xs = Array.from({ length: 400 }, () => 5 + r() * 2 + (r() < 0.02 ? 10 : 0));
  const f = latencyFigures(xs);
  assert.equal(f.count, 400);
  for (const s of ['p50', 'p99', 'mean'] as const) {
    const [lo, hi] = f.ci[s]!;
    assert.ok(lo <= f[s] && f[s] <= hi, `${s} ${lo} ${f[s]} ${hi}`);
  }
  assert.ok(f.ci.p99![1] - f.ci.p99![0] > f.ci.p50![1] - f.ci.p50![0], 'the tail is less certain than the median');
  assert.ok(f.p50 > 5.5 && f.p50 < 6.5);
});

test('latency comparison: clearly faster vs indistinguishable', () => {
  const r = mulberry32(5);
  const a = Array.from({ length: 300 }, () => 4 + r());
  const b = Array.from({ length: 300 }, () => 6 + r());
  const c = compareLatency(a, b, 'p99');
  assert.ok(c.diffMs < -1.5 && c.ci[1] < 0 && c.pFaster > 0.99);
  const same = compareLatency(a, a.slice().reverse(), 'p50');
  assert.ok(same.ci[0] <= 0 && same.ci[1] >= 0 && same.pFaster > 0.2 && same.pFaster < 0.8);
});

test('wilson interval of a proportion', () => {
  const [lo, hi] = wilson(90, 100);
  assert.ok(lo > 0.82 && lo < 0.84 && hi > 0.94 && hi < 0.95);
  assert.deepEqual(wilson(0, 0), [0, 1]);
});

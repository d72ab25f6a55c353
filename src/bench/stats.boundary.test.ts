// Exact values of the benchmark's order statistics, worked out by hand (numpy 'linear': position
// (n − 1)·q, linear between the two ranks around it), so that a percentile read at the wrong q fails.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { quantileSorted, summarize } from './stats.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test('p90, p95 and p99 of 10..50 are three different numbers at positions 3.6, 3.8 and 3.96', () => {
  const v = [10, 20, 30, 40, 50];
  close(quantileSorted(v, 0.9), 46, 'p90');
  close(quantileSorted(v, 0.95), 48, 'p95');
  close(quantileSorted(v, 0.99), 49.6, 'p99');
  close(quantileSorted(v, 0.25), 20, 'p25 lands on a rank');
  close(quantileSorted(v, 0.3), 22, 'p30');
});

test('the ends: q = 0 is the minimum, q = 1 the maximum (no read past the last rank), q outside [0, 1] is clamped', () => {
  const v = [3, 7, 11];
  assert.equal(quantileSorted(v, 0), 3);
  assert.equal(quantileSorted(v, 1), 11);
  assert.equal(quantileSorted(v, 1.5), 11);
  assert.equal(quantileSorted(v, -0.5), 3);
  assert.equal(quantileSorted(v, 0.5), 7);
  assert.equal(quantileSorted(v, 0.75), 9);
  assert.equal(quantileSorted([4], 0.3), 4);
  assert.ok(Number.isNaN(quantileSorted([], 1)));
});

test('summary of 20 unsorted values: every field against its hand-worked value', () => {
  // 1..20 shuffled, with 100 in place of 20: min 1, max 100.
  const xs = [7, 100, 3, 15, 1, 19, 12, 5, 18, 9, 2, 14, 6, 17, 11, 4, 16, 8, 13, 10];
  const s = summarize(xs);
  assert.equal(s.count, 20);
  assert.equal(s.min, 1);
  assert.equal(s.max, 100);
  // sorted: 1..19, 100. p50 at 9.5 → 10.5; p90 at 17.1 → 18.1; p95 at 18.05 → 19 + 0.05·81 = 23.05; p99 at 18.81 → 19 + 0.81·81 = 84.61.
  close(s.p50, 10.5, 'p50');
  close(s.p90, 18.1, 'p90');
  close(s.p95, 23.05, 'p95');
  close(s.p99, 84.61, 'p99');
  const mean = (190 + 100) / 20;
  close(s.mean, mean, 'mean');
  const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  close(s.stdev, Math.sqrt(ss / 19), 'sample stdev (n − 1)');
  // Negative values sort numerically, not as strings.
  const neg = summarize([-10, 2, -3]);
  assert.equal(neg.min, -10);
  assert.equal(neg.p50, -3);
  assert.equal(neg.max, 2);
});

test('an empty sample: NaN everywhere but the count', () => {
  const s = summarize([]);
  assert.equal(s.count, 0);
  for (const k of ['min', 'p50', 'p90', 'p95', 'p99', 'max', 'mean', 'stdev'] as const) assert.ok(Number.isNaN(s[k]), k);
  const one = summarize([2.5]);
  assert.deepEqual(one, { count: 1, min: 2.5, p50: 2.5, p90: 2.5, p95: 2.5, p99: 2.5, max: 2.5, mean: 2.5, stdev: 0 });
});

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { quantileSorted, summarize } from './stats.js';

test('quantiles interpolate linearly between ranks (numpy "linear")', () => {
  const v = Float64Array.from({ length: 101 }, (_, i) => i); // 0..100: the q-quantile is 100q
  for (const q of [0, 0.5, 0.9, 0.95, 0.99, 1]) assert.ok(Math.abs(quantileSorted(v, q) - 100 * q) < 1e-9);
  assert.equal(quantileSorted([1, 2], 0.5), 1.5);
  assert.equal(quantileSorted([10, 20, 30, 40], 0.9), 37); // pos 2.7 → 30 + 0.7·10
  assert.ok(Number.isNaN(quantileSorted([], 0.5)));
});

test('summary of an unsorted sample: order statistics, mean and sample stdev', () => {
  const s = summarize([5, 1, 4, 2, 3]);
  assert.equal(s.count, 5);
  assert.equal(s.min, 1);
  assert.equal(s.max, 5);
  assert.equal(s.p50, 3);
  assert.equal(s.mean, 3);
  assert.ok(Math.abs(s.stdev - Math.sqrt(2.5)) < 1e-12);
  assert.ok(s.p90 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max);
  assert.equal(summarize([7]).stdev, 0);
  assert.equal(summarize([]).count, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceTime } from './service-time.js';

test('quantiles and mean of the window; old samples leave it', () => {
  const s = new ServiceTime([1, 2, 3, 4, 5], 5);
  assert.equal(s.quantile(0.5), 3);
  assert.equal(s.mean(), 3);
  for (let i = 0; i < 5; i++) s.add(10);
  assert.equal(s.quantile(0), 10);
  assert.equal(s.mean(), 10);
  assert.equal(s.count, 5);
});

test('nothing measured promises nothing; bad samples are ignored', () => {
  const s = new ServiceTime();
  assert.equal(s.quantile(0.99), Infinity);
  s.add(NaN);
  s.add(-1);
  assert.equal(s.count, 0);
});

test('fromQuantiles reproduces the published quantiles', () => {
  const s = ServiceTime.fromQuantiles({ p50: 10, p90: 12, p99: 20 });
  assert.ok(Math.abs(s.quantile(0.5) - 10) < 0.2, String(s.quantile(0.5)));
  assert.ok(Math.abs(s.quantile(0.9) - 12) < 0.3, String(s.quantile(0.9)));
  assert.ok(s.quantile(0.99) <= 20 && s.quantile(0.99) > 15);
});

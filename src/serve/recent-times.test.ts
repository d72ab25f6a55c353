import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentTimes } from './recent-times.js';

test('recent times forget by age and by count; with nothing recent the estimate is 0', () => {
  let now = 0;
  const t = new RecentTimes(1000, 3, () => now);
  assert.equal(t.quantile(0.99), 0);
  t.add(100);
  now = 500;
  t.add(10);
  assert.equal(t.quantile(1), 100);
  assert.equal(t.mean(), 55);
  now = 1200; // the 100 ms sample (at 0) is older than 1 s: a slow spell long gone no longer counts
  assert.equal(t.quantile(1), 10);
  assert.equal(t.count, 1);
  now = 2000;
  assert.equal(t.count, 0);
  assert.equal(t.quantile(0.99), 0);
  for (const ms of [1, 2, 3, 4]) t.add(ms);
  assert.equal(t.count, 3, 'at most maxCount samples');
  assert.equal(t.quantile(0), 2);
  t.add(50); // after a read: the next read sees it
  assert.equal(t.quantile(1), 50);
  assert.equal(t.quantile(0), 3);
  t.add(Number.NaN);
  t.add(-1);
  assert.equal(t.count, 3, 'not a time: ignored');
});

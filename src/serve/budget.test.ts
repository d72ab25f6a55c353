import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Budgets } from './budget.js';
import { ServiceTime } from './service-time.js';

const rung = (id: string, samples: number[]) => ({ id, time: new ServiceTime(samples) });

test('a budget is the run quantile plus the after-run quantile plus the margin', () => {
  const r = rung('m', [10]);
  let margin = 0;
  const b = new Budgets([r], { quantile: 0.99, afterRun: new ServiceTime([2]), margin: () => margin });
  assert.equal(b.of(r), 12);
  margin = 3;
  assert.equal(b.of(r), 15, 'the margin is read at each decision');
  margin = Number.NaN;
  assert.equal(b.of(r), 12, 'a margin that is not a number counts as none');
  assert.equal(b.batch(new ServiceTime([15]), 3), 15 + 3 * 2);
});

test('a rung that rarely runs is never counted faster than its start-up median times the current slowdown', () => {
  const big = rung('big', [10, 10, 10]);
  const small = rung('small', [4, 4, 4]);
  const b = new Budgets([big, small], { quantile: 0.99 });
  assert.equal(b.of(small), 4);
  // the machine got twice as slow: only the accurate model ran since, at 20 ms a run
  for (let i = 0; i < 300; i++) b.ran(big, 20);
  assert.equal(b.of(big), 20);
  assert.equal(b.of(small), 8, "small's own window still says 4 ms; the shared slowdown says 2×");
  assert.equal(b.mean(small), 8);
  // its own window wins when it is the slower one
  for (let i = 0; i < 300; i++) small.time.add(30);
  assert.equal(b.of(small), 30);
});

test('runs recorded through the budgets feed their rung and the shared slowdown', () => {
  const r = rung('m', [10, 10]);
  const b = new Budgets([r], { quantile: 0.5 });
  b.ran(r, 30);
  assert.equal(r.time.count, 3);
  assert.equal(b.slowdown.quantile(1), 3);
  const unmeasured = rung('new', []);
  const b2 = new Budgets([unmeasured], { quantile: 0.99 });
  b2.ran(unmeasured, 5);
  assert.equal(b2.slowdown.count, 0, 'a rung with no start-up time has no base to count a slowdown against');
  assert.equal(b2.of(unmeasured), 5);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrateThreshold } from './cascade.js';

const s = (confidence: number, agree: boolean) => ({ confidence, agree });

test('the lowest threshold that reaches the target agreement', () => {
  const samples = [
    s(0.2, false),
    s(0.4, false),
    s(0.6, true),
    s(0.8, true),
    s(0.9, false),
    s(0.95, true),
    s(0.97, true),
    s(0.99, true),
    s(0.995, true),
    s(0.999, true),
  ];
  // no escalation: 7/10 agree
  assert.equal(calibrateThreshold(samples, 0.7).threshold, 0.2);
  // escalate 0.2 and 0.4: 9/10
  const c = calibrateThreshold(samples, 0.9);
  assert.equal(c.threshold, 0.6);
  assert.equal(c.agreement, 0.9);
  assert.equal(c.escalated, 0.2);
  // 100% needs the 0.9 item escalated too
  const all = calibrateThreshold(samples, 1);
  assert.equal(all.threshold, 0.95);
  assert.equal(all.escalated, 0.5);
});

test('tied confidences are escalated together; an unreachable target escalates everything', () => {
  const c = calibrateThreshold([s(0.5, false), s(0.5, true), s(0.9, true)], 1);
  assert.equal(c.threshold, 0.9);
  assert.equal(c.escalated, 2 / 3);
  assert.equal(calibrateThreshold([], 0.99).threshold, Infinity);
  // the check is `agreement >= target`: a target above 1 is never met by a threshold
  assert.equal(calibrateThreshold([s(0.5, true)], 1.01).threshold, Infinity);
});

test('a disagreement tied with an agreeing item is escalated with it, in either order; input order does not matter', () => {
  // the disagreeing item second among the tied ones: it was once never counted as escalated, and the
  // calibration escalated everything
  for (const tied of [
    [s(0.5, true), s(0.5, false)],
    [s(0.5, false), s(0.5, true)],
  ]) {
    const c = calibrateThreshold([...tied, s(0.9, true)], 1);
    assert.deepEqual(c, { threshold: 0.9, agreement: 1, escalated: 2 / 3, n: 3 });
  }
  const samples = [s(0.9, false), s(0.2, false), s(0.99, true), s(0.6, true), s(0.4, false), s(0.95, true), s(0.8, true)];
  const sorted = [...samples].sort((a, b) => a.confidence - b.confidence);
  for (const target of [0.5, 0.8, 1]) assert.deepEqual(calibrateThreshold(samples, target), calibrateThreshold(sorted, target));
  assert.equal(calibrateThreshold(samples, 0.8).threshold, 0.6, 'escalate 0.2 and 0.4: 6/7 agree');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrateThreshold } from './cascade.js';
import { mulberry32 } from '../util/rng.js';

const s = (confidence: number, agree: boolean) => ({ confidence, agree });

const ten = [
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

test('the lowest threshold whose (misses + 1) / (n + 1) is within 1 − target', () => {
  // 0.7: (misses + 1) / 11 ≤ 0.3 allows 2 misses: escalate 0.2 only
  const a = calibrateThreshold(ten, 0.7);
  assert.deepEqual(a, { threshold: 0.4, agreement: 0.8, expected: 1 - 3 / 11, escalated: 0.1, n: 10, needed: 3 });
  // 0.8 allows 1 miss: escalate 0.2 and 0.4 (the plain rule, 2 misses of 10, would stop at 0.4)
  const b = calibrateThreshold(ten, 0.8);
  assert.equal(b.threshold, 0.6);
  assert.equal(b.escalated, 0.2);
  assert.equal(b.agreement, 0.9);
  // 0.9 allows none: the 0.9 item goes too
  const c = calibrateThreshold(ten, 0.9);
  assert.equal(c.threshold, 0.95);
  assert.equal(c.escalated, 0.5);
  assert.equal(c.expected, 1 - 1 / 11);
  // the rule that fits the items: 2 misses of 10 is 0.8 already
  assert.equal(calibrateThreshold(ten, 0.8, 'fit').threshold, 0.4);
  assert.equal(calibrateThreshold(ten, 0.95, 'fit').threshold, 0.95);
  // 0.95 needs 19 items even with no miss: everything escalates
  const d = calibrateThreshold(ten, 0.95);
  assert.equal(d.threshold, Infinity);
  assert.equal(d.needed, 19);
});

test('99 agreeing items let the fast model answer alone at 0.99; 98 do not', () => {
  const agreeing = (n: number) => Array.from({ length: n }, (_, i) => s(0.5 + i / 1000, true));
  const c99 = calibrateThreshold(agreeing(99), 0.99);
  assert.equal(c99.threshold, 0.5);
  assert.equal(c99.escalated, 0);
  assert.equal(c99.needed, 99);
  assert.equal(calibrateThreshold(agreeing(98), 0.99).threshold, Infinity);
  // one miss among 199: (1 + 1) / 200 = 0.01, allowed
  const withMiss = [s(0.1, false), ...agreeing(198)];
  assert.equal(calibrateThreshold(withMiss, 0.99).threshold, 0.1);
  assert.equal(calibrateThreshold(withMiss.slice(0, 198), 0.99).threshold, 0.5);
});

test('tied confidences are escalated together; an unreachable target escalates everything', () => {
  const three = [s(0.5, false), s(0.5, true), s(0.9, true)];
  // target 0.7: (0 + 1) / 4 ≤ 0.3 once both tied items go
  const c = calibrateThreshold(three, 0.7);
  assert.equal(c.threshold, 0.9);
  assert.equal(c.escalated, 2 / 3);
  assert.equal(calibrateThreshold([], 0.99).threshold, Infinity);
  assert.equal(calibrateThreshold([s(0.5, true)], 1).threshold, Infinity);
  assert.equal(calibrateThreshold([s(0.5, true)], 1).needed, Infinity);
  assert.equal(calibrateThreshold([s(0.5, true)], 1.01).threshold, Infinity);
  assert.equal(calibrateThreshold([s(0.5, true)], 1.01).needed, Infinity);
  assert.equal(calibrateThreshold([], 0.9).needed, 9);
});

test('a disagreement tied with an agreeing item is escalated with it, in either order; input order does not matter', () => {
  for (const tied of [
    [s(0.5, true), s(0.5, false)],
    [s(0.5, false), s(0.5, true)],
  ]) {
    const c = calibrateThreshold([...tied, s(0.9, true), s(0.95, true), s(0.99, true)], 0.8);
    assert.deepEqual(c, { threshold: 0.9, agreement: 1, expected: 1 - 1 / 6, escalated: 2 / 5, n: 5, needed: 4 });
  }
  const shuffled = [ten[4]!, ten[0]!, ten[8]!, ten[2]!, ten[1]!, ten[6]!, ten[3]!, ten[9]!, ten[5]!, ten[7]!];
  for (const target of [0.7, 0.8, 0.9]) assert.deepEqual(calibrateThreshold(shuffled, target), calibrateThreshold(ten, target));
});

test('on new items the calibrated cascade keeps the target on average; the best fit to the calibration items does not', () => {
  // confidence u ~ U(0, 1); the fast model disagrees with probability 0.3 (1 − u)³, so answering alone
  // above λ misses 0.075 (1 − λ)⁴ of all items
  const rnd = mulberry32(12345);
  const missAbove = (t: number) => (t === Infinity ? 0 : 0.075 * (1 - Math.max(0, Math.min(1, t))) ** 4);
  const reps = 2000;
  let conformal = 0;
  let plain = 0;
  for (let r = 0; r < reps; r++) {
    const xs = Array.from({ length: 100 }, () => {
      const u = rnd();
      return s(u, rnd() >= 0.3 * (1 - u) ** 3);
    });
    conformal += 1 - missAbove(calibrateThreshold(xs, 0.99).threshold);
    plain += 1 - missAbove(calibrateThreshold(xs, 0.99, 'fit').threshold);
  }
  conformal /= reps;
  plain /= reps;
  assert.ok(conformal >= 0.99, `conformal: ${conformal}`);
  assert.ok(conformal < 0.995, `not needlessly cautious: ${conformal}`);
  assert.ok(plain < 0.989, `the plain rule falls short: ${plain}`);
});

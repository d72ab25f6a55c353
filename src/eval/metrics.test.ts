import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  wilson,
  accuracy,
  confusionMatrix,
  perClass,
  macroF1,
  expectedCalibrationError,
  editDistance,
  characterErrorRate,
  exactMatch,
  cosine,
  mean,
  compareCandidates,
  top1Agreement,
} from './metrics.js';

const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('Wilson interval matches the worked value for 8/10 and stays inside [0, 1]', () => {
  // p=0.8, z=1.96: centre 0.99207/1.38415 = 0.71674, half 0.31362/1.38415 = 0.22658
  const [lo, hi] = wilson(8, 10);
  close(lo, 0.4902, 1e-3);
  close(hi, 0.9433, 1e-3);
  const [lo0, hi0] = wilson(0, 20);
  assert.equal(lo0, 0);
  close(hi0, 0.1611, 1e-3); // z²/(n+z²) = 3.8415/23.8415
  assert.deepEqual(wilson(0, 0), [0, 1]);
});

// pred and label of six items over three classes, worked by hand:
//   true 0: items 0 (→0), 5 (→2)   true 1: items 1 (→0), 2, 3 (→1)   true 2: item 4 (→2)
const pred = [0, 0, 1, 1, 2, 2];
const label = [0, 1, 1, 1, 2, 0];

test('accuracy, confusion matrix, per-class precision/recall by hand', () => {
  assert.equal(accuracy(pred, label).value, 4 / 6);
  assert.deepEqual(confusionMatrix(pred, label, 3), [
    [1, 0, 1],
    [1, 2, 0],
    [0, 0, 1],
  ]);
  const s = perClass(confusionMatrix(pred, label, 3));
  assert.deepEqual(
    s.map((c) => c.precision.value),
    [0.5, 1, 0.5],
  );
  assert.deepEqual(
    s.map((c) => c.recall.value),
    [0.5, 2 / 3, 1],
  );
  assert.deepEqual(
    s.map((c) => c.support),
    [2, 3, 1],
  );
  close(s[1]!.f1, 0.8);
});

test('macro-F1 is the mean of per-class F1 (0.5, 0.8, 2/3), with a bootstrap CI around it', () => {
  const m = macroF1(pred, label, 3, { seed: 1 });
  close(m.value, (0.5 + 0.8 + 2 / 3) / 3);
  assert.ok(m.ci[0] <= m.value && m.value <= m.ci[1], `${m.ci} should contain ${m.value}`);
  // a class that never occurs is not averaged in
  close(macroF1([0, 1], [0, 1], 5).value, 1);
});

test('expected calibration error by hand: (0.1 + 0.8 + 0.4 + 0.55) / 4', () => {
  const e = expectedCalibrationError([0.9, 0.8, 0.6, 0.55], [true, false, true, false], 10);
  close(e.value, 0.4625);
  close(expectedCalibrationError([1, 1], [true, true], 10).value, 0);
});

test('edit distance, CER and exact match, with and without whitespace', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('批号A', '批号B'), 1); // code points, not UTF-16 units
  const p = ['AB 12', 'X'];
  const r = ['AB12', 'XY'];
  close(characterErrorRate(p, r).value, 2 / 6); // one inserted space + one missing Y over 4 + 2 chars
  close(characterErrorRate(p, r, true).value, 1 / 6);
  assert.equal(exactMatch(['AB 12', 'XY'], ['AB12', 'XY']).value, 0.5);
  assert.equal(exactMatch(['AB 12', 'XY'], ['AB12', 'XY'], true).value, 1);
});

test('cosine and top-1 agreement', () => {
  close(cosine([1, 0], [1, 1]), Math.SQRT1_2);
  close(cosine([1, 2, 3], [2, 4, 6]), 1);
  close(cosine([1, 0], [-1, 0]), -1);
  assert.equal(top1Agreement([1, 2, 3, 4], [1, 2, 0, 4]).value, 0.75);
});

test('bootstrap CI of a mean is seeded and brackets the mean', () => {
  const v = Array.from({ length: 200 }, (_, i) => (i % 10) / 10);
  const a = mean(v, { seed: 7 });
  const b = mean(v, { seed: 7 });
  assert.deepEqual(a, b);
  close(a.value, 0.45);
  assert.ok(a.ci[0] < 0.45 && 0.45 < a.ci[1]);
  assert.ok(a.ci[1] - a.ci[0] < 0.15);
});

test('compareCandidates: paired bootstrap says which is better and whether it is significant', () => {
  const n = 300;
  const base = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 0 : 1));
  const better = base.map((v, i) => (i % 8 === 0 ? 1 : v)); // fixes half of the errors
  const c = compareCandidates(better, base, { seed: 3 });
  close(c.diff, better.reduce((a: number, b) => a + b, 0) / n - base.reduce((a: number, b) => a + b, 0) / n);
  assert.ok(c.significant && c.ci[0] > 0 && c.pBetter > 0.99);
  const same = compareCandidates(base, base, { seed: 3 });
  assert.equal(same.diff, 0);
  assert.equal(same.significant, false);
  // lower-is-better with weights (per-item CER weighted by length = corpus CER)
  const w = compareCandidates([0.5, 0], [0, 0], { weights: [2, 8], higherIsBetter: false });
  close(w.diff, (0.5 * 2) / 10);
  assert.ok(w.pBetter < 0.5);
  assert.throws(() => compareCandidates([1], [1, 0]), /same items/);
});

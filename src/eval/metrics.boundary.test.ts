// Metrics against independent figures: Wilson bounds as the roots of their quadratic, bootstrap
// percentiles on a statistic whose draws are known, interval widths against the normal approximation
// (an interval narrowed to a fraction of its width fails), and the edges of each metric exactly.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  accuracy,
  bootstrap,
  characterErrorRate,
  compareCandidates,
  confusionMatrix,
  exactMatch,
  expectedCalibrationError,
  macroF1,
  mean,
  perClass,
  proportion,
  ratioOfSums,
  stripWhitespace,
  top1Agreement,
  wilson,
} from './metrics.js';
import { mulberry32 } from '../util/rng.js';
import { Rng } from '../data/rng.js';

const close = (a: number, b: number, what: string, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const sd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

/** The Wilson bounds as the two roots of (p̂ − p)² = z²·p(1 − p)/n. */
function wilsonRoots(k: number, n: number, z: number): [number, number] {
  const ph = k / n;
  const a = 1 + (z * z) / n;
  const b = -(2 * ph + (z * z) / n);
  const c = ph * ph;
  const d = Math.sqrt(b * b - 4 * a * c);
  return [(-b - d) / (2 * a), (-b + d) / (2 * a)];
}

test('Wilson bounds are the roots of the score equation, clamped to [0, 1], z = 1.959964 by default', () => {
  for (const [k, n] of [
    [5, 10],
    [1, 3],
    [97, 100],
    [0, 7],
    [7, 7],
  ] as const) {
    const [lo, hi] = wilson(k, n);
    const [rlo, rhi] = wilsonRoots(k, n, 1.959964);
    close(lo, Math.max(0, rlo), `lo ${k}/${n}`, 1e-12);
    close(hi, Math.min(1, rhi), `hi ${k}/${n}`, 1e-12);
    assert.ok(lo >= 0 && hi <= 1);
  }
  const [lo, hi] = wilson(5, 10, 3);
  const [rlo, rhi] = wilsonRoots(5, 10, 3);
  close(lo, rlo, 'z = 3 lo', 1e-12);
  close(hi, rhi, 'z = 3 hi', 1e-12);
  assert.deepEqual(wilson(0, 0), [0, 1]);
  const p = proportion(3, 4);
  assert.equal(p.value, 0.75);
  assert.deepEqual(p.ci, wilson(3, 4));
  const none = proportion(0, 0);
  assert.ok(Number.isNaN(none.value));
  assert.deepEqual(none.ci, [0, 1]);
});

test('bootstrap: every round counted, the 2.5th and 97.5th percentiles interpolated, non-finite rounds dropped', () => {
  // A statistic that returns 1000, 999, …, 1 in turn: sorted 1..1000, positions 24.975 and 974.025.
  let calls = 0;
  const [lo, hi] = bootstrap(5, () => 1000 - calls++);
  assert.equal(calls, 1000);
  close(lo, 25.975, 'lo');
  close(hi, 975.025, 'hi');
  calls = 0;
  const [lo10, hi10] = bootstrap(5, () => calls++, { iterations: 11 });
  assert.equal(calls, 11);
  close(lo10, 0.25, 'lo of 0..10');
  close(hi10, 9.75, 'hi of 0..10');
  // Every other round NaN or infinite: the rest are 0, 2, 4, …, 998 → positions 12.475 and 486.525 of 500.
  calls = 0;
  const [lh, hh] = bootstrap(3, () => {
    const c = calls++;
    return c % 2 ? (c % 4 === 1 ? NaN : Infinity) : c;
  });
  close(lh, 24.95, 'lo without the non-finite');
  close(hh, 973.05, 'hi without the non-finite');
  assert.deepEqual(
    bootstrap(0, () => 1),
    [NaN, NaN],
  );
  assert.deepEqual(
    bootstrap(4, () => NaN),
    [NaN, NaN],
  );
});

test('bootstrap resamples: n indices drawn uniformly from 0..n−1, the same for the same seed', () => {
  const seen = new Array<number>(5).fill(0);
  let lengths = 0;
  const first: number[][] = [];
  bootstrap(
    5,
    (idx) => {
      lengths += idx.length;
      if (first.length < 3) first.push([...idx]);
      for (const i of idx) seen[i]!++;
      return 0;
    },
    { seed: 4, iterations: 2000 },
  );
  assert.equal(lengths, 10_000);
  for (const c of seen) assert.ok(c > 1800 && c < 2200, `index counts ${seen}`);
  const again: number[][] = [];
  bootstrap(
    5,
    (idx) => {
      if (again.length < 3) again.push([...idx]);
      return 0;
    },
    { seed: 4, iterations: 3 },
  );
  assert.deepEqual(again, first);
  const other: number[][] = [];
  bootstrap(
    5,
    (idx) => {
      other.push([...idx]);
      return 0;
    },
    { seed: 5, iterations: 3 },
  );
  assert.notDeepEqual(other, first);
  // each round draws exactly n indices, floor(u·n) from the seeded stream, one after another
  const u = new Rng(4);
  const expected = Array.from({ length: 3 }, () => Array.from({ length: 5 }, () => Math.floor(u.next() * 5)));
  assert.deepEqual(first, expected);
  // default seed: the same as 12345
  const d1: number[][] = [];
  const d2: number[][] = [];
  bootstrap(5, (idx) => (d1.push([...idx]), 0), { iterations: 2 });
  bootstrap(5, (idx) => (d2.push([...idx]), 0), { iterations: 2, seed: 12345 });
  assert.deepEqual(d1, d2);
});

test('the interval of a mean is 3.92 standard errors wide, centred on the mean', () => {
  const r = mulberry32(9);
  const xs = Array.from({ length: 400 }, () => r());
  const m = mean(xs, { seed: 2 });
  close(m.value, xs.reduce((a, b) => a + b, 0) / 400, 'mean');
  const want = (3.92 * sd(xs)) / 20;
  const w = m.ci[1] - m.ci[0];
  assert.ok(w / want > 0.85 && w / want < 1.15, `width ${w} vs ${want}`);
  close((m.ci[0] + m.ci[1]) / 2, m.value, 'centred', 0.01);
  // a ratio of sums: the value is Σnum / Σden, not the mean of ratios
  const rs = ratioOfSums([1, 3], [1, 9]);
  assert.equal(rs.value, 0.4);
  assert.ok(rs.ci[0] >= 1 / 3 - 1e-12 && rs.ci[1] <= 1 + 1e-12, `${rs.ci}`);
});

test('confusion matrix: predictions or labels out of range are ignored; resampled indices count again', () => {
  assert.deepEqual(confusionMatrix([0, 3, 1, 2], [0, 0, 5, 1], 3), [
    [1, 0, 0],
    [0, 0, 1],
    [0, 0, 0],
  ]);
  assert.deepEqual(confusionMatrix([0, 1], [0, 1], 2, Int32Array.from([1, 1, 0])), [
    [1, 0],
    [0, 2],
  ]);
  const acc = accuracy([1, 2, 3], [1, 0, 3]);
  close(acc.value, 2 / 3, 'accuracy');
  assert.deepEqual(acc.ci, wilson(2, 3));
  assert.ok(Number.isNaN(accuracy([], []).value));
  assert.deepEqual(top1Agreement([1, 2], [1, 1]), accuracy([1, 2], [1, 1]));
});

test('per class: a class predicted but never right has F1 0; precision and recall carry Wilson intervals', () => {
  // true 0: →0, →1, →1; true 1: →0
  const s = perClass(confusionMatrix([0, 1, 1, 0], [0, 0, 0, 1], 2));
  assert.equal(s[0]!.precision.value, 0.5);
  close(s[0]!.recall.value, 1 / 3, 'recall 0');
  close(s[0]!.f1, 0.4, 'f1 0: 2·1/(3 + 2)');
  assert.deepEqual(s[0]!.precision.ci, wilson(1, 2));
  assert.deepEqual(s[0]!.recall.ci, wilson(1, 3));
  assert.equal(s[1]!.f1, 0);
  assert.equal(s[1]!.precision.value, 0);
  assert.equal(s[1]!.support, 1);
  // a class never predicted: precision 0/0
  const t = perClass([
    [2, 0],
    [1, 0],
  ]);
  assert.ok(Number.isNaN(t[1]!.precision.value));
  assert.equal(t[1]!.f1, 0);
  close(t[0]!.f1, 0.8, 'f1: 2·2/(2 + 3)');
});

test('macro-F1 averages only the classes that occur in the labels', () => {
  // class 0: support 3, tp 1, predicted 1 → 2/4; class 1 predicted twice but never the label → left out
  close(macroF1([0, 1, 1], [0, 0, 0], 2).value, 0.5, 'macro-F1');
  // both present: class 0 f1 2·1/(2+1), class 1 f1 2·1/(1+2)... → (2/3 + 2/3) / 2
  close(macroF1([0, 0, 1], [0, 1, 1], 2).value, 2 / 3, 'macro-F1 both');
  assert.ok(Number.isNaN(macroF1([], [], 2).value));
  const m = macroF1([0, 1, 1, 0, 1, 0, 1, 1], [0, 1, 0, 0, 1, 1, 1, 1], 2, { seed: 3 });
  assert.ok(m.ci[0] <= m.value && m.value <= m.ci[1]);
  assert.ok(m.ci[1] > m.ci[0]);
});

test('ECE: confidence 1 goes in the last bin, bins are [b/B, (b+1)/B), weighted by bin size', () => {
  close(expectedCalibrationError([1], [false], 10).value, 1, 'all wrong at confidence 1');
  close(expectedCalibrationError([1, 0.05], [true, true], 10).value, 0.95 / 2, 'bins 9 and 0');
  // 0.2 and 0.25 share bin 2 of 10: |1 − 0.45| / 2 (one right); in separate bins it would be (0.8 + 0.25) / 2.
  close(expectedCalibrationError([0.2, 0.25], [true, false], 10).value, 0.55 / 2, 'one bin');
  close(expectedCalibrationError([0.2, 0.25], [true, false], 20).value, (0.8 + 0.25) / 2, 'two bins');
  const e = expectedCalibrationError([0.9, 0.8, 0.6, 0.55, 0.3, 0.95], [true, false, true, false, false, true], 10, { seed: 1 });
  assert.ok(e.ci[0] <= e.value && e.value <= e.ci[1]);
});

test('CER is lower for better transcriptions: total edits over total reference length, an empty reference counts 1', () => {
  assert.equal(stripWhitespace(' a b\tc\n d '), 'abcd');
  const good = characterErrorRate(['abcd', 'xy'], ['abcd', 'xz']);
  const bad = characterErrorRate(['abed', 'q'], ['abcd', 'xz']);
  assert.equal(good.value, 1 / 6);
  assert.equal(bad.value, 3 / 6);
  assert.ok(good.value < bad.value);
  assert.deepEqual(bad.edits, [1, 2]);
  assert.deepEqual(bad.lengths, [4, 2]);
  const empty = characterErrorRate(['ab', ''], ['', '']);
  assert.deepEqual(empty.edits, [2, 0]);
  assert.deepEqual(empty.lengths, [1, 1]);
  assert.equal(empty.value, 1);
  const ws = characterErrorRate(['a b'], [' ab '], true);
  assert.equal(ws.value, 0);
  assert.deepEqual(ws.lengths, [2]);
  assert.equal(characterErrorRate(['a b'], [' ab ']).lengths[0], 4);
  const em = exactMatch(['a', 'b c', 'd'], ['a', 'bc', 'x'], true);
  assert.deepEqual(em.hits, [1, 1, 0]);
  close(em.value, 2 / 3, 'exact match');
  assert.deepEqual(em.ci, wilson(2, 3));
});

test('paired comparison: ties are not wins, a uniform gain is certain, CER compares the other way round', () => {
  const b = [0, 1, 0, 1, 1, 0, 1, 1];
  const same = compareCandidates(b, b);
  assert.deepEqual(same, { diff: 0, ci: [0, 0], pBetter: 0, significant: false });
  assert.equal(compareCandidates(b, b, { higherIsBetter: false }).pBetter, 0);
  const up = b.map((v) => v + 1);
  assert.deepEqual(compareCandidates(up, b), { diff: 1, ci: [1, 1], pBetter: 1, significant: true });
  assert.deepEqual(compareCandidates(b, up), { diff: -1, ci: [-1, -1], pBetter: 0, significant: true });
  // lower is better (CER): the candidate with more errors is better in none of the rounds
  assert.equal(compareCandidates(up, b, { higherIsBetter: false }).pBetter, 0);
  assert.equal(compareCandidates(b, up, { higherIsBetter: false }).pBetter, 1);
  // one item better out of 40: the interval touches 0 (the item is often not drawn), so not significant
  const base = new Array<number>(40).fill(0);
  const one = base.map((v, i) => (i === 0 ? 1 : v));
  const c = compareCandidates(one, base, { seed: 2 });
  assert.equal(c.ci[0], 0);
  assert.ok(c.ci[1] > 0);
  assert.equal(c.significant, false);
  const neg = compareCandidates(base, one, { seed: 2 });
  assert.equal(neg.ci[1], 0);
  assert.equal(neg.significant, false);
  assert.equal(compareCandidates(b, b, { iterations: 7 }).pBetter, 0);
  assert.equal(compareCandidates(up, b, { iterations: 7 }).pBetter, 1);
  assert.throws(() => compareCandidates([1, 2], [1]), /^Error: compareCandidates: 2 vs 1 items; both candidates must be evaluated on the same items$/);
});

test('paired comparison: the difference weighted, the interval 3.92 paired standard errors wide, P(better) ≈ Φ(diff/se)', () => {
  const w = compareCandidates([1, 0, 0], [0, 0, 1], { weights: [3, 1, 1] });
  close(w.diff, (3 - 1) / 5, 'weighted diff');
  close(compareCandidates([0, 0, 1], [1, 0, 0], { weights: [3, 1, 1] }).diff, (1 - 3) / 5, 'weighted diff, the other way');
  // three rounds worked out from the seeded draws: each round n indices floor(u·n); the interval interpolates
  // the sorted differences at positions 0.05 and 1.95
  const xa = [1, 2, 3, 4, 5];
  const xb = [0, 0, 0, 0, 0];
  const u = new Rng(9);
  const diffs = Array.from({ length: 3 }, () => Array.from({ length: 5 }, () => xa[Math.floor(u.next() * 5)]!).reduce((p, q) => p + q, 0) / 5).sort(
    (p, q) => p - q,
  );
  const three = compareCandidates(xa, xb, { seed: 9, iterations: 3 });
  close(three.ci[0], diffs[0]! + (diffs[1]! - diffs[0]!) * 0.05, 'lo of three rounds', 1e-12);
  close(three.ci[1], diffs[1]! + (diffs[2]! - diffs[1]!) * 0.95, 'hi of three rounds', 1e-12);
  // the seed is used, and 12345 is the default
  const noisyA = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1];
  const noisyB = [0, 0, 1, 0, 0, 1, 1, 0, 1, 0];
  assert.deepEqual(compareCandidates(noisyA, noisyB), compareCandidates(noisyA, noisyB, { seed: 12345 }));
  assert.notEqual(compareCandidates(noisyA, noisyB, { seed: 6 }).pBetter, compareCandidates(noisyA, noisyB).pBetter);
  const r = mulberry32(5);
  const n = 300;
  const a = Array.from({ length: n }, () => (r() < 0.8 ? 1 : 0));
  const bb = a.map((v) => (r() < 0.1 ? 1 - v : v));
  const c = compareCandidates(a, bb, { seed: 6 });
  const d = a.map((v, i) => v - bb[i]!);
  const diff = d.reduce((x, y) => x + y, 0) / n;
  close(c.diff, diff, 'diff');
  const se = sd(d) / Math.sqrt(n);
  const width = c.ci[1] - c.ci[0];
  assert.ok(width / (3.92 * se) > 0.85 && width / (3.92 * se) < 1.15, `width ${width} vs ${3.92 * se}`);
  const z = diff / se;
  const phi = 0.5 * (1 + erf(z / Math.SQRT2));
  assert.ok(Math.abs(c.pBetter - phi) < 0.08, `pBetter ${c.pBetter} vs ${phi}`);
  assert.equal(c.significant, c.ci[0] > 0 || c.ci[1] < 0);
});

/** Abramowitz–Stegun 7.1.26: the test's own normal CDF. */
function erf(x: number): number {
  const s = Math.sign(x);
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return s * y;
}

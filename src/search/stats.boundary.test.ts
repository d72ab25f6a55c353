// The search's latency statistics against independent figures: each percentile at its own q (p95 is
// not p90), bootstrap intervals as wide as the normal approximation says they should be (an interval
// narrowed to a fraction of its width fails), and the degenerate cases (one sample, ties) exactly.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { compareLatency, latencyFigures, statOf, wilson } from './stats.js';
import { mulberry32 } from '../util/rng.js';

const close = (a: number, b: number, what: string, tol = 1e-9) => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);
const sd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

test('each statistic at its own quantile: 1, 2, 3, 4, 100', () => {
  const s = Float64Array.from([1, 2, 3, 4, 100]);
  close(statOf(s, 'p50'), 3, 'p50');
  close(statOf(s, 'p90'), 4 + 0.6 * 96, 'p90 at position 3.6');
  close(statOf(s, 'p95'), 4 + 0.8 * 96, 'p95 at position 3.8');
  close(statOf(s, 'p99'), 4 + 0.96 * 96, 'p99 at position 3.96');
  assert.equal(statOf(s, 'max'), 100);
  assert.equal(statOf(s, 'mean'), 22);
  assert.equal(statOf([7], 'mean'), 7);
});

test('latency figures: exact order statistics, intervals for every statistic from 2 samples on', () => {
  const f = latencyFigures([4, 100, 2, 3, 1]);
  assert.equal(f.count, 5);
  close(f.p95, 80.8, 'p95');
  close(f.p90, 61.6, 'p90');
  close(f.p99, 96.16, 'p99');
  assert.equal(f.p50, 3);
  assert.equal(f.max, 100);
  assert.equal(f.mean, 22);
  close(f.stdev, sd([4, 100, 2, 3, 1]), 'stdev');
  assert.equal('min' in f, false);
  assert.deepEqual(Object.keys(f.ci).sort(), ['max', 'mean', 'p50', 'p90', 'p95', 'p99']);
  for (const [k, [lo, hi]] of Object.entries(f.ci)) {
    assert.ok(lo <= hi, k);
    assert.ok(lo >= 1 && hi <= 100, `${k} inside the sample's range`);
  }
  // the copy of the samples, not the caller's array
  const xs = [2, 1];
  const two = latencyFigures(xs);
  assert.deepEqual(two.samplesMs, [2, 1]);
  assert.notEqual(two.samplesMs, xs);
  assert.deepEqual(Object.keys(two.ci).length, 6);
  // a constant sample: every interval is that constant
  const flat = latencyFigures([5, 5, 5, 5]);
  for (const v of Object.values(flat.ci)) assert.deepEqual(v, [5, 5]);
  // one sample: no interval; no sample: stdev 0 (not NaN), no interval
  const one = latencyFigures([3]);
  assert.deepEqual(one.ci, {});
  assert.equal(one.stdev, 0);
  assert.equal(one.p99, 3);
  const none = latencyFigures([]);
  assert.deepEqual(none.ci, {});
  assert.equal(none.stdev, 0);
  assert.equal(none.count, 0);
  assert.deepEqual(none.samplesMs, []);
});

test('bootstrap intervals are as wide as the normal approximation: 3.92 standard errors for the mean, 3.92/(2f√n) for the median', () => {
  const r = mulberry32(11);
  const n = 400;
  const xs = Array.from({ length: n }, () => 5 + 2 * r()); // uniform on [5, 7]: density 0.5
  const f = latencyFigures(xs);
  const [mlo, mhi] = f.ci.mean!;
  const want = (3.92 * sd(xs)) / Math.sqrt(n);
  assert.ok((mhi - mlo) / want > 0.85 && (mhi - mlo) / want < 1.15, `mean interval ${mhi - mlo} vs ${want}`);
  assert.ok(mlo < f.mean && f.mean < mhi);
  close((mlo + mhi) / 2, f.mean, 'mean interval centred', 0.01);
  const [plo, phi] = f.ci.p50!;
  const wantMedian = 3.92 / (2 * 0.5 * Math.sqrt(n));
  assert.ok((phi - plo) / wantMedian > 0.7 && (phi - plo) / wantMedian < 1.3, `median interval ${phi - plo} vs ${wantMedian}`);
  assert.ok(plo < f.p50 && f.p50 < phi);
  // the max cannot be above the sample's max, and its interval's top is that max
  assert.equal(f.ci.max![1], f.max);
});

test('comparing two samples: the difference, an interval as wide as the two standard errors say, and who is faster', () => {
  const r = mulberry32(21);
  const a = Array.from({ length: 300 }, () => 4 + 2 * r());
  const b = Array.from({ length: 200 }, () => 4.2 + 2 * r());
  const c = compareLatency(a, b, 'mean');
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  close(c.diffMs, mean(a) - mean(b), 'diff of means');
  const want = 3.92 * Math.sqrt(sd(a) ** 2 / a.length + sd(b) ** 2 / b.length);
  assert.ok((c.ci[1] - c.ci[0]) / want > 0.85 && (c.ci[1] - c.ci[0]) / want < 1.15, `interval ${c.ci[1] - c.ci[0]} vs ${want}`);
  assert.ok(c.ci[0] < c.diffMs && c.diffMs < c.ci[1]);
  // P(a faster) from the normal approximation: Φ(−diff / se)
  const se = want / 3.92;
  const z = -c.diffMs / se;
  const phi = 0.5 * (1 + erf(z / Math.SQRT2));
  assert.ok(Math.abs(c.pFaster - phi) < 0.06, `pFaster ${c.pFaster} vs ${phi}`);
  // the other way round: the difference and the interval change sign, P(faster) is the complement
  const d = compareLatency(b, a, 'mean');
  close(d.diffMs, -c.diffMs, 'antisymmetric');
  assert.ok(Math.abs(d.pFaster - (1 - phi)) < 0.06);
  // far apart: always faster / never faster
  assert.equal(compareLatency([1, 1.1, 1.2], [5, 5.1, 5.2], 'p50').pFaster, 1);
  assert.equal(compareLatency([5, 5.1, 5.2], [1, 1.1, 1.2], 'p50').pFaster, 0);
  // identical constant samples: never faster (a tie is not a win), interval [0, 0]
  assert.deepEqual(compareLatency([2, 2, 2], [2, 2, 2], 'p99'), { diffMs: 0, ci: [0, 0], pFaster: 0 });
});

test('comparing with fewer than 2 samples on either side: the point difference, no interval', () => {
  assert.deepEqual(compareLatency([1], [2, 3], 'p50'), { diffMs: -1.5, ci: [-1.5, -1.5], pFaster: 1 });
  assert.deepEqual(compareLatency([2, 3], [1], 'mean'), { diffMs: 1.5, ci: [1.5, 1.5], pFaster: 0 });
  assert.deepEqual(compareLatency([4], [4], 'max'), { diffMs: 0, ci: [0, 0], pFaster: 0 });
  // unsorted input: the percentiles are of the sorted samples (2 − 5, not 1 − 6)
  assert.equal(compareLatency([3, 1, 2], [4, 6, 5], 'p50').diffMs, -3);
  assert.equal(compareLatency([3], [4, 6, 5], 'p50').diffMs, -2);
  // two samples on each side are enough for an interval
  const two = compareLatency([1, 2], [3, 4.5, 5], 'mean');
  assert.ok(two.ci[0] < two.ci[1], `interval ${two.ci}`);
  const twoB = compareLatency([3, 4.5, 5], [1, 2], 'mean');
  assert.ok(twoB.ci[0] < twoB.ci[1], `interval ${twoB.ci}`);
});

test('the search’s Wilson interval uses z = 1.96 exactly', () => {
  const z = 1.96;
  const k = 90;
  const n = 100;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  const [lo, hi] = wilson(k, n);
  close(lo, centre - half, 'lo', 1e-12);
  close(hi, centre + half, 'hi', 1e-12);
  const [lo2] = wilson(k, n, 2.5);
  assert.ok(lo2 < lo - 0.01, 'a larger z widens it');
});

/** Abramowitz–Stegun 7.1.26 (error under 1.5e-7): the test's own normal CDF. */
function erf(x: number): number {
  const s = Math.sign(x);
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return s * y;
}

test('bootstrap rounds: 1000 up to 1000 samples (the larger side), 400 up to 4000, 200 above', () => {
  // P(faster) is a count over the rounds: its denominator shows how many rounds ran. Seeded data whose
  // counts are odd, so that 1000 cannot pass for 400, nor 400 for 200.
  const r = mulberry32(1);
  const s = (n: number) => Array.from({ length: n }, () => 5 + r());
  const count = (p: number, rounds: number) => {
    const k = p * rounds;
    return Math.abs(k - Math.round(k)) < 1e-9 ? Math.round(k) : NaN;
  };
  assert.equal(count(compareLatency(s(1000), s(1000), 'p50').pFaster, 1000), 564);
  assert.equal(count(compareLatency(s(1001), s(10), 'p50').pFaster, 400), 393);
  assert.equal(count(compareLatency(s(10), s(1001), 'p50').pFaster, 400), 351);
  assert.equal(count(compareLatency(s(4000), s(4000), 'p50').pFaster, 400), 167);
  assert.equal(count(compareLatency(s(4001), s(20), 'p50').pFaster, 200), 157);
});

// Each statistic against values worked out by hand (the arithmetic is in the comments).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cusum, ewma } from './ewma-cusum.js';
import { ksFromCounts, ksTwoSample } from './ks.js';
import { normalCdf, normalQuantile } from './normal.js';
import { binomialMidP, binomialZ, pChartLimits } from './p-chart.js';
import { histogram, psi, psiCounts, quantileEdges } from './psi.js';
import { chooseRuleSet, inControlRate, runRules } from './rules.js';
import { benjaminiHochberg, chiSquare, twoProportionZ, wilson } from './tests.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('normal CDF and quantile', () => {
  close(normalCdf(1.959964), 0.975, 1e-6);
  close(normalCdf(-3), 0.0013499, 1e-6);
  close(normalQuantile(0.99865), 3.0, 1e-3);
  close(normalQuantile(0.5), 0, 1e-9);
});

test('p-chart limits from a reference window: 30 defects in 1000, subgroup of 100', () => {
  // p̄ = 0.03, σ = √(0.03·0.97/100) = 0.0170587, UCL = 0.03 + 3σ = 0.0811761, LCL = max(0, …) = 0
  const l = pChartLimits(30, 1000, 100);
  close(l.center, 0.03, 1e-12);
  close(l.ucl, 0.0811761, 1e-6);
  assert.equal(l.lcl, 0);
  // n = 10000: σ = 0.00170587, LCL = 0.03 − 0.0051176 = 0.0248824
  close(pChartLimits(30, 1000, 10000).lcl, 0.0248824, 1e-6);
});

test('binomial mid-p and its z-score', () => {
  // Bin(2, ½): P(0)=¼, P(1)=½ → midP(0)=⅛, midP(1)=¼+¼=½
  close(binomialMidP(0, 2, 0.5), 0.125, 1e-12);
  close(binomialMidP(1, 2, 0.5), 0.5, 1e-12);
  close(binomialZ(1, 2, 0.5), 0, 1e-9);
  // large n: close to the normal approximation (50 + 3·5 = 65 of 100 at ½ → z ≈ 3)
  close(binomialZ(65, 100, 0.5), 3, 0.1);
});

test('Western Electric rules fire where they should, and not elsewhere', () => {
  const flat = new Array(12).fill(0.2);
  assert.deepEqual(runRules(flat, ['WE1', 'WE2', 'WE3']), []);
  assert.deepEqual(runRules([0, 0, 3.1, 0], ['WE1']), [{ index: 2, rule: 'WE1', side: 1 }]);
  assert.deepEqual(runRules([0, -2.5, 0, -2.2], ['WE1', 'WE2']), [{ index: 3, rule: 'WE2', side: -1 }]);
  assert.deepEqual(runRules([1.5, 1.2, 0.1, 1.1, 1.3], ['WE3']), [{ index: 4, rule: 'WE3', side: 1 }]);
  assert.deepEqual(runRules(flat.slice(0, 8), ['WE4']), [{ index: 7, rule: 'WE4', side: 1 }]);
  assert.equal(runRules(flat.slice(0, 7), ['WE4']).length, 0);
});

test('the stated in-control false-alarm rates match the literature, and the choice meets the target', () => {
  close(inControlRate('we1'), 0.0027, 0.0004, 'rule 1 (ARL 370)');
  close(1 / inControlRate('we'), 92, 10, 'all four rules (ARL ≈ 92)');
  assert.equal(chooseRuleSet(0.003).set, 'we1');
  assert.equal(chooseRuleSet(0.02).set, 'we');
  assert.ok(chooseRuleSet(0.006).rate <= 0.006);
});

test('EWMA responds to a 2σ shift at the 4th shifted point', () => {
  // s after k shifted points = 2(1 − 0.8ᵏ): k=3 → 0.976, k=4 → 1.181; the limit is ≈ 3√(0.2/1.8) = 1.000
  const z = [...new Array(20).fill(0), ...new Array(10).fill(2)];
  const e = ewma(z);
  assert.equal(e.alarm, 23);
  assert.equal(e.start, 20);
  assert.equal(ewma(new Array(30).fill(0.9)).alarm, -1);
});

test('CUSUM responds to a 1.5σ shift at the 6th shifted point and dates it to the shift', async () => {
  // C⁺ grows by 1.5 − 0.5 = 1 a point: 5 after five points (not > h = 5), 6 after six
  const z = [...new Array(20).fill(0), ...new Array(10).fill(1.5)];
  const c = cusum(z);
  assert.equal(c.alarm, 25);
  assert.equal(c.start, 20);
  assert.equal(cusum(new Array(100).fill(0.5)).alarm, -1);
  const { cusumUpper } = await import('./ewma-cusum.js');
  // a low stretch first (two-sided CUSUM alarms low at index 8), then the rise: the upper CUSUM sees the rise
  const lowThenHigh = [...new Array(5).fill(0), ...new Array(4).fill(-2), ...new Array(10).fill(1.5)];
  assert.deepEqual(cusumUpper(lowThenHigh), { alarm: 14, start: 9 });
  const down = cusum([...new Array(5).fill(0), ...new Array(10).fill(-2)]);
  assert.equal(down.alarm, 8); // C⁻ grows by 1.5: 4.5 after 3, 6 after 4
  assert.ok(down.stat[8]! < 0);
});

test('PSI by hand: 50/50 → 25/75 is 0.2747', () => {
  // (0.25 − 0.5)·ln(0.5) + (0.75 − 0.5)·ln(1.5) = 0.17329 + 0.10137
  close(psiCounts([50, 50], [25, 75]), 0.274653, 1e-6);
  assert.equal(psiCounts([10, 20, 30], [10, 20, 30]), 0);
  const ref = Array.from({ length: 100 }, (_, i) => i);
  assert.deepEqual(quantileEdges(ref, 4), [25, 50, 75]);
  assert.deepEqual(histogram([0, 25, 26, 99], [25, 50, 75]), [1, 2, 0, 1]);
  close(
    psi(
      ref,
      ref.map((v) => v + 25),
      4,
    ),
    psiCounts([25, 25, 25, 25], [0, 25, 25, 50]),
    1e-12,
  );
});

test('KS by hand: {1,2,3,4} vs {3,4,5,6} gives D = 0.5, p = 0.534', () => {
  // nₑ = 2, λ = (√2 + 0.12 + 0.11/√2)·0.5 = 0.80589; Q = 2(e^{−2λ²} − e^{−8λ²} + …) = 0.5342
  const r = ksTwoSample([1, 2, 3, 4], [3, 4, 5, 6]);
  assert.equal(r.d, 0.5);
  close(r.p, 0.5342, 2e-3);
  assert.equal(ksTwoSample([1, 2, 3], [1, 2, 3]).d, 0);
  assert.deepEqual(ksFromCounts([2, 2], [1, 3]).d, 0.25);
});

test('chi-square, Wilson, two proportions and Benjamini–Hochberg', () => {
  // expected 15 in each cell: 4·25/15 = 6.667, df 1, exact p = 0.0098
  const c = chiSquare([
    [10, 20],
    [20, 10],
  ]);
  close(c.stat, 6.6667, 1e-3);
  assert.equal(c.df, 1);
  close(c.p, 0.0098, 0.003);
  // 5 of 10: centre 0.5, half-width 1.96·√(0.025 + 0.0096)/1.384 = 0.2634
  const w = wilson(5, 10);
  close(w[0], 0.2366, 1e-3);
  close(w[1], 0.7634, 1e-3);
  // 60/1000 vs 30/1000: pooled 0.045, se = √(0.045·0.955·0.002) = 0.009271, z = 3.236
  close(twoProportionZ(60, 1000, 30, 1000).z, 3.236, 1e-3);
  assert.deepEqual(benjaminiHochberg([0.01, 0.04, 0.03, 0.2], 0.05), [true, false, false, false]);
  assert.deepEqual(benjaminiHochberg([0.01, 0.04, 0.03, 0.2], 0.1), [true, true, true, false]);
});

test('change point: a step from 3% to 12% at index 10 is dated to index 10', async () => {
  const { changePoint } = await import('./change-point.js');
  const n = new Array(20).fill(100);
  const k = [3, 2, 4, 3, 3, 2, 3, 4, 3, 3, 12, 11, 13, 12, 12, 11, 12, 13, 12, 12];
  assert.equal(changePoint(k, n, 0.03), 10);
  assert.equal(changePoint(new Array(20).fill(2), n, 0.03), -1);
});

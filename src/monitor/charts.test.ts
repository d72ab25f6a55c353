import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../util/rng.js';
import { buildCharts } from './charts.js';
import type { Cell } from './query.js';
import { binomialZ } from './stats/p-chart.js';
import { chooseRuleSet, runRules } from './stats/rules.js';

function binomial(u: () => number, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (u() < p) k++;
  return k;
}

// In-control defect counts from Binomial(n, p), charted at the true centre: the alarm rate must be
// within the stated rate, for subgroups as small as the line's (90 parts at 6%) and smaller.
for (const [n, p, target] of [
  [90, 0.06, 0.0027],
  [20, 0.05, 0.0027],
  [90, 0.06, 0.012],
] as const) {
  test(`in-control false alarms of the chosen rule set stay within the stated rate (n=${n}, p=${p}, target ${target})`, () => {
    const u = mulberry32(n * 1000 + target * 1e6);
    const rs = chooseRuleSet(target);
    const points = 40_000;
    const z = Array.from({ length: points }, () => binomialZ(binomial(u, n, p), n, p));
    const rate = runRules(z, rs.rules).length / points;
    // 40,000 points: the sampling sd of the rate is about √(r/40000), under 15% of r here.
    assert.ok(rate <= rs.rate * 1.35, `observed ${rate} against the stated ${rs.rate} (${rs.set})`);
    // With 20 parts the binomial is too coarse to reach the rate: it may only stay under it.
    if (n >= 90) assert.ok(rate >= rs.rate * 0.4, `observed ${rate}: the chart is blind, not calibrated`);
  });
}

test('charts: one per machine, batch, line and material; pooled centre unless a slice is clearly different', () => {
  const cells: Cell[] = [];
  for (let b = 0; b < 20; b++) {
    for (const [machine, rate] of [
      ['M1', 0.05],
      ['M2', 0.05],
      ['M3', 0.15],
      ['M4', 0.06],
    ] as const) {
      const k = Math.round(100 * (b >= 15 && machine === 'M2' ? 0.3 : rate));
      cells.push({ machine, batch: b < 10 ? 'B1' : 'B2', line: 'L1', material: 'X', bucket: b, n: 100, k, s1: 95, s2: 90.5, ns: 100 });
    }
  }
  const charts = buildCharts(cells, { firstMonitorBucket: 5, rules: ['WE1'] });
  assert.deepEqual(
    charts.map((c) => `${c.dim}:${c.value}`),
    ['machine:M1', 'machine:M2', 'machine:M3', 'machine:M4', 'batch:B1', 'batch:B2', 'line:L1', 'material:X'],
  );
  // pooled reference 155/2000 = 7.75%. M4: 30/500 = 6% against the rest's 125/1500 = 8.33%: z = −1.6, within chance → pooled.
  assert.ok(Math.abs(charts[3]!.center - 155 / 2000) < 1e-12);
  // M1: 5% against the rest's 130/1500 = 8.67%: z = −2.7 → still pooled; M3: 15% against 5.33%: z = 8.2 → its own.
  assert.ok(Math.abs(charts[0]!.center - 155 / 2000) < 1e-12);
  assert.ok(Math.abs(charts[2]!.center - 0.15) < 1e-12, 'M3 runs at 15% from the start: its own centre');
  const m2 = charts[1]!;
  assert.equal(m2.ruleHits.length > 0, true);
  assert.equal(m2.points.find((p) => p.rule)?.bucket, 15);
});

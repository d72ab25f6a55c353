// Model quality per machine and per batch. Without labels: the mean of the calibrated max-confidence
// estimates accuracy (the idea behind NannyML's CBPE; it holds only while the confidence stays
// calibrated). Where audits brought truth back: accuracy and per-class recall with Wilson intervals.

import type { Cell, TruthCount } from './query.js';
import { wilson } from './stats/tests.js';

export interface PerfRow {
  dim: 'machine' | 'batch';
  value: string;
  period: 'reference' | 'monitoring';
  /** Mean confidence: the label-free accuracy estimate. */
  estimatedAccuracy: number | null;
  truthN: number;
  accuracy: number | null;
  accuracyCi: [number, number] | null;
  recall: Record<string, { value: number; ci: [number, number]; n: number }>;
}

export function performanceRows(cells: readonly Cell[], truth: readonly TruthCount[], firstMonitorBucket: number): PerfRow[] {
  const rows: PerfRow[] = [];
  for (const dim of ['machine', 'batch'] as const) {
    const values = [...new Set(cells.map((c) => c[dim]).filter(Boolean))].sort();
    for (const value of values) {
      for (const period of ['reference', 'monitoring'] as const) {
        const inP = (b: number) => (period === 'reference' ? b < firstMonitorBucket : b >= firstMonitorBucket);
        let s1 = 0,
          ns = 0; // prettier-ignore
        for (const c of cells) if (c[dim] === value && inP(c.bucket)) (s1 += c.s1), (ns += c.ns);
        const t = truth.filter((x) => x[dim] === value && inP(x.bucket));
        if (!ns && !t.length) continue;
        const n = t.reduce((a, x) => a + x.n, 0);
        const correct = t.reduce((a, x) => a + x.correct, 0);
        const recall: PerfRow['recall'] = {};
        for (const cls of [...new Set(t.map((x) => x.truth))].sort()) {
          const of = t.filter((x) => x.truth === cls);
          const cn = of.reduce((a, x) => a + x.n, 0);
          const ck = of.reduce((a, x) => a + x.correct, 0);
          recall[cls] = { value: ck / cn, ci: wilson(ck, cn), n: cn };
        }
        rows.push({
          dim,
          value,
          period,
          estimatedAccuracy: ns ? s1 / ns : null,
          truthN: n,
          accuracy: n ? correct / n : null,
          accuracyCi: n ? wilson(correct, n) : null,
          recall,
        });
      }
    }
  }
  return rows;
}

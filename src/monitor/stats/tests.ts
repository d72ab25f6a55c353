// Small tests used by the alert engine: chi-square on a contingency table (class mix), the Wilson
// interval for a proportion, a one-sided two-proportion z-test, and Benjamini–Hochberg.

import { normalQuantile, normalSf } from './normal.js';

/** Chi-square test of independence on a table (rows × columns); p from the Wilson–Hilferty cube-root normal approximation. */
export function chiSquare(table: readonly (readonly number[])[]): { stat: number; df: number; p: number } {
  const rows = table.map((r) => r.reduce((a, b) => a + b, 0));
  const cols = table[0]!.map((_, j) => table.reduce((a, r) => a + (r[j] ?? 0), 0));
  const total = rows.reduce((a, b) => a + b, 0);
  let stat = 0;
  let usedCols = 0;
  for (let j = 0; j < cols.length; j++) {
    if (cols[j] === 0) continue;
    usedCols++;
    for (let i = 0; i < table.length; i++) {
      const e = (rows[i]! * cols[j]!) / total;
      if (e > 0) stat += (table[i]![j]! - e) ** 2 / e;
    }
  }
  const df = (table.filter((_, i) => rows[i]! > 0).length - 1) * (usedCols - 1);
  return { stat, df, p: df > 0 ? chiSquareSf(stat, df) : 1 };
}

export function chiSquareSf(x: number, k: number): number {
  if (x <= 0) return 1;
  const z = (Math.cbrt(x / k) - (1 - 2 / (9 * k))) / Math.sqrt(2 / (9 * k));
  return normalSf(z);
}

/** Wilson score interval for k of n at confidence `level` (default 95%). */
export function wilson(k: number, n: number, level = 0.95): [number, number] {
  if (n === 0) return [0, 1];
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = k / n;
  const den = 1 + (z * z) / n;
  const mid = (p + (z * z) / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / den;
  return [Math.max(0, mid - half), Math.min(1, mid + half)];
}

/** One-sided test that proportion 1 exceeds proportion 2 (pooled z). */
export function twoProportionZ(k1: number, n1: number, k2: number, n2: number): { z: number; p: number } {
  if (!n1 || !n2) return { z: 0, p: 1 };
  const p = (k1 + k2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  const z = se > 0 ? (k1 / n1 - k2 / n2) / se : 0;
  return { z, p: normalSf(z) };
}

/** Benjamini–Hochberg at false-discovery rate q: which hypotheses are rejected. */
export function benjaminiHochberg(p: readonly number[], q: number): boolean[] {
  const order = p.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  let cut = -1;
  order.forEach(([v], r) => {
    if (v <= (q * (r + 1)) / p.length) cut = r;
  });
  const out = p.map(() => false);
  for (let r = 0; r <= cut; r++) out[order[r]![1]] = true;
  return out;
}

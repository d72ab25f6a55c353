// Quality metrics, each with a 95% confidence interval: Wilson for proportions (accuracy, exact match,
// recall, precision, agreement), a seeded percentile bootstrap over items otherwise (macro-F1, CER, ECE,
// cosine). Pure functions over arrays, so every one can be checked against a value worked out by hand.

import { Rng } from '../data/rng.js';
import { levenshtein } from '../util/text.js';

export interface MetricValue {
  value: number;
  /** 95% confidence interval [lo, hi]. */
  ci: [number, number];
}

export interface BootstrapOptions {
  iterations?: number;
  seed?: number;
}

/** Wilson score interval for k successes out of n (z = 1.96 for 95%). */
export function wilson(k: number, n: number, z = 1.959964): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function proportion(k: number, n: number): MetricValue {
  return { value: n ? k / n : NaN, ci: wilson(k, n) };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** Percentile bootstrap of a statistic over n items; `stat` gets the resampled item indices. */
export function bootstrap(n: number, stat: (idx: Int32Array) => number, opts: BootstrapOptions = {}): [number, number] {
  if (n === 0) return [NaN, NaN];
  const rng = new Rng(opts.seed ?? 12345);
  const iters = opts.iterations ?? 1000;
  const values: number[] = [];
  const idx = new Int32Array(n);
  for (let b = 0; b < iters; b++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rng.next() * n);
    const v = stat(idx);
    if (Number.isFinite(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  return [percentile(values, 0.025), percentile(values, 0.975)];
}

/** sum(num) / sum(den) with a bootstrap CI; a mean when den is all ones. Corpus CER is one. */
export function ratioOfSums(num: readonly number[], den: readonly number[], opts?: BootstrapOptions): MetricValue {
  const sum = (a: readonly number[], idx?: Int32Array) => {
    let s = 0;
    if (idx) for (const i of idx) s += a[i]!;
    else for (const v of a) s += v;
    return s;
  };
  return { value: sum(num) / sum(den), ci: bootstrap(num.length, (idx) => sum(num, idx) / sum(den, idx), opts) };
}

export function mean(values: readonly number[], opts?: BootstrapOptions): MetricValue {
  return ratioOfSums(
    values,
    values.map(() => 1),
    opts,
  );
}

// --- classification ---------------------------------------------------------------------------------

export function accuracy(pred: readonly number[], label: readonly number[]): MetricValue {
  let k = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === label[i]) k++;
  return proportion(k, pred.length);
}

/** Confusion matrix: rows are the true class, columns the predicted class. */
export function confusionMatrix(pred: readonly number[], label: readonly number[], k: number, idx?: Int32Array): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const at = idx ?? Int32Array.from(pred.keys());
  for (const i of at) {
    const row = m[label[i]!];
    if (row && pred[i]! < k) row[pred[i]!]!++;
  }
  return m;
}

export interface ClassStats {
  precision: MetricValue;
  recall: MetricValue;
  f1: number;
  /** Items of this class in the data. */
  support: number;
}

export function perClass(m: number[][]): ClassStats[] {
  const k = m.length;
  return m.map((row, c) => {
    const tp = row[c]!;
    const support = row.reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (let r = 0; r < k; r++) predicted += m[r]![c]!;
    const precision = proportion(tp, predicted);
    const recall = proportion(tp, support);
    const f1 = tp === 0 ? 0 : (2 * tp) / (support + predicted);
    return { precision, recall, f1, support };
  });
}

/** Mean F1 over the classes present in the labels (a class never seen and never predicted is left out). */
function macroF1Of(m: number[][]): number {
  let sum = 0;
  let count = 0;
  for (let c = 0; c < m.length; c++) {
    const support = m[c]!.reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (const row of m) predicted += row[c]!;
    if (support === 0) continue;
    const tp = m[c]![c]!;
    sum += tp === 0 ? 0 : (2 * tp) / (support + predicted);
    count++;
  }
  return count ? sum / count : NaN;
}

export function macroF1(pred: readonly number[], label: readonly number[], k: number, opts?: BootstrapOptions): MetricValue {
  return { value: macroF1Of(confusionMatrix(pred, label, k)), ci: bootstrap(pred.length, (idx) => macroF1Of(confusionMatrix(pred, label, k, idx)), opts) };
}

/** Expected calibration error: |accuracy − confidence| per equal-width confidence bin, weighted by bin size. */
export function expectedCalibrationError(confidence: readonly number[], correct: readonly boolean[], bins = 15, opts?: BootstrapOptions): MetricValue {
  const eceOf = (idx: ArrayLike<number>) => {
    const acc = new Array<number>(bins).fill(0);
    const conf = new Array<number>(bins).fill(0);
    const cnt = new Array<number>(bins).fill(0);
    for (let j = 0; j < idx.length; j++) {
      const i = idx[j]!;
      const b = Math.min(bins - 1, Math.floor(confidence[i]! * bins));
      cnt[b]!++;
      conf[b]! += confidence[i]!;
      if (correct[i]) acc[b]!++;
    }
    let e = 0;
    for (let b = 0; b < bins; b++) if (cnt[b]) e += Math.abs(acc[b]! - conf[b]!) / idx.length;
    return e;
  };
  return { value: eceOf(Int32Array.from(confidence.keys())), ci: bootstrap(confidence.length, eceOf, opts) };
}

// --- text -------------------------------------------------------------------------------------------

/** Levenshtein distance over Unicode code points. */
export function editDistance(a: string, b: string): number {
  return levenshtein([...a], [...b]);
}

export const stripWhitespace = (s: string) => s.replace(/\s+/g, '');

/** Corpus character error rate: total edits / total reference characters. */
export function characterErrorRate(
  pred: readonly string[],
  ref: readonly string[],
  ignoreWhitespace = false,
  opts?: BootstrapOptions,
): MetricValue & { edits: number[]; lengths: number[] } {
  const norm = ignoreWhitespace ? stripWhitespace : (s: string) => s;
  const edits = pred.map((p, i) => editDistance(norm(p), norm(ref[i]!)));
  const lengths = ref.map((r) => Math.max(1, [...norm(r)].length));
  return { ...ratioOfSums(edits, lengths, opts), edits, lengths };
}

export function exactMatch(pred: readonly string[], ref: readonly string[], ignoreWhitespace = false): MetricValue & { hits: number[] } {
  const norm = ignoreWhitespace ? stripWhitespace : (s: string) => s;
  const hits = pred.map((p, i) => (norm(p) === norm(ref[i]!) ? 1 : 0));
  return {
    ...proportion(
      hits.reduce((a: number, b) => a + b, 0),
      pred.length,
    ),
    hits,
  };
}

// --- agreement with a reference model ----------------------------------------------------------------

export { cosine } from '../util/vector.js';

export function top1Agreement(pred: readonly number[], refPred: readonly number[]): MetricValue {
  return accuracy(pred, refPred);
}

// --- paired comparison of two candidates -------------------------------------------------------------

export interface Comparison {
  /** mean(a) − mean(b), weighted when weights are given. */
  diff: number;
  ci: [number, number];
  /** Fraction of bootstrap resamples in which a is better than b. */
  pBetter: number;
  /** The CI excludes 0. */
  significant: boolean;
}

/**
 * Paired bootstrap over items: a and b are per-item scores of two candidates on the same items (EvalResult
 * .perItem). Weights make the mean a ratio of sums (per-item CER weighted by reference length = corpus CER).
 */
export function compareCandidates(
  a: readonly number[],
  b: readonly number[],
  opts: BootstrapOptions & { weights?: readonly number[]; higherIsBetter?: boolean } = {},
): Comparison {
  if (a.length !== b.length) throw new Error(`compareCandidates: ${a.length} vs ${b.length} items; both candidates must be evaluated on the same items`);
  const w = opts.weights ?? a.map(() => 1);
  const higher = opts.higherIsBetter ?? true;
  const diffOf = (idx: ArrayLike<number>) => {
    let sa = 0;
    let sb = 0;
    let sw = 0;
    for (let j = 0; j < idx.length; j++) {
      const i = idx[j]!;
      sa += a[i]! * w[i]!;
      sb += b[i]! * w[i]!;
      sw += w[i]!;
    }
    return (sa - sb) / sw;
  };
  const diff = diffOf(Int32Array.from(a.keys()));
  const rng = new Rng(opts.seed ?? 12345);
  const iters = opts.iterations ?? 2000;
  const values: number[] = [];
  let better = 0;
  const idx = new Int32Array(a.length);
  for (let it = 0; it < iters; it++) {
    for (let i = 0; i < a.length; i++) idx[i] = Math.floor(rng.next() * a.length);
    const d = diffOf(idx);
    values.push(d);
    if (higher ? d > 0 : d < 0) better++;
  }
  values.sort((x, y) => x - y);
  const ci: [number, number] = [percentile(values, 0.025), percentile(values, 0.975)];
  return { diff, ci, pBetter: better / iters, significant: ci[0] > 0 || ci[1] < 0 };
}

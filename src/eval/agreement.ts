// Agreement of a candidate with its source model when there is no task: a metric chosen per output by
// what the output is. Class scores → top-1 agreement; one value per item (a sigmoid score) → agreement
// of the >0.5 decision, observed and expected from the margins (below), and max |diff|; probability maps → IoU of the thresholded maps; anything else →
// cosine and relative L2 per item. Every figure carries a 95% interval (Wilson or bootstrap).

import { bootstrap, mean, proportion, type MetricValue } from './metrics.js';

export type OutputKind = 'class-scores' | 'decision' | 'map' | 'dense';

/** The metric each kind is judged by, and the floor a candidate must keep by default. */
export const PRIMARY: Record<OutputKind, string> = { 'class-scores': 'top1-agreement', decision: 'decision-agreement', map: 'iou', dense: 'cosine' };
export const DEFAULT_FLOORS: Record<string, number> = {
  'top1-agreement': 0.99,
  'decision-agreement': 0.99,
  'expected-decision-agreement': 0.99,
  iou: 0.95,
  cosine: 0.99,
};

/**
 * The metrics a default floor holds, per kind. A decision output is held on the decisions that flipped
 * and on the flips its differences would cause over all the items' margins: a few dozen held-out items
 * that happen to sit far from the threshold cannot vouch for a model that moves scores by 0.05.
 */
export const FLOORED: Record<OutputKind, string[]> = {
  'class-scores': ['top1-agreement'],
  decision: ['decision-agreement', 'expected-decision-agreement'],
  map: ['iou'],
  dense: ['cosine'],
};

/** Every metric an output of a kind reports (the primary first). */
export const METRICS_OF: Record<OutputKind, string[]> = {
  'class-scores': ['top1-agreement', 'cosine'],
  decision: ['decision-agreement', 'expected-decision-agreement', 'max-abs-diff', 'mean-abs-diff'],
  map: ['iou', 'cosine'],
  dense: ['cosine', 'rel-l2'],
};

/** One output of one item, flat, with the dims of the item (batch axis included, as 1). */
export interface ItemOutput {
  data: Float32Array;
  dims: readonly number[];
}

const inUnit = (xs: readonly ItemOutput[]) => xs.every((x) => x.data.every((v) => v >= -1e-6 && v <= 1 + 1e-6));

function rowsSumToOne(x: ItemOutput): boolean {
  const c = x.dims[x.dims.length - 1] ?? 1;
  for (let p = 0; p < x.data.length; p += c) {
    let s = 0;
    for (let k = 0; k < c; k++) s += x.data[p + k]!;
    if (Math.abs(s - 1) > 1e-3) return false;
  }
  return true;
}

/** What an output is, judged on the source model's outputs over the items. */
export function outputKind(ref: readonly ItemOutput[]): OutputKind {
  const first = ref[0];
  if (!first) return 'dense';
  const dims = first.dims;
  if (first.data.length === 1) return 'decision';
  const last = dims[dims.length - 1] ?? 1;
  if (dims.length === 2 && last > 1) return 'class-scores';
  if (dims.length === 3 && last > 1 && ref.every(rowsSumToOne)) return 'class-scores';
  // a map has spatial dims: its last two axes both longer than 1 (a state [2, 1, 4] in [0, 1] is not one)
  const spatial = dims.length >= 3 && (dims[dims.length - 1] ?? 1) > 1 && (dims[dims.length - 2] ?? 1) > 1;
  if (spatial && inUnit(ref)) return 'map';
  return 'dense';
}

function argmaxAt(a: Float32Array, p: number, c: number): number {
  let k = 0;
  for (let j = 1; j < c; j++) if (a[p + j]! > a[p + k]!) k = j;
  return k;
}

function cos(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 && nb === 0) return 1;
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

function relL2(a: Float32Array, ref: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - ref[i]!) ** 2;
    n += ref[i]! ** 2;
  }
  return n === 0 ? (d === 0 ? 0 : Infinity) : Math.sqrt(d / n);
}

/** How many of the sorted values are ≤ x. */
function countAtMost(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Per item i, the share of the candidate's signed differences d_j (over every item j) that would keep
 * item i's decision: an item above the threshold t flips when ref_i + d_j ≤ t, one at or below it when
 * ref_i + d_j > t. Its mean is the decision agreement to expect on new items whose scores are spread like
 * these, with differences like these: it sees the items near the threshold that the count can miss.
 */
export function expectedDecisionAgreement(ref: readonly number[], got: readonly number[], t: number): number[] {
  const n = ref.length;
  const d = Float64Array.from(ref, (r, j) => got[j]! - r).sort();
  return ref.map((r) => {
    const flips = r > t ? countAtMost(d, t - r) : n - countAtMost(d, t - r);
    return 1 - flips / n;
  });
}

/** IoU of the maps thresholded at 0.5; two empty maps agree fully. */
export function iou(a: Float32Array, ref: Float32Array, threshold = 0.5): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! > threshold;
    const y = ref[i]! > threshold;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

export interface OutputAgreement {
  output: string;
  kind: OutputKind;
  primary: string;
  metrics: Record<string, MetricValue>;
  /** Per-item score behind the primary metric. */
  perItem: number[];
  /** The decision threshold used (decision outputs). */
  threshold?: number;
}

/** Agreement of one output over the items; `got[i]` and `ref[i]` are the same item. */
export function outputAgreement(output: string, got: readonly ItemOutput[], ref: readonly ItemOutput[], seed = 0, given?: OutputKind): OutputAgreement {
  if (got.length !== ref.length) throw new Error(`outputAgreement: ${got.length} vs ${ref.length} items`);
  const kind = given ?? outputKind(ref);
  const n = ref.length;
  const b = { seed };
  const metrics: Record<string, MetricValue> = {};
  let perItem: number[];
  let threshold: number | undefined;
  for (let i = 0; i < n; i++)
    if (got[i]!.data.length !== ref[i]!.data.length)
      throw new Error(`output '${output}' has ${got[i]!.data.length} values for item ${i}, the source model ${ref[i]!.data.length}`);
  if (kind === 'decision') {
    // probabilities are decided at 0.5, logits at 0
    threshold = inUnit(ref) ? 0.5 : 0;
    const diffs = ref.map((r, i) => Math.abs(got[i]!.data[0]! - r.data[0]!));
    perItem = ref.map((r, i) => (got[i]!.data[0]! > threshold! === r.data[0]! > threshold! ? 1 : 0));
    metrics['decision-agreement'] = proportion(
      perItem.reduce((a, c) => a + c, 0),
      n,
    );
    const maxOf = (idx: ArrayLike<number>) => {
      let m = 0;
      for (let j = 0; j < idx.length; j++) m = Math.max(m, diffs[idx[j]!]!);
      return m;
    };
    metrics['expected-decision-agreement'] = mean(
      expectedDecisionAgreement(
        ref.map((r) => r.data[0]!),
        got.map((g) => g.data[0]!),
        threshold,
      ),
      b,
    );
    metrics['max-abs-diff'] = { value: maxOf(diffs.map((_, i) => i)), ci: bootstrap(n, maxOf, b) };
    metrics['mean-abs-diff'] = mean(diffs, b);
  } else if (kind === 'class-scores') {
    const c = ref[0]!.dims[ref[0]!.dims.length - 1] ?? 1;
    perItem = ref.map((r, i) => {
      for (let p = 0; p < r.data.length; p += c) if (argmaxAt(r.data, p, c) !== argmaxAt(got[i]!.data, p, c)) return 0;
      return 1;
    });
    metrics['top1-agreement'] = proportion(
      perItem.reduce((a, x) => a + x, 0),
      n,
    );
    metrics.cosine = mean(
      ref.map((r, i) => cos(got[i]!.data, r.data)),
      b,
    );
  } else if (kind === 'map') {
    perItem = ref.map((r, i) => iou(got[i]!.data, r.data));
    metrics.iou = mean(perItem, b);
    metrics.cosine = mean(
      ref.map((r, i) => cos(got[i]!.data, r.data)),
      b,
    );
  } else {
    perItem = ref.map((r, i) => cos(got[i]!.data, r.data));
    metrics.cosine = mean(perItem, b);
    metrics['rel-l2'] = mean(
      ref.map((r, i) => relL2(got[i]!.data, r.data)),
      b,
    );
  }
  return { output, kind, primary: PRIMARY[kind], metrics, perItem, ...(threshold !== undefined ? { threshold } : {}) };
}

export interface Agreement {
  /** The first output's primary metric: what the quality floor holds. */
  primary: { name: string; value: number; ci: [number, number] };
  /** The first output's metrics by name; other outputs' as `<output>:<metric>`. */
  metrics: Record<string, MetricValue>;
  perItem: number[];
  n: number;
  outputs: OutputAgreement[];
}

/** Agreement over every output; outputs[k][i] is output k of item i; `kinds` overrides outputKind() by output name. */
export function agreement(
  names: readonly string[],
  got: readonly ItemOutput[][],
  ref: readonly ItemOutput[][],
  seed = 0,
  kinds: Readonly<Record<string, OutputKind>> = {},
): Agreement {
  const outputs = names.map((name, k) => outputAgreement(name, got[k]!, ref[k]!, seed, kinds[name]));
  const first = outputs[0]!;
  const metrics: Record<string, MetricValue> = { ...first.metrics };
  for (const o of outputs.slice(1)) for (const [k, v] of Object.entries(o.metrics)) metrics[`${o.output}:${k}`] = v;
  const p = first.metrics[first.primary]!;
  return { primary: { name: first.primary, value: p.value, ci: p.ci }, metrics, perItem: first.perItem, n: first.perItem.length, outputs };
}

/** Splits a batched output [N, …] into N items of dims [1, …]. */
export function splitItems(data: Float32Array, dims: readonly number[]): ItemOutput[] {
  const n = dims.length > 0 ? Math.max(1, dims[0]!) : 1;
  const per = data.length / n;
  const d = dims.length > 0 ? [1, ...dims.slice(1)] : [];
  return Array.from({ length: n }, (_, i) => ({ data: data.slice(i * per, (i + 1) * per), dims: d }));
}

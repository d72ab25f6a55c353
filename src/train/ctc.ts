// CTC (Graves et al. 2006) in log space: the loss −log p(label | x) of one sequence and the posterior
// occupancy γ[t, k] of each class at each frame, from the forward (α) and backward (β) recursions over
// the label with blanks around and between its symbols. The loss's gradient w.r.t. frame t's logits is
// softmax(z_t) − γ_t, so a per-frame soft-target cross-entropy on γ, recomputed each step from the
// current model's outputs, has exactly the CTC gradient (ctc-train.ts trains so).

import { UsageError } from '../onnx/errors.js';

export interface CtcAlignment {
  /** −log p(label | x); Infinity when no alignment fits the frames (then `feasible` is false). */
  loss: number;
  /** Posterior class occupancy [T, C]: each row sums to 1; all zeros when infeasible. */
  gamma: Float32Array;
  feasible: boolean;
}

function lse(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** Frames a label needs at least: one per symbol, and a blank between equal neighbours. */
export function minFrames(label: ArrayLike<number>): number {
  let n = label.length;
  for (let i = 1; i < label.length; i++) if (label[i] === label[i - 1]) n++;
  return n;
}

/** [blank, l1, blank, l2, …, lL, blank]: the states of the alignment lattice (S = 2L + 1). */
function extended(label: ArrayLike<number>, blank: number, C: number): Int32Array {
  const ext = new Int32Array(2 * label.length + 1).fill(blank);
  for (let i = 0; i < label.length; i++) {
    const k = label[i]!;
    if (!(Number.isInteger(k) && k >= 0 && k < C) || k === blank)
      throw new UsageError(
        `CTC label symbol ${k} is not a class of the output (0–${C - 1}, blank ${blank} excluded)`,
        'check the dictionary against the model',
      );
    ext[2 * i + 1] = k;
  }
  return ext;
}

/** State s may be entered from s − 2 (over a blank) when it is a symbol unlike the one two states back. */
const skips = (ext: Int32Array, s: number, blank: number): boolean => s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2];

// logp (T, C) -> alpha (T, S): log p(frames 0..t, state s at t), frame t's emission included
function forward(logp: ArrayLike<number>, T: number, C: number, ext: Int32Array, blank: number): Float64Array {
  const S = ext.length;
  const a = new Float64Array(T * S).fill(-Infinity);
  a[0] = logp[ext[0]!]!;
  if (S > 1) a[1] = logp[ext[1]!]!;
  for (let t = 1; t < T; t++)
    for (let s = 0; s < S; s++) {
      const p = (t - 1) * S;
      let v = a[p + s]!;
      if (s >= 1) v = lse(v, a[p + s - 1]!);
      if (skips(ext, s, blank)) v = lse(v, a[p + s - 2]!);
      a[t * S + s] = v + logp[t * C + ext[s]!]!;
    }
  return a;
}

// logp (T, C) -> beta (T, S): log p(frames t+1..T−1 | state s at t), frame t's emission excluded
function backward(logp: ArrayLike<number>, T: number, C: number, ext: Int32Array, blank: number): Float64Array {
  const S = ext.length;
  const b = new Float64Array(T * S).fill(-Infinity);
  b[(T - 1) * S + S - 1] = 0;
  if (S > 1) b[(T - 1) * S + S - 2] = 0;
  for (let t = T - 2; t >= 0; t--)
    for (let s = 0; s < S; s++) {
      const n = (t + 1) * S;
      const e = (t + 1) * C;
      let v = b[n + s]! + logp[e + ext[s]!]!;
      if (s + 1 < S) v = lse(v, b[n + s + 1]! + logp[e + ext[s + 1]!]!);
      if (s + 2 < S && skips(ext, s + 2, blank)) v = lse(v, b[n + s + 2]! + logp[e + ext[s + 2]!]!);
      b[t * S + s] = v;
    }
  return b;
}

/** CTC of one sequence: `logp` is [T, C] log-probabilities (log-softmax of the frame logits). */
export function ctcAlign(logp: ArrayLike<number>, T: number, C: number, label: ArrayLike<number>, blank: number): CtcAlignment {
  const ext = extended(label, blank, C);
  const gamma = new Float32Array(T * C);
  if (T < 1 || minFrames(label) > T) return { loss: Infinity, gamma, feasible: false };
  const S = ext.length;
  const a = forward(logp, T, C, ext, blank);
  const logZ = S > 1 ? lse(a[(T - 1) * S + S - 1]!, a[(T - 1) * S + S - 2]!) : a[(T - 1) * S]!;
  // a path of probability 0 everywhere (−∞ log-probabilities): nothing to learn from, like too short
  if (!Number.isFinite(logZ)) return { loss: Infinity, gamma, feasible: false };
  const b = backward(logp, T, C, ext, blank);
  for (let t = 0; t < T; t++)
    for (let s = 0; s < S; s++) {
      const v = a[t * S + s]! + b[t * S + s]! - logZ;
      if (v > -745) gamma[t * C + ext[s]!]! += Math.exp(v);
    }
  return { loss: -logZ, gamma, feasible: true };
}

/** One batch's CTC soft targets, fed to the per-frame cross-entropy of the training graph. */
export interface CtcTargets {
  /** γ per frame, [N·T, C]. */
  target: Float32Array;
  /** Row weights [N·T]: 1 / (feasible samples) on every frame of a feasible sample, else 0. */
  weight: Float32Array;
  /** Per-sample CTC loss; Infinity for a sample without a label or whose label does not fit. */
  loss: Float64Array;
  /** Samples that train (finite loss). */
  feasible: number;
  /** Mean loss over the feasible samples (NaN when none is). */
  meanLoss: number;
}

/**
 * CTC targets for a batch of frame logits [N, T, C] (pre-softmax); `labels[i]` undefined marks a sample
 * that does not train (e.g. a character outside the dictionary).
 */
export function ctcTargets(logits: ArrayLike<number>, dims: readonly number[], labels: readonly (ArrayLike<number> | undefined)[], blank: number): CtcTargets {
  const [N, T, C] = dims as [number, number, number];
  if (dims.length !== 3 || labels.length !== N)
    throw new UsageError(`CTC needs frame logits [N, T, C] and one label per sample; got [${dims.join(', ')}] and ${labels.length} labels`);
  const target = new Float32Array(N * T * C);
  const weight = new Float32Array(N * T);
  const loss = new Float64Array(N).fill(Infinity);
  const logp = new Float64Array(T * C);
  let feasible = 0;
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const label = labels[i];
    if (!label) continue;
    logSoftmaxRows(logits, i * T * C, T, C, logp);
    const r = ctcAlign(logp, T, C, label, blank);
    if (!r.feasible) continue;
    target.set(r.gamma, i * T * C);
    loss[i] = r.loss;
    weight.fill(1, i * T, (i + 1) * T);
    feasible++;
    sum += r.loss;
  }
  if (feasible) for (let r = 0; r < N * T; r++) weight[r] = weight[r]! / feasible;
  return { target, weight, loss, feasible, meanLoss: feasible ? sum / feasible : NaN };
}

/** Rows [T, C] of `x` from `at`, log-softmaxed into `out` (float64). */
function logSoftmaxRows(x: ArrayLike<number>, at: number, T: number, C: number, out: Float64Array): void {
  for (let t = 0; t < T; t++) {
    const o = at + t * C;
    let m = -Infinity;
    for (let k = 0; k < C; k++) m = Math.max(m, x[o + k]!);
    let z = 0;
    for (let k = 0; k < C; k++) z += Math.exp(x[o + k]! - m);
    const lz = m + Math.log(z);
    for (let k = 0; k < C; k++) out[t * C + k] = x[o + k]! - lz;
  }
}
